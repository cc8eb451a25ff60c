// The Azure section of the retention audit against Azurite (the blob service) and a local stand-in for
// Azure Resource Manager's container-policy GET (test/helpers/fakeAzureArm.ts), with the ARM token
// from an `az` stand-in as the workflow's azure/login session provides it. Azurite implements no
// immutability, and this file pins what it answers instead, so the section's data-plane reads are
// known to work against a real blob service API while the policy's days and state come from ARM.
// Ends with `npm run retention-audit` as the quarterly workflow runs it, S3 vault included (Versity
// Gateway, COMPLIANCE): PASS with a Locked archive, FAIL — with every S3 line still PASS — once the
// prod archive's policy is Unlocked, and no Azure block at all without the archive's variables.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monthlyRetainUntil } from "../../lib/backupJob/plan";
import { auditAzureArchive, type AzureExpectation } from "../../lib/vault/azureAudit";
import { ARM_SCOPE, IMMUTABILITY_POLICY_API_VERSION, readContainerPolicy, type ContainerPolicyTarget } from "../../lib/vault/azureAuditArm";
import { AzureArchiveAuditSource } from "../../lib/vault/azureAuditSource";
import { AzureBlobStore } from "../../lib/vault/azureStore";
import { S3Store } from "../../lib/vault/s3Store";
import { startAzurite, type Azurite } from "../helpers/azurite";
import { fakeAzCli, startFakeAzureArm, type FakeAzureArm } from "../helpers/fakeAzureArm";
import { startS3Server, type S3Server } from "../helpers/s3Server";

const ROOT = path.resolve(__dirname, "../..");
const DAY = 86_400_000;
const ENV = "prod";
const SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa";
const GROUP = "rg-supabase-dr-prod";
const ACCOUNT = "devstoreaccount1"; // Azurite's development account: the connection string names it
const PROD: AzureExpectation = { days: 7, monthlyMonths: 12, requireLocked: true, lockReason: "the prod environment's archive must be immutable" };
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let azurite: Azurite;
let arm: FakeAzureArm;
let work: string;

const target = (container: string): ContainerPolicyTarget => ({ subscriptionId: SUBSCRIPTION, resourceGroup: GROUP, account: ACCOUNT, container });

/** The nightly mirror's writes (AZURE_IMMUTABILITY=container): a day's dump, a storage manifest, the month's archive. */
async function mirror(container: string): Promise<string[]> {
    const store = new AzureBlobStore({ connectionString: azurite.connectionString, container, retention: "metadata" });
    await store.ensureContainer();
    const now = new Date();
    const keys = [`db/${ENV}/2026/11/20/backup_20261120010000.dump`, `storage/${ENV}/avatars/2026/11/20/manifest.json`, `monthly/db/${ENV}/2026/11/backup_20261120010000.dump`];
    for (const key of keys) {
        const body = Buffer.from(`backup ${key}`);
        const retainUntil = key.startsWith("monthly/") ? monthlyRetainUntil(now, 12) : new Date(now.getTime() + 7 * DAY);
        await store.put(key, Readable.from([body]), { sha256: sha(body), bytes: body.length, retainUntil });
    }
    // Another environment's backup in the same container is not this audit's.
    const other = Buffer.from("staging");
    await store.put("db/staging/2026/11/20/backup.dump", Readable.from([other]), { sha256: sha(other), bytes: other.length });
    return keys;
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "azure-audit-"));
    azurite = await startAzurite();
    arm = await startFakeAzureArm({ token: "arm-token-for-the-test" });
}, 60_000);

afterAll(async () => {
    await arm?.stop();
    await azurite?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("Azurite, as the section reads it", () => {
    it("pins what Azurite answers: no immutability flags, no blob-level policy (setting one is not implemented), creation times and metadata", async () => {
        const keys = await mirror("pinned");
        const source = new AzureArchiveAuditSource({ connectionString: azurite.connectionString, container: "pinned" });
        expect(source.location).toMatch(/^azure:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/pinned$/);
        // x-ms-has-immutability-policy and x-ms-has-legal-hold: false; no x-ms-immutable-storage-with-versioning-enabled.
        expect(await source.containerImmutability()).toEqual({ hasImmutabilityPolicy: false, hasLegalHold: false, versionLevelImmutability: undefined });
        const listed = (await Promise.all(["db/prod/", "storage/prod/", "monthly/db/prod/"].map((p) => source.blobs(p)))).flat();
        expect(listed.map((b) => b.key)).toEqual(keys);
        for (const b of listed) {
            // No versions (Azurite keeps none), no policy, no hold; the mirror's metadata is read back.
            expect(b).toMatchObject({ versionId: undefined, isCurrent: true, policyUntil: undefined, policyMode: undefined, legalHold: false });
            expect(Math.abs(b.createdOn.getTime() - Date.now())).toBeLessThan(120_000);
            expect(b.recordedRetainUntil?.getTime()).toBeGreaterThan(b.createdOn.getTime());
        }
        const blob = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("pinned").getBlobClient(keys[0]);
        await expect(blob.setImmutabilityPolicy({ expiriesOn: new Date(Date.now() + DAY), policyMode: "Unlocked" })).rejects.toMatchObject({ statusCode: 501, code: "APINotImplemented" });
    });

    it("FAILs naming the container when it does not exist", async () => {
        const source = new AzureArchiveAuditSource({ connectionString: azurite.connectionString, container: "no-such-container" });
        await expect(source.blobs("db/prod/")).rejects.toThrow(/^listing azure:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/no-such-container\/db\/prod\/ failed \(ContainerNotFound, HTTP 404\)/);
    });
});

describe("the container policy read from ARM", () => {
    const read = (container: string, token = arm.token) => readContainerPolicy({ target: target(container), endpoint: arm.endpoint, token: async () => token });

    it("asks for the documented path and API version with the bearer token, and reads Locked, Unlocked, none, 403, 404 and a bad token", async () => {
        arm.setPolicy(target("locked"), { kind: "policy", state: "Locked", days: 7 });
        arm.setPolicy(target("unlocked"), { kind: "policy", state: "Unlocked", days: 3, allowProtectedAppendWrites: true });
        arm.setPolicy(target("none"), { kind: "none" });
        arm.setPolicy(target("forbidden"), { kind: "forbidden" });
        const before = arm.requests.length;
        expect(await read("locked")).toMatchObject({ outcome: "found", state: "Locked", days: 7, allowProtectedAppendWrites: false, etag: expect.stringMatching(/^"[0-9a-f]+"$/) });
        expect(arm.requests[before]).toEqual({
            method: "GET", apiVersion: IMMUTABILITY_POLICY_API_VERSION, authorization: `Bearer ${arm.token}`,
            path: `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.Storage/storageAccounts/${ACCOUNT}/blobServices/default/containers/locked/immutabilityPolicies/default`,
        });
        expect(await read("unlocked")).toMatchObject({ outcome: "found", state: "Unlocked", days: 3, allowProtectedAppendWrites: true });
        expect(await read("none")).toEqual({ outcome: "missing", detail: "ARM reports 0 day(s), state Deleted: no policy is in force" });
        const denied = await read("forbidden");
        expect(denied).toMatchObject({ outcome: "error", httpStatus: 403, code: "AuthorizationFailed" });
        expect(await read("never-created")).toMatchObject({ outcome: "missing", detail: expect.stringMatching(/^ARM answered 404 ResourceNotFound/) });
        const badToken = await read("locked", "stolen-or-expired");
        expect(badToken).toEqual({ outcome: "error", httpStatus: 401, code: "InvalidAuthenticationToken", message: "The access token is invalid." });
        expect(JSON.stringify([denied, badToken])).not.toContain("stolen-or-expired");
    });

    it("says why when there is no ARM token, and when ARM does not answer", async () => {
        expect(await readContainerPolicy({ target: target("locked"), endpoint: arm.endpoint, token: async () => { throw new Error("az: not logged in"); } }))
            .toEqual({ outcome: "error", message: "no ARM token: az: not logged in" });
        const stopped = await startFakeAzureArm();
        await stopped.stop();
        const closed = await readContainerPolicy({ target: target("locked"), endpoint: stopped.endpoint, token: async () => arm.token });
        expect(closed).toEqual({ outcome: "error", message: `GET ${stopped.endpoint}/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.Storage/storageAccounts/${ACCOUNT}`
            + "/blobServices/default/containers/locked/immutabilityPolicies/default got no answer: fetch failed (ECONNREFUSED)" });
    });
});

describe("the section over Azurite and the ARM stand-in", () => {
    const section = (container: string) => auditAzureArchive({
        source: new AzureArchiveAuditSource({ connectionString: azurite.connectionString, container }), env: ENV, expected: PROD, retention: "metadata",
        policy: () => readContainerPolicy({ target: target(container), endpoint: arm.endpoint, token: async () => arm.token }),
    });

    it("PASSes the mirror's blobs under a Locked 7-day policy; FAILs them Unlocked, too short, or without a policy", async () => {
        const keys = await mirror("judged");
        arm.setPolicy(target("judged"), { kind: "policy", state: "Locked", days: 7 });
        const ok = await section("judged");
        expect(ok.findings).toEqual([]);
        expect(ok.result).toBe("PASS");
        expect(ok.total.objects).toBe(3);
        expect(ok.byState["container-policy"].objects).toBe(3);
        expect(ok.blobs.map((b) => b.key)).toEqual(keys);
        // Azurite says "no policy" on the data plane; ARM's answer is judged, and the difference noted.
        expect(ok.notes).toContainEqual(expect.stringMatching(/^the blob service reports x-ms-has-immutability-policy: false, ARM a policy/));
        expect(ok.notes).toContainEqual(expect.stringMatching(/^1 blob\(s\) record a retain-until \(metadata\) beyond what Azure enforces/));

        arm.setPolicy(target("judged"), { kind: "policy", state: "Unlocked", days: 7 });
        expect((await section("judged")).findings).toEqual([expect.stringMatching(/^container policy: Unlocked, 7 day\(s\).*Unlocked where Locked is required/)]);
        arm.setPolicy(target("judged"), { kind: "policy", state: "Locked", days: 3 });
        const short = await section("judged");
        expect(short.findings[0]).toMatch(/^container policy: Locked, 3 day\(s\).*expected ≥ 7/);
        expect(short.findings[1]).toMatch(/^3 blob\(s\) protected shorter than required/);
        arm.setPolicy(target("judged"), { kind: "none" });
        const none = await section("judged");
        expect(none.result).toBe("FAIL");
        expect(none.unprotected).toEqual(keys);
        arm.setPolicy(target("judged"), { kind: "forbidden" });
        expect((await section("judged")).containerPolicy.detail).toMatch(/^ARM read failed \(HTTP 403 AuthorizationFailed\)/);
    });
});

interface Run { code: number | null; stdout: string; stderr: string }

/** `npm run retention-audit -- …` as the workflow runs it, in a clean environment plus `env`. */
function npmRunAudit(args: string[], env: Record<string, string>): Promise<Run> {
    const base = { ...process.env };
    for (const k of Object.keys(base)) if (/^(AZURE_|AWS_|BACKUP_|S3_|OBJECT_LOCK_|LOCK_|NOW$)/.test(k)) delete base[k];
    return new Promise((resolve, reject) => {
        const child = spawn("npm", ["run", "--silent", "retention-audit", "--", ...args], { cwd: ROOT, env: { ...base, ...env } });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

describe("npm run retention-audit with the Azure archive", () => {
    let s3: S3Server;
    const BUCKET = "audit-with-archive";

    beforeAll(async () => {
        s3 = await startS3Server();
        // COMPLIANCE: even root's delete is refused by the lock, so root may run the proof here.
        await s3.createLockedBucket(BUCKET, "COMPLIANCE", 1);
        const store = new S3Store({ bucket: BUCKET, client: s3.s3Client() });
        const body = Buffer.from("dump");
        await store.put(`db/${ENV}/2026/11/20/backup_20261120010000.dump`, Readable.from([body]), { sha256: sha(body), bytes: body.length, retainUntil: new Date(Date.now() + DAY) });
        await mirror("archive");
    }, 300_000);

    afterAll(async () => {
        await s3?.stop();
    });

    it("PASSes with a Locked archive, FAILs once prod's archive policy is Unlocked, and is the plain S3 audit without the archive's variables", async () => {
        const az = fakeAzCli(path.join(work, "az-bin"), arm.token);
        const s3Env = {
            BACKUP_BUCKET: BUCKET, S3_ENDPOINT: s3.endpoint, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey,
            OBJECT_LOCK_MODE: "COMPLIANCE", LOCK_RETENTION_DAYS: "1", PATH: `${az.dir}${path.delimiter}${process.env.PATH ?? ""}`,
        };
        const azureEnv = {
            AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString, AZURE_CONTAINER: "archive",
            AZURE_SUBSCRIPTION_ID: SUBSCRIPTION, AZURE_RESOURCE_GROUP: GROUP, AZURE_ARM_ENDPOINT: arm.endpoint,
        };
        const report = path.join(work, "retention-audit-prod.md");
        arm.setPolicy(target("archive"), { kind: "policy", state: "Locked", days: 7 });
        const locked = await npmRunAudit(["--env", ENV, "--report", report], { ...s3Env, ...azureEnv });
        expect(locked.code, locked.stderr + locked.stdout).toBe(0);
        expect(locked.stdout).toMatch(/^Azure archive: PASS — azure:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/archive \(AZURE_IMMUTABILITY=container/m);
        // The expectation is the prod stack's, Locked required on prod.
        expect(locked.stdout).toMatch(/^ {2}Expected: container policy ≥ 7 day\(s\) after each blob's creation, Locked \(the prod environment's archive must be immutable\); .* — from Pulumi\.prod\.yaml \(supabase-dr:azure immutabilityDays, monthlyArchiveMonths, lockImmutabilityPolicy\)$/m);
        expect(locked.stdout).toMatch(/^ {2}Container policy: PASS — Locked, 7 day\(s\) since each blob's creation, protected append writes off$/m);
        expect(locked.stdout).toMatch(/^ {2}Total:\s+3 blobs/m);
        expect(locked.stdout).toMatch(/^ {2}Not proven: no delete was attempted/m);
        expect(locked.stdout).toMatch(/^Result: PASS$/m);
        expect(fs.readFileSync(report, "utf8")).toBe(locked.stdout);
        // The ARM token came from the CLI session, for ARM's scope.
        expect(az.calls()).toContain(`account get-access-token --scope ${ARM_SCOPE} --output json`);

        arm.setPolicy(target("archive"), { kind: "policy", state: "Unlocked", days: 7 });
        const unlocked = await npmRunAudit(["--env", ENV], { ...s3Env, ...azureEnv });
        expect(unlocked.code, unlocked.stderr).toBe(1);
        for (const line of [/^Bucket lock: PASS/m, /^Version locks: PASS/m, /^Immutability proof: PASS/m, /^Azure archive: FAIL/m, /^ {2}- azure archive: container policy: Unlocked, 7 day\(s\)/m, /^Result: FAIL$/m]) {
            expect(unlocked.stdout).toMatch(line);
        }

        // Without the archive's variables the S3 part is audited as before, but prod's stack declares an
        // archive: left unaudited, the audit cannot PASS (SKIPPED, exit 3).
        const plain = await npmRunAudit(["--env", ENV], s3Env);
        expect(plain.code, plain.stderr).toBe(3);
        expect(plain.stdout).not.toContain("Azure archive:");
        expect(plain.stdout).toMatch(/^Immutability proof: PASS/m);
        expect(plain.stdout).toMatch(/azure archive: not audited — Pulumi\.prod\.yaml declares one \(supabase-dr:azure\) but AZURE_CONTAINER and AZURE_STORAGE_ACCOUNT are not set/);
        expect(plain.stdout).toMatch(/^Result: SKIPPED$/m);

        const accountKey = /AccountKey=([^;]+)/.exec(azurite.connectionString)![1];
        for (const out of [locked, unlocked, plain]) {
            for (const secret of [accountKey, s3.secretKey, arm.token]) expect(out.stdout + out.stderr).not.toContain(secret);
        }
    }, 600_000);

    it("exits 2 naming a half-configured archive before auditing anything", async () => {
        const r = await npmRunAudit(["--env", ENV], { BACKUP_BUCKET: BUCKET, S3_ENDPOINT: s3.endpoint, AZURE_CONTAINER: "archive", AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString, AZURE_SUBSCRIPTION_ID: SUBSCRIPTION });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/^retention-audit: USAGE: AZURE_SUBSCRIPTION_ID is set but AZURE_RESOURCE_GROUP is not/m);
        expect(r.stdout).toBe("");
    }, 300_000);
});
