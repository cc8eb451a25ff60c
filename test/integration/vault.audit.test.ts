// The retention audit against the real S3 test server (Versity Gateway) with real principals: the
// gateway runs its internal IAM (VGW_IAM_DIR, read from its environment), and besides root it knows
//   - `auditor`: a plain user whom the bucket policy allows to delete versions and read locks, and
//     explicitly denies s3:BypassGovernanceRetention — the retention-auditor role's grants;
//   - `reader`: a plain user allowed to read and list only — the drill-reader role the old audit ran as.
// Root is never the auditing principal: it may bypass GOVERNANCE locks, so its deletes prove nothing.
// The grants live in bucket policies (the gateway's internal IAM has no identity policies), so the
// reader's refusal is a policy denial — "Access Denied." — as an IAM denial is on AWS, while the lock's
// refusal is "Access Denied because object protected by object lock.": same code, same HTTP 403.
import { execFile } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
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
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRetention, formatAuditReport, type ExpectedLock } from "../../lib/vault/audit";
import { S3AuditSource, classifyDeleteError, type DeleteAttempt } from "../../lib/vault/s3Audit";
import { S3Store } from "../../lib/vault/s3Store";
import { startS3Server, type S3Server } from "../helpers/s3Server";

const execFileAsync = promisify(execFile);
const DAY = 86_400_000;
const ENV = "prod";
const sha = (b: string) => createHash("sha256").update(b).digest("hex");

interface User {
    accessKeyId: string;
    secretAccessKey: string;
}

let server: S3Server;
let iamDir: string;
let root: S3Client;
const auditor: User = { accessKeyId: `auditor${randomBytes(4).toString("hex")}`, secretAccessKey: randomBytes(18).toString("base64url") };
const reader: User = { accessKeyId: `reader${randomBytes(4).toString("hex")}`, secretAccessKey: randomBytes(18).toString("base64url") };
const clients: S3Client[] = [];

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: SourceData): Buffer =>
    typeof d === "string" ? Buffer.from(d) : d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(d.buffer, d.byteOffset, d.byteLength);

/** SHA-256 and HMAC-SHA-256 in the shape @smithy/signature-v4 expects. */
class Sha256 {
    private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
    constructor(private readonly secret?: SourceData) {
        this.hash = this.fresh();
    }
    private fresh() {
        return this.secret !== undefined ? createHmac("sha256", bytesOf(this.secret)) : createHash("sha256");
    }
    update(data: SourceData): void {
        this.hash.update(bytesOf(data));
    }
    async digest(): Promise<Uint8Array> {
        return new Uint8Array(this.hash.digest());
    }
    reset(): void {
        this.hash = this.fresh();
    }
}

/** The gateway's admin API (PATCH /create-user, SigV4-signed by root): a plain, non-admin user. */
async function createUser(user: User): Promise<void> {
    const url = new URL(server.endpoint);
    const body = `<Account><Access>${user.accessKeyId}</Access><Secret>${user.secretAccessKey}</Secret><Role>user</Role></Account>`;
    const signer = new SignatureV4({
        credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
        region: server.region, service: "s3", sha256: Sha256,
    });
    const signed = await signer.sign({
        method: "PATCH", protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: "/create-user", query: {},
        headers: { host: url.host, "x-amz-content-sha256": sha(body) }, body,
    });
    const res = await fetch(`${server.endpoint}/create-user`, { method: "PATCH", headers: signed.headers, body });
    if (res.status !== 201) throw new Error(`creating the gateway user ${user.accessKeyId} failed: HTTP ${res.status} ${await res.text()}`);
}

function clientFor(user: User): S3Client {
    const c = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: user, maxAttempts: 1 });
    clients.push(c);
    return c;
}

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

const audit = (bucket: string, user: User, expected: ExpectedLock, prove = true) =>
    auditRetention({ source: new S3AuditSource({ bucket, client: clientFor(user) }), env: ENV, expected, proveImmutability: prove });

beforeAll(async () => {
    // The helper passes its own environment to the gateway, which reads VGW_IAM_DIR (= --iam-dir).
    iamDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-vgw-iam-"));
    process.env.VGW_IAM_DIR = iamDir;
    try {
        server = await startS3Server();
    } finally {
        delete process.env.VGW_IAM_DIR;
    }
    root = server.s3Client();
    await createUser(auditor);
    await createUser(reader);
});

afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.stop();
    if (iamDir) fs.rmSync(iamDir, { recursive: true, force: true });
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
        const write = (key: string, text: string) => store.put(key, Readable.from([Buffer.from(text)]), { sha256: sha(text), bytes: text.length, retainUntil: new Date(Date.now() + DAY) });
        noncurrent = (await write(DUMP, "first dump")).versionId!;
        current = (await write(DUMP, "second dump")).versionId!;
        await write(`storage/${ENV}/avatars/2026/11/20/manifest.json`, "{}");
    });

    it("PASSes with the bucket locked as expected, every version (current and noncurrent) locked, and the delete refused by the lock", async () => {
        const r = await audit(LOCKED, auditor, { mode: "COMPLIANCE", days: 1 });
        expect(r.findings).toEqual([]);
        expect(r.result).toBe("PASS");
        expect(r.bucketLock).toMatchObject({ status: "PASS", actual: { enabled: true, mode: "COMPLIANCE", days: 1 } });
        const dumps = r.versions.filter((v) => v.key === DUMP);
        expect(dumps.map((v) => [v.versionId, v.isLatest, v.state, v.retentionMode]).sort()).toEqual([
            [current, true, "locked", "COMPLIANCE"], [noncurrent, false, "locked", "COMPLIANCE"],
        ].sort());
        expect(dumps.every((v) => new Date(v.retainUntil!).getTime() > Date.now())).toBe(true);
        const [p] = r.immutability.probes;
        expect(p.attempt).toMatchObject({ outcome: "refused-object-lock", code: "AccessDenied", httpStatus: 403 });
        expect((p.attempt as Extract<DeleteAttempt, { message: string }>).message).toMatch(/protected by object lock/);
        expect(p.unchanged).toBe(true);
        expect(await versionIds(LOCKED, p.key)).toContain(p.versionId);
        expect(formatAuditReport(r)).toMatch(/Result: PASS$/);
    });

    it("FAILs on a bucket default other than the configured one", async () => {
        const r = await audit(LOCKED, auditor, { mode: "COMPLIANCE", days: 7 });
        expect(r.result).toBe("FAIL");
        expect(r.bucketLock.detail).toBe("the bucket's default retention is COMPLIANCE for 1 day(s), expected COMPLIANCE for 7 day(s)");
    });

    it("FAILs when the delete is refused for another reason than the lock: the drill reader has no delete", async () => {
        const r = await audit(LOCKED, reader, { mode: "COMPLIANCE", days: 1 });
        expect(r.result).toBe("FAIL");
        expect(r.immutability.status).toBe("FAIL");
        expect(r.immutability.probes[0].attempt).toMatchObject({ outcome: "refused-other", code: "AccessDenied", httpStatus: 403, message: "Access Denied." });
        expect(r.immutability.detail).toMatch(/refused, but not by Object Lock/);
        // Every version is still there: the refusal was real, just not the lock's.
        expect((await versionIds(LOCKED, DUMP)).sort()).toEqual([current, noncurrent].sort());
    });

    it("is SKIPPED without the delete proof, and the CLI exits 3; with it the CLI PASSes and writes its report", async () => {
        const r = await audit(LOCKED, auditor, { mode: "COMPLIANCE", days: 1 }, false);
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
            // The workflow's own command line.
            const ok = await execFileAsync(tsx, [script, "--env", ENV, "--report", reportFile], { env });
            expect(ok.stdout).toMatch(/Result: PASS/);
            expect(fs.readFileSync(reportFile, "utf8")).toBe(ok.stdout);
            for (const out of [ok.stdout, ok.stderr, skipped!.stdout, skipped!.stderr]) expect(out).not.toContain(auditor.secretAccessKey);
        } finally {
            fs.rmSync(reportFile, { force: true });
        }
    });

    it("FAILs, never PASSes, on an unexpected error (a bucket that does not exist)", async () => {
        const r = await audit("audit-no-such-bucket", auditor, { mode: "COMPLIANCE", days: 1 });
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
        const r = await audit(bucket, auditor, { mode: "COMPLIANCE", days: 1 });
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
        const r = await audit(bucket, auditor, { mode: "COMPLIANCE", days: 1 });
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
        const r = await auditRetention({ source: new BypassingSource({ bucket, client: clientFor(auditor) }), env: ENV, expected: { mode: "GOVERNANCE", days: 1 } });
        expect(r.result).toBe("FAIL");
        expect(r.immutability.detail).toMatch(new RegExp(`DELETE OF A LOCKED VERSION SUCCEEDED: ${key.replace(/\//g, "\\/")} \\(version ${v}\\)`));
        expect(await versionIds(bucket, key)).toEqual([]);
        // The auditor itself, denied the bypass, cannot do this: the same kind of version is refused by the lock.
        const v2 = await put(bucket, key, "governed again", { mode: "GOVERNANCE", days: 1 });
        const own = await audit(bucket, auditor, { mode: "GOVERNANCE", days: 1 });
        expect(own.result).toBe("PASS");
        expect(own.immutability.probes[0]).toMatchObject({ versionId: v2, attempt: { outcome: "refused-object-lock" } });
        const bypass = await clientFor(auditor).send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: v2, BypassGovernanceRetention: true })).then(() => undefined, (e: unknown) => e as Error);
        expect(bypass?.message).toMatch(/not authorized to perform: s3:BypassGovernanceRetention/);
    });
});
