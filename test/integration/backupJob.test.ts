// The backup job end to end: a sample database dumped into an S3 server with Object Lock, found fresh, then
// stale once the clock passes the RPO (with the webhook notified), and the audit's delete proof passing.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackup, type BackupJobResult } from "../../lib/backupJob/run";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { auditRetention, formatAuditReport } from "../../lib/vault/audit";
import { S3AuditSource } from "../../lib/vault/s3Audit";
import { checkFreshness, runFreshnessAlarm } from "../../lib/vault/freshness";
import { RetentionRefusedError, S3Store } from "../../lib/vault/s3Store";
import { startS3Server, type S3Server } from "../helpers/s3Server";
import { createSampleData } from "../helpers/sampleData";

const execFileAsync = promisify(execFile);
const BUCKET = "backup-job-test";
const ENV = "staging";
// Relative to the real clock: an object-lock retention date must lie in the future.
const NOW = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000); // today, 00:00 UTC
const LATER = new Date(NOW.getTime() + 3600_000); // the same day, so the same month
const day = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, "/");
const month = (d: Date) => d.toISOString().slice(0, 7).replace(/-/g, "/");
const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, "").slice(0, 14);

let pg: LocalCluster;
let server: S3Server;
let store: S3Store;
let first: BackupJobResult;
let hook: http.Server;
const received: unknown[] = [];
let hookUrl: string;

beforeAll(async () => {
    [pg, server] = await Promise.all([startLocalCluster(), startS3Server()]);
    await createSampleData(pg.url(), 500);
    await server.createLockedBucket(BUCKET, "COMPLIANCE", 1);
    store = new S3Store({ bucket: BUCKET, endpoint: server.endpoint, region: server.region, credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey } });
    hook = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
            received.push(JSON.parse(body));
            res.writeHead(200).end("ok");
        });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/secret-token-123`;
});

afterAll(async () => {
    await new Promise((r) => hook?.close(r));
    await server?.stop();
    await pg?.stop();
});

describe("backup job into S3 with Object Lock", () => {
    it("uploads dump, checksums, manifest and split files under db/{env}/YYYY/MM/DD/ with retention, plus the monthly copy", async () => {
        const lines: string[] = [];
        first = await runBackup({ sourceUrl: pg.url(), env: ENV, store, retentionDays: 7, monthlyArchiveMonths: 12, split: true, now: () => NOW, onProgress: (l) => lines.push(l) });
        const keys = first.primary.uploaded.map((u) => u.key);
        const id = first.id;
        expect(id).toBe(`backup_${stamp(NOW)}`);
        expect(first.warnings).toEqual([]); // a superuser may dump roles
        for (const name of [`${id}.dump`, `${id}.sha256`, `${id}.manifest.json`, `${id}.roles.sql`, `${id}.schema.sql`, `${id}.data.sql`]) {
            expect(keys).toContain(`db/${ENV}/${day(NOW)}/${name}`);
            expect(keys).toContain(`monthly/db/${ENV}/${month(NOW)}/${name}`);
        }
        // The manifest goes last in each tier: its presence marks a complete backup.
        expect(keys.indexOf(`db/${ENV}/${day(NOW)}/${id}.manifest.json`)).toBe(keys.filter((k) => k.startsWith("db/")).length - 1);
        expect(first.primary.monthlyArchive).toBe(true);
        const h = await store.head(`db/${ENV}/${day(NOW)}/${id}.dump`);
        expect(h?.retentionMode).toBe("COMPLIANCE");
        expect(h?.retainUntil?.toISOString()).toBe(new Date(NOW.getTime() + 7 * 86_400_000).toISOString());
        expect(h?.sha256).toBe(first.primary.uploaded.find((u) => u.key.endsWith(".dump"))?.sha256);
        // The backup survives a delete attempt on its locked version.
        await expect(store.delete(`db/${ENV}/${day(NOW)}/${id}.dump`, h?.versionId)).rejects.toBeInstanceOf(RetentionRefusedError);
        expect((await store.head(`db/${ENV}/${day(NOW)}/${id}.dump`))?.versionId).toBe(h?.versionId);
        const m = await store.head(`monthly/db/${ENV}/${month(NOW)}/${id}.dump`);
        expect(m?.retainUntil?.toISOString()).toBe(new Date(NOW.getTime() + 12 * 31 * 86_400_000).toISOString());
        expect(lines.some((l) => /upload 1\/\d+ s3:\/\/backup-job-test\/db\/staging/.test(l))).toBe(true);
        expect(lines.join("\n")).not.toContain(pg.password);
    });

    it("a second backup in the same month adds no monthly copy", async () => {
        const second = await runBackup({ sourceUrl: pg.url(), env: ENV, store, retentionDays: 7, monthlyArchiveMonths: 12, now: () => LATER });
        expect(second.primary.monthlyArchive).toBe(false);
        expect(second.primary.uploaded.every((u) => u.key.startsWith(`db/${ENV}/${day(LATER)}/`))).toBe(true);
    });

    it("mirrors the same objects into a second store, and reports (without undoing the vault copy) a mirror that fails", async () => {
        await server.createLockedBucket("mirror-archive", "GOVERNANCE", 1);
        const mirror = new S3Store({ bucket: "mirror-archive", client: server.s3Client(), lockMode: "GOVERNANCE" });
        const r = await runBackup({ sourceUrl: pg.url(), env: "mirrored", store, mirror, retentionDays: 7, monthlyArchiveMonths: 12, now: () => NOW });
        expect(r.mirror?.error).toBeUndefined();
        expect(r.mirror?.uploaded.map((u) => [u.key, u.sha256])).toEqual(r.primary.uploaded.map((u) => [u.key, u.sha256]));
        expect((await mirror.head(r.mirror!.uploaded[0].key))?.retentionMode).toBe("GOVERNANCE");
        const broken = new S3Store({ bucket: "no-such-bucket", client: server.s3Client() });
        const r2 = await runBackup({ sourceUrl: pg.url(), env: "mirrored2", store, mirror: broken, retentionDays: 7, monthlyArchiveMonths: 12, now: () => NOW });
        expect(r2.mirror?.error).toMatch(/NoSuchBucket/);
        expect(r2.primary.uploaded.length).toBe(6);
    });

    it("the freshness check finds the newest backup fresh, with every file re-verified", async () => {
        const r = await checkFreshness({ store, env: ENV, rpoSeconds: 3600, now: () => new Date(Date.now() + 60_000) });
        expect(r.status).toBe("fresh");
        expect(r.newestBackup).toMatch(new RegExp(`^db/${ENV}/${day(LATER)}/backup_${stamp(LATER)}\\.manifest\\.json$`));
        expect(r.files.length).toBe(1);
        expect(r.files.every((f) => f.ok)).toBe(true);
    });

    it("goes stale when the clock passes the RPO, and the webhook receives the notification", async () => {
        const takenAt = new Date((await checkFreshness({ store, env: ENV, verify: false })).takenAt!);
        const out = await runFreshnessAlarm({ store, env: ENV, rpoSeconds: 3600, now: () => new Date(takenAt.getTime() + 3601_000), webhookUrl: hookUrl });
        expect(out.ok).toBe(false);
        expect(out.result.status).toBe("stale");
        expect(out.result.ageSeconds).toBe(3601);
        expect(out.notified).toBe("webhook");
        expect(received).toHaveLength(1);
        expect(received[0]).toMatchObject({ status: "stale", env: ENV, age_seconds: 3601, rpo_seconds: 3600 });
        expect(JSON.stringify(received[0])).not.toContain("secret-token-123");
        // Fresh with no healthcheck URL: nothing is posted.
        const fresh = await runFreshnessAlarm({ store, env: ENV, rpoSeconds: 3600, now: () => new Date(takenAt.getTime() + 10_000), webhookUrl: hookUrl });
        expect(fresh.ok).toBe(true);
        expect(received).toHaveLength(1);
    });

    it("reports a missing environment as missing", async () => {
        const r = await runFreshnessAlarm({ store, env: "nobackups", webhookUrl: hookUrl });
        expect(r.result.status).toBe("missing");
        expect(received.at(-1)).toMatchObject({ status: "missing", newest_backup: null });
    });

    it("the freshness CLI exits 1 on a stale backup and 0 on a fresh one", async () => {
        const env = { ...process.env, BACKUP_ENV: ENV, BACKUP_BUCKET: BUCKET, S3_ENDPOINT: server.endpoint, AWS_REGION: server.region,
            AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, RPO_SECONDS: "3600" };
        const tsx = path.resolve(__dirname, "../../node_modules/.bin/tsx");
        const script = path.resolve(__dirname, "../../scripts/freshness.ts");
        const stale = await execFileAsync(tsx, [script], { env: { ...env, NOW: new Date(NOW.getTime() + 30 * 86_400_000).toISOString() } }).then(() => 0, (e: { code: number; stdout: string; stderr: string }) => e);
        expect(stale).toMatchObject({ code: 1 });
        expect((stale as { stdout: string }).stdout).toMatch(/STALE/);
        expect(JSON.stringify(stale)).not.toContain(server.secretKey);
        const ok = await execFileAsync(tsx, [script], { env: { ...env, NOW: new Date(Date.now() + 1000).toISOString() } });
        expect(ok.stdout).toMatch(/FRESH/);
        const missing = await execFileAsync(tsx, [script], { env: { ...env, BACKUP_BUCKET: "" } }).then(() => 0, (e: { code: number; stderr: string }) => e);
        expect(missing).toMatchObject({ code: 2 });
        expect((missing as { stderr: string }).stderr).toMatch(/BACKUP_BUCKET is not set/);
    });

    it("the retention audit reports locked objects and proves the newest locked version cannot be deleted", async () => {
        // Root may not lift a COMPLIANCE lock either, so its refused delete is the lock's refusal.
        const report = await auditRetention({ source: new S3AuditSource({ bucket: BUCKET, client: server.s3Client() }), env: ENV, expected: { mode: "COMPLIANCE", days: 1, monthlyMonths: 12 } });
        expect(report.total.objects).toBeGreaterThanOrEqual(first.primary.uploaded.length);
        expect(report.byState.locked.objects).toBe(report.total.objects);
        expect(report.unprotected).toEqual([]);
        expect(report.immutability.status).toBe("PASS");
        const [probe] = report.immutability.probes;
        expect(probe.key).toMatch(/^(monthly\/)?db\/staging\//);
        expect(probe.attempt.outcome).toBe("refused-object-lock");
        expect(await store.head(probe.key, probe.versionId)).toMatchObject({ versionId: probe.versionId });
        expect(formatAuditReport(report)).toMatch(/Immutability proof: PASS/);
    });

    it("the backup and retention-audit CLIs run end to end without printing secrets", async () => {
        const tsx = path.resolve(__dirname, "../../node_modules/.bin/tsx");
        const script = (n: string) => path.resolve(__dirname, `../../scripts/${n}.ts`);
        const env = { ...process.env, SOURCE_DB_URL: pg.url(), BACKUP_ENV: "cli", BACKUP_BUCKET: BUCKET, S3_ENDPOINT: server.endpoint, AWS_REGION: server.region,
            AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, RETENTION_DAYS: "2", OBJECT_LOCK_MODE: "COMPLIANCE", LOCK_RETENTION_DAYS: "1", LOCK_MONTHLY_MONTHS: "12" };
        const backup = await execFileAsync(tsx, [script("backup")], { env });
        expect(backup.stdout).toMatch(/objects in s3:\/\/backup-job-test \(with monthly archive\)/);
        expect(backup.stderr).toMatch(/upload 1\//);
        const jsonFile = path.join(os.tmpdir(), `audit-${process.pid}.json`);
        const audit = await execFileAsync(tsx, [script("retention-audit"), "--json", jsonFile], { env });
        expect(audit.stdout).toMatch(/Immutability proof: PASS/);
        expect(audit.stdout).toMatch(/Result: PASS/);
        const report = JSON.parse(fs.readFileSync(jsonFile, "utf8")) as { byState: { locked: { objects: number } } };
        fs.rmSync(jsonFile, { force: true });
        expect(report.byState.locked.objects).toBe(6); // dump, .sha256, manifest × daily and monthly
        for (const out of [backup.stdout, backup.stderr, audit.stdout, audit.stderr]) {
            expect(out).not.toContain(pg.password);
            expect(out).not.toContain(server.secretKey);
        }
        const bad = await execFileAsync(tsx, [script("backup")], { env: { ...env, SOURCE_DB_URL: "" } }).then(() => 0, (e: { code: number; stderr: string }) => e);
        expect(bad).toMatchObject({ code: 2 });
        expect((bad as { stderr: string }).stderr).toMatch(/SOURCE_DB_URL is not set/);
    });
});
