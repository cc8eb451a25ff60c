// The quarterly retention audit (runbook 004): every version — current and noncurrent — under an
// environment's prefixes, by age and Object Lock state, checked against the bucket's lock
// configuration, plus a proof that immutability holds: a principal that IAM *allows* to delete
// versions (the retention-auditor role, without governance bypass) really sends a delete for a locked
// version, which must be refused on Object Lock's authority and leave the version unchanged.
//
// Result: PASS only when (a) the bucket's Object Lock is enabled with the expected default mode and
// days, (b) no version is unprotected (every version has its own retention — in force or lapsed — or a
// legal hold, or is covered by the bucket default and the proof confirmed that default is enforced),
// (c) every version's own lock is as strong as expected — its mode, and its retain-until measured
// from its LastModified by its tier (below) — and (d) the delete proof was refused for the lock and
// the version is still there, unchanged.
//
// Why (c) is judged per version: on AWS a put's own mode and until-date override the bucket default,
// so a GOVERNANCE version locked for an hour can sit in a COMPLIANCE 7-day vault; anyone allowed
// s3:BypassGovernanceRetention deletes it, and an hour later anyone allowed DeleteObjectVersion does.
// A bucket check and a refused delete both pass on such a vault. Locks are judged in force or lapsed
// alike: a lock that ran its full length and lapsed (the version awaits the lifecycle) meets the
// expectation, one that lapsed early did not, and is evidence that backups are written with short locks.
// Anything else is FAIL with its reason — an IAM denial, an error, a delete that succeeded. A proof
// not run (--no-delete-proof) is SKIPPED, and so is the audit's result: never PASS.
import type { BucketLockConfiguration, DeleteAttempt, ObjectVersionEntry, VaultAuditSource, VersionLock } from "./s3Audit";
import { environmentPrefixes } from "./keys";
import type { AzureArchiveReport } from "./azureAudit";
import { assertExpected, defaultDays, describeIssue, judgeVersionLock, LOCK_CLOCK_TOLERANCE_MS, lockFindings, retentionTier, type ExpectedLock, type LockIssue, type RetentionTier } from "./versionLocks";

// The per-version rule's names, where the audit's users have always found them.
export { LOCK_CLOCK_TOLERANCE_MS, NIGHTLY_TIMEOUT_MINUTES, requiredRetainUntil, retentionTier, S3_CLOCK_SKEW_MINUTES, type ExpectedLock, type RetentionTier } from "./versionLocks";

const DAY_MS = 86_400_000;

/**
 * - locked: the version's own retention is in force.
 * - legal-hold: a legal hold is on (whatever its retention says).
 * - bucket-default: no retention of its own, within the bucket default's days of its creation. AWS
 *   stamps the default onto every new version, so this arises on servers that apply the default at
 *   delete time instead (Versity Gateway). Protected only if the delete proof shows the default enforced.
 * - expired: its retention (own, or the bucket default's) has lapsed: lifecycle may expire it.
 * - none: no retention, no legal hold, no bucket default: never protected.
 * - unknown: its lock state could not be read.
 */
export const VERSION_STATES = ["locked", "legal-hold", "bucket-default", "expired", "none", "unknown"] as const;
export type VersionState = (typeof VERSION_STATES)[number];
export const AGE_BUCKETS = ["<1d", "1-7d", "7-30d", "30-90d", "90-365d", ">365d"] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];
export type Verdict = "PASS" | "FAIL" | "SKIPPED";

export interface AuditedVersion {
    key: string;
    versionId: string;
    isLatest: boolean;
    bytes: number;
    lastModified: string;
    ageBucket: AgeBucket;
    state: VersionState;
    retentionMode?: string;
    /** The version's own until-date; absent for bucket-default versions (they have none). */
    retainUntil?: string;
    legalHold: boolean;
    etag?: string;
    error?: string;
    tier: RetentionTier;
    /** LastModified + the tier's length: the earliest retain-until it must have. Absent when not judged. */
    requiredUntil?: string;
    /** Where its lock falls short of the expectation (mode, length); empty when it does not, or is not judged. */
    lockProblems: string[];
    /** A lock stricter than expected (COMPLIANCE where GOVERNANCE is expected): accepted, reported. */
    lockNote?: string;
}


export interface BucketLockCheck {
    status: "PASS" | "FAIL";
    expected: ExpectedLock;
    actual?: BucketLockConfiguration;
    detail: string;
}

export interface DeleteProbe {
    key: string;
    versionId: string;
    /** Why this version was chosen: its own retention, or only the bucket default. */
    protectedBy: "own retention" | "bucket default";
    attempt: DeleteAttempt;
    /** After the attempt: still there with the same ETag and the same lock. */
    unchanged?: boolean;
    status: "PASS" | "FAIL";
    detail: string;
}

export interface ImmutabilityProof {
    status: Verdict;
    detail: string;
    probes: DeleteProbe[];
}

export interface Tally {
    objects: number;
    bytes: number;
}

export interface AuditReport {
    env: string;
    location: string;
    generatedAt: string;
    prefixes: string[];
    result: Verdict;
    /** Every reason the result is not PASS, one line each (empty on PASS). */
    findings: string[];
    /** What is reported without failing the audit (locks stricter than expected). */
    notes: string[];
    expected: ExpectedLock;
    bucketLock: BucketLockCheck;
    /** Versions whose lock was judged, and how many fall short. */
    versionLocks: { status: "PASS" | "FAIL"; judged: number; failing: number };
    total: Tally;
    byAge: Record<AgeBucket, Tally>;
    byState: Record<VersionState, Tally>;
    /** "key (version id)" of every version with no protection at all. */
    unprotected: string[];
    deleteMarkers: { total: number; current: string[] };
    immutability: ImmutabilityProof;
    versions: AuditedVersion[];
    /** The Azure archive's section (lib/vault/azureAudit.ts), when the archive is configured. */
    azure?: AzureArchiveReport;
}

export function ageBucket(lastModified: Date, now: Date): AgeBucket {
    const days = (now.getTime() - lastModified.getTime()) / DAY_MS;
    if (days < 1) return "<1d";
    if (days < 7) return "1-7d";
    if (days < 30) return "7-30d";
    if (days < 90) return "30-90d";
    if (days < 365) return "90-365d";
    return ">365d";
}


/** The state of one version from its own lock, the bucket default and the clock. */
export function versionState(v: { lastModified: Date }, lock: VersionLock, bucket: BucketLockConfiguration | undefined, now: Date): VersionState {
    if (lock.legalHold) return "legal-hold";
    if (lock.retainUntil) return lock.retainUntil.getTime() > now.getTime() ? "locked" : "expired";
    const days = defaultDays(bucket);
    if (days === undefined || !bucket?.mode) return "none";
    return v.lastModified.getTime() + days * DAY_MS > now.getTime() ? "bucket-default" : "expired";
}

export function checkBucketLock(actual: BucketLockConfiguration | undefined, expected: ExpectedLock): BucketLockCheck {
    const want = `${expected.mode} for ${expected.days} day(s)`;
    const fail = (detail: string): BucketLockCheck => ({ status: "FAIL", expected, actual, detail });
    if (!actual) return fail("the bucket's Object Lock configuration could not be read");
    if (!actual.enabled) return fail(`Object Lock is not enabled on the bucket (expected a default retention of ${want})`);
    if (!actual.mode) return fail(`Object Lock is enabled but the bucket has no default retention rule (expected ${want}): a put without its own retention is not locked`);
    const got = actual.days !== undefined ? `${actual.mode} for ${actual.days} day(s)` : `${actual.mode} for ${actual.years} year(s)`;
    if (actual.mode !== expected.mode || actual.days !== expected.days) {
        return fail(`the bucket's default retention is ${got}, expected ${want}`);
    }
    return { status: "PASS", expected, actual, detail: `Object Lock enabled, default retention ${got}` };
}


export const zero = (): Tally => ({ objects: 0, bytes: 0 });

async function mapLimited<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return out;
}

export const messageOf = (err: unknown) => (err as Error)?.message ?? String(err);
const sameLock = (a: VersionLock, b: VersionLock) =>
    a.mode === b.mode && a.legalHold === b.legalHold && a.retainUntil?.getTime() === b.retainUntil?.getTime();

/** One delete attempt on `target`, judged by the refusal's reason and the version's state afterwards. */
async function probe(source: VaultAuditSource, target: AuditedVersion, protectedBy: DeleteProbe["protectedBy"]): Promise<DeleteProbe> {
    const { key, versionId } = target;
    const name = `${key} (version ${versionId})`;
    const base = { key, versionId, protectedBy };
    let before: VersionLock;
    try {
        before = await source.lock(key, versionId);
    } catch (err) {
        return { ...base, attempt: { outcome: "error", message: messageOf(err) }, status: "FAIL", detail: `could not read the lock of ${name} before the delete: ${messageOf(err)}` };
    }
    const attempt = await source.deleteVersion(key, versionId);
    if (attempt.outcome === "deleted") {
        return { ...base, attempt, status: "FAIL", detail: `DELETE OF A LOCKED VERSION SUCCEEDED: ${name} (protected by ${protectedBy}${target.retainUntil ? ` until ${target.retainUntil}` : ""}) is gone — the vault is not immutable` };
    }
    if (attempt.outcome === "impossible") {
        return { ...base, attempt, status: "FAIL", detail: `no delete of ${name} was attempted: ${attempt.message}` };
    }
    if (attempt.outcome === "error") {
        return { ...base, attempt, status: "FAIL", detail: `the delete of ${name} got no answer from S3 (${attempt.message}): nothing was proven` };
    }
    if (attempt.outcome === "refused-other") {
        return { ...base, attempt, status: "FAIL", detail: `the delete of ${name} was refused, but not by Object Lock (${attempt.code}${attempt.httpStatus ? `, HTTP ${attempt.httpStatus}` : ""}: ${attempt.message}): ` +
            "the auditing principal is not allowed to delete versions, so the refusal says nothing about retention — run the audit as the retention-auditor role" };
    }
    let after: VersionLock;
    let head;
    try {
        [head, after] = [await source.head(key, versionId), await source.lock(key, versionId)];
    } catch (err) {
        return { ...base, attempt, status: "FAIL", detail: `the delete of ${name} was refused by Object Lock, but the version could not be re-read afterwards: ${messageOf(err)}` };
    }
    if (!head) {
        return { ...base, attempt, unchanged: false, status: "FAIL", detail: `the delete of ${name} was refused by Object Lock, yet the version no longer exists` };
    }
    if (head.etag !== target.etag || !sameLock(before, after)) {
        return { ...base, attempt, unchanged: false, status: "FAIL", detail: `the delete of ${name} was refused by Object Lock, but the version changed (ETag ${target.etag} → ${head.etag}, lock ${JSON.stringify(before)} → ${JSON.stringify(after)})` };
    }
    return { ...base, attempt, unchanged: true, status: "PASS", detail: `the delete of ${name} (protected by ${protectedBy}) was refused by Object Lock (${attempt.code}: ${attempt.message}); the version is unchanged` };
}

const newest = (vs: AuditedVersion[]) => vs.reduce<AuditedVersion | undefined>((a, b) => (!a || b.lastModified > a.lastModified ? b : a), undefined);

/**
 * Tries to delete the newest version under its own retention and, if any version is protected only by
 * the bucket default, the newest of those too (their protection is otherwise unproven). PASS only if
 * every attempt was refused by Object Lock and left its version unchanged.
 */
export async function proveImmutability(source: VaultAuditSource, versions: AuditedVersion[]): Promise<ImmutabilityProof> {
    const targets: [AuditedVersion, DeleteProbe["protectedBy"]][] = [];
    const own = newest(versions.filter((v) => v.state === "locked"));
    const byDefault = newest(versions.filter((v) => v.state === "bucket-default"));
    if (own) targets.push([own, "own retention"]);
    if (byDefault) targets.push([byDefault, "bucket default"]);
    if (targets.length === 0) {
        return { status: "FAIL", detail: "no version is under retention: there is nothing whose immutability could be proven", probes: [] };
    }
    const probes: DeleteProbe[] = [];
    for (const [v, by] of targets) probes.push(await probe(source, v, by));
    const failed = probes.filter((p) => p.status === "FAIL");
    return failed.length
        ? { status: "FAIL", detail: failed.map((p) => p.detail).join("; "), probes }
        : { status: "PASS", detail: probes.map((p) => p.detail).join("; "), probes };
}

export interface AuditOptions {
    source: VaultAuditSource;
    env: string;
    expected: ExpectedLock;
    now?: () => Date;
    /** false: the delete proof is not attempted and the result is at best SKIPPED. */
    proveImmutability?: boolean;
}

export async function auditRetention(opts: AuditOptions): Promise<AuditReport> {
    assertExpected(opts.expected);
    const now = (opts.now ?? (() => new Date()))();
    const { source, env, expected } = opts;
    const prefixes = environmentPrefixes(env);
    const findings: string[] = [];

    let lockConfig: BucketLockConfiguration | undefined;
    try {
        lockConfig = await source.lockConfiguration();
    } catch (err) {
        findings.push(messageOf(err));
    }
    const bucketLock = checkBucketLock(lockConfig, expected);
    if (bucketLock.status === "FAIL") findings.push(`bucket lock: ${bucketLock.detail}`);

    const entries: ObjectVersionEntry[] = [];
    const markers: { key: string; isLatest: boolean }[] = [];
    let listed = true;
    for (const p of prefixes) {
        try {
            const l = await source.versions(p);
            entries.push(...l.versions);
            markers.push(...l.deleteMarkers);
        } catch (err) {
            listed = false;
            findings.push(messageOf(err));
        }
    }

    const judged: { label: string; issues: LockIssue[] }[] = [];
    const versions = await mapLimited(entries, 16, async (e): Promise<AuditedVersion> => {
        const base = {
            key: e.key, versionId: e.versionId, isLatest: e.isLatest, bytes: e.bytes, etag: e.etag,
            lastModified: e.lastModified.toISOString(), ageBucket: ageBucket(e.lastModified, now),
            tier: retentionTier(e.key, env), lockProblems: [] as string[],
        };
        let lock: VersionLock;
        try {
            lock = await source.lock(e.key, e.versionId);
        } catch (err) {
            return { ...base, state: "unknown", legalHold: false, error: messageOf(err) };
        }
        const judgement = judgeVersionLock(e, lock, lockConfig, expected, env);
        if (judgement) judged.push({ label: `${e.key} (version ${e.versionId})`, issues: judgement.issues });
        const stricter = judgement?.issues.find((i) => i.kind === "stricter-mode");
        return {
            ...base,
            state: versionState(e, lock, lockConfig, now),
            retentionMode: lock.mode,
            retainUntil: lock.retainUntil?.toISOString(),
            legalHold: lock.legalHold,
            requiredUntil: judgement?.requiredUntil.toISOString(),
            lockProblems: (judgement?.issues ?? []).filter((i) => i !== stricter).map((i) => describeIssue(i, expected)),
            ...(stricter ? { lockNote: describeIssue(stricter, expected) } : {}),
        };
    });
    // mapLimited finishes versions out of order: findings list them in the listing's order.
    const order = new Map(versions.map((v, i) => [`${v.key} (version ${v.versionId})`, i]));
    judged.sort((a, b) => order.get(a.label)! - order.get(b.label)!);
    const failing = versions.filter((v) => v.lockProblems.length > 0).length;
    const versionLocks = { status: failing ? "FAIL" as const : "PASS" as const, judged: judged.length, failing };
    const lockReport = lockFindings(judged, expected);

    const byAge = Object.fromEntries(AGE_BUCKETS.map((b) => [b, zero()])) as Record<AgeBucket, Tally>;
    const byState = Object.fromEntries(VERSION_STATES.map((s) => [s, zero()])) as Record<VersionState, Tally>;
    const total = zero();
    for (const v of versions) {
        for (const t of [byAge[v.ageBucket], byState[v.state], total]) {
            t.objects++;
            t.bytes += v.bytes;
        }
    }
    const label = (v: AuditedVersion) => `${v.key} (version ${v.versionId})`;
    const unprotected = versions.filter((v) => v.state === "none").map(label);
    if (unprotected.length) findings.push(`${unprotected.length} version(s) with no retention, no legal hold and no bucket default: ${unprotected.slice(0, 10).join(", ")}${unprotected.length > 10 ? ", …" : ""}`);
    for (const v of versions.filter((x) => x.state === "unknown")) findings.push(`lock state of ${label(v)} unknown: ${v.error}`);
    findings.push(...lockReport.findings);
    if (listed && versions.length === 0) findings.push(`no object version under ${prefixes.join(", ")}: the environment has no backups to audit`);

    let immutability: ImmutabilityProof;
    if (opts.proveImmutability === false) {
        immutability = { status: "SKIPPED", detail: "not attempted (--no-delete-proof): immutability is unproven", probes: [] };
    } else {
        try {
            immutability = await proveImmutability(source, versions);
        } catch (err) {
            immutability = { status: "FAIL", detail: `the delete proof failed: ${messageOf(err)}`, probes: [] };
        }
        if (immutability.status === "FAIL") findings.push(`immutability proof: ${immutability.detail}`);
    }
    // Bucket-default versions are protected only if the proof saw the default enforced.
    const defaultProbe = immutability.probes.find((p) => p.protectedBy === "bucket default");
    if (byState["bucket-default"].objects > 0 && immutability.status !== "SKIPPED" && defaultProbe?.status !== "PASS") {
        findings.push(`${byState["bucket-default"].objects} version(s) are protected only by the bucket default, which the delete proof did not confirm`);
    }

    const result: Verdict = findings.length ? "FAIL" : immutability.status === "SKIPPED" ? "SKIPPED" : "PASS";
    const current = markers.filter((m) => m.isLatest).map((m) => m.key);
    return {
        env, location: source.location, generatedAt: now.toISOString(), prefixes, result, findings, notes: lockReport.notes, expected, bucketLock, versionLocks,
        total, byAge, byState, unprotected, deleteMarkers: { total: markers.length, current }, immutability, versions,
    };
}

/**
 * The report with the Azure archive's section added: its findings and notes join the audit's (marked
 * as the archive's), and a FAIL there FAILs the audit — whatever the S3 vault's result was, the audit
 * never PASSes while the secondary copy fails.
 */
export function withAzureArchive(r: AuditReport, azure: AzureArchiveReport): AuditReport {
    const findings = [...r.findings, ...azure.findings.map((f) => `azure archive: ${f}`)];
    return {
        ...r, azure, findings,
        notes: [...r.notes, ...azure.notes.map((n) => `azure archive: ${n}`)],
        result: azure.result === "FAIL" || r.result === "FAIL" ? "FAIL" : r.result,
    };
}

/**
 * The report when the stack declares an Azure archive the audit was not given (no AZURE_CONTAINER /
 * AZURE_STORAGE_ACCOUNT): the archive is unaudited, so the audit can be at best SKIPPED, never PASS.
 */
export function withArchiveNotAudited(r: AuditReport, why: string): AuditReport {
    return { ...r, notes: [...r.notes, `azure archive: not audited — ${why}`], result: r.result === "PASS" ? "SKIPPED" : r.result };
}

export function auditPassed(r: AuditReport): boolean {
    return r.result === "PASS";
}

function describeExpected(e: ExpectedLock): string {
    return `${e.mode}; daily ≥ ${e.days} day(s), monthly ≥ ${e.monthlyMonths} month(s) of 31 days after each version's LastModified `
        + `(less ${LOCK_CLOCK_TOLERANCE_MS / 60_000} min for the nightly's clock)${e.source ? ` — from ${e.source}` : ""}`;
}

export function formatAuditReport(r: AuditReport): string {
    const t = (x: Tally) => `${String(x.objects).padStart(7)} versions ${String(x.bytes).padStart(14)} bytes`;
    return [
        `Retention audit — ${r.env} at ${r.location} (${r.generatedAt})`,
        `Prefixes: ${r.prefixes.join(", ")} (current and noncurrent versions)`,
        `Expected: ${describeExpected(r.expected)}`,
        `Bucket lock: ${r.bucketLock.status} — ${r.bucketLock.detail}`,
        `Version locks: ${r.versionLocks.status} — ${r.versionLocks.failing
            ? `${r.versionLocks.failing} of ${r.versionLocks.judged} judged version(s) fall short of the expected mode or length`
            : `${r.versionLocks.judged} judged version(s) meet the expected mode and length`}`,
        `Total:   ${t(r.total)}`,
        "By age:",
        ...AGE_BUCKETS.map((b) => `  ${b.padEnd(15)} ${t(r.byAge[b])}`),
        "By lock state:",
        ...VERSION_STATES.map((s) => `  ${s.padEnd(15)} ${t(r.byState[s])}`),
        ...(r.byState["bucket-default"].objects
            ? [`  (${r.byState["bucket-default"].objects} version(s) carry no retention of their own and are protected only by the bucket default: no per-version until-date)`]
            : []),
        `Delete markers: ${r.deleteMarkers.total}${r.deleteMarkers.current.length ? ` (${r.deleteMarkers.current.length} hide the current version: ${r.deleteMarkers.current.slice(0, 5).join(", ")})` : ""}`,
        ...(r.unprotected.length ? [`UNPROTECTED versions (${r.unprotected.length}):`, ...r.unprotected.slice(0, 20).map((k) => `  ${k}`)] : []),
        `Immutability proof: ${r.immutability.status} — ${r.immutability.detail}`,
        ...(r.azure ? formatAzureArchive(r.azure) : []),
        ...(r.findings.length ? ["Findings:", ...r.findings.map((f) => `  - ${f}`)] : []),
        ...(r.notes.length ? ["Notes:", ...r.notes.map((n) => `  - ${n}`)] : []),
        `Result: ${r.result}`,
    ].join("\n");
}

const AZURE_RETENTION = {
    metadata: "AZURE_IMMUTABILITY=container: the container policy protects every blob, retain-until recorded as metadata",
    policy: "AZURE_IMMUTABILITY=blob: each blob carries its own immutability policy",
} as const;

/** The "Azure archive:" block: the container policy ARM reports, then the blobs as the S3 part counts versions. */
function formatAzureArchive(a: AzureArchiveReport): string[] {
    const t = (x: Tally) => `${String(x.objects).padStart(7)} blobs    ${String(x.bytes).padStart(14)} bytes`;
    const e = a.expected;
    const flag = (v: boolean | undefined) => (v === undefined ? "not reported" : v ? "yes" : "no");
    return [
        `Azure archive: ${a.result} — ${a.location} (${AZURE_RETENTION[a.retention]})`,
        `  Expected: container policy ≥ ${e.days} day(s) after each blob's creation, ${e.requireLocked ? "Locked" : "Locked or Unlocked"} (${e.lockReason}); `
            + `monthly archives ≥ ${a.retention === "policy" ? `${e.monthlyMonths} month(s) of 31 days by their own policy` : `${e.days} day(s) (only the container policy protects them)`}${e.source ? ` — from ${e.source}` : ""}`,
        `  Container policy: ${a.containerPolicy.status} — ${a.containerPolicy.detail}`,
        a.container
            ? `  Container flags (blob service): immutability policy ${flag(a.container.hasImmutabilityPolicy)}, legal hold ${flag(a.container.hasLegalHold)}, version-level immutability ${flag(a.container.versionLevelImmutability)}`
            : "  Container flags (blob service): not read",
        `  Blob locks: ${a.blobLocks.status} — ${a.blobLocks.failing
            ? `${a.blobLocks.failing} of ${a.blobLocks.judged} judged blob(s) fall short`
            : `${a.blobLocks.judged} judged blob(s) are protected at least as long as required`}`,
        `  Total:   ${t(a.total)}`,
        "  By age (since creation):",
        ...AGE_BUCKETS.map((b) => `    ${b.padEnd(17)} ${t(a.byAge[b])}`),
        "  By protection:",
        ...Object.entries(a.byState).map(([s, x]) => `    ${s.padEnd(17)} ${t(x)}`),
        ...(a.unprotected.length ? [`  UNPROTECTED blobs (${a.unprotected.length}):`, ...a.unprotected.slice(0, 20).map((k) => `    ${k}`)] : []),
        `  Not proven: ${a.notProven}`,
    ];
}
