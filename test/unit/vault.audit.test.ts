// The retention audit's verdict over a scripted vault: PASS only with the expected bucket lock, every
// version protected and a delete refused *by Object Lock* with the version left unchanged; an IAM
// denial, an error, a successful delete, an unprotected (noncurrent) version or a wrong bucket default
// are FAIL with the reason; a skipped proof is SKIPPED. Plus the refusal classifier and where the CLI
// takes the expected lock from.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { S3ServiceException } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { expectedLock } from "../../scripts/retention-audit";
import { auditRetention, checkBucketLock, formatAuditReport, type ExpectedLock } from "../../lib/vault/audit";
import {
    classifyDeleteError,
    isObjectLockRefusal,
    type BucketLockConfiguration,
    type DeleteAttempt,
    type VaultAuditSource,
    type VersionListing,
    type VersionLock,
} from "../../lib/vault/s3Audit";

const NOW = new Date("2026-11-22T12:00:00Z");
const DAY = 86_400_000;
const EXPECTED: ExpectedLock = { mode: "COMPLIANCE", days: 7 };
const LOCK_MESSAGE = "Access Denied because object protected by object lock.";

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

const audit = (source: VaultAuditSource, prove = true) => auditRetention({ source, env: "prod", expected: EXPECTED, now: () => NOW, proveImmutability: prove });

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

describe("refusal classifier", () => {
    const s3Error = (name: string, message: string, status = 403) =>
        new S3ServiceException({ name, message, $fault: "client", $metadata: { httpStatusCode: status } });

    it("tells an Object Lock refusal from an IAM or bucket-policy denial with the same code", () => {
        expect(isObjectLockRefusal("AccessDenied", LOCK_MESSAGE)).toBe(true);
        expect(isObjectLockRefusal("AccessDenied", "Access Denied.")).toBe(false);
        expect(isObjectLockRefusal("AccessDenied", "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: s3:DeleteObjectVersion on resource")).toBe(false);
        expect(isObjectLockRefusal("AccessDenied", "User: auditor is not authorized to perform: s3:BypassGovernanceRetention ... explicit deny")).toBe(false);
        expect(isObjectLockRefusal("InvalidRequest", "Object is WORM protected and cannot be overwritten")).toBe(true);
        expect(isObjectLockRefusal("NoSuchBucket", "object lock")).toBe(false);
    });

    it("classifies thrown errors into the delete outcomes", () => {
        expect(classifyDeleteError(s3Error("AccessDenied", LOCK_MESSAGE))).toEqual({ outcome: "refused-object-lock", code: "AccessDenied", httpStatus: 403, message: LOCK_MESSAGE });
        expect(classifyDeleteError(s3Error("AccessDenied", "Access Denied."))).toMatchObject({ outcome: "refused-other", code: "AccessDenied" });
        expect(classifyDeleteError(s3Error("NoSuchBucket", "The specified bucket does not exist", 404))).toMatchObject({ outcome: "refused-other", httpStatus: 404 });
        expect(classifyDeleteError(new Error("socket hang up"))).toEqual({ outcome: "error", message: "socket hang up" });
    });
});

describe("the CLI's expected lock", () => {
    const repo = path.resolve(__dirname, "../..");
    it("comes from the environment first, else from the stack file's supabase-dr:aws", () => {
        expect(expectedLock({}, "prod", repo)).toEqual({ mode: "COMPLIANCE", days: 7 });
        expect(expectedLock({}, "staging", repo)).toEqual({ mode: "GOVERNANCE", days: 3 });
        expect(expectedLock({ OBJECT_LOCK_MODE: "governance", LOCK_RETENTION_DAYS: "2" }, "prod", repo)).toEqual({ mode: "GOVERNANCE", days: 2 });
        expect(expectedLock({ LOCK_RETENTION_DAYS: "30" }, "prod", repo)).toEqual({ mode: "COMPLIANCE", days: 30 });
    });

    it("is an error when neither says, or a value is not usable", () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "audit-expected-"));
        try {
            expect(() => expectedLock({}, "prod", empty)).toThrow(/expected bucket lock is unknown: set OBJECT_LOCK_MODE and LOCK_RETENTION_DAYS, or provide Pulumi\.prod\.yaml/);
            expect(() => expectedLock({ OBJECT_LOCK_MODE: "COMPLIANCE" }, "prod", empty)).toThrow(/unknown/);
            expect(() => expectedLock({ OBJECT_LOCK_MODE: "LEGAL", LOCK_RETENTION_DAYS: "1" }, "x", empty)).toThrow(/COMPLIANCE or GOVERNANCE/);
            expect(() => expectedLock({ OBJECT_LOCK_MODE: "COMPLIANCE", LOCK_RETENTION_DAYS: "0" }, "x", empty)).toThrow(/LOCK_RETENTION_DAYS must be a positive whole number/);
        } finally {
            fs.rmSync(empty, { recursive: true, force: true });
        }
    });
});
