// Point-in-time restore into a throw-away cluster: `pgbackrest restore` of the backup that ends before
// the target into a fresh data directory we create, then PostgreSQL replays archived WAL up to the
// target. Recovery pauses at the target (target-action=pause) so that the position actually reached
// (last replayed LSN and commit time) can be read before anything else is written; then we resume,
// which ends recovery and promotes. A drill records these readings as "the target reached".
//
// Authentication: the restored cluster carries the SOURCE's roles and password hashes, which we do not
// know. Our own pg_hba.conf (hba_file overrides whatever the source's postgresql.conf names) trusts
// only the Unix socket, whose directory is private to the server's OS user (0700) and to root; over it,
// after promotion, the superuser gets a fresh random password, then the file is rewritten to
// scram-sha-256 for everything and reloaded. TCP listens on 127.0.0.1 only, with scram from the start.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { findPgTool } from "../postgres/binaries";
import { freePort, stopDetachedCluster, type LocalCluster } from "../postgres/localCluster";
import { quoteIdent, quoteLiteral } from "../postgres/connection";
import { redact } from "../redact";
import { toolEnvironment } from "../toolEnvironment";
import { secretEnvironment, secretValues } from "./config";
import { info, type StanzaInfo } from "./info";
import { createWorkspace, runPgBackRest, type PgBackRestContext } from "./runner";
import type { PitrSecrets, PitrSettings } from "./settings";
import { describeTarget, planRestore, type RecoveryTarget } from "./target";

export interface PitrRestoreOptions {
    settings: PitrSettings;
    secrets: PitrSecrets;
    target: RecoveryTarget;
    /** Where the throw-away cluster's directory is created. Default: the OS temp dir. */
    baseDir?: string;
    /** OS user to run as when we are root. Default: postgres. */
    runAsUser?: string;
    /** A superuser role of the source (Supabase: supabase_admin or postgres). Default: postgres. */
    superuser?: string;
    /** Database to connect to while monitoring recovery. Default: postgres. */
    database?: string;
    /** Give up waiting for the target after this long. Default: 60 minutes. */
    timeoutMs?: number;
    /** "now" for the future-target check (tests). */
    now?: Date;
    /** Leave the server running past this process's exit (a later engine run removes it). */
    detached?: boolean;
    /**
     * Extra `-c name=value` settings of the restored server, in force from its first start (before
     * promotion): e.g. jobs.ts's guard that keeps pg_cron from launching the source's jobs.
     */
    serverSettings?: Record<string, string>;
}

export interface ReachedTarget {
    /** Last WAL position replayed when recovery stopped at the target. */
    lsn: string;
    /** Commit time of the last replayed transaction, ISO 8601, or null when none was replayed. */
    lastCommitTime: string | null;
}

/** A throw-away cluster like LocalCluster (stop() deletes rootDir), plus what the recovery reached. */
export interface RestoredCluster extends LocalCluster {
    readonly target: RecoveryTarget;
    readonly backupLabel: string;
    readonly reached: ReachedTarget;
    readonly durations: { restoreMs: number; replayMs: number; promoteMs: number; totalMs: number };
}

const ROOT_PREFIX = "supabase-dr-pg-"; // what stopDetachedCluster accepts as ours
const POLL_MS = 200;

function ids(user: string): { uid: number; gid: number } {
    return {
        // `id` needs none of our secrets (lib/toolEnvironment.ts).
        uid: Number(execFileSync("id", ["-u", user], { encoding: "utf8", env: toolEnvironment() }).trim()),
        gid: Number(execFileSync("id", ["-g", user], { encoding: "utf8", env: toolEnvironment() }).trim()),
    };
}

function hba(trustSocket: boolean): string {
    return [
        "# Written by supabase-dr for a throw-away PITR cluster (lib/pitr/restore.ts).",
        `local all all ${trustSocket ? "trust" : "scram-sha-256"}`,
        "host all all 127.0.0.1/32 scram-sha-256",
        "",
    ].join("\n");
}

function readTail(file: string, lines = 25): string {
    try {
        return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
        return "";
    }
}

function postmasterAlive(dataDir: string): boolean {
    try {
        const pid = Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

async function socketClient(rootDir: string, port: number, user: string, database: string): Promise<Client | undefined> {
    const client = new Client({ host: rootDir, port, user, database, connectionTimeoutMillis: 2000 });
    client.on("error", () => undefined);
    try {
        await client.connect();
        return client;
    } catch {
        await client.end().catch(() => undefined);
        return undefined;
    }
}

/** Restores `target` into a new cluster and waits until it reached the target and promoted. */
export async function restoreToTarget(opts: PitrRestoreOptions): Promise<RestoredCluster> {
    const started = Date.now();
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    const runAs = isRoot ? (opts.runAsUser ?? "postgres") : undefined;
    const superuser = opts.superuser ?? "postgres";
    const database = opts.database ?? "postgres";
    const rootDir = fs.mkdtempSync(path.join(opts.baseDir ?? os.tmpdir(), ROOT_PREFIX));
    const dataDir = path.join(rootDir, "data");
    const secrets = [...secretValues(opts.secrets)];
    let serverStarted = false;
    const cleanup = () => {
        try {
            if (serverStarted || fs.existsSync(path.join(dataDir, "PG_VERSION"))) stopDetachedCluster(rootDir, runAs);
        } finally {
            fs.rmSync(rootDir, { recursive: true, force: true });
        }
    };
    try {
        fs.mkdirSync(dataDir, { mode: 0o700 });
        fs.chmodSync(rootDir, 0o700);
        if (runAs) {
            const { uid, gid } = ids(runAs);
            fs.chownSync(rootDir, uid, gid);
            fs.chownSync(dataDir, uid, gid);
        }
        const port = await freePort();
        const workspace = createWorkspace(opts.settings, { dataDir, port, socketDir: rootDir, user: superuser }, rootDir, runAs);
        const ctx: PgBackRestContext = { settings: opts.settings, secrets: opts.secrets, configFile: workspace.configFile, runAs, cwd: rootDir };

        const stanza: StanzaInfo = await info(ctx);
        const plan = planRestore(stanza, opts.target, opts.now);

        const restoreStarted = Date.now();
        await runPgBackRest(ctx, "restore", [
            ...plan.options,
            // Pause at the target so the reached position can be read before promotion (see above).
            "--target-action=pause",
            // The restored cluster must never push its WAL into the source's archive.
            "--archive-mode=off",
        ]);
        const restoreMs = Date.now() - restoreStarted;

        const hbaFile = path.join(rootDir, "pg_hba.conf");
        fs.writeFileSync(hbaFile, hba(true), { mode: 0o600 });
        if (runAs) fs.chownSync(hbaFile, ids(runAs).uid, ids(runAs).gid);
        const serverOpts = [
            `-p ${port}`,
            "-c listen_addresses=127.0.0.1",
            `-c unix_socket_directories=${rootDir}`,
            `-c hba_file=${hbaFile}`,
            "-c hot_standby=on",
            "-c archive_mode=off",
            ...Object.entries(opts.serverSettings ?? {}).map(([k, v]) => {
                // pg_ctl hands -o to the server through a shell-like split: one word per setting.
                if (!/^[a-z_][a-z0-9_.]*$/i.test(k) || !/^[A-Za-z0-9_.,:/-]+$/.test(v)) throw new Error(`server setting ${k} must be a plain name=value without spaces or quotes`);
                return `-c ${k}=${v}`;
            }),
        ].join(" ");
        const pgCtl = findPgTool("pg_ctl");
        const args = ["-D", dataDir, "-l", path.join(rootDir, "server.log"), "-o", serverOpts, "start"];
        const [cmd, argv] = runAs ? ["runuser", ["-u", runAs, "--", pgCtl, ...args]] : [pgCtl, args];
        const replayStarted = Date.now();
        // restore_command (archive-get) runs inside the server: it needs the repository secrets.
        execFileSync(cmd, argv, { cwd: rootDir, env: toolEnvironment(secretEnvironment(opts.settings, opts.secrets)), stdio: "ignore" });
        serverStarted = true;

        const deadline = Date.now() + (opts.timeoutMs ?? 60 * 60_000);
        const fail = (why: string): never => {
            const log = redact(readTail(path.join(rootDir, "server.log")), secrets);
            throw new Error(`PITR to ${describeTarget(opts.target)} from backup ${plan.backup.label}: ${why}\nserver log (last lines):\n${log}`);
        };
        let reached: ReachedTarget | undefined;
        let replayMs = 0;
        let client: Client | undefined;
        let sawServer = false;
        try {
            while (!reached) {
                if (Date.now() > deadline) fail("recovery did not reach the target in time");
                if (!client) {
                    // pg_ctl returns before the postmaster writes its pid file: give it a moment first.
                    if (postmasterAlive(dataDir)) sawServer = true;
                    else if (sawServer || Date.now() - replayStarted > 15_000) fail("the server stopped during recovery (the target may lie past the archived WAL)");
                    client = await socketClient(rootDir, port, superuser, database);
                    if (!client) {
                        await new Promise((r) => setTimeout(r, POLL_MS));
                        continue;
                    }
                }
                const row = (
                    await client.query<{ rec: boolean; state: string; lsn: string | null; ts: Date | null }>(
                        "select pg_is_in_recovery() as rec, pg_get_wal_replay_pause_state() as state, " +
                            "pg_last_wal_replay_lsn()::text as lsn, pg_last_xact_replay_timestamp() as ts",
                    ).catch(() => undefined)
                )?.rows[0];
                if (!row) {
                    await client.end().catch(() => undefined);
                    client = undefined;
                    continue;
                }
                if (!row.rec) fail("recovery ended without pausing at the target");
                if (row.state === "paused" && row.lsn) {
                    reached = { lsn: row.lsn, lastCommitTime: row.ts ? row.ts.toISOString() : null };
                    replayMs = Date.now() - replayStarted;
                    break;
                }
                await new Promise((r) => setTimeout(r, POLL_MS));
            }
            const promoteStarted = Date.now();
            await client!.query("select pg_wal_replay_resume()");
            for (;;) {
                if (Date.now() > deadline) fail("the server did not promote after reaching the target");
                const rec = (await client!.query<{ rec: boolean }>("select pg_is_in_recovery() as rec")).rows[0].rec;
                if (!rec) break;
                await new Promise((r) => setTimeout(r, POLL_MS));
            }
            const promoteMs = Date.now() - promoteStarted;

            const password = randomBytes(18).toString("base64url");
            // Keep the statement carrying the password out of the server log whatever the source configured.
            await client!.query("set log_statement = 'none'; set log_min_error_statement = 'panic'; set log_min_duration_statement = -1");
            await client!.query(`alter role ${quoteIdent(superuser)} with login password ${quoteLiteral(password)}`);
            fs.writeFileSync(hbaFile, hba(false));
            await client!.query("select pg_reload_conf()");

            const cluster: RestoredCluster & { stopped: boolean } = {
                host: "127.0.0.1",
                port,
                user: superuser,
                password,
                dataDir,
                rootDir,
                runAs,
                target: opts.target,
                backupLabel: plan.backup.label,
                reached,
                durations: { restoreMs, replayMs, promoteMs, totalMs: Date.now() - started },
                stopped: false,
                url(db = "postgres") {
                    return `postgresql://${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${encodeURIComponent(db)}`;
                },
                async stop() {
                    if (this.stopped) return;
                    this.stopped = true;
                    process.removeListener("exit", exitHook);
                    cleanup();
                },
            };
            const exitHook = () => cleanup();
            if (!opts.detached) process.once("exit", exitHook);
            return cluster;
        } finally {
            await client?.end().catch(() => undefined);
        }
    } catch (err) {
        cleanup();
        throw err;
    }
}
