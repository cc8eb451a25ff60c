// The Azure archive's section of the retention audit, judged over scripted answers: the container
// policy ARM reports (Locked, Unlocked where a lock is or is not required, missing, too short, append
// writes, unreadable), each blob's protection by its tier (container mode holds monthly archives to the
// container's days and notes their advisory 12-month metadata; blob mode holds them to their own
// policy, which must be Locked where a lock is required), the merge into the audit's verdict (never
// PASS while the archive FAILs) and its report block, and where the expectation comes from.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { monthlyRetainUntil } from "../../lib/backupJob/plan";
import { UsageError } from "../../lib/errors";
import { auditRetention, formatAuditReport, LOCK_CLOCK_TOLERANCE_MS, withAzureArchive, type AuditReport } from "../../lib/vault/audit";
import { auditAzureArchive, blobState, checkContainerPolicy, NOT_PROVEN, type AzureExpectation, type ArchiveRetention } from "../../lib/vault/azureAudit";
import { containerPolicyPath, parsePolicyBody, type ContainerPolicyRead } from "../../lib/vault/azureAuditArm";
import { archiveAccountName, azureAuditSettingsFromEnv, azureExpectation } from "../../lib/vault/azureAuditConfig";
import type { ArchiveAuditSource, ArchiveBlob, ContainerImmutability } from "../../lib/vault/azureAuditSource";
import type { VaultAuditSource, VersionLock } from "../../lib/vault/s3Audit";

const ROOT = path.resolve(__dirname, "../..");
const NOW = new Date("2026-11-22T12:00:00Z");
const DAY = 86_400_000;
const ENV = "prod";
const PROD: AzureExpectation = { days: 7, monthlyMonths: 12, requireLocked: true, lockReason: "the prod environment's archive must be immutable", source: "the test" };
const STAGING: AzureExpectation = { days: 3, monthlyMonths: 3, requireLocked: false, lockReason: "staging leaves it off", source: "the test" };
const found = (state: string, days: number, extra: Partial<Extract<ContainerPolicyRead, { outcome: "found" }>> = {}): ContainerPolicyRead =>
    ({ outcome: "found", state, days, allowProtectedAppendWrites: false, allowProtectedAppendWritesAll: false, etag: '"8d59f828e64b75c"', ...extra });
const created = (ageDays: number) => new Date(NOW.getTime() - ageDays * DAY);

/** A blob `ageDays` old, as the mirror writes it: `retainuntil` metadata, nothing else unless given. */
function blob(key: string, ageDays: number, extra: Partial<ArchiveBlob> = {}): ArchiveBlob {
    const c = created(ageDays);
    const monthly = key.startsWith("monthly/");
    return { key, isCurrent: true, bytes: 100, createdOn: c, lastModified: c, legalHold: false,
        recordedRetainUntil: monthly ? monthlyRetainUntil(c, 12) : new Date(c.getTime() + 7 * DAY), ...extra };
}

class FakeArchive implements ArchiveAuditSource {
    readonly location = "azure://acct.blob.core.windows.net/supabase-backups";
    listError?: string;
    container: ContainerImmutability | Error = { hasImmutabilityPolicy: true, hasLegalHold: false, versionLevelImmutability: false };
    constructor(public items: ArchiveBlob[] = []) {}
    async containerImmutability() {
        if (this.container instanceof Error) throw this.container;
        return this.container;
    }
    async blobs(prefix: string) {
        if (this.listError) throw new Error(this.listError);
        return this.items.filter((b) => b.key.startsWith(prefix));
    }
}

const DAILY = `db/${ENV}/2026/11/20/backup_20261120010000.dump`;
const STORAGE = `storage/${ENV}/avatars/2026/11/20/manifest.json`;
const MONTHLY = `monthly/db/${ENV}/2026/11/backup_20261101010000.dump`;

const audit = (source: ArchiveAuditSource, read: ContainerPolicyRead, expected = PROD, retention: ArchiveRetention = "metadata") =>
    auditAzureArchive({ source, env: ENV, expected, retention, policy: async () => read, now: () => NOW });

describe("the container policy ARM reports", () => {
    it("reads the published GET shape, and a container without a policy (0 days, state Deleted) as missing", () => {
        const example = JSON.stringify({
            name: "default", type: "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies", etag: '"8d59f828e64b75c"',
            id: "/subscriptions/s/resourceGroups/res5221/providers/Microsoft.Storage/storageAccounts/sto9177/blobServices/default/containers/container3489/immutabilityPolicies/default",
            properties: { allowProtectedAppendWrites: true, immutabilityPeriodSinceCreationInDays: 5, state: "Unlocked" },
        });
        expect(parsePolicyBody(example)).toEqual({ outcome: "found", state: "Unlocked", days: 5, allowProtectedAppendWrites: true, allowProtectedAppendWritesAll: false, etag: '"8d59f828e64b75c"' });
        expect(parsePolicyBody(JSON.stringify({ properties: { immutabilityPeriodSinceCreationInDays: 0, state: "Deleted" } }))).toMatchObject({ outcome: "missing" });
        expect(parsePolicyBody("<html>")).toMatchObject({ outcome: "error", message: expect.stringMatching(/not JSON/) });
        expect(parsePolicyBody(JSON.stringify({ properties: { state: "Locked" } }))).toMatchObject({ outcome: "error", message: expect.stringMatching(/immutabilityPeriodSinceCreationInDays/) });
        expect(containerPolicyPath({ subscriptionId: "sub-1", resourceGroup: "rg(dr)", account: "acct", container: "supabase-backups" }))
            .toBe("/subscriptions/sub-1/resourceGroups/rg(dr)/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/supabase-backups/immutabilityPolicies/default");
    });

    it("PASSes a Locked policy of at least the expected days", () => {
        expect(checkContainerPolicy(found("Locked", 7), PROD)).toMatchObject({ status: "PASS", detail: "Locked, 7 day(s) since each blob's creation, protected append writes off" });
        expect(checkContainerPolicy(found("Locked", 30), PROD).status).toBe("PASS");
    });

    it("FAILs an Unlocked policy where Locked is required, and accepts it where it is not", () => {
        const c = checkContainerPolicy(found("Unlocked", 7), PROD);
        expect(c.status).toBe("FAIL");
        expect(c.detail).toMatch(/Unlocked where Locked is required \(the prod environment's archive must be immutable\): an account owner can shorten or delete/);
        expect(c.detail).toContain("lockImmutabilityPolicy: true");
        expect(checkContainerPolicy(found("Unlocked", 3), STAGING).status).toBe("PASS");
    });

    it("FAILs a missing policy, a too short one, protected append writes, an unknown state and a policy it could not read", () => {
        expect(checkContainerPolicy({ outcome: "missing", detail: "ARM reports 0 day(s), state Deleted" }, PROD).detail).toMatch(/^the container has no time-based immutability policy/);
        expect(checkContainerPolicy(found("Locked", 3), PROD).detail).toMatch(/keeps blobs 3 day\(s\) after their creation, expected ≥ 7/);
        expect(checkContainerPolicy(found("Locked", 7, { allowProtectedAppendWrites: true }), PROD).detail).toMatch(/protected append writes are allowed \(allowProtectedAppendWrites\)/);
        expect(checkContainerPolicy(found("Locked", 7, { allowProtectedAppendWritesAll: true }), PROD).detail).toMatch(/allowProtectedAppendWritesAll/);
        expect(checkContainerPolicy(found("Disabled", 7), PROD).detail).toMatch(/state "Disabled" is neither Locked nor Unlocked/);
        const denied = checkContainerPolicy({ outcome: "error", httpStatus: 403, code: "AuthorizationFailed", message: "The client 'x' does not have authorization" }, PROD);
        expect(denied).toMatchObject({ status: "FAIL" });
        expect(denied.detail).toMatch(/^ARM read failed \(HTTP 403 AuthorizationFailed\): The client 'x' does not have authorization \(the auditing identity needs read access/);
        expect(checkContainerPolicy({ outcome: "not-read", message: "no ids" }, PROD)).toMatchObject({ status: "FAIL", detail: "not read: no ids" });
    });
});

describe("each blob's protection", () => {
    it("names the state from the blob's own policy, the container's days and the clock", () => {
        expect(blobState(blob(DAILY, 2), 7, NOW)).toBe("container-policy");
        expect(blobState(blob(DAILY, 9), 7, NOW)).toBe("expired");
        expect(blobState(blob(DAILY, 2), undefined, NOW)).toBe("none");
        expect(blobState(blob(DAILY, 2, { legalHold: true }), undefined, NOW)).toBe("legal-hold");
        expect(blobState(blob(DAILY, 9, { policyUntil: new Date(NOW.getTime() + DAY), policyMode: "Locked" }), 7, NOW)).toBe("blob-policy");
        // "Mutable" is the service's word for a policy no longer in force.
        expect(blobState(blob(DAILY, 2, { policyUntil: new Date(NOW.getTime() + DAY), policyMode: "Mutable" }), undefined, NOW)).toBe("none");
    });

    it("container mode: a Locked 7-day policy PASSes daily and monthly blobs, lapsed ones included, and notes the monthly archives' advisory dates", async () => {
        const source = new FakeArchive([blob(DAILY, 2), blob(STORAGE, 40), blob(MONTHLY, 21)]);
        const r = await audit(source, found("Locked", 7));
        expect(r.findings).toEqual([]);
        expect(r.result).toBe("PASS");
        expect(r.blobLocks).toEqual({ status: "PASS", judged: 3, failing: 0 });
        expect(r.byState["container-policy"]).toEqual({ objects: 1, bytes: 100 });
        expect(r.byState.expired).toEqual({ objects: 2, bytes: 200 });
        expect(r.byAge["1-7d"].objects).toBe(1);
        expect(r.byAge["7-30d"].objects).toBe(1);
        expect(r.byAge["30-90d"].objects).toBe(1);
        expect(r.notes).toHaveLength(1);
        expect(r.notes[0]).toMatch(/^1 blob\(s\) record a retain-until \(metadata\) beyond what Azure enforces for them — advisory only \(AZURE_IMMUTABILITY=container: only the container policy protects them\): monthly\/db\/prod\//);
        expect(r.notProven).toBe(NOT_PROVEN);
        const daily = r.blobs.find((b) => b.key === DAILY)!;
        expect(daily).toMatchObject({ tier: "daily", state: "container-policy", containerUntil: new Date(created(2).getTime() + 7 * DAY).toISOString(), problems: [] });
    });

    it("FAILs blobs with no protection at all (no container policy), naming them", async () => {
        const r = await audit(new FakeArchive([blob(DAILY, 2)]), { outcome: "missing", detail: "ARM answered 404" });
        expect(r.result).toBe("FAIL");
        expect(r.unprotected).toEqual([DAILY]);
        expect(r.findings).toContainEqual(`1 blob(s) with no immutability policy of their own, no container policy and no legal hold: ${DAILY}`);
        expect(r.findings[0]).toMatch(/^container policy: the container has no time-based immutability policy/);
    });

    it("blob mode: a monthly archive needs its own policy for the monthly months; a daily-length one FAILs", async () => {
        const c = created(3);
        const short = blob(MONTHLY, 3, { policyUntil: new Date(c.getTime() + 7 * DAY), policyMode: "Locked" });
        const r = await audit(new FakeArchive([short]), found("Locked", 7), PROD, "policy");
        expect(r.result).toBe("FAIL");
        expect(r.blobLocks).toEqual({ status: "FAIL", judged: 1, failing: 1 });
        expect(r.findings).toContainEqual(expect.stringMatching(new RegExp(
            `^1 blob\\(s\\) protected shorter than required \\(less ${LOCK_CLOCK_TOLERANCE_MS / 60_000} min for the nightly's clock\\): ${MONTHLY} protected until .* \\(its own policy\\), needs ≥ ${monthlyRetainUntil(c, 12).toISOString()} \\(monthly: 12 month\\(s\\) of 31 days after its creation\\)`)));
        // The same archive locked for its months PASSes; a clock gap within the tolerance is not a shortfall.
        const ok = blob(MONTHLY, 3, { policyUntil: new Date(monthlyRetainUntil(c, 12).getTime() - LOCK_CLOCK_TOLERANCE_MS + 60_000), policyMode: "Locked" });
        expect((await audit(new FakeArchive([ok]), found("Locked", 7), PROD, "policy")).result).toBe("PASS");
    });

    it("blob mode: where the blob's own policy is what covers it, Unlocked FAILs on prod and passes on staging", async () => {
        const c = created(3);
        const unlocked = (months: number) => blob(MONTHLY, 3, { policyUntil: monthlyRetainUntil(c, months), policyMode: "Unlocked" });
        const prod = await audit(new FakeArchive([unlocked(12)]), found("Locked", 7), PROD, "policy");
        expect(prod.result).toBe("FAIL");
        expect(prod.findings).toContainEqual(expect.stringMatching(/^1 blob\(s\) covered only by an Unlocked blob-level policy where Locked is required \(the prod environment's archive must be immutable\): monthly\/db\/prod\/.* its own Unlocked policy until/));
        const staging = await audit(new FakeArchive([unlocked(3)]), found("Unlocked", 3), STAGING, "policy");
        expect(staging.findings).toEqual([]);
        // A daily blob whose own Unlocked policy sits on top of a long enough Locked container policy is fine.
        const daily = blob(DAILY, 1, { policyUntil: new Date(created(1).getTime() + 7 * DAY), policyMode: "Unlocked" });
        expect((await audit(new FakeArchive([daily]), found("Locked", 7), PROD, "policy")).findings).toEqual([]);
    });

    it("blob mode: notes a container without version-level immutability, and a legal hold alone is counted, not judged", async () => {
        const held = blob(DAILY, 2, { legalHold: true });
        const source = new FakeArchive([held]);
        const r = await audit(source, found("Locked", 7), PROD, "policy");
        expect(r.byState["legal-hold"].objects).toBe(1);
        expect(r.notes).toContainEqual(expect.stringMatching(/^AZURE_IMMUTABILITY=blob, but the blob service does not report version-level immutability on the container \(x-ms-immutable-storage-with-versioning-enabled: false\)/));
    });
});

describe("the section's verdict", () => {
    it("FAILs with nothing to audit, with an unreadable listing, and with an error reading the container", async () => {
        const empty = await audit(new FakeArchive([]), found("Locked", 7));
        expect(empty.findings).toEqual(["no blob under db/prod/, storage/prod/, monthly/db/prod/, monthly/storage/prod/: the archive has no backups of this environment to audit"]);
        const unreadable = new FakeArchive([blob(DAILY, 1)]);
        unreadable.listError = "listing azure://acct/supabase-backups/db/prod/ failed (AuthorizationPermissionMismatch, HTTP 403): This request is not authorized";
        unreadable.container = new Error("reading the properties of azure://acct/supabase-backups failed (ContainerNotFound, HTTP 404): The specified container does not exist.");
        const r = await audit(unreadable, found("Locked", 7));
        expect(r.result).toBe("FAIL");
        expect(r.findings).toContain(unreadable.listError);
        expect(r.findings).toContain("reading the properties of azure://acct/supabase-backups failed (ContainerNotFound, HTTP 404): The specified container does not exist.");
        expect(r.findings.filter((f) => f.startsWith("no blob under"))).toEqual([]); // not "empty": unknown
    });

    it("notes where the blob service and ARM disagree, and judges ARM's answer", async () => {
        const source = new FakeArchive([blob(DAILY, 1)]);
        source.container = { hasImmutabilityPolicy: false, hasLegalHold: false };
        const r = await audit(source, found("Locked", 7));
        expect(r.result).toBe("PASS");
        expect(r.notes).toContainEqual(expect.stringMatching(/^the blob service reports x-ms-has-immutability-policy: false, ARM a policy: ARM's answer is the one judged/));
    });

    it("a policy read that throws is a FAIL, never a crash", async () => {
        const r = await auditAzureArchive({ source: new FakeArchive([blob(DAILY, 1)]), env: ENV, expected: PROD, retention: "metadata", now: () => NOW, policy: async () => { throw new Error("boom"); } });
        expect(r.containerPolicy).toMatchObject({ status: "FAIL", detail: "ARM read failed: boom" });
    });
});

/** An S3 vault with one locked version whose delete Object Lock refuses: the S3 part PASSes. */
function passingVault(): VaultAuditSource {
    const lock: VersionLock = { mode: "COMPLIANCE", retainUntil: new Date(NOW.getTime() + 6 * DAY), legalHold: false };
    const entry = { key: DAILY, versionId: "v1", isLatest: true, lastModified: created(1), bytes: 10, etag: '"e"' };
    return {
        location: "s3://vault",
        lockConfiguration: async () => ({ enabled: true, mode: "COMPLIANCE", days: 7 }),
        versions: async (p: string) => ({ versions: DAILY.startsWith(p) ? [entry] : [], deleteMarkers: [] }),
        lock: async () => lock,
        head: async () => ({ etag: '"e"', bytes: 10 }),
        deleteVersion: async () => ({ outcome: "refused-object-lock", code: "AccessDenied", httpStatus: 403, message: "Access Denied because object protected by object lock." }),
    };
}

describe("the Azure section in the audit's report", () => {
    const s3 = (prove = true): Promise<AuditReport> => auditRetention({ source: passingVault(), env: ENV, expected: { mode: "COMPLIANCE", days: 7, monthlyMonths: 12 }, proveImmutability: prove, now: () => NOW });

    it("never PASSes while the archive FAILs, and keeps the S3 report's lines as they were", async () => {
        const base = await s3();
        expect(base.result).toBe("PASS");
        const archive = await audit(new FakeArchive([blob(DAILY, 1)]), found("Unlocked", 7));
        const r = withAzureArchive(base, archive);
        expect(r.result).toBe("FAIL");
        expect(r.findings).toEqual([expect.stringMatching(/^azure archive: container policy: Unlocked, 7 day\(s\) .* Unlocked where Locked is required/)]);
        const text = formatAuditReport(r);
        const without = formatAuditReport(base);
        // Every line of the S3 report but the result is still there, in order; the block sits before the findings.
        const lines = without.split("\n").filter((l) => !l.startsWith("Result:"));
        expect(text.split("\n").filter((l) => lines.includes(l))).toEqual(lines);
        expect(text).toMatch(/^Immutability proof: PASS — .*\nAzure archive: FAIL — azure:\/\/acct\.blob\.core\.windows\.net\/supabase-backups \(AZURE_IMMUTABILITY=container: the container policy protects every blob, retain-until recorded as metadata\)$/m);
        expect(text).toMatch(/^ {2}Expected: container policy ≥ 7 day\(s\) after each blob's creation, Locked \(the prod environment's archive must be immutable\); monthly archives ≥ 7 day\(s\) \(only the container policy protects them\) — from the test$/m);
        expect(text).toMatch(/^ {2}Container policy: FAIL — Unlocked, 7 day\(s\)/m);
        expect(text).toMatch(/^ {2}Container flags \(blob service\): immutability policy yes, legal hold no, version-level immutability no$/m);
        expect(text).toMatch(/^ {2}Total:\s+1 blobs\s+100 bytes$/m);
        expect(text).toMatch(/^ {4}container-policy\s+1 blobs\s+100 bytes$/m);
        expect(text).toContain(`  Not proven: ${NOT_PROVEN}`);
        expect(text).toMatch(/Findings:\n {2}- azure archive: container policy: /);
        expect(text.trimEnd().endsWith("Result: FAIL")).toBe(true);
        expect(without).not.toContain("Azure archive:");
    });

    it("a passing archive leaves the S3 verdict: PASS stays PASS, SKIPPED stays SKIPPED", async () => {
        const archive = await audit(new FakeArchive([blob(DAILY, 1)]), found("Locked", 7));
        expect(archive.result).toBe("PASS");
        expect(withAzureArchive(await s3(), archive).result).toBe("PASS");
        expect(withAzureArchive(await s3(false), archive).result).toBe("SKIPPED");
        const failing = await audit(new FakeArchive([]), found("Locked", 7));
        expect(withAzureArchive(await s3(false), failing).result).toBe("FAIL");
    });
});

describe("where the Azure section's settings come from", () => {
    const ACCOUNT_ENV = { AZURE_STORAGE_ACCOUNT: "acmeprodarchive", AZURE_CONTAINER: "supabase-backups" };

    it("has no section without the archive's variables, even with a stray connection string", () => {
        expect(azureAuditSettingsFromEnv({}, "prod", ROOT)).toBeUndefined();
        expect(azureAuditSettingsFromEnv({ AZURE_STORAGE_CONNECTION_STRING: "AccountName=devstoreaccount1;AccountKey=k" }, "prod", ROOT)).toBeUndefined();
    });

    it("takes days and months from the stack file and requires Locked on prod even though the stack leaves the lock off", () => {
        const prod = azureAuditSettingsFromEnv({ ...ACCOUNT_ENV, AZURE_SUBSCRIPTION_ID: "00000000-0000-0000-0000-000000000000", AZURE_RESOURCE_GROUP: "rg-dr" }, "prod", ROOT)!;
        expect(prod.account).toBe("acmeprodarchive");
        expect(prod.mirror).toMatchObject({ kind: "azure-cli", retention: "metadata" });
        expect(prod.arm).toEqual({ endpoint: "https://management.azure.com", target: { subscriptionId: "00000000-0000-0000-0000-000000000000", resourceGroup: "rg-dr", account: "acmeprodarchive", container: "supabase-backups" } });
        expect(prod.expected).toEqual({ days: 7, monthlyMonths: 12, requireLocked: true, lockReason: "the prod environment's archive must be immutable",
            source: "Pulumi.prod.yaml (supabase-dr:azure immutabilityDays, monthlyArchiveMonths, lockImmutabilityPolicy)" });
        const staging = azureExpectation({}, "staging", ROOT);
        expect(staging).toMatchObject({ days: 3, monthlyMonths: 3, requireLocked: false, lockReason: "Pulumi.staging.yaml leaves lockImmutabilityPolicy off outside prod" });
        const overridden = azureExpectation({ AZURE_IMMUTABILITY_DAYS: "14", AZURE_MONTHLY_ARCHIVE_MONTHS: "6" }, "staging", ROOT);
        expect(overridden).toMatchObject({ days: 14, monthlyMonths: 6, source: "AZURE_IMMUTABILITY_DAYS, AZURE_MONTHLY_ARCHIVE_MONTHS; Pulumi.staging.yaml (supabase-dr:azure lockImmutabilityPolicy)" });
    });

    it("requires Locked wherever the stack asks for the lock, and errs without any expectation", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "azure-audit-stack-"));
        try {
            const stack = (azure?: object) => fs.writeFileSync(path.join(dir, "Pulumi.drill.yaml"), yaml.dump({ config: {
                "supabase-dr:environment": "drill", "supabase-dr:aws": { objectLockMode: "GOVERNANCE", retentionDays: 1 }, ...(azure ? { "supabase-dr:azure": azure } : {}),
            } }));
            stack({ location: "westeurope", immutabilityDays: 2, lockImmutabilityPolicy: true });
            expect(azureExpectation({}, "drill", dir)).toMatchObject({ days: 2, monthlyMonths: 12, requireLocked: true, lockReason: "Pulumi.drill.yaml sets lockImmutabilityPolicy: true" });
            stack();
            expect(() => azureExpectation({}, "drill", dir)).toThrow(new UsageError("the Azure archive's expected retention is unknown: Pulumi.drill.yaml has no supabase-dr:azure, and AZURE_IMMUTABILITY_DAYS, AZURE_MONTHLY_ARCHIVE_MONTHS not set"));
            expect(azureExpectation({ AZURE_IMMUTABILITY_DAYS: "1", AZURE_MONTHLY_ARCHIVE_MONTHS: "1" }, "drill", dir)).toMatchObject({ requireLocked: false, lockReason: "no stack setting asks for a lock outside prod" });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("names half-configured variables and bad values", () => {
        const env = (extra: Record<string, string>) => () => azureAuditSettingsFromEnv({ ...ACCOUNT_ENV, ...extra }, "prod", ROOT);
        expect(env({ AZURE_SUBSCRIPTION_ID: "s" })).toThrow(/AZURE_SUBSCRIPTION_ID is set but AZURE_RESOURCE_GROUP is not/);
        expect(env({ AZURE_RESOURCE_GROUP: "rg" })).toThrow(/AZURE_RESOURCE_GROUP is set but AZURE_SUBSCRIPTION_ID is not/);
        expect(env({ AZURE_SUBSCRIPTION_ID: "a/b", AZURE_RESOURCE_GROUP: "rg" })).toThrow(/AZURE_SUBSCRIPTION_ID must be a subscription id/);
        expect(env({ AZURE_SUBSCRIPTION_ID: "s", AZURE_RESOURCE_GROUP: "rg", AZURE_ARM_ENDPOINT: "ftp://x" })).toThrow(/AZURE_ARM_ENDPOINT must be an http\(s\) URL/);
        expect(env({ AZURE_IMMUTABILITY_DAYS: "0" })).toThrow(/AZURE_IMMUTABILITY_DAYS must be a positive whole number/);
        expect(() => azureAuditSettingsFromEnv({ AZURE_STORAGE_ACCOUNT: "acct1" }, "prod", ROOT)).toThrow(/AZURE_STORAGE_ACCOUNT is set but AZURE_CONTAINER is not/);
        // Without the ARM ids the section still runs, and cannot pass (lib/vault/azureAudit.ts).
        expect(azureAuditSettingsFromEnv(ACCOUNT_ENV, "prod", ROOT)?.arm).toBeUndefined();
    });

    it("finds the account's name in the connection string (Azurite's development account)", () => {
        expect(archiveAccountName({ kind: "connection-string", connectionString: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;", container: "c", retention: "metadata" })).toBe("devstoreaccount1");
        expect(() => archiveAccountName({ kind: "connection-string", connectionString: "BlobEndpoint=http://x;SharedAccessSignature=sv=1", container: "c", retention: "metadata" })).toThrow(/has no AccountName=/);
    });
});
