// `npm run demo -- --pitr`: a point-in-time recovery drill end to end on this machine, no cloud. A source
// PostgreSQL archives its WAL through pgBackRest into a local (posix) repository, encrypted; it is
// seeded (the demo's Supabase-shaped database), backed up in full, then written to by a workload and a
// heartbeat while a consistent-point mark is taken and stored beside it; the writes go on. The PITR
// drill then runs through the real Pulumi engine: PitrRestore to the mark (or to a time T) into the
// drill's own cluster, validation (exact fingerprint at the mark, heartbeat ordering at T), masking,
// report, and the stack is destroyed. Everything started here is removed at the end.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Client } from "pg";
import { secretEnvironment } from "../pitr/config";
import { startHeartbeat } from "../pitr/heartbeat";
import { storeMark, takeMark } from "../pitr/marks";
import { waitForArchived } from "../pitr/restorePoint";
import { createWorkspace, type PgBackRestContext } from "../pitr/runner";
import { parsePitrSettings, type PitrSettings } from "../pitr/settings";
import { backup, check, configureArchiving, serverOf, stanzaCreate } from "../pitr/setup";
import { connect, withClient } from "../postgres/connection";
import { startLocalCluster, type LocalCluster } from "../postgres/localCluster";
import { DirBlobStore } from "../vault/dirStore";
import { seedSupabaseLikeDatabase, type SeedResult } from "./seed";
import { toolEnvironment } from "../toolEnvironment";

export type DemoPitrTarget = "mark" | "time";

export interface PitrSourceDemo {
    cluster: LocalCluster;
    /** The archive's settings (posix repository in the demo's directory). */
    settings: PitrSettings;
    cipherPass: string;
    /** The directory store holding the marks (the demo's stand-in for the vault). */
    marksDir: string;
    seeded: SeedResult;
    /** The mark's key, and T (between the mark and the end of the writes). */
    markKey: string;
    markLsn: string;
    targetTime: Date;
    transactions: number;
    heartbeats: number;
    stop(): Promise<void>;
}

const DATABASE = "app";

/** Write sessions of short transactions on the seeded tasks: updates and inserts, as an app would. */
function startWorkload(url: string, userId: string, sessions = 2): { stop(): Promise<number> } {
    let stopped = false;
    let count = 0;
    const loops = Array.from({ length: sessions }, async (_, s) => {
        const c: Client = await connect(url, "demo workload");
        try {
            for (let i = 1; !stopped; i++) {
                await c.query("begin");
                await c.query("update public.tasks set priority = 1 + ($1::int % 5), updated_at = clock_timestamp() where id = $2", [i, ((i * 7 + s * 13) % 500) + 1]);
                await c.query("insert into public.tasks (user_id, title) values ($1, $2)", [userId, `pitr demo s${s} t${i}`]);
                await c.query("commit");
                count++;
            }
        } finally {
            await c.end().catch(() => undefined);
        }
    });
    return {
        async stop() {
            stopped = true;
            await Promise.all(loops);
            return count;
        },
    };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The source side of the demo: archive, seed, full backup, workload + heartbeat, a mark, T, more
 * writes, and the WAL up to the end archived. The caller runs the drill and then stop()s.
 */
export async function preparePitrSource(opts: {
    scale: number;
    log: (m: string) => void;
    /** Runs on the seeded database before the base backup (tests add objects the restore must carry). */
    beforeBackup?: (url: string) => Promise<void>;
}): Promise<PitrSourceDemo> {
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-pitr-demo-"));
    fs.chmodSync(dir, 0o755);
    const repoDir = path.join(dir, "repository");
    const marksDir = path.join(dir, "vault");
    fs.mkdirSync(repoDir, { mode: 0o750 });
    fs.mkdirSync(marksDir, { mode: 0o700 });
    // pgBackRest runs as the server's OS user (archive_command, backup, restore): the repository is its.
    if (isRoot) chownTo(repoDir, "postgres");
    const settings = parsePitrSettings({ env: "demo", stanza: "demo-db", repository: { type: "posix", path: repoDir }, retention: { full: 1 } }, "demo pitr settings");
    const cipherPass = randomBytes(24).toString("base64url");
    const secrets = { cipherPass };
    let cluster: LocalCluster | undefined;
    let workspaceRemove: (() => void) | undefined;
    const cleanup = async () => {
        await cluster?.stop();
        workspaceRemove?.();
        fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
        opts.log("starting the source PostgreSQL with WAL archiving (pgBackRest, posix repository, encrypted)");
        cluster = await startLocalCluster({
            settings: { wal_level: "logical", archive_mode: "on", full_page_writes: "on", max_wal_senders: 10, max_replication_slots: 10 },
            // The archiver runs inside the server: it gets the passphrase from its environment only.
            env: secretEnvironment(settings, secrets),
        });
        const workspace = createWorkspace(settings, serverOf(cluster), dir, cluster.runAs);
        workspaceRemove = workspace.remove;
        const ctx: PgBackRestContext = { settings, secrets, configFile: workspace.configFile, runAs: cluster.runAs, cwd: workspace.dir, env: { PGPASSWORD: cluster.password } };
        const source = cluster;
        await withClient(source.url(), "demo server", async (c) => {
            await c.query(`create database ${DATABASE}`);
            await configureArchiving(c, settings.stanza, workspace.configFile);
        });
        opts.log(`seeding a Supabase-shaped database (scale ${opts.scale})`);
        const seeded = await seedSupabaseLikeDatabase(source.url(DATABASE), { scale: opts.scale, onProgress: (m) => opts.log(`  ${m}`) });
        const url = source.url(DATABASE);
        await opts.beforeBackup?.(url);

        await stanzaCreate(ctx);
        // The seed's WAL (about its size) could not be archived before the stanza existed: the archiver
        // now pushes that backlog one segment at a time, which at 1 GB takes longer than the 60 s `check`
        // waits for its own segment. Let the backlog drain first, with room for it.
        await withClient(url, "source", async (c) => {
            const lsn = (await c.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0].lsn;
            await waitForArchived(c, lsn, 15 * 60_000);
        });
        await check(ctx);
        const started = Date.now();
        await backup(ctx, "full");
        opts.log(`full base backup in ${((Date.now() - started) / 1000).toFixed(1)} s`);

        opts.log("writing: a workload of short transactions and a heartbeat every 250 ms");
        const workload = startWorkload(url, seeded.sampleUserId);
        const heartbeat = await startHeartbeat(url, 250);
        let markKey: string;
        let markLsn: string;
        let targetTime: Date;
        let transactions: number;
        let heartbeats: number;
        try {
            await pause(1500);
            const mark = await takeMark(url, settings);
            markKey = await storeMark(new DirBlobStore(marksDir), settings, mark);
            markLsn = mark.lsn;
            opts.log(`consistent-point mark ${markKey} at LSN ${mark.lsn} (${mark.fingerprint.tables.length} tables fingerprinted in its snapshot)`);
            await pause(1500);
            targetTime = new Date();
            await pause(1500);
        } finally {
            transactions = await workload.stop();
            heartbeats = (await heartbeat.stop()).length;
        }
        opts.log(`${transactions} transactions and ${heartbeats} heartbeats written; the source has moved on past the mark and T`);
        await withClient(url, "source", async (c) => {
            const lsn = (await c.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0].lsn;
            await waitForArchived(c, lsn);
        });
        return { cluster: source, settings, cipherPass, marksDir, seeded, markKey, markLsn, targetTime, transactions, heartbeats, stop: cleanup };
    } catch (err) {
        await cleanup();
        throw err;
    }
}

function chownTo(dir: string, user: string): void {
    const uid = Number(execFileSync("id", ["-u", user], { encoding: "utf8", env: toolEnvironment() }).trim());
    const gid = Number(execFileSync("id", ["-g", user], { encoding: "utf8", env: toolEnvironment() }).trim());
    fs.chownSync(dir, uid, gid);
}

/**
 * The PITR part of the demo drill's settings (drill.pitr, the same shape as in Pulumi.<env>.yaml) and
 * its objectives; scripts/demo.ts adds the demo's assertions and masking rules.
 */
export function demoPitrDrillSettings(demo: PitrSourceDemo, target: DemoPitrTarget) {
    return {
        pitr: {
            archive: demo.settings,
            marks: { kind: "dir" as const, path: demo.marksDir },
            target: target === "mark" ? { type: "mark" as const, mark: demo.markKey } : { type: "time" as const, time: demo.targetTime.toISOString() },
            database: DATABASE,
        },
        // The demo's archive is minutes old: an RPO of 5 minutes (Supabase's WAL-G pushes every 2).
        targets: { rtoSeconds: 2 * 3600, rpoSeconds: 300 },
    };
}
