// The retention audit against the real S3 test server (Versity Gateway) with real principals: the
// gateway runs its internal IAM (startS3Server({ iam: true })), and besides root it knows
//   - `auditor`: a plain user whom the bucket policy allows to delete versions and read locks, and
//     explicitly denies s3:BypassGovernanceRetention — the retention-auditor role's grants;
//   - `reader`: a plain user allowed to read and list only — the drill-reader role the old audit ran as.
// Root is never the auditing principal: it may bypass GOVERNANCE locks, so its deletes prove nothing.
// The grants live in bucket policies (the gateway's internal IAM has no identity policies), so the
// reader's refusal is a policy denial — "Access Denied." — as an IAM denial is on AWS, while the lock's
// refusal is "Access Denied because object protected by object lock.": same code, same HTTP 403.
// Each version's own lock is judged too: a version written with a short per-object GOVERNANCE lock —
// which the gateway, like AWS, records as written — FAILs the audit although the bucket and the delete
// proof are as expected.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import {
    CreateBucketCommand,
    DeleteObjectCommand,
    ListObjectVersionsCommand,
    PutBucketPolicyCommand,
    PutObjectCommand,
    S3Client,
    type ObjectLockRetentionMode,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monthlyRetainUntil } from "../../lib/backupJob/plan";
import { auditRetention, formatAuditReport, LOCK_CLOCK_TOLERANCE_MS, type ExpectedLock } from "../../lib/vault/audit";
import type { ObjectLockMode } from "../../lib/vault/policies";
import { OBJECT_LOCK_REFUSAL, S3AuditSource, classifyDeleteError, type DeleteAttempt } from "../../lib/vault/s3Audit";
import { S3Store } from "../../lib/vault/s3Store";
import { startS3Server, type S3Server, type S3User } from "../helpers/s3Server";

const execFileAsync = promisify(execFile);
const DAY = 86_400_000;
const ENV = "prod";
/** The expectation of a vault whose daily locks last `days` (monthly archives: 12 months, as on prod). */
const lockOf = (mode: ObjectLockMode, days: number): ExpectedLock => ({ mode, days, monthlyMonths: 12 });
const sha = (b: string) => createHash("sha256").update(b).digest("hex");

let server: S3Server;
let root: S3Client;
let auditor: S3User;
let reader: S3User;

/** The retention-auditor's and the drill-reader's grants, as a bucket policy. */
async function grant(bucket: string): Promise<void> {
    const arn = `arn:aws:s3:::${bucket}`;
    const reads = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketObjectLockConfiguration", "s3:GetObjectRetention", "s3:GetObjectLegalHold"];
    await root.send(new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                { Sid: "AuditorReadsAndDeletes", Effect: "Allow", Principal: { AWS: [auditor.accessKeyId] }, Action: [...reads, "s3:DeleteObjectVersion"], Resource: [arn, `${arn}/*`] },
                { Sid: "AuditorNeverBypasses", Effect: "Deny", Principal: { AWS: [auditor.accessKeyId] }, Action: ["s3:BypassGovernanceRetention", "s3:DeleteObject"], Resource: [`${arn}/*`] },
                { Sid: "ReaderReadsOnly", Effect: "Allow", Principal: { AWS: [reader.accessKeyId] }, Action: [...reads, "s3:GetObject", "s3:GetObjectVersion"], Resource: [arn, `${arn}/*`] },
            ],
        }),
    }));
}

async function put(bucket: string, key: string, body: string, lock?: { mode: ObjectLockRetentionMode; days: number }): Promise<string> {
    const out = await root.send(new PutObjectCommand({
        Bucket: bucket, Key: key, Body: body, ChecksumAlgorithm: "SHA256",
        ...(lock ? { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: new Date(Math.ceil((Date.now() + lock.days * DAY) / 1000) * 1000) } : {}),
    }));
    return out.VersionId!;
}

async function versionIds(bucket: string, key: string): Promise<string[]> {
    const out = await root.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    return (out.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId!);
}

const audit = (bucket: string, user: S3User, expected: ExpectedLock, prove = true) =>
    auditRetention({ source: new S3AuditSource({ bucket, client: server.clientFor(user) }), env: ENV, expected, proveImmutability: prove });

beforeAll(async () => {
    server = await startS3Server({ iam: true });
    root = server.s3Client();
    auditor = await server.createUser("auditor");
    reader = await server.createUser("reader");
});

afterAll(async () => {
    await server?.stop();
});

describe("the retention audit on a real Object Lock server", () => {
    const LOCKED = "audit-locked";
    const DUMP = `db/${ENV}/2026/11/20/backup_20261120010000.dump`;
    let noncurrent: string;
    let current: string;

    beforeAll(async () => {
        await server.createLockedBucket(LOCKED, "COMPLIANCE", 1);
        await grant(LOCKED);
        // The project's own store writes the backups (explicit COMPLIANCE retention on every put).
        const store = new S3Store({ bucket: LOCKED, client: root });
        const write = (key: string, text: string, retainUntil = new Date(Date.now() + DAY)) => store.put(key, Readable.from([Buffer.from(text)]), { sha256: sha(text), bytes: text.length, retainUntil });
        noncurrent = (await write(DUMP, "first dump")).versionId!;
        current = (await write(DUMP, "second dump")).versionId!;
        await write(`storage/${ENV}/avatars/2026/11/20/manifest.json`, "{}");
        // The month's archive, locked as the nightly locks it.
        await write(`monthly/db/${ENV}/2026/11/backup_20261120010000.dump`, "second dump", monthlyRetainUntil(new Date(), 12));
    });

    it("PASSes with the bucket locked as expected, every version (current and noncurrent) locked, and the delete refused by the lock", async () => {
        const r = await audit(LOCKED, auditor, lockOf("COMPLIANCE", 1));
        expect(r.findings).toEqual([]);
        expect(r.result).toBe("PASS");
        expect(r.bucketLock).toMatchObject({ status: "PASS", actual: { enabled: true, mode: "COMPLIANCE", days: 1 } });
        const dumps = r.versions.filter((v) => v.key === DUMP);
        expect(dumps.map((v) => [v.versionId, v.isLatest, v.state, v.retentionMode]).sort()).toEqual([
            [current, true, "locked", "COMPLIANCE"], [noncurrent, false, "locked", "COMPLIANCE"],
        ].sort());
        expect(dumps.every((v) => new Date(v.retainUntil!).getTime() > Date.now())).toBe(true);
        // Every version's own lock judged against its tier: three daily-length, one monthly.
        expect(r.versionLocks).toEqual({ status: "PASS", judged: 4, failing: 0 });
        expect(r.versions.map((v) => v.tier).sort()).toEqual(["daily", "daily", "daily", "monthly"]);
        const [p] = r.immutability.probes;
        // The gateway's refusal, pinned: exactly what AWS answers (lib/vault/s3Audit.ts OBJECT_LOCK_REFUSAL).
        expect(p.attempt).toEqual({ outcome: "refused-object-lock", code: "AccessDenied", httpStatus: 403, message: "Access Denied because object protected by object lock." });
        expect(OBJECT_LOCK_REFUSAL.message).toBe((p.attempt as Extract<DeleteAttempt, { message: string }>).message);
        expect(p.unchanged).toBe(true);
        expect(await versionIds(LOCKED, p.key)).toContain(p.versionId);
        expect(formatAuditReport(r)).toMatch(/Result: PASS$/);
    });

    it("FAILs on a bucket default other than the configured one", async () => {
        const r = await audit(LOCKED, auditor, lockOf("COMPLIANCE", 7));
        expect(r.result).toBe("FAIL");
        expect(r.bucketLock.detail).toBe("the bucket's default retention is COMPLIANCE for 1 day(s), expected COMPLIANCE for 7 day(s)");
    });

    it("FAILs when the delete is refused for another reason than the lock: the drill reader has no delete", async () => {
        const r = await audit(LOCKED, reader, lockOf("COMPLIANCE", 1));
        expect(r.result).toBe("FAIL");
        expect(r.immutability.status).toBe("FAIL");
        expect(r.immutability.probes[0].attempt).toMatchObject({ outcome: "refused-other", code: "AccessDenied", httpStatus: 403, message: "Access Denied." });
        expect(r.immutability.detail).toMatch(/refused, but not by Object Lock/);
        // Every version is still there: the refusal was real, just not the lock's.
        expect((await versionIds(LOCKED, DUMP)).sort()).toEqual([current, noncurrent].sort());
    });

    it("is SKIPPED without the delete proof, and the CLI exits 3; with it every S3 check PASSes and the CLI writes its report", async () => {
        const r = await audit(LOCKED, auditor, lockOf("COMPLIANCE", 1), false);
        expect(r.result).toBe("SKIPPED");
        expect(r.immutability).toMatchObject({ status: "SKIPPED", probes: [] });

        const tsx = path.resolve(__dirname, "../../node_modules/.bin/tsx");
        const script = path.resolve(__dirname, "../../scripts/retention-audit.ts");
        const env = { ...process.env, BACKUP_BUCKET: LOCKED, S3_ENDPOINT: server.endpoint, AWS_REGION: server.region,
            AWS_ACCESS_KEY_ID: auditor.accessKeyId, AWS_SECRET_ACCESS_KEY: auditor.secretAccessKey, OBJECT_LOCK_MODE: "COMPLIANCE", LOCK_RETENTION_DAYS: "1" };
        const skipped = await execFileAsync(tsx, [script, "--env", ENV, "--no-delete-proof"], { env }).then(() => undefined, (e: { code: number; stdout: string; stderr: string }) => e);
        expect(skipped, "a run without the delete proof exited 0").toBeDefined();
        expect(skipped!.code).toBe(3);
        expect(skipped!.stdout).toMatch(/Immutability proof: SKIPPED/);
        expect(skipped!.stdout).toMatch(/Result: SKIPPED/);

        const reportFile = path.join(os.tmpdir(), `retention-audit-${process.pid}.md`);
        try {
            // The workflow's own command line. Every S3 check PASSes; prod's stack also declares an Azure
            // archive, which this run is not given (test/integration/vault.azureAudit.test.ts audits it):
            // unaudited, it holds the result at SKIPPED (exit 3), never PASS.
            const ok = await execFileAsync(tsx, [script, "--env", ENV, "--report", reportFile], { env }).then(() => undefined, (e: { code: number; stdout: string; stderr: string }) => e);
            expect(ok, "an audit that left the stack's Azure archive out exited 0").toBeDefined();
            expect(ok!.code).toBe(3);
            expect(ok!.stdout).toMatch(/^Bucket lock: PASS/m);
            expect(ok!.stdout).toMatch(/^Immutability proof: PASS/m);
            expect(ok!.stdout).toMatch(/azure archive: not audited/);
            expect(ok!.stdout).toMatch(/^Result: SKIPPED$/m);
            // Mode and days from the environment, the monthly months from the prod stack file.
            expect(ok!.stdout).toMatch(/^Expected: COMPLIANCE; daily ≥ 1 day\(s\), monthly ≥ 12 month\(s\) .* — from OBJECT_LOCK_MODE, LOCK_RETENTION_DAYS; Pulumi\.prod\.yaml \(supabase-dr:aws monthlyArchiveMonths\)$/m);
            expect(ok!.stdout).toMatch(/^Version locks: PASS — 4 judged version\(s\) meet the expected mode and length$/m);
            expect(fs.readFileSync(reportFile, "utf8")).toBe(ok!.stdout);
            for (const out of [ok!.stdout, ok!.stderr, skipped!.stdout, skipped!.stderr]) expect(out).not.toContain(auditor.secretAccessKey);
        } finally {
            fs.rmSync(reportFile, { force: true });
        }
    });

    it("FAILs, never PASSes, on an unexpected error (a bucket that does not exist)", async () => {
        const r = await audit("audit-no-such-bucket", auditor, lockOf("COMPLIANCE", 1));
        expect(r.result).toBe("FAIL");
        expect(r.findings.join("\n")).toMatch(/NoSuchBucket/);
        expect(r.immutability.status).toBe("FAIL");
    });
});

describe("the retention audit finds what is not protected", () => {
    it("FAILs naming a version with no retention in a bucket with no default rule", async () => {
        const bucket = "audit-unlocked";
        await root.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
        await grant(bucket);
        const key = `db/${ENV}/2026/11/21/backup.dump`;
        const bare = await put(bucket, key, "unlocked", undefined);
        await put(bucket, key, "locked", { mode: "COMPLIANCE", days: 1 });
        const r = await audit(bucket, auditor, lockOf("COMPLIANCE", 1));
        expect(r.result).toBe("FAIL");
        expect(r.unprotected).toEqual([`${key} (version ${bare})`]);
        expect(r.versions.find((v) => v.versionId === bare)).toMatchObject({ isLatest: false, state: "none" });
        expect(r.bucketLock.detail).toMatch(/no default retention rule/);
        // The proof itself held: the locked version's delete was refused by the lock.
        expect(r.immutability.status).toBe("PASS");
    });

    it("reports versions covered only by the gateway's bucket default as such, and PASSes once their delete is refused", async () => {
        const bucket = "audit-default-only";
        await server.createLockedBucket(bucket, "COMPLIANCE", 1);
        await grant(bucket);
        const key = `storage/${ENV}/docs/2026/11/21/a.pdf`;
        await put(bucket, key, "one");
        await put(bucket, key, "two");
        const r = await audit(bucket, auditor, lockOf("COMPLIANCE", 1));
        expect(r.findings).toEqual([]);
        expect(r.result).toBe("PASS");
        expect(r.byState["bucket-default"].objects).toBe(2);
        expect(r.versions.every((v) => v.retainUntil === undefined && v.retentionMode === undefined)).toBe(true);
        expect(r.immutability.probes).toEqual([expect.objectContaining({ protectedBy: "bucket default", status: "PASS", unchanged: true })]);
        expect(formatAuditReport(r)).toMatch(/protected only by the bucket default: no per-version until-date/);
    });

    it("FAILs loudly when a delete succeeds (a principal that may bypass governance)", async () => {
        const bucket = "audit-governance";
        await server.createLockedBucket(bucket, "GOVERNANCE", 1);
        await grant(bucket);
        const key = `db/${ENV}/2026/11/21/backup.dump`;
        const v = await put(bucket, key, "governed", { mode: "GOVERNANCE", days: 1 });
        // What the explicit Deny of s3:BypassGovernanceRetention prevents: root asks for the bypass.
        class BypassingSource extends S3AuditSource {
            async deleteVersion(k: string, versionId: string): Promise<DeleteAttempt> {
                try {
                    await root.send(new DeleteObjectCommand({ Bucket: bucket, Key: k, VersionId: versionId, BypassGovernanceRetention: true }));
                    return { outcome: "deleted" };
                } catch (err) {
                    return classifyDeleteError(err);
                }
            }
        }
        const r = await auditRetention({ source: new BypassingSource({ bucket, client: server.clientFor(auditor) }), env: ENV, expected: lockOf("GOVERNANCE", 1) });
        expect(r.result).toBe("FAIL");
        expect(r.immutability.detail).toMatch(new RegExp(`DELETE OF A LOCKED VERSION SUCCEEDED: ${key.replace(/\//g, "\\/")} \\(version ${v}\\)`));
        expect(await versionIds(bucket, key)).toEqual([]);
        // The auditor itself, denied the bypass, cannot do this: the same kind of version is refused by the lock.
        const v2 = await put(bucket, key, "governed again", { mode: "GOVERNANCE", days: 1 });
        const own = await audit(bucket, auditor, lockOf("GOVERNANCE", 1));
        expect(own.result).toBe("PASS");
        expect(own.immutability.probes[0]).toMatchObject({ versionId: v2, attempt: { outcome: "refused-object-lock" } });
        const bypass = await server.clientFor(auditor).send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: v2, BypassGovernanceRetention: true })).then(() => undefined, (e: unknown) => e as Error);
        expect(bypass?.message).toMatch(/not authorized to perform: s3:BypassGovernanceRetention/);
    });
});

describe("the retention audit judges each version's own lock", () => {
    const bucket = "audit-own-locks";
    const DUMP = `db/${ENV}/2026/11/21/backup_20261121010000.dump`;
    const MONTHLY = `monthly/db/${ENV}/2026/11/backup_20261121010000.dump`;
    let store: S3Store;
    const write = (key: string, text: string, retainUntil: Date) => store.put(key, Readable.from([Buffer.from(text)]), { sha256: sha(text), bytes: text.length, retainUntil });

    beforeAll(async () => {
        await server.createLockedBucket(bucket, "COMPLIANCE", 1);
        await grant(bucket);
        store = new S3Store({ bucket, client: root });
        await write(DUMP, "dump", new Date(Date.now() + DAY));
        await write(`storage/${ENV}/avatars/2026/11/21/objects/a.png`, "png", new Date(Date.now() + DAY));
        await write(MONTHLY, "dump", monthlyRetainUntil(new Date(), 12));
    });

    it("PASSes the vault the nightly writes, then FAILs it once a version carries a one-hour GOVERNANCE lock of its own", async () => {
        const correct = await audit(bucket, auditor, lockOf("COMPLIANCE", 1));
        expect(correct.findings).toEqual([]);
        expect(correct.result).toBe("PASS");

        // A per-object mode and date override the bucket default: the gateway, like AWS, keeps what was written.
        const weak = await put(bucket, DUMP, "weak dump", { mode: "GOVERNANCE", days: 1 / 24 });
        const r = await audit(bucket, auditor, lockOf("COMPLIANCE", 1));
        expect(r.result).toBe("FAIL");
        expect(r.bucketLock.status).toBe("PASS");
        // The delete proof alone would have passed this vault: the newest locked version's delete was refused.
        expect(r.immutability.status).toBe("PASS");
        const v = r.versions.find((x) => x.versionId === weak)!;
        expect(v).toMatchObject({ key: DUMP, isLatest: true, state: "locked", retentionMode: "GOVERNANCE", tier: "daily" });
        expect(v.lockProblems).toEqual([
            "locked in GOVERNANCE where COMPLIANCE is expected",
            `until ${v.retainUntil}, needs ≥ ${v.requiredUntil} (daily: 1 day(s) after its LastModified)`,
        ]);
        const findings = r.findings.join("\n");
        expect(findings).toContain(`1 version(s) locked in GOVERNANCE where COMPLIANCE is expected (GOVERNANCE gives way to anyone allowed s3:BypassGovernanceRetention): ${DUMP} (version ${weak})`);
        expect(findings).toContain(`locked shorter than required (less ${LOCK_CLOCK_TOLERANCE_MS / 60_000} min for the nightly's clock): ${DUMP} (version ${weak}) until ${v.retainUntil}`);
        expect(formatAuditReport(r)).toMatch(/^Version locks: FAIL — 1 of 4 judged version\(s\) fall short of the expected mode or length$/m);
    });

    it("FAILs a monthly archive written with a daily-length lock", async () => {
        const daily = (await write(MONTHLY, "dump again", new Date(Date.now() + DAY))).versionId!;
        const r = await audit(bucket, auditor, lockOf("COMPLIANCE", 1));
        expect(r.result).toBe("FAIL");
        const v = r.versions.find((x) => x.versionId === daily)!;
        expect(v).toMatchObject({ key: MONTHLY, state: "locked", retentionMode: "COMPLIANCE", tier: "monthly" });
        expect(v.lockProblems).toEqual([`until ${v.retainUntil}, needs ≥ ${v.requiredUntil} (monthly: 12 month(s) of 31 days after its LastModified)`]);
        expect(new Date(v.requiredUntil!).toISOString()).toBe(monthlyRetainUntil(new Date(v.lastModified), 12).toISOString());
        expect(r.findings.join("\n")).toContain(`${MONTHLY} (version ${daily}) until ${v.retainUntil}, needs ≥ ${v.requiredUntil}`);
    });
});
