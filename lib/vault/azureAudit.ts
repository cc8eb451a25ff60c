// The Azure archive's part of the quarterly retention audit (runbook 004 §3): the container's
// time-based immutability policy as ARM reports it (lib/vault/azureAuditArm.ts), and every blob and
// blob version under the environment's prefixes (lib/vault/azureAuditSource.ts) by age and by what
// protects it — judged against the stack's supabase-dr:azure settings.
//
// Result: PASS only when (a) the container has a policy of at least the expected days, without
// protected append writes, and Locked where a lock is required (below); (b) no blob is unprotected; and
// (c) every blob is protected at least as long as its tier needs:
//   - daily (db/, storage/): creation + immutabilityDays. The container policy counts its days from
//     each blob's creation time, so with a long enough policy every daily blob passes by construction.
//   - monthly (monthly/…): in AZURE_IMMUTABILITY=blob ("policy") mode its own blob-level until-date
//     must reach monthlyRetainUntil(creation, monthlyArchiveMonths), as the S3 vault's monthly tier
//     (lib/vault/versionLocks.ts). In container ("metadata") mode nothing but the container policy can
//     protect it, so it is held to the container's days; the 12-month date it records in metadata is
//     advisory, and the report says so in a note.
//
// Why Unlocked FAILs on prod (and wherever the stack asks for lockImmutabilityPolicy: true): both
// states refuse deletes and overwrites, but an Unlocked policy can be shortened or deleted by anyone
// allowed to write the policy in ARM — an account owner, or whoever steals that identity — after which
// the blobs delete normally. Microsoft's own description of Unlocked is "for testing"; the runbook's
// archive is the copy that must survive a compromised administrator, so on prod only Locked is
// immutable. Elsewhere (staging) an Unlocked policy is accepted with a note, because locking is
// irreversible and staging's stack deliberately leaves it off. "prod" is the rule ArchiveVault uses for
// `protect` as well. The same holds for a blob's own policy where it, not the container's, is what
// covers the blob's tier: the mirror writes those Unlocked (lib/vault/azureStore.ts).
//
// What this section cannot prove: no delete is attempted. The S3 audit's delete proof works because a
// principal IAM allows to delete is refused by the lock itself; the Azure equivalent (409
// BlobImmutableDueToPolicy, "This operation is not permitted as the blob is immutable due to a
// policy.") needs such a principal and a server that enforces policies — Azurite, the only local
// server, implements none. So the verdict rests on what ARM and the blob service report, and the report
// says that in its "Not proven" line.
import { monthlyRetainUntil } from "../backupJob/plan";
import { AGE_BUCKETS, ageBucket, messageOf, zero, type AgeBucket, type Tally } from "./audit";
import type { ContainerPolicyRead } from "./azureAuditArm";
import type { ArchiveAuditSource, ArchiveBlob, ContainerImmutability } from "./azureAuditSource";
import { environmentPrefixes } from "./keys";
import { listOf, LOCK_CLOCK_TOLERANCE_MS, retentionTier } from "./versionLocks";

const DAY_MS = 86_400_000;

/** What the archive must be, from the stack's supabase-dr:azure (lib/vault/azureAuditConfig.ts). */
export interface AzureExpectation {
    /** The container policy's minimum days, and the daily tier's length (immutabilityDays). */
    days: number;
    /** The monthly tier's length in blob-policy mode (monthlyArchiveMonths). */
    monthlyMonths: number;
    /** Only a Locked policy is immutable enough (prod, or lockImmutabilityPolicy: true). */
    requireLocked: boolean;
    /** Why Locked is or is not required, for the report. */
    lockReason: string;
    /** Where the expectation came from ("Pulumi.prod.yaml (supabase-dr:azure …)"). */
    source?: string;
}

/** How the nightly mirror writes (lib/backupJob/config.ts): "metadata" = AZURE_IMMUTABILITY=container, "policy" = blob. */
export type ArchiveRetention = "metadata" | "policy";

/**
 * - legal-hold: a legal hold is on.
 * - blob-policy: its own (version-level) immutability policy is in force.
 * - container-policy: within the container policy's days of its creation.
 * - expired: it had protection, which has lapsed (lifecycle may delete it).
 * - none: no policy of its own, no container policy, no legal hold: never protected.
 */
export const BLOB_STATES = ["legal-hold", "blob-policy", "container-policy", "expired", "none"] as const;
export type BlobState = (typeof BLOB_STATES)[number];

export interface AuditedBlob {
    key: string;
    versionId?: string;
    isCurrent: boolean;
    bytes: number;
    createdOn: string;
    ageBucket: AgeBucket;
    tier: "daily" | "monthly";
    state: BlobState;
    policyUntil?: string;
    policyMode?: string;
    legalHold: boolean;
    /** Creation + the container policy's days, when a policy is in place. */
    containerUntil?: string;
    recordedRetainUntil?: string;
    /** The earliest protection end its tier needs; absent when not judged. */
    requiredUntil?: string;
    /** Where it falls short; empty when it does not, or is not judged. */
    problems: string[];
}

export interface ContainerPolicyCheck {
    status: "PASS" | "FAIL";
    detail: string;
    read: ContainerPolicyRead;
}

export interface AzureArchiveReport {
    location: string;
    retention: ArchiveRetention;
    result: "PASS" | "FAIL";
    /** Every reason the section is not PASS. */
    findings: string[];
    notes: string[];
    expected: AzureExpectation;
    containerPolicy: ContainerPolicyCheck;
    /** The data plane's flags; absent when they could not be read. */
    container?: ContainerImmutability;
    prefixes: string[];
    total: Tally;
    byAge: Record<AgeBucket, Tally>;
    byState: Record<BlobState, Tally>;
    blobLocks: { status: "PASS" | "FAIL"; judged: number; failing: number };
    /** "key (version …)" of every blob with no protection at all. */
    unprotected: string[];
    /** What the section's verdict does not rest on. */
    notProven: string;
    blobs: AuditedBlob[];
}

export const NOT_PROVEN = "no delete was attempted: the verdict rests on the policy ARM reports and the blob properties the blob service reports. "
    + "Azure refuses a delete of a protected blob with 409 BlobImmutableDueToPolicy; proving that needs a principal allowed to delete blobs, which this audit does not use";

const iso = (d: Date | undefined) => d?.toISOString();
const later = (a: Date | undefined, b: Date | undefined) => (!a ? b : !b ? a : a.getTime() >= b.getTime() ? a : b);
export const blobLabel = (b: { key: string; versionId?: string }) => (b.versionId ? `${b.key} (version ${b.versionId})` : b.key);

export function assertExpectation(e: AzureExpectation): void {
    for (const k of ["days", "monthlyMonths"] as const) {
        if (!Number.isInteger(e?.[k]) || e[k] < 1) throw new Error(`azure expectation ${k} must be a whole number ≥ 1 (got ${JSON.stringify(e?.[k])})`);
    }
    if (typeof e.requireLocked !== "boolean") throw new Error(`azure expectation requireLocked must be true or false (got ${JSON.stringify(e.requireLocked)})`);
}

/** The container policy as ARM read it, judged against the expectation. */
export function checkContainerPolicy(read: ContainerPolicyRead, expected: AzureExpectation): ContainerPolicyCheck {
    const fail = (detail: string): ContainerPolicyCheck => ({ status: "FAIL", detail, read });
    switch (read.outcome) {
        case "not-read":
            return fail(`not read: ${read.message}`);
        case "error": {
            const hint = read.httpStatus === 401 || read.httpStatus === 403
                ? " (the auditing identity needs read access to the storage account in Azure Resource Manager, e.g. the Reader role)" : "";
            return fail(`ARM read failed${read.httpStatus ? ` (HTTP ${read.httpStatus}${read.code ? ` ${read.code}` : ""})` : ""}: ${read.message}${hint}`);
        }
        case "missing":
            return fail(`the container has no time-based immutability policy (${read.detail}): nothing stops a delete of its blobs by anyone allowed to delete them`);
        case "found": {
            const problems: string[] = [];
            if (read.state !== "Locked" && read.state !== "Unlocked") problems.push(`state ${JSON.stringify(read.state)} is neither Locked nor Unlocked`);
            if (read.days < expected.days) problems.push(`it keeps blobs ${read.days} day(s) after their creation, expected ≥ ${expected.days}`);
            if (read.allowProtectedAppendWrites || read.allowProtectedAppendWritesAll) {
                problems.push(`protected append writes are allowed (${read.allowProtectedAppendWritesAll ? "allowProtectedAppendWritesAll" : "allowProtectedAppendWrites"}): a writer can grow a protected backup`);
            }
            if (read.state === "Unlocked" && expected.requireLocked) {
                problems.push(`it is Unlocked where Locked is required (${expected.lockReason}): an account owner can shorten or delete an Unlocked policy, after which the blobs delete normally — `
                    + "lock it (supabase-dr:azure lockImmutabilityPolicy: true; irreversible)");
            }
            const got = `${read.state}, ${read.days} day(s) since each blob's creation, protected append writes ${read.allowProtectedAppendWrites || read.allowProtectedAppendWritesAll ? "on" : "off"}`;
            return problems.length ? fail(`${got}: ${problems.join("; ")}`) : { status: "PASS", detail: got, read };
        }
    }
}

/** The state of one blob from its own policy, the container policy and the clock. */
export function blobState(b: ArchiveBlob, containerDays: number | undefined, now: Date): BlobState {
    if (b.legalHold) return "legal-hold";
    const own = ownUntil(b);
    if (own && own.getTime() > now.getTime()) return "blob-policy";
    const container = containerDays !== undefined ? new Date(b.createdOn.getTime() + containerDays * DAY_MS) : undefined;
    if (container && container.getTime() > now.getTime()) return "container-policy";
    return own || container ? "expired" : "none";
}

/** The blob's own until-date, unless the service calls its policy Mutable (none in force). */
const ownUntil = (b: ArchiveBlob): Date | undefined => (b.policyMode === "Mutable" ? undefined : b.policyUntil);

type BlobIssue = { kind: "short"; detail: string } | { kind: "unlocked-own"; detail: string } | { kind: "recorded-longer"; detail: string };

/** Judges one blob; undefined when there is nothing to judge (a legal hold alone, or no protection at all). */
export function judgeBlob(b: ArchiveBlob, containerDays: number | undefined, expected: AzureExpectation, retention: ArchiveRetention, env: string):
    { requiredUntil: Date; containerUntil?: Date; issues: BlobIssue[] } | undefined {
    const containerUntil = containerDays !== undefined ? new Date(b.createdOn.getTime() + containerDays * DAY_MS) : undefined;
    const own = ownUntil(b);
    const until = later(own, containerUntil);
    if (!until) return undefined;
    const tier = retentionTier(b.key, env) === "monthly" ? "monthly" : "daily";
    // Container mode: only the container policy can protect a monthly archive (see the header).
    const requiredUntil = tier === "monthly" && retention === "policy"
        ? monthlyRetainUntil(b.createdOn, expected.monthlyMonths)
        : new Date(b.createdOn.getTime() + expected.days * DAY_MS);
    const floor = requiredUntil.getTime() - LOCK_CLOCK_TOLERANCE_MS;
    const need = `needs ≥ ${requiredUntil.toISOString()} (${tier === "monthly" && retention === "policy" ? `monthly: ${expected.monthlyMonths} month(s) of 31 days` : `${tier}: ${expected.days} day(s)`} after its creation)`;
    const issues: BlobIssue[] = [];
    if (until.getTime() < floor) {
        const by = own && (!containerUntil || own.getTime() >= containerUntil.getTime()) ? "its own policy" : "the container policy";
        issues.push({ kind: "short", detail: `protected until ${until.toISOString()} (${by}), ${need}` });
    } else if (expected.requireLocked && (!containerUntil || containerUntil.getTime() < floor) && b.policyMode !== "Locked") {
        // Its own policy is what covers the tier, and that policy can still be shortened or removed.
        issues.push({ kind: "unlocked-own", detail: `its own ${b.policyMode ?? "mode-less"} policy until ${own?.toISOString()} is what covers it` });
    }
    if (b.recordedRetainUntil && b.recordedRetainUntil.getTime() > until.getTime() + LOCK_CLOCK_TOLERANCE_MS) {
        issues.push({ kind: "recorded-longer", detail: `records retain-until ${b.recordedRetainUntil.toISOString()}, Azure enforces until ${until.toISOString()}` });
    }
    return { requiredUntil, containerUntil, issues };
}


export interface AzureAuditOptions {
    source: ArchiveAuditSource;
    env: string;
    expected: AzureExpectation;
    retention: ArchiveRetention;
    /** The ARM read of the container policy (readContainerPolicy, or a not-read outcome). */
    policy: () => Promise<ContainerPolicyRead>;
    now?: () => Date;
}

export async function auditAzureArchive(opts: AzureAuditOptions): Promise<AzureArchiveReport> {
    assertExpectation(opts.expected);
    const { source, env, expected, retention } = opts;
    const now = (opts.now ?? (() => new Date()))();
    const prefixes = environmentPrefixes(env);
    const findings: string[] = [];
    const notes: string[] = [];

    let read: ContainerPolicyRead;
    try {
        read = await opts.policy();
    } catch (err) {
        read = { outcome: "error", message: messageOf(err) };
    }
    const containerPolicy = checkContainerPolicy(read, expected);
    if (containerPolicy.status === "FAIL") findings.push(`container policy: ${containerPolicy.detail}`);
    const policyInForce = read.outcome === "found" && (read.state === "Locked" || read.state === "Unlocked");
    const containerDays = policyInForce && read.outcome === "found" ? read.days : undefined;
    if (read.outcome === "found" && read.state === "Unlocked" && !expected.requireLocked) {
        notes.push(`the container policy is Unlocked (accepted: ${expected.lockReason}): an account owner can still shorten or delete it`);
    }
    if (read.outcome === "found" && read.state === "Locked" && !expected.requireLocked) notes.push("the container policy is Locked although the stack does not ask for it (stricter, accepted)");

    let container: ContainerImmutability | undefined;
    try {
        container = await source.containerImmutability();
    } catch (err) {
        findings.push(messageOf(err));
    }
    if (container) {
        const armSays = read.outcome === "found" ? true : read.outcome === "missing" ? false : undefined;
        if (armSays !== undefined && container.hasImmutabilityPolicy !== undefined && container.hasImmutabilityPolicy !== armSays) {
            notes.push(`the blob service reports x-ms-has-immutability-policy: ${container.hasImmutabilityPolicy}, ARM ${armSays ? "a policy" : "none"}: ARM's answer is the one judged (policy changes can take time to show)`);
        }
        if (container.hasLegalHold) notes.push("the container has a legal hold (x-ms-has-legal-hold: true)");
        if (retention === "policy" && container.versionLevelImmutability !== true) {
            notes.push(`AZURE_IMMUTABILITY=blob, but the blob service does not report version-level immutability on the container (x-ms-immutable-storage-with-versioning-enabled: ${container.versionLevelImmutability ?? "absent"}): blob-level policies cannot be set there`);
        }
    }

    const listed: ArchiveBlob[] = [];
    let listedAll = true;
    for (const p of prefixes) {
        try {
            listed.push(...(await source.blobs(p)));
        } catch (err) {
            listedAll = false;
            findings.push(messageOf(err));
        }
    }

    const judged: { label: string; issues: BlobIssue[] }[] = [];
    const blobs: AuditedBlob[] = listed.map((b) => {
        const j = judgeBlob(b, containerDays, expected, retention, env);
        if (j) judged.push({ label: blobLabel(b), issues: j.issues });
        return {
            key: b.key, versionId: b.versionId, isCurrent: b.isCurrent, bytes: b.bytes, createdOn: b.createdOn.toISOString(),
            ageBucket: ageBucket(b.createdOn, now), tier: retentionTier(b.key, env) === "monthly" ? "monthly" : "daily",
            state: blobState(b, containerDays, now), policyUntil: iso(b.policyUntil), policyMode: b.policyMode, legalHold: b.legalHold,
            containerUntil: iso(j?.containerUntil), recordedRetainUntil: iso(b.recordedRetainUntil), requiredUntil: iso(j?.requiredUntil),
            problems: (j?.issues ?? []).filter((i) => i.kind !== "recorded-longer").map((i) => i.detail),
        };
    });

    const total = zero();
    const byAge = Object.fromEntries(AGE_BUCKETS.map((b) => [b, zero()])) as Record<AgeBucket, Tally>;
    const byState = Object.fromEntries(BLOB_STATES.map((s) => [s, zero()])) as Record<BlobState, Tally>;
    for (const b of blobs) {
        for (const t of [total, byAge[b.ageBucket], byState[b.state]]) {
            t.objects += 1;
            t.bytes += b.bytes;
        }
    }

    const unprotected = blobs.filter((b) => b.state === "none").map(blobLabel);
    if (unprotected.length) findings.push(`${unprotected.length} blob(s) with no immutability policy of their own, no container policy and no legal hold: ${listOf(unprotected)}`);
    const of = (kind: BlobIssue["kind"]) => judged.flatMap((j) => j.issues.filter((i) => i.kind === kind).map((i) => `${j.label} ${i.detail}`));
    const short = of("short");
    const unlocked = of("unlocked-own");
    const recorded = of("recorded-longer");
    if (short.length) findings.push(`${short.length} blob(s) protected shorter than required (less ${LOCK_CLOCK_TOLERANCE_MS / 60_000} min for the nightly's clock): ${listOf(short)}`);
    if (unlocked.length) findings.push(`${unlocked.length} blob(s) covered only by an Unlocked blob-level policy where Locked is required (${expected.lockReason}): ${listOf(unlocked)}`);
    if (recorded.length) {
        notes.push(`${recorded.length} blob(s) record a retain-until (metadata) beyond what Azure enforces for them — advisory only${retention === "metadata" ? " (AZURE_IMMUTABILITY=container: only the container policy protects them)" : ""}: ${listOf(recorded)}`);
    }
    const failing = judged.filter((j) => j.issues.some((i) => i.kind !== "recorded-longer")).length;
    if (listedAll && blobs.length === 0) findings.push(`no blob under ${prefixes.join(", ")}: the archive has no backups of this environment to audit`);

    return {
        location: source.location, retention, result: findings.length ? "FAIL" : "PASS", findings, notes, expected, containerPolicy, container, prefixes,
        total, byAge, byState, blobLocks: { status: failing ? "FAIL" : "PASS", judged: judged.length, failing }, unprotected, notProven: NOT_PROVEN, blobs,
    };
}
