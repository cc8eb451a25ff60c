// Which objects of a storage snapshot a `recover storage` run considers: a key prefix and a date range
// on the snapshot's own per-object timestamps (lastModified as Storage reported it when the snapshot
// was taken, i.e. when the object was last written before the snapshot, not when it was lost).
// Objects without a usable timestamp are kept in the selection and counted: silently skipping them
// would make a restore look complete when it is not.
import type { ManifestEntry, StorageManifest } from "../storage/manifest";

export interface StorageFilter {
    /** Inclusive lower bound on the object's recorded lastModified. */
    since?: Date;
    /** Exclusive upper bound on the object's recorded lastModified. */
    until?: Date;
    /** Plain string prefix of the object key ("users/1" also matches "users/10/…"; end it in "/" for a folder). */
    prefix?: string;
}

export interface StorageSelection {
    entries: ManifestEntry[];
    /** Selected although they carry no parseable timestamp (only counted when a date range was given). */
    untimed: number;
    outsidePrefix: number;
    outsideRange: number;
}

/** The recorded lastModified as a time, or undefined when it is absent or not a date. */
export function entryTime(entry: ManifestEntry): Date | undefined {
    if (!entry.lastModified) return undefined;
    const t = new Date(entry.lastModified);
    return Number.isNaN(t.getTime()) ? undefined : t;
}

export function selectEntries(manifest: StorageManifest, filter: StorageFilter): StorageSelection {
    const ranged = filter.since !== undefined || filter.until !== undefined;
    const selection: StorageSelection = { entries: [], untimed: 0, outsidePrefix: 0, outsideRange: 0 };
    for (const entry of manifest.objects) {
        if (filter.prefix !== undefined && !entry.key.startsWith(filter.prefix)) {
            selection.outsidePrefix++;
            continue;
        }
        if (ranged) {
            const t = entryTime(entry);
            if (t === undefined) {
                selection.untimed++;
            } else if ((filter.since && t < filter.since) || (filter.until && t >= filter.until)) {
                selection.outsideRange++;
                continue;
            }
        }
        selection.entries.push(entry);
    }
    return selection;
}

/** "prefix users/, modified from 2026-03-01T00:00:00.000Z to before 2026-03-02T00:00:00.000Z" or "every object". */
export function describeFilter(filter: StorageFilter): string {
    const parts: string[] = [];
    if (filter.prefix !== undefined) parts.push(`key prefix ${JSON.stringify(filter.prefix)}`);
    if (filter.since && filter.until) parts.push(`last modified from ${filter.since.toISOString()} to before ${filter.until.toISOString()}`);
    else if (filter.since) parts.push(`last modified at or after ${filter.since.toISOString()}`);
    else if (filter.until) parts.push(`last modified before ${filter.until.toISOString()}`);
    return parts.length > 0 ? parts.join(", ") : "every object";
}

/** An object key for a terminal line: as is, or JSON-quoted when it holds control characters or spaces at the ends. */
export function printableKey(key: string): string {
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u001f\u007f]/.test(key) || key.trim() !== key ? JSON.stringify(key) : key;
}
