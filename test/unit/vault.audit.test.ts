// The retention audit's verdict over a scripted vault: PASS only with the expected bucket lock, every
// version protected and a delete refused *by Object Lock* with the version left unchanged; an IAM
// denial, an error, a successful delete, an unprotected (noncurrent) version or a wrong bucket default
// are FAIL with the reason; a skipped proof is SKIPPED. Each version's own lock is judged: its mode
// against the expected one (COMPLIANCE where GOVERNANCE is expected is a note, the reverse a FAIL) and
// its retain-until against its tier's length (daily, monthly). Plus the refusal classifier, pinned to
// what AWS and Versity Gateway v1.8.0 answer, and where the CLI takes the expected lock from.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { S3ServiceException } from "@aws-sdk/client-s3";
import * as yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { expectedLock } from "../../scripts/retention-audit";
import { monthlyRetainUntil } from "../../lib/backupJob/plan";
import { auditRetention, checkBucketLock, formatAuditReport, LOCK_CLOCK_TOLERANCE_MS, retentionTier, type ExpectedLock } from "../../lib/vault/audit";
import {
    classifyDeleteError,
    isObjectLockRefusal,
    OBJECT_LOCK_REFUSAL,
    type BucketLockConfiguration,
    type DeleteAttempt,
    type VaultAuditSource,
    type VersionListing,
    type VersionLock,
} from "../../lib/vault/s3Audit";

const NOW = new Date("2026-11-22T12:00:00Z");
const DAY = 86_400_000;
const HOUR = 3_600_000;
const EXPECTED: ExpectedLock = { mode: "COMPLIANCE", days: 7, monthlyMonths: 12, source: "the test" };
const LOCK_MESSAGE = "Access Denied because object protected by object lock.";
/** LastModified of a version `ageDays` old (FakeVault's clock). */
const at = (ageDays: number) => new Date(NOW.getTime() - ageDays * DAY);

interface FakeVersion {
    key: string;
    versionId: string;
    isLatest: boolean;
    ageDays: number;
    etag: string;
    lock: VersionLock;
}

type DeleteBehaviour = "object-lock" | "iam" | "deletes" | "no-answer" | "object-lock-but-changes";

/** A vault whose every answer the test scripts; it records each delete attempt. */
class FakeVault implements VaultAuditSource {
    readonly location = "s3://fake-vault";
    versionsByKey: FakeVersion[] = [];
    markers: VersionListing["deleteMarkers"] = [];
    bucket: BucketLockConfiguration | Error = { enabled: true, mode: "COMPLIANCE", days: 7 };
    onDelete: DeleteBehaviour = "object-lock";
    lockError?: string;
    listError?: string;
    deletes: string[] = [];

    add(key: string, ageDays: number, lock: Partial<VersionLock> = {}, isLatest = true): FakeVersion {
        const v = { key, versionId: `v${this.versionsByKey.length + 1}`, isLatest, ageDays, etag: `"etag-${this.versionsByKey.length + 1}"`, lock: { legalHold: false, ...lock } };
        this.versionsByKey.push(v);
        return v;
    }
    locked(key: string, ageDays: number, isLatest = true): FakeVersion {
        return this.add(key, ageDays, { mode: "COMPLIANCE", retainUntil: new Date(NOW.getTime() + (7 - ageDays) * DAY) }, isLatest);
    }
    async lockConfiguration() {
        if (this.bucket instanceof Error) throw this.bucket;
        return this.bucket;
    }
    async versions(prefix: string): Promise<VersionListing> {
        if (this.listError) throw new Error(this.listError);
        return {
            versions: this.versionsByKey.filter((v) => v.key.startsWith(prefix)).map((v) => ({
                key: v.key, versionId: v.versionId, isLatest: v.isLatest, etag: v.etag, bytes: 10,
                lastModified: new Date(NOW.getTime() - v.ageDays * DAY),
            })),
            deleteMarkers: this.markers.filter((m) => m.key.startsWith(prefix)),
        };
    }
    private find(key: string, versionId: string) {
        return this.versionsByKey.find((v) => v.key === key && v.versionId === versionId);
    }
    async lock(key: string, versionId: string) {
        if (this.lockError) throw new Error(this.lockError);
        return { ...this.find(key, versionId)!.lock };
    }
    async head(key: string, versionId: string) {
        const v = this.find(key, versionId);
        return v ? { etag: v.etag, bytes: 10 } : undefined;
    }
    async deleteVersion(key: string, versionId: string): Promise<DeleteAttempt> {
        this.deletes.push(`${key}@${versionId}`);
        switch (this.onDelete) {
            case "object-lock":
                return { outcome: "refused-object-lock", code: "AccessDenied", httpStatus: 403, message: LOCK_MESSAGE };
            case "object-lock-but-changes":
                this.find(key, versionId)!.etag = '"rewritten"';
                return { outcome: "refused-object-lock", code: "AccessDenied", httpStatus: 403, message: LOCK_MESSAGE };
            case "iam":
                return { outcome: "refused-other", code: "AccessDenied", httpStatus: 403,
                    message: "User: arn:aws:sts::1:assumed-role/drill-reader/x is not authorized to perform: s3:DeleteObjectVersion" };
            case "no-answer":
                return { outcome: "error", message: "connect ECONNREFUSED 127.0.0.1:9" };
            case "deletes":
                this.versionsByKey = this.versionsByKey.filter((v) => !(v.key === key && v.versionId === versionId));
                return { outcome: "deleted" };
        }
    }
}

function healthyVault(): FakeVault {
    const vault = new FakeVault();
    vault.locked("db/prod/2026/11/20/backup.dump", 2, false); // noncurrent
    vault.locked("db/prod/2026/11/20/backup.dump", 1);
    vault.locked("storage/prod/avatars/2026/11/21/a.png", 1);
    // Lock lapsed: kept by the lifecycle until dailyRetentionDays, not a finding.
    vault.add("db/prod/2026/11/10/old.dump", 12, { mode: "COMPLIANCE", retainUntil: new Date(NOW.getTime() - 5 * DAY) });
    return vault;
}

const audit = (source: VaultAuditSource, prove = true, expected = EXPECTED) => auditRetention({ source, env: "prod", expected, now: () => NOW, proveImmutability: prove });
const findingsOf = (r: { findings: string[] }) => r.findings.join("\n");
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("retention audit verdict", () => {
    it("PASSes with the expected bucket lock, every version protected and a delete refused by Object Lock", async () => {
        const vault = healthyVault();
        const r = await audit(vault);
        expect(r.findings).toEqual([]);
        expect(r.result).toBe("PASS");
        expect(r.bucketLock.status).toBe("PASS");
        expect(r.total.objects).toBe(4);
        expect(r.byState.locked.objects).toBe(3);
        expect(r.byState.expired.objects).toBe(1);
        expect(r.versions.filter((v) => !v.isLatest)).toHaveLength(1); // noncurrent versions are audited
        expect(r.immutability.probes).toHaveLength(1);
        expect(r.immutability.probes[0]).toMatchObject({ protectedBy: "own retention", unchanged: true, status: "PASS" });
        expect(vault.deletes).toHaveLength(1);
        expect(formatAuditReport(r)).toMatch(/Result: PASS$/);
    });

    it("FAILs naming a noncurrent version that has no retention, no legal hold and no bucket default", async () => {
        const vault = healthyVault();
        vault.bucket = { enabled: true };
        vault.add("db/prod/2026/11/21/x.dump", 1, {}, false);
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(r.unprotected).toEqual(["db/prod/2026/11/21/x.dump (version v5)"]);
        expect(r.findings.join("\n")).toMatch(/no retention, no legal hold and no bucket default: db\/prod\/2026\/11\/21\/x\.dump \(version v5\)/);
        expect(r.findings.join("\n")).toMatch(/no default retention rule/);
    });

    it("accepts a version under legal hold only", async () => {
        const vault = healthyVault();
        vault.add("db/prod/2026/11/01/held.dump", 21, { legalHold: true });
        const r = await audit(vault);
        expect(r.result).toBe("PASS");
        expect(r.byState["legal-hold"].objects).toBe(1);
    });

    it("FAILs when the refusal is IAM's, not the lock's: the old proof's false PASS", async () => {
        const vault = healthyVault();
        vault.onDelete = "iam";
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(r.immutability.status).toBe("FAIL");
        expect(r.immutability.detail).toMatch(/refused, but not by Object Lock \(AccessDenied, HTTP 403: User: .* not authorized/);
        expect(r.immutability.detail).toMatch(/retention-auditor role/);
    });

    it("FAILs loudly when the delete succeeds", async () => {
        const vault = healthyVault();
        vault.onDelete = "deletes";
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(r.immutability.detail).toMatch(/DELETE OF A LOCKED VERSION SUCCEEDED: db\/prod\/2026\/11\/20\/backup\.dump \(version v2\)/);
        expect(formatAuditReport(r)).toMatch(/Immutability proof: FAIL — DELETE OF A LOCKED VERSION SUCCEEDED/);
    });

    it("FAILs when S3 gives no answer, or the refused version changed", async () => {
        const vault = healthyVault();
        vault.onDelete = "no-answer";
        expect((await audit(vault)).immutability.detail).toMatch(/got no answer from S3 \(connect ECONNREFUSED/);
        const changed = healthyVault();
        changed.onDelete = "object-lock-but-changes";
        const r = await audit(changed);
        expect(r.result).toBe("FAIL");
        expect(r.immutability.detail).toMatch(/refused by Object Lock, but the version changed/);
    });

    it("is SKIPPED, never PASS, without the delete proof — and still FAIL when something else is wrong", async () => {
        const vault = healthyVault();
        const r = await audit(vault, false);
        expect(r.result).toBe("SKIPPED");
        expect(r.immutability.status).toBe("SKIPPED");
        expect(vault.deletes).toEqual([]);
        expect(formatAuditReport(r)).toMatch(/Result: SKIPPED$/);
        vault.add("db/prod/2026/11/21/y.dump", 1);
        vault.bucket = { enabled: false };
        expect((await audit(vault, false)).result).toBe("FAIL");
    });

    it("FAILs on a bucket default other than expected, and on Object Lock being off", async () => {
        expect(checkBucketLock({ enabled: true, mode: "GOVERNANCE", days: 7 }, EXPECTED).detail).toMatch(/is GOVERNANCE for 7 day\(s\), expected COMPLIANCE for 7 day\(s\)/);
        expect(checkBucketLock({ enabled: true, mode: "COMPLIANCE", days: 1 }, EXPECTED).status).toBe("FAIL");
        expect(checkBucketLock({ enabled: true, mode: "COMPLIANCE", years: 1 }, EXPECTED).detail).toMatch(/1 year\(s\)/);
        expect(checkBucketLock({ enabled: false }, EXPECTED).detail).toMatch(/not enabled/);
        expect(checkBucketLock({ enabled: true, mode: "COMPLIANCE", days: 7 }, EXPECTED).status).toBe("PASS");
        const vault = healthyVault();
        vault.bucket = { enabled: true, mode: "GOVERNANCE", days: 7 };
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(r.findings[0]).toMatch(/^bucket lock: /);
    });

    it("turns every unexpected error into FAIL, never PASS", async () => {
        for (const breakIt of [
            (v: FakeVault) => (v.bucket = new Error("reading the Object Lock configuration of s3://fake-vault failed (AccessDenied, HTTP 403): Access Denied.")),
            (v: FakeVault) => (v.listError = "listing the versions of s3://fake-vault/db/prod/ failed (AccessDenied, HTTP 403): Access Denied."),
            (v: FakeVault) => (v.lockError = "reading the retention of … failed (AccessDenied, HTTP 403): Access Denied."),
        ]) {
            const vault = healthyVault();
            breakIt(vault);
            const r = await audit(vault);
            expect(r.result).toBe("FAIL");
            expect(r.findings.join("\n")).toMatch(/Access Denied\./);
        }
        // An empty environment proves nothing either.
        const empty = await audit(new FakeVault());
        expect(empty.result).toBe("FAIL");
        expect(empty.findings.join("\n")).toMatch(/no object version under db\/prod\//);
        expect(empty.immutability.detail).toMatch(/nothing whose immutability could be proven/);
    });

    it("reports bucket-default versions as such, and accepts them only when a delete of one was refused by the lock", async () => {
        const vault = new FakeVault(); // a gateway-like server: the default is not stamped on versions
        vault.add("db/prod/2026/11/21/a.dump", 1);
        vault.add("db/prod/2026/11/21/a.dump", 2, {}, false);
        const r = await audit(vault);
        expect(r.result).toBe("PASS");
        expect(r.byState["bucket-default"].objects).toBe(2);
        expect(r.versions.every((v) => v.retainUntil === undefined)).toBe(true); // no invented until-date
        expect(r.immutability.probes.map((p) => p.protectedBy)).toEqual(["bucket default"]);
        expect(formatAuditReport(r)).toMatch(/protected only by the bucket default: no per-version until-date/);

        vault.onDelete = "iam";
        const denied = await audit(vault);
        expect(denied.result).toBe("FAIL");
        expect(denied.findings.join("\n")).toMatch(/protected only by the bucket default, which the delete proof did not confirm/);
    });

    it("proves both kinds of protection when both occur", async () => {
        const vault = healthyVault();
        vault.add("storage/prod/avatars/2026/11/22/b.png", 0);
        const r = await audit(vault);
        expect(r.result).toBe("PASS");
        expect(r.immutability.probes.map((p) => p.protectedBy)).toEqual(["own retention", "bucket default"]);
        expect(vault.deletes).toHaveLength(2);
    });

    it("counts current delete markers (they hide the newest backup from plain reads)", async () => {
        const vault = healthyVault();
        vault.markers = [{ key: "db/prod/2026/11/20/backup.dump", versionId: "dm1", isLatest: true, lastModified: NOW }];
        const r = await audit(vault);
        expect(r.deleteMarkers).toEqual({ total: 1, current: ["db/prod/2026/11/20/backup.dump"] });
        expect(formatAuditReport(r)).toMatch(/Delete markers: 1 \(1 hide the current version/);
    });
});

describe("each version's own lock, judged against the expected mode and length", () => {
    it("FAILs a GOVERNANCE version locked for one hour in a COMPLIANCE 7-day vault, naming it (the probe's false PASS)", async () => {
        const vault = healthyVault();
        const lastModified = at(10 / 1440);
        const until = new Date(lastModified.getTime() + HOUR);
        const v = vault.add("db/prod/2026/11/22/backup.dump", 10 / 1440, { mode: "GOVERNANCE", retainUntil: until });
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        const audited = r.versions.find((x) => x.versionId === v.versionId)!;
        expect(audited).toMatchObject({ state: "locked", retentionMode: "GOVERNANCE", tier: "daily" });
        expect(audited.lockProblems).toHaveLength(2); // the mode and the length
        const name = esc(`db/prod/2026/11/22/backup.dump (version ${v.versionId})`);
        expect(findingsOf(r)).toMatch(new RegExp(`1 version\\(s\\) locked in GOVERNANCE where COMPLIANCE is expected .*s3:BypassGovernanceRetention.*: ${name}`));
        expect(findingsOf(r)).toMatch(new RegExp(`locked shorter than required.*: ${name} until ${esc(until.toISOString())}, needs ≥ ${esc(new Date(lastModified.getTime() + 7 * DAY).toISOString())} \\(daily: 7 day\\(s\\)`));
        expect(formatAuditReport(r)).toMatch(/^Version locks: FAIL — 1 of 5 judged version\(s\) fall short/m);
        // The delete proof itself held (a lock refused it): only the per-version judgement catches this.
        expect(r.immutability.status).toBe("PASS");
    });

    it("FAILs a COMPLIANCE lock shorter than the expected days, naming key, version, retain-until and the minimum", async () => {
        const vault = healthyVault();
        const until = new Date(at(1).getTime() + 2 * DAY);
        const v = vault.add("storage/prod/avatars/2026/11/21/b.png", 1, { mode: "COMPLIANCE", retainUntil: until });
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(r.findings).toHaveLength(1);
        expect(r.findings[0]).toBe(`1 version(s) locked shorter than required (less ${LOCK_CLOCK_TOLERANCE_MS / 60_000} min for the nightly's clock): `
            + `storage/prod/avatars/2026/11/21/b.png (version ${v.versionId}) until ${until.toISOString()}, needs ≥ ${new Date(at(1).getTime() + 7 * DAY).toISOString()} (daily: 7 day(s) after its LastModified)`);
    });

    it("FAILs a monthly archive locked only for the daily length: monthly archives need monthlyRetainUntil", async () => {
        const vault = healthyVault();
        const v = vault.add("monthly/db/prod/2026/11/backup.dump", 1, { mode: "COMPLIANCE", retainUntil: new Date(at(1).getTime() + 7 * DAY) });
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(r.versions.find((x) => x.versionId === v.versionId)).toMatchObject({ tier: "monthly", requiredUntil: monthlyRetainUntil(at(1), 12).toISOString() });
        expect(findingsOf(r)).toMatch(new RegExp(`monthly/db/prod/2026/11/backup\\.dump \\(version ${v.versionId}\\) until .*, needs ≥ ${esc(monthlyRetainUntil(at(1), 12).toISOString())} \\(monthly: 12 month\\(s\\)`));
    });

    it("FAILs a monthly archive protected only by the bucket default (a server that does not stamp it)", async () => {
        const vault = new FakeVault();
        vault.add("db/prod/2026/11/21/a.dump", 1);
        const v = vault.add("monthly/storage/prod/avatars/2026/11/objects/a.png", 1);
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(r.versions.find((x) => x.versionId === v.versionId)).toMatchObject({ state: "bucket-default", tier: "monthly" });
        expect(findingsOf(r)).toMatch(new RegExp(`${esc(`monthly/storage/prod/avatars/2026/11/objects/a.png (version ${v.versionId})`)} until ${esc(new Date(at(1).getTime() + 7 * DAY).toISOString())} \\(bucket default\\), needs ≥`));
        expect(r.versions.find((x) => x.key === "db/prod/2026/11/21/a.dump")?.lockProblems).toEqual([]);
    });

    it("PASSes a correct vault: daily and monthly tiers, noncurrent versions, a lapsed lock, the job's clock gap", async () => {
        const vault = healthyVault();
        vault.add("monthly/db/prod/2026/11/backup.dump", 21, { mode: "COMPLIANCE", retainUntil: monthlyRetainUntil(at(21), 12) });
        vault.add("monthly/storage/prod/avatars/2026/11/objects/a.png", 21, { mode: "COMPLIANCE", retainUntil: monthlyRetainUntil(at(21), 12) });
        // Written an hour and a half into the nightly: its lock was computed from the job's start.
        vault.add("storage/prod/avatars/2026/11/22/objects/b.png", 0.1, { mode: "COMPLIANCE", retainUntil: new Date(at(0.1).getTime() + 7 * DAY - 90 * 60_000) });
        const r = await audit(vault);
        expect(r.findings).toEqual([]);
        expect(r.notes).toEqual([]);
        expect(r.result).toBe("PASS");
        expect(r.versions.filter((v) => v.tier === "monthly").map((v) => v.key).sort()).toEqual(["monthly/db/prod/2026/11/backup.dump", "monthly/storage/prod/avatars/2026/11/objects/a.png"]);
        expect(r.versions.filter((v) => v.tier === "daily")).toHaveLength(5);
        expect(r.versions.every((v) => v.lockProblems.length === 0 && v.requiredUntil)).toBe(true);
        const text = formatAuditReport(r);
        expect(text).toMatch(/^Expected: COMPLIANCE; daily ≥ 7 day\(s\), monthly ≥ 12 month\(s\) of 31 days after each version's LastModified \(less 105 min for the nightly's clock\) — from the test$/m);
        expect(text).toMatch(/^Version locks: PASS — 7 judged version\(s\) meet the expected mode and length$/m);
    });

    it("allows the nightly's clock gap up to the stated tolerance, and not a minute more", async () => {
        for (const [short, result] of [[LOCK_CLOCK_TOLERANCE_MS, "PASS"], [LOCK_CLOCK_TOLERANCE_MS + 60_000, "FAIL"]] as const) {
            const vault = healthyVault();
            vault.add("db/prod/2026/11/22/late.dump", 0.2, { mode: "COMPLIANCE", retainUntil: new Date(at(0.2).getTime() + 7 * DAY - short) });
            expect((await audit(vault)).result, `${short / 60_000} min short`).toBe(result);
        }
    });

    it("states a tolerance that covers the nightly job's timeout plus the clock skew S3 accepts", () => {
        const file = path.resolve(__dirname, "../../.github/workflows/nightly-backup.yml");
        const wf = yaml.load(fs.readFileSync(file, "utf8")) as { jobs: Record<string, { "timeout-minutes"?: number }> };
        const timeouts = Object.values(wf.jobs).map((j) => j["timeout-minutes"]);
        expect(timeouts.every((t) => typeof t === "number")).toBe(true);
        // SigV4 refuses a request more than 15 minutes off S3's clock (RequestTimeTooSkewed).
        expect(LOCK_CLOCK_TOLERANCE_MS).toBeGreaterThanOrEqual((Math.max(...(timeouts as number[])) + 15) * 60_000);
        expect(LOCK_CLOCK_TOLERANCE_MS).toBeLessThanOrEqual(2 * HOUR); // small against a day
    });

    it("keeps a lock that lapsed after its full length quiet, but FAILs one that lapsed early", async () => {
        const vault = healthyVault(); // old.dump: 12 days old, lapsed 5 days ago after its 7 days
        expect((await audit(vault)).result).toBe("PASS");
        const v = vault.add("db/prod/2026/11/19/early.dump", 3, { mode: "COMPLIANCE", retainUntil: new Date(at(3).getTime() + DAY) });
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(r.versions.find((x) => x.versionId === v.versionId)?.state).toBe("expired");
        expect(findingsOf(r)).toMatch(new RegExp(`${esc(`db/prod/2026/11/19/early.dump (version ${v.versionId})`)} until`));
        expect(findingsOf(r)).not.toMatch(/old\.dump/);
    });

    it("accepts a COMPLIANCE version in a GOVERNANCE vault (stricter) with a note naming it", async () => {
        const vault = new FakeVault();
        vault.bucket = { enabled: true, mode: "GOVERNANCE", days: 3 };
        const expected: ExpectedLock = { mode: "GOVERNANCE", days: 3, monthlyMonths: 3, source: "Pulumi.staging.yaml" };
        vault.add("db/prod/2026/11/21/a.dump", 1, { mode: "GOVERNANCE", retainUntil: new Date(at(1).getTime() + 3 * DAY) });
        const strict = vault.add("db/prod/2026/11/21/b.dump", 1, { mode: "COMPLIANCE", retainUntil: new Date(at(1).getTime() + 3 * DAY) });
        const r = await audit(vault, true, expected);
        expect(r.findings).toEqual([]);
        expect(r.result).toBe("PASS");
        expect(r.notes).toEqual([`1 version(s) locked in COMPLIANCE where GOVERNANCE is expected (stricter, accepted): db/prod/2026/11/21/b.dump (version ${strict.versionId})`]);
        expect(formatAuditReport(r)).toMatch(/^Notes:\n {2}- 1 version\(s\) locked in COMPLIANCE where GOVERNANCE/m);
    });

    it("FAILs a retention that names no mode", async () => {
        const vault = healthyVault();
        const v = vault.add("db/prod/2026/11/21/c.dump", 1, { retainUntil: new Date(at(1).getTime() + 7 * DAY) });
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(findingsOf(r)).toMatch(new RegExp(`1 version\\(s\\) carry a retain-until date but no mode \\(expected COMPLIANCE\\): ${esc(`db/prod/2026/11/21/c.dump (version ${v.versionId})`)}`));
    });

    it("refuses an expectation without a usable monthly length rather than judge monthly archives by nothing", async () => {
        await expect(audit(healthyVault(), true, { mode: "COMPLIANCE", days: 7 } as ExpectedLock)).rejects.toThrow(/expected\.monthlyMonths must be a whole number ≥ 1/);
    });

    it("takes each key's tier from the vault's key layout", () => {
        expect(retentionTier("db/prod/2026/11/20/backup.dump", "prod")).toBe("daily");
        expect(retentionTier("storage/prod/avatars/2026/11/20/objects/a.png", "prod")).toBe("daily");
        expect(retentionTier("monthly/db/prod/2026/11/backup.dump", "prod")).toBe("monthly");
        expect(retentionTier("monthly/storage/prod/avatars/2026/11/objects/a.png", "prod")).toBe("monthly");
        // pgBackRest writes the WAL archive without retention of its own: it has the bucket default.
        expect(retentionTier("pitr/prod/archive/main/15-1/000000010000000000000001", "prod")).toBe("bucket default");
        expect(retentionTier("monthly/db/staging/2026/11/backup.dump", "prod")).toBe("bucket default");
    });
});

describe("refusal classifier", () => {
    const s3Error = (name: string, message: string, status = 403) =>
        new S3ServiceException({ name, message, $fault: "client", $metadata: { httpStatusCode: status } });
    // What DeleteObject of a locked version answers, pinned:
    // - AWS S3: 403 AccessDenied "Access Denied because object protected by object lock." (getmoto/moto
    //   tests/test_s3/test_s3_lock.py, its tests marked aws_verified, run against AWS itself);
    // - Versity Gateway v1.8.0: s3err.ErrObjectLocked, the same code, status and message (and
    //   test/integration/vault.audit.test.ts sees it from the running gateway).
    const AWS_S3 = { code: "AccessDenied", httpStatus: 403, message: "Access Denied because object protected by object lock." };
    const VERSITYGW_1_8_0 = { code: "AccessDenied", httpStatus: 403, message: "Access Denied because object protected by object lock." };

    const refusal = (a: { code: string; httpStatus?: number; message: string }) => isObjectLockRefusal(a.code, a.message, a.httpStatus);

    it("accepts exactly the refusal AWS and Versity Gateway v1.8.0 give for a locked version", () => {
        expect(refusal(AWS_S3)).toBe(true);
        expect(refusal(VERSITYGW_1_8_0)).toBe(true);
        expect(OBJECT_LOCK_REFUSAL).toEqual(AWS_S3);
    });

    it("counts nothing else as Object Lock's: IAM and policy denials, other servers' wordings, other statuses", () => {
        expect(refusal({ ...AWS_S3, message: "Access Denied." })).toBe(false);
        expect(refusal({ ...AWS_S3, message: "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: s3:DeleteObjectVersion on resource" })).toBe(false);
        expect(refusal({ ...AWS_S3, message: "User: auditor is not authorized to perform: s3:BypassGovernanceRetention ... explicit deny" })).toBe(false);
        // MinIO, and the gateway before versity/versitygw#1330: a 400 that AWS never sends for a lock.
        expect(refusal({ code: "InvalidRequest", httpStatus: 400, message: "Object is WORM protected and cannot be overwritten." })).toBe(false);
        expect(refusal({ code: "InvalidRequest", httpStatus: 400, message: "Bucket is missing Object Lock retention configuration" })).toBe(false);
        expect(refusal({ ...AWS_S3, httpStatus: 400 })).toBe(false);
        expect(refusal({ ...AWS_S3, message: "Access Denied because object protected by object lock retention." })).toBe(false);
        expect(refusal({ ...AWS_S3, code: "NoSuchBucket" })).toBe(false);
    });

    it("classifies thrown errors into the delete outcomes", () => {
        expect(classifyDeleteError(s3Error("AccessDenied", LOCK_MESSAGE))).toEqual({ outcome: "refused-object-lock", code: "AccessDenied", httpStatus: 403, message: LOCK_MESSAGE });
        expect(classifyDeleteError(s3Error("AccessDenied", "Access Denied."))).toMatchObject({ outcome: "refused-other", code: "AccessDenied" });
        expect(classifyDeleteError(s3Error("InvalidRequest", "Object is WORM protected and cannot be overwritten.", 400))).toMatchObject({ outcome: "refused-other", code: "InvalidRequest", httpStatus: 400 });
        expect(classifyDeleteError(s3Error("AccessDenied", LOCK_MESSAGE, 400))).toMatchObject({ outcome: "refused-other", httpStatus: 400 });
        const statusless = new S3ServiceException({ name: "AccessDenied", message: LOCK_MESSAGE, $fault: "client", $metadata: {} });
        expect(classifyDeleteError(statusless)).toMatchObject({ outcome: "refused-other", httpStatus: undefined });
        expect(classifyDeleteError(s3Error("NoSuchBucket", "The specified bucket does not exist", 404))).toMatchObject({ outcome: "refused-other", httpStatus: 404 });
        expect(classifyDeleteError(new Error("socket hang up"))).toEqual({ outcome: "error", message: "socket hang up" });
    });

    it("FAILs the audit on a refusal worded like MinIO's (the old classifier's false PASS)", async () => {
        const vault = healthyVault();
        vault.deleteVersion = async () => classifyDeleteError(s3Error("InvalidRequest", "Object is WORM protected and cannot be overwritten.", 400));
        const r = await audit(vault);
        expect(r.result).toBe("FAIL");
        expect(r.immutability.detail).toMatch(/refused, but not by Object Lock \(InvalidRequest, HTTP 400: Object is WORM protected/);
    });
});

describe("the CLI's expected lock", () => {
    const repo = path.resolve(__dirname, "../..");
    const withStackFile = (env: string, text: string, fn: (dir: string) => void) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-expected-"));
        try {
            fs.writeFileSync(path.join(dir, `Pulumi.${env}.yaml`), text);
            fn(dir);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    };

    it("comes from the stack file as `pulumi up` reads it, each environment variable winning over its field", () => {
        expect(expectedLock({}, "prod", repo)).toEqual({ mode: "COMPLIANCE", days: 7, monthlyMonths: 12, source: "Pulumi.prod.yaml (supabase-dr:aws objectLockMode, retentionDays, monthlyArchiveMonths)" });
        expect(expectedLock({}, "staging", repo)).toMatchObject({ mode: "GOVERNANCE", days: 3, monthlyMonths: 3 });
        expect(expectedLock({ OBJECT_LOCK_MODE: "governance", LOCK_RETENTION_DAYS: "2", LOCK_MONTHLY_MONTHS: "6" }, "prod", repo))
            .toEqual({ mode: "GOVERNANCE", days: 2, monthlyMonths: 6, source: "OBJECT_LOCK_MODE, LOCK_RETENTION_DAYS, LOCK_MONTHLY_MONTHS" });
        expect(expectedLock({ LOCK_RETENTION_DAYS: "30" }, "prod", repo))
            .toEqual({ mode: "COMPLIANCE", days: 30, monthlyMonths: 12, source: "LOCK_RETENTION_DAYS; Pulumi.prod.yaml (supabase-dr:aws objectLockMode, monthlyArchiveMonths)" });
        // The schema's defaults, as `pulumi up` applies them.
        withStackFile("lab", "config:\n  supabase-dr:environment: lab\n  supabase-dr:aws: {}\n", (dir) => {
            expect(expectedLock({}, "lab", dir)).toMatchObject({ mode: "COMPLIANCE", days: 7, monthlyMonths: 12 });
        });
    });

    it("fails on a stack file `pulumi up` would reject, naming the file and the key (the hand-read fell back to defaults)", () => {
        withStackFile("lab", "config:\n  supabase-dr:environment: lab\n  supabase-dr:aws:\n    retentionDay: 3\n", (dir) => {
            expect(() => expectedLock({}, "lab", dir)).toThrow(/invalid Pulumi\.lab\.yaml:\n\s+supabase-dr:aws: unknown key retentionDay; did you mean retentionDays\?/);
        });
    });

    it("is an error when neither says, or a value is not usable", () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "audit-expected-"));
        try {
            expect(() => expectedLock({}, "prod", empty)).toThrow(/expected lock is unknown: no Pulumi\.prod\.yaml, and OBJECT_LOCK_MODE, LOCK_RETENTION_DAYS, LOCK_MONTHLY_MONTHS not set/);
            expect(() => expectedLock({ OBJECT_LOCK_MODE: "COMPLIANCE", LOCK_RETENTION_DAYS: "1" }, "prod", empty)).toThrow(/no Pulumi\.prod\.yaml, and LOCK_MONTHLY_MONTHS not set/);
            const all = { OBJECT_LOCK_MODE: "COMPLIANCE", LOCK_RETENTION_DAYS: "1", LOCK_MONTHLY_MONTHS: "12" };
            expect(expectedLock(all, "x", empty)).toEqual({ mode: "COMPLIANCE", days: 1, monthlyMonths: 12, source: "OBJECT_LOCK_MODE, LOCK_RETENTION_DAYS, LOCK_MONTHLY_MONTHS" });
            expect(() => expectedLock({ ...all, OBJECT_LOCK_MODE: "LEGAL" }, "x", empty)).toThrow(/OBJECT_LOCK_MODE must be COMPLIANCE or GOVERNANCE/);
            expect(() => expectedLock({ ...all, LOCK_RETENTION_DAYS: "0" }, "x", empty)).toThrow(/LOCK_RETENTION_DAYS must be a positive whole number/);
            expect(() => expectedLock({ ...all, LOCK_MONTHLY_MONTHS: "1.5" }, "x", empty)).toThrow(/LOCK_MONTHLY_MONTHS must be a positive whole number/);
        } finally {
            fs.rmSync(empty, { recursive: true, force: true });
        }
    });
});
