// The vault's lifecycle (runbook 004: "7 daily backups, 12 monthly archives") as plain data, used by
// the BackupVault component (components/BackupVault.ts) to declare the bucket's rules and by the
// rehearsal (test/integration/rehearsal.test.ts) to compute which object versions exist on each day:
// one definition, so a rehearsal cannot pass on rules the bucket does not have.
//
// How S3 applies these rules on a versioned, Object-Locked bucket (AWS "Lifecycle configuration
// elements" and "Expiring objects"), which the model below follows:
// - Expiration (days N) of a current version: at creation + N days, rounded up to the next 00:00 UTC,
//   S3 adds a delete marker. The data is kept, as a noncurrent version; a plain GET no longer finds it.
// - NoncurrentVersionExpiration (noncurrentDays M): a version that became noncurrent at time t is
//   permanently removed at t + M days rounded up to 00:00 UTC, but never while its Object Lock
//   retention holds (S3 skips it and removes it on a later run).
// - ExpiredObjectDeleteMarker: a delete marker with no version left behind it is removed.
// - Transitions only change the storage class; they do not change what exists.
//
// The WAL archive under pitr/<env>/ has NO rule that expires current versions: which backups and WAL
// are still needed is pgBackRest's decision (its retention), made by `expire`, whose plain DELETEs
// add delete markers. Only then do the versions become noncurrent, and the bucket-wide noncurrent rule
// removes them once their Object Lock retention has lapsed. assertNoCurrentExpiration() guards it.
import { dbPrefix, monthlyDbPrefix, monthlyStoragePrefix, storagePrefix } from "./keys";

const DAY_MS = 86_400_000;
// Longest calendar month: N months of archives are kept N × 31 days, never less than N months.
export const DAYS_PER_MONTH = 31;
export const MULTIPART_ABORT_DAYS = 7;
// Day 1 rather than 0: valid for every archive class, and leaves a day to verify a fresh archive
// without a Glacier restore. The cost is one day of STANDARD storage per month.
export const ARCHIVE_TRANSITION_DAYS = 1;

export interface LifecycleRule {
    id: string;
    status: "Enabled";
    filter: { prefix?: string };
    expiration?: { days?: number; expiredObjectDeleteMarker?: boolean };
    transitions?: { days: number; storageClass: string }[];
    noncurrentVersionExpiration?: { noncurrentDays: number };
    abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

export interface LifecycleSettings {
    environment: string;
    dailyRetentionDays: number;
    monthlyArchiveMonths: number;
    archiveStorageClass: string;
    noncurrentVersionExpirationDays: number;
}

/** Runbook 004's retention as S3 lifecycle rules (see the top of this file for their effect). */
export function vaultLifecycleRules(s: LifecycleSettings): LifecycleRule[] {
    const daily = (id: string, prefix: string): LifecycleRule => ({
        id,
        status: "Enabled",
        filter: { prefix },
        expiration: { days: s.dailyRetentionDays },
    });
    const monthly = (id: string, prefix: string): LifecycleRule => ({
        id,
        status: "Enabled",
        filter: { prefix },
        // Objects under 128 KB (manifests, checksums) stay in STANDARD: S3's default minimum
        // transition size, and cheaper than Glacier's per-object overhead anyway.
        transitions: [{ days: ARCHIVE_TRANSITION_DAYS, storageClass: s.archiveStorageClass }],
        expiration: { days: s.monthlyArchiveMonths * DAYS_PER_MONTH },
    });
    return [
        daily("daily-db", dbPrefix(s.environment)),
        daily("daily-storage", storagePrefix(s.environment)),
        monthly("monthly-db", monthlyDbPrefix(s.environment)),
        monthly("monthly-storage", monthlyStoragePrefix(s.environment)),
        // Bucket-wide housekeeping in one rule so overlapping prefixes never carry conflicting
        // noncurrent settings. expiredObjectDeleteMarker cannot share an expiration with days.
        {
            id: "versions-and-uploads",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: s.noncurrentVersionExpirationDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: MULTIPART_ABORT_DAYS },
            expiration: { expiredObjectDeleteMarker: true },
        },
    ];
}

/**
 * Throws when a rule could expire a current version under `prefix` (an Expiration with days whose
 * filter covers any of its keys): for the WAL archive that would delete a segment or backup file a
 * retained backup still needs, behind pgBackRest's back.
 */
export function assertNoCurrentExpiration(rules: LifecycleRule[], prefix: string): void {
    for (const r of rules) {
        if (r.status !== "Enabled" || r.expiration?.days === undefined) continue;
        const p = r.filter.prefix ?? "";
        if (prefix.startsWith(p) || p.startsWith(prefix)) {
            throw new Error(`lifecycle rule ${r.id} (prefix ${JSON.stringify(p)}) would expire current objects under ${prefix}: the WAL archive's retention belongs to pgBackRest`);
        }
    }
}

// ---- the model ------------------------------------------------------------------------------

/** S3 evaluates "N days after" from the next 00:00 UTC after the event. */
export function lifecycleDue(from: Date, days: number): Date {
    const midnight = Math.ceil(from.getTime() / DAY_MS) * DAY_MS;
    return new Date(midnight + days * DAY_MS);
}

export interface ModelVersion {
    versionId: string;
    /** A delete marker (added by an expiration) rather than data. */
    deleteMarker: boolean;
    created: Date;
    retainUntil?: Date;
    /** When a newer version or marker made this one noncurrent. */
    noncurrentSince?: Date;
}

export interface LifecycleEvent {
    at: Date;
    key: string;
    kind: "delete-marker" | "version-removed" | "marker-removed";
    versionId: string;
    rule: string;
}

function matching(rules: LifecycleRule[], key: string): LifecycleRule[] {
    return rules.filter((r) => r.status === "Enabled" && key.startsWith(r.filter.prefix ?? ""));
}

/**
 * Which versions of which keys exist, day by day, under the rules. Versions are recorded with put();
 * advanceTo() applies every rule action due up to that time, in time order, and returns them.
 */
export class LifecycleModel {
    private readonly keys = new Map<string, ModelVersion[]>();
    private seq = 0;
    private clock = new Date(0);

    constructor(readonly rules: LifecycleRule[]) {}

    put(key: string, created: Date, retainUntil?: Date): ModelVersion {
        const versions = this.keys.get(key) ?? [];
        const current = versions.at(-1);
        if (current && !current.noncurrentSince) current.noncurrentSince = created;
        const v: ModelVersion = { versionId: `v${++this.seq}`, deleteMarker: false, created, retainUntil };
        versions.push(v);
        this.keys.set(key, versions);
        return v;
    }

    /**
     * A client's DELETE without a version id (pgBackRest's expire): a delete marker on top; the
     * version it hides becomes noncurrent but stays (Object Lock never refuses this DELETE).
     */
    deleteObject(key: string, at: Date): ModelVersion | undefined {
        const versions = this.keys.get(key);
        const top = versions?.at(-1);
        if (!versions || !top || top.deleteMarker) return undefined;
        top.noncurrentSince = at;
        const marker: ModelVersion = { versionId: `v${++this.seq}`, deleteMarker: true, created: at };
        versions.push(marker);
        return marker;
    }

    /** The version a plain GET reads, or undefined (no key, or a delete marker on top). */
    current(key: string): ModelVersion | undefined {
        const top = this.keys.get(key)?.at(-1);
        return top && !top.deleteMarker ? top : undefined;
    }

    versions(key: string): ModelVersion[] {
        return [...(this.keys.get(key) ?? [])];
    }

    allKeys(): string[] {
        return [...this.keys.keys()].sort();
    }

    /** The next action due after the model's clock, if any, at or before `until`. */
    private nextAction(until: Date): (LifecycleEvent & { apply: (at: Date) => void }) | undefined {
        let best: (LifecycleEvent & { apply: (at: Date) => void }) | undefined;
        const offer = (e: LifecycleEvent & { apply: (at: Date) => void }) => {
            // An action that fell due before the model's clock (it only became possible now) happens now.
            const at = new Date(Math.max(e.at.getTime(), this.clock.getTime()));
            if (at.getTime() > until.getTime()) return;
            if (!best || at.getTime() < best.at.getTime()) best = { ...e, at };
        };
        for (const [key, versions] of this.keys) {
            const rules = matching(this.rules, key);
            const top = versions.at(-1);
            if (top && !top.deleteMarker) {
                for (const r of rules) {
                    if (r.expiration?.days === undefined) continue;
                    offer({ at: lifecycleDue(top.created, r.expiration.days), key, kind: "delete-marker", versionId: top.versionId, rule: r.id, apply: (at) => {
                        top.noncurrentSince = at;
                        versions.push({ versionId: `v${++this.seq}`, deleteMarker: true, created: at });
                    } });
                }
            }
            for (const v of versions) {
                if (!v.noncurrentSince || v.deleteMarker) continue;
                for (const r of rules) {
                    if (!r.noncurrentVersionExpiration) continue;
                    let at = lifecycleDue(v.noncurrentSince, r.noncurrentVersionExpiration.noncurrentDays);
                    // Locked versions are skipped and removed by the first daily run after the lock ends.
                    if (v.retainUntil && v.retainUntil.getTime() > at.getTime()) at = lifecycleDue(v.retainUntil, 0);
                    offer({ at, key, kind: "version-removed", versionId: v.versionId, rule: r.id, apply: () => {
                        versions.splice(versions.indexOf(v), 1);
                    } });
                }
            }
            if (top?.deleteMarker && versions.length === 1) {
                for (const r of rules) {
                    if (!r.expiration?.expiredObjectDeleteMarker) continue;
                    offer({ at: lifecycleDue(top.created, 0), key, kind: "marker-removed", versionId: top.versionId, rule: r.id, apply: () => {
                        versions.pop();
                    } });
                }
            }
        }
        return best;
    }

    /** Applies every action due up to `until` (inclusive) and returns them in order. */
    advanceTo(until: Date): LifecycleEvent[] {
        const events: LifecycleEvent[] = [];
        for (let action = this.nextAction(until); action; action = this.nextAction(until)) {
            action.apply(action.at);
            const { apply: _apply, ...event } = action;
            events.push(event);
            this.clock = event.at;
            for (const [key, versions] of this.keys) if (versions.length === 0) this.keys.delete(key);
        }
        if (until.getTime() > this.clock.getTime()) this.clock = until;
        return events;
    }
}
