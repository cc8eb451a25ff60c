// How strongly one version must be locked, and whether it is (the quarterly audit's per-version
// judgement, lib/vault/audit.ts): its mode, and its retain-until measured from its LastModified by the
// tier its key puts it in. A separate module because the rule has its own inputs — the stack's
// expectation, the bucket default, the nightly's clock — and its own tests.
import { monthlyRetainUntil } from "../backupJob/plan";
import type { ObjectLockMode } from "./policies";
import type { BucketLockConfiguration, VersionLock } from "./s3Audit";
import { dbPrefix, monthlyDbPrefix, monthlyStoragePrefix, storagePrefix } from "./keys";

const DAY_MS = 86_400_000;

/** `timeout-minutes` of .github/workflows/nightly-backup.yml (a unit test re-reads it). */
export const NIGHTLY_TIMEOUT_MINUTES = 90;
/** SigV4 refuses a request more than 15 minutes off S3's clock (RequestTimeTooSkewed). */
export const S3_CLOCK_SKEW_MINUTES = 15;
/**
 * How far a retain-until may fall short of LastModified + its tier's length. The nightly computes every
 * retain-until once, from its clock when it starts (scripts/backup.ts `now`); S3 stamps LastModified
 * when each put lands, at most the job's timeout later, on S3's clock, at most the skew S3 accepts
 * away from the runner's. A shortfall beyond both is not that gap: the lock was written short.
 * 105 minutes is 1 % of a 7-day lock; a lock of a day or less than expected is far outside it.
 */
export const LOCK_CLOCK_TOLERANCE_MS = (NIGHTLY_TIMEOUT_MINUTES + S3_CLOCK_SKEW_MINUTES) * 60_000;

/**
 * How long a version must be locked, by where it lives (lib/vault/keys.ts):
 * - daily: db/<env>/ and storage/<env>/, locked by the nightly for `days` (dailyRetainUntil);
 * - monthly: monthly/db/<env>/ and monthly/storage/<env>/, locked for `monthlyMonths`
 *   (monthlyRetainUntil, the function the nightly uses);
 * - bucket default: anything else, written without retention of its own — pgBackRest's WAL archive
 *   under pitr/<env>/ is — so it gets the bucket default, which must be the expected `days`.
 */
export type RetentionTier = "daily" | "monthly" | "bucket default";

/** The lock the vault must have (scripts/retention-audit.ts reads it from Pulumi.<env>.yaml). */
export interface ExpectedLock {
    /** The bucket default's mode, and every version's. COMPLIANCE is accepted where GOVERNANCE is expected. */
    mode: ObjectLockMode;
    /** The bucket default's days, and the daily tier's (supabase-dr:aws retentionDays). */
    days: number;
    /** The monthly archives' months (supabase-dr:aws monthlyArchiveMonths). */
    monthlyMonths: number;
    /** Where the expectation came from, for the report ("Pulumi.prod.yaml (…)"). */
    source?: string;
}

/** Days of a bucket default rule (Years count as 365 days, as S3 computes them). */
export function defaultDays(c: BucketLockConfiguration | undefined): number | undefined {
    if (!c?.enabled) return undefined;
    if (c.days !== undefined) return c.days;
    if (c.years !== undefined) return c.years * 365;
    return undefined;
}

export function retentionTier(key: string, env: string): RetentionTier {
    if (key.startsWith(monthlyDbPrefix(env)) || key.startsWith(monthlyStoragePrefix(env))) return "monthly";
    if (key.startsWith(dbPrefix(env)) || key.startsWith(storagePrefix(env))) return "daily";
    return "bucket default";
}

/** The earliest retain-until a version of `tier` written at `lastModified` must have. */
export function requiredRetainUntil(tier: RetentionTier, lastModified: Date, expected: ExpectedLock): Date {
    return tier === "monthly" ? monthlyRetainUntil(lastModified, expected.monthlyMonths) : new Date(lastModified.getTime() + expected.days * DAY_MS);
}

function tierLength(tier: RetentionTier, expected: ExpectedLock): string {
    return tier === "monthly" ? `monthly: ${expected.monthlyMonths} month(s) of 31 days after its LastModified` : `${tier}: ${expected.days} day(s) after its LastModified`;
}

export type LockIssue =
    | { kind: "wrong-mode"; mode: string }
    | { kind: "no-mode" }
    | { kind: "short"; detail: string }
    | { kind: "stricter-mode"; mode: string };

export interface LockJudgement {
    requiredUntil: Date;
    issues: LockIssue[];
}

/**
 * Judges the lock protecting a version: its own retention, or, with none of its own (a server that
 * applies the bucket default at delete time), the bucket default's. A legal hold without retention is
 * not judged (it has no end), nor is a version with no lock at all (reported as unprotected).
 */
export function judgeVersionLock(
    v: { key: string; lastModified: Date }, lock: VersionLock, bucket: BucketLockConfiguration | undefined, expected: ExpectedLock, env: string,
): LockJudgement | undefined {
    let mode = lock.mode;
    let until = lock.retainUntil;
    let byDefault = false;
    if (!until) {
        const days = defaultDays(bucket);
        if (lock.legalHold || days === undefined || !bucket?.mode) return undefined;
        [mode, until, byDefault] = [bucket.mode, new Date(v.lastModified.getTime() + days * DAY_MS), true];
    }
    const tier = retentionTier(v.key, env);
    const requiredUntil = requiredRetainUntil(tier, v.lastModified, expected);
    const issues: LockIssue[] = [];
    if (!mode) issues.push({ kind: "no-mode" });
    else if (mode === "COMPLIANCE" && expected.mode === "GOVERNANCE") issues.push({ kind: "stricter-mode", mode });
    else if (mode !== expected.mode) issues.push({ kind: "wrong-mode", mode });
    if (until.getTime() < requiredUntil.getTime() - LOCK_CLOCK_TOLERANCE_MS) {
        issues.push({ kind: "short", detail: `until ${until.toISOString()}${byDefault ? " (bucket default)" : ""}, needs ≥ ${requiredUntil.toISOString()} (${tierLength(tier, expected)})` });
    }
    return { requiredUntil, issues };
}

export function describeIssue(issue: LockIssue, expected: ExpectedLock): string {
    switch (issue.kind) {
        case "wrong-mode": return `locked in ${issue.mode} where ${expected.mode} is expected`;
        case "no-mode": return `a retain-until date but no mode (expected ${expected.mode})`;
        case "short": return issue.detail;
        case "stricter-mode": return `locked in ${issue.mode} where ${expected.mode} is expected (stricter, accepted)`;
    }
}

const LISTED = 10;
/** The first items of a report's list, and how many more the JSON report holds. */
export const listOf = (items: string[]) => `${items.slice(0, LISTED).join(", ")}${items.length > LISTED ? `, … (${items.length - LISTED} more in the JSON report)` : ""}`;

/** One finding (or note) per kind of shortfall, naming each version. */
export function lockFindings(judged: { label: string; issues: LockIssue[] }[], expected: ExpectedLock): { findings: string[]; notes: string[] } {
    const findings: string[] = [];
    const notes: string[] = [];
    const wrong = new Map<string, string[]>();
    const noMode: string[] = [];
    const short: string[] = [];
    const stricter: string[] = [];
    for (const { label, issues } of judged) {
        for (const i of issues) {
            if (i.kind === "wrong-mode") wrong.set(i.mode, [...(wrong.get(i.mode) ?? []), label]);
            else if (i.kind === "no-mode") noMode.push(label);
            else if (i.kind === "short") short.push(`${label} ${i.detail}`);
            else stricter.push(label);
        }
    }
    for (const [mode, labels] of wrong) {
        const why = mode === "GOVERNANCE" ? " (GOVERNANCE gives way to anyone allowed s3:BypassGovernanceRetention)" : "";
        findings.push(`${labels.length} version(s) locked in ${mode} where ${expected.mode} is expected${why}: ${listOf(labels)}`);
    }
    if (noMode.length) findings.push(`${noMode.length} version(s) carry a retain-until date but no mode (expected ${expected.mode}): ${listOf(noMode)}`);
    if (short.length) findings.push(`${short.length} version(s) locked shorter than required (less ${LOCK_CLOCK_TOLERANCE_MS / 60_000} min for the nightly's clock): ${listOf(short)}`);
    if (stricter.length) notes.push(`${stricter.length} version(s) locked in COMPLIANCE where GOVERNANCE is expected (stricter, accepted): ${listOf(stricter)}`);
    return { findings, notes };
}

export function assertExpected(e: ExpectedLock): void {
    if (e?.mode !== "COMPLIANCE" && e?.mode !== "GOVERNANCE") throw new Error(`expected.mode must be COMPLIANCE or GOVERNANCE (got ${JSON.stringify(e?.mode)})`);
    for (const k of ["days", "monthlyMonths"] as const) {
        if (!Number.isInteger(e[k]) || e[k] < 1) throw new Error(`expected.${k} must be a whole number ≥ 1 (got ${JSON.stringify(e[k])})`);
    }
}
