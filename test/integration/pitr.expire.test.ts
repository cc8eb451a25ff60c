// Retention of the WAL archive under Object Lock, on real parts: PostgreSQL 15 archiving through
// pgBackRest 2.45 into the S3 test server over HTTPS, in a COMPLIANCE-locked, versioned bucket with
// repository encryption. Three full backups are taken with `npm run pitr -- backup` (which never
// expires on its own), then `npm run pitr -- expire` with retention.full = 1. What must hold:
// pgBackRest retires the two older backups and the WAL only they needed; its DELETEs leave the locked
// versions in place behind delete markers, and the report says what was retired and until when the
// lock keeps it; the repository stays consistent (info ok, verify PASS, the newest backup restores);
// and the server refuses to delete a locked version for good, even with the governance bypass.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { info } from "../../lib/pitr/info";
import { restoreToTarget } from "../../lib/pitr/restore";
import { waitForArchived } from "../../lib/pitr/restorePoint";
import { stanzaCreate } from "../../lib/pitr/setup";
import { currentVersions, listVersions, type ObjectVersion } from "../../lib/pitrOps/s3Versions";
import { parseOpsSettings, type OpsSettings } from "../../lib/pitrOps/settings";
import { withClient } from "../../lib/postgres/connection";
import { startPitrSource, type PitrSource } from "../helpers/pitrCluster";
import { startS3Server, type S3Server } from "../helpers/s3Server";
import { runScript, type StepResult } from "../helpers/workflowSteps";

const ROOT = path.resolve(__dirname, "../..");
const BUCKET = "pitr-expire-vault";
const ENV = "expiretest";
const STANZA = `${ENV}-db`;
const LOCK_DAYS = 1;
const PREFIX = `pitr/${ENV}/`;

let s3: S3Server;
let admin: S3Client;
let src: PitrSource;
let dir: string;
let settingsFile: string;
let settings: OpsSettings;
const labels: string[] = [];
let rowsAtNewest = 0;
let before: ObjectVersion[] = [];
let expireRun: StepResult;
let expireStarted: Date;

/**
 * `npm run pitr -- <args>` as package.json runs it: the bundled scripts/pitr.ts through
 * scripts/run-cli.sh, under the Node scripts/with-node.sh ensures. Secrets only in the environment.
 */
function pitr(args: string[]): Promise<StepResult> {
    const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    return runScript(`bash scripts/with-node.sh bash scripts/run-cli.sh pitr ${quoted} --settings '${settingsFile}'`, {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        AWS_ACCESS_KEY_ID: s3.accessKey,
        AWS_SECRET_ACCESS_KEY: s3.secretKey,
        PITR_CIPHER_PASS: src.secrets.cipherPass!,
        PGPASSWORD: src.cluster.password,
    }, ROOT);
}

/** stderr without the bundler's progress lines (the first run with given sources builds the bundle). */
const problems = (r: StepResult) => r.stderr.split("\n").filter((l) => l !== "" && !/^(ensure-cli: (?!error)|build-cli: )/.test(l));

const secretsShown = (r: StepResult) =>
    [src.secrets.cipherPass!, s3.secretKey, src.cluster.password].filter((s) => r.stdout.includes(s) || r.stderr.includes(s));

const keysOf = (versions: ObjectVersion[], prefix: string) => [...currentVersions(versions).keys()].filter((k) => k.startsWith(prefix));

beforeAll(async () => {
    s3 = await startS3Server();
    admin = s3.s3Client();
    await s3.createLockedBucket(BUCKET, "COMPLIANCE", LOCK_DAYS);
    src = await startPitrSource(s3, BUCKET, ENV);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-pitr-expire-"));
    settingsFile = path.join(dir, "settings.json");
    const { cluster } = src;
    settings = parseOpsSettings({
        ...src.settings,
        // Keep one full backup: expire retires the other two and the WAL only they needed.
        retention: { full: 1 },
        server: {
            dataDir: cluster.dataDir, port: cluster.port, socketDir: cluster.rootDir, user: cluster.user,
            configFile: path.join(dir, "pgbackrest.conf"), logPath: path.join(dir, "log"), lockPath: path.join(dir, "lock"), spoolPath: path.join(dir, "spool"),
            archiveKeyType: "shared",
        },
    }, "test settings");
    fs.writeFileSync(settingsFile, JSON.stringify(settings));
    await withClient(cluster.url(), "source", (c) => c.query("create table t(g int, batch int)"));
    await stanzaCreate(src.ctx);
}, 180_000);

afterAll(async () => {
    await src?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await s3?.stop();
});

describe("expire on an Object-Locked vault", () => {
    it("three full backups by `npm run pitr -- backup`: none is expired by the backup itself", async () => {
        for (let batch = 1; batch <= 3; batch++) {
            await withClient(src.cluster.url(), "source", async (c) => {
                await c.query("insert into t select g, $1 from generate_series(1, 2000) g", [batch]);
                // Segments of their own between the backups, so the older backups' WAL can be retired.
                await c.query("select pg_switch_wal()");
                await c.query("insert into t select g, $1 from generate_series(1, 10) g", [batch]);
                await waitForArchived(c, (await c.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0].lsn);
            });
            const r = await pitr(["backup", "--type", "full"]);
            expect(problems(r), r.stderr).toEqual([]);
            expect(r.status).toBe(0);
            const m = /backup: full backup (\d{8}-\d{6}F) of stanza expiretest-db done/.exec(r.stdout);
            expect(m, r.stdout).not.toBeNull();
            labels.push(m![1]);
            expect(secretsShown(r)).toEqual([]);
        }
        rowsAtNewest = await withClient(src.cluster.url(), "source", async (c) => Number((await c.query("select count(*) as n from t")).rows[0].n));
        const repo = await info(src.ctx);
        expect(repo.backups.map((b) => b.label)).toEqual(labels);
        expect(new Set(labels).size).toBe(3);
    });

    it("expire retires the two older backups and their WAL; the report says what Object Lock keeps and until when", async () => {
        before = await listVersions(admin, BUCKET, PREFIX);
        expireStarted = new Date();
        expireRun = await pitr(["expire"]);
        expect(problems(expireRun), expireRun.stderr).toEqual([]);
        expect(expireRun.status, expireRun.stdout).toBe(0);
        expect(secretsShown(expireRun)).toEqual([]);
        const out = expireRun.stdout;

        const expired = /^expire: expired backup\(s\) (.+); (.+)$/m.exec(out);
        expect(expired, out).not.toBeNull();
        expect(expired![1].split(", ").sort()).toEqual([labels[0], labels[1]]);
        expect(expired![2]).toMatch(/remove archive/);

        const after = await listVersions(admin, BUCKET, PREFIX);
        const retiredKeys = [...currentVersions(before).keys()].filter((k) => !currentVersions(after).has(k));
        const counts = /^ {2}(\d+) file\(s\) retired from the repository; (\d+) version\(s\) \((\d+) bytes\) are still stored behind delete markers, (\d+) deleted outright$/m.exec(out);
        expect(counts, out).not.toBeNull();
        expect(Number(counts![1])).toBe(retiredKeys.length);
        expect(Number(counts![2])).toBe(retiredKeys.length);
        expect(Number(counts![4])).toBe(0);
        const retiredBytes = retiredKeys.reduce((n, k) => n + currentVersions(before).get(k)!.bytes, 0);
        expect(Number(counts![3])).toBe(retiredBytes);

        const locked = /^ {2}not deleted: (\d+) version\(s\) under Object Lock until (\S+) at the latest \(e\.g\. (\S+)\);/m.exec(out);
        expect(locked, out).not.toBeNull();
        expect(Number(locked![1])).toBe(retiredKeys.length);
        const until = Date.parse(locked![2]);
        // Locked for LOCK_DAYS from when each version was written: after now, and at most a lock period after expire ran.
        expect(until).toBeGreaterThan(Date.now());
        expect(until).toBeLessThanOrEqual(expireStarted.getTime() + LOCK_DAYS * 86_400_000 + 60_000);
        expect(retiredKeys).toContain(locked![3]);

        expect(out).toMatch(new RegExp(`^ {2}repository after expire: stanza status 0 \\(ok\\); backups ${labels[2]}$`, "m"));
    });

    it("the retired files are hidden by delete markers, every version still stored; the newest backup's files are untouched", async () => {
        const after = await listVersions(admin, BUCKET, PREFIX);
        const backupDir = (label: string) => `${PREFIX}backup/${STANZA}/${label}/`;
        for (const label of [labels[0], labels[1]]) {
            const files = keysOf(before, backupDir(label));
            expect(files.length, label).toBeGreaterThan(0);
            for (const key of files) {
                const versions = after.filter((v) => v.key === key);
                expect(versions.find((v) => v.isLatest)?.deleteMarker, key).toBe(true);
                // Every data version the backup wrote (a manifest copy is written more than once) is
                // still there, now noncurrent.
                const ids = (vs: ObjectVersion[]) => vs.filter((v) => v.key === key && !v.deleteMarker).map((v) => v.versionId).sort();
                expect(ids(versions), key).toEqual(ids(before));
                expect(ids(versions), key).toContain(currentVersions(before).get(key)!.versionId);
            }
        }
        const newest = keysOf(before, backupDir(labels[2]));
        expect(newest.length).toBeGreaterThan(0);
        expect(keysOf(after, backupDir(labels[2]))).toEqual(newest);
        expect(after.filter((v) => v.deleteMarker && v.key.startsWith(backupDir(labels[2])))).toEqual([]);

        // WAL: what only the retired backups needed is retired, what the newest backup needs is current.
        const archive = `${PREFIX}archive/${STANZA}/`;
        const segment = (key: string) => path.basename(key).slice(0, 24);
        const retiredWal = keysOf(before, archive).filter((k) => /\/[0-9A-F]{24}-/.test(k) && !currentVersions(after).has(k));
        expect(retiredWal.length).toBeGreaterThan(0);
        const newestBackup = (await info(src.ctx)).newestBackup!;
        for (const k of retiredWal) expect(segment(k) < newestBackup.archiveStart, k).toBe(true);
        const kept = keysOf(after, archive).filter((k) => /\/[0-9A-F]{24}-/.test(k)).map(segment);
        expect(kept).toContain(newestBackup.archiveStart);
        expect(kept).toContain(newestBackup.archiveStop);
    });

    it("leaves a consistent repository: info ok with the newest backup, verify PASS", async () => {
        const repo = await info(src.ctx);
        expect(repo.status).toEqual({ code: 0, message: "ok" });
        expect(repo.backups.map((b) => b.label)).toEqual([labels[2]]);
        const v = await pitr(["verify"]);
        expect(problems(v), v.stderr).toEqual([]);
        expect(v.stdout).toContain(`verify: stanza ${STANZA}: PASS`);
        expect(v.status).toBe(0);
    });

    it("a second expire finds nothing beyond retention and retires nothing", async () => {
        const r = await pitr(["expire"]);
        expect(problems(r), r.stderr).toEqual([]);
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/^expire: no backup beyond retention; /m);
        expect(r.stdout).not.toMatch(/retired from the repository|not deleted:/);
    });

    it("the newest backup still restores, with every row it holds", async () => {
        const restored = await restoreToTarget({ settings: src.settings, secrets: src.secrets, target: { type: "immediate" } });
        try {
            expect(restored.backupLabel).toBe(labels[2]);
            const rows = await withClient(restored.url(), "restored", async (c) =>
                (await c.query<{ batch: number; n: string }>("select batch, count(*) as n from t group by batch order by batch")).rows);
            expect(rows.map((r) => [r.batch, Number(r.n)])).toEqual([[1, 2010], [2, 2010], [3, 2010]]);
            expect(rows.reduce((n, r) => n + Number(r.n), 0)).toBe(rowsAtNewest);
        } finally {
            await restored.stop();
        }
    });

    it("the server refuses to delete a locked version for good, with or without the governance bypass", async () => {
        const after = await listVersions(admin, BUCKET, PREFIX);
        const hidden = after.find((v) => !v.deleteMarker && !v.isLatest && v.key.includes(`/backup/${STANZA}/${labels[0]}/`));
        expect(hidden).toBeDefined();
        for (const bypass of [false, true]) {
            const err = await admin.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: hidden!.key, VersionId: hidden!.versionId, BypassGovernanceRetention: bypass || undefined }))
                .then(() => undefined, (e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
            expect(err, `bypass ${bypass}`).toBeDefined();
            expect(err!.$metadata?.httpStatusCode, `${err!.name}: ${err!.message}`).toBe(403);
        }
        const still = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: hidden!.key, VersionId: hidden!.versionId }));
        expect(still.ContentLength).toBe(hidden!.bytes);
    });
});
