// The baseline the PITR drill is compared with: what an operator would type by hand. `pgbackrest restore`
// of the same backup to the same target (type=lsn, exclusive, target-action=promote) into a fresh data
// directory, then the server started on it and waited for until recovery has ended (promoted) and it
// accepts connections: the same work the drill does before its validation starts, minus the drill's
// own extras (pause at the target to read what was reached, a fresh superuser password, pg_cron guard).
//
// The cluster is private like the drill's: 0700 directory, socket-only trust while we watch it, no TCP
// beyond 127.0.0.1, archive_mode off so it never pushes WAL into the source's archive.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { secretEnvironment, secretValues } from "../pitr/config";
import { createWorkspace, runPgBackRest, type PgBackRestContext } from "../pitr/runner";
import type { PitrSecrets, PitrSettings } from "../pitr/settings";
import type { PlannedRestore } from "../pitr/target";
import { findPgTool } from "../postgres/binaries";
import { freePort, stopDetachedCluster } from "../postgres/localCluster";
import { redact } from "../redact";
import { toolEnvironment } from "../toolEnvironment";

export interface PitrRawPassOptions {
    settings: PitrSettings;
    secrets: PitrSecrets;
    /** The drill's plan for the same target (planRestore): same backup, same target options. */
    plan: PlannedRestore;
    /** Where the throw-away cluster's directory is made (the server's OS user must reach it). Default: the OS temp dir, like the drill's. */
    baseDir?: string;
    /** OS user the server and pgBackRest run as when we are root. */
    runAs?: string;
    /** A superuser of the source, to watch recovery over the socket. Default: postgres. */
    superuser?: string;
    /** Give up after this long. Default: 60 minutes. */
    timeoutMs?: number;
}

export interface PitrRawPassResult {
    /** `pgbackrest restore`: files of the backup into the data directory. */
    restoreSeconds: number;
    /** Server start until it has promoted and accepts connections (WAL replay to the target). */
    recoverySeconds: number;
    totalSeconds: number;
}

// stopDetachedCluster removes only directories with this prefix: the raw cluster is cleaned up by the same code.
const ROOT_PREFIX = "supabase-dr-pg-";
const POLL_MS = 200;

/** The restore options of the raw pass: the drill's target and backup, promoting at the target. */
export function rawPitrRestoreOptions(plan: PlannedRestore): string[] {
    if (plan.target.type !== "lsn" || !plan.target.exclusive) {
        throw new Error(`the PITR benchmark restores to a consistent-point mark (an exclusive LSN target), not to ${plan.target.type}`);
    }
    return [...plan.options, "--target-action=promote", "--archive-mode=off"];
}

function ownerIds(user: string): { uid: number; gid: number } {
    return {
        uid: Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim()),
        gid: Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim()),
    };
}

async function inRecovery(socketDir: string, port: number, user: string): Promise<boolean | undefined> {
    const client = new Client({ host: socketDir, port, user, database: "postgres", connectionTimeoutMillis: 2000 });
    client.on("error", () => undefined);
    try {
        await client.connect();
        return (await client.query<{ rec: boolean }>("select pg_is_in_recovery() as rec")).rows[0].rec;
    } catch {
        return undefined; // not accepting connections yet
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** One timed raw restore + recovery; the cluster is stopped and deleted afterwards, outside the timing. */
export async function runPitrRawPass(opts: PitrRawPassOptions): Promise<PitrRawPassResult> {
    const options = rawPitrRestoreOptions(opts.plan);
    const user = opts.superuser ?? "postgres";
    const rootDir = fs.mkdtempSync(path.join(opts.baseDir ?? os.tmpdir(), ROOT_PREFIX));
    const dataDir = path.join(rootDir, "data");
    const logFile = path.join(rootDir, "server.log");
    try {
        fs.chmodSync(rootDir, 0o700);
        fs.mkdirSync(dataDir, { mode: 0o700 });
        const hbaFile = path.join(rootDir, "pg_hba.conf");
        // Socket only, and the socket's directory is private: trust is safe here and needs no password.
        fs.writeFileSync(hbaFile, "local all all trust\n", { mode: 0o600 });
        if (opts.runAs) {
            const { uid, gid } = ownerIds(opts.runAs);
            for (const p of [rootDir, dataDir, hbaFile]) fs.chownSync(p, uid, gid);
        }
        const port = await freePort();
        const workspace = createWorkspace(opts.settings, { dataDir, port, socketDir: rootDir, user }, rootDir, opts.runAs);
        const ctx: PgBackRestContext = { settings: opts.settings, secrets: opts.secrets, configFile: workspace.configFile, runAs: opts.runAs, cwd: rootDir };

        const started = Date.now();
        await runPgBackRest(ctx, "restore", options);
        const restored = Date.now();

        const serverOpts = [`-p ${port}`, "-c listen_addresses=127.0.0.1", `-c unix_socket_directories=${rootDir}`, `-c hba_file=${hbaFile}`, "-c archive_mode=off"].join(" ");
        const args = ["-D", dataDir, "-l", logFile, "-o", serverOpts, "start"];
        const pgCtl = findPgTool("pg_ctl");
        const [cmd, argv] = opts.runAs ? ["runuser", ["-u", opts.runAs, "--", pgCtl, ...args]] : [pgCtl, args];
        // restore_command (archive-get) runs inside the server: it needs the repository's secrets.
        execFileSync(cmd, argv, { cwd: rootDir, env: toolEnvironment(secretEnvironment(opts.settings, opts.secrets)), stdio: "ignore" });
        const deadline = Date.now() + (opts.timeoutMs ?? 60 * 60_000);
        for (;;) {
            const rec = await inRecovery(rootDir, port, user);
            if (rec === false) break;
            // pg_ctl has returned, so a missing postmaster.pid means the server stopped (e.g. WAL missing).
            const stopped = rec === undefined && !fs.existsSync(path.join(dataDir, "postmaster.pid"));
            if (stopped || Date.now() > deadline) {
                const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n") : "";
                const why = stopped ? "the server stopped during recovery" : "the server did not finish recovery in time";
                throw new Error(`raw PITR pass to ${opts.plan.options.join(" ")}: ${why}\nserver log (last lines):\n${redact(tail, [...secretValues(opts.secrets)])}`);
            }
            await new Promise((r) => setTimeout(r, POLL_MS));
        }
        const ended = Date.now();
        return { restoreSeconds: (restored - started) / 1000, recoverySeconds: (ended - restored) / 1000, totalSeconds: (ended - started) / 1000 };
    } finally {
        if (fs.existsSync(path.join(dataDir, "PG_VERSION"))) stopDetachedCluster(rootDir, opts.runAs);
        fs.rmSync(rootDir, { recursive: true, force: true });
    }
}
