// Where each file of a backup goes and how long it stays locked: pure, so the key/clock logic is
// unit-tested without a store. The manifest goes last: its presence is what marks a backup complete
// (the freshness check looks for manifests), so a job that dies halfway leaves no half-backup that
// looks fresh.
import { dbKey, monthlyDbKey } from "../vault/keys";

const DAY_MS = 86_400_000;

export interface LocalFile {
    path: string;
    /** File name in the vault (the local basename). */
    name: string;
    bytes: number;
    sha256: string;
    contentType: string;
}

export interface PlannedUpload extends LocalFile {
    key: string;
    retainUntil: Date;
    tier: "daily" | "monthly";
}

export function dailyRetainUntil(now: Date, retentionDays: number): Date {
    return new Date(now.getTime() + retentionDays * DAY_MS);
}

/** Months are counted as 31 days: the lock never ends before the calendar month would. */
export function monthlyRetainUntil(now: Date, months: number): Date {
    return new Date(now.getTime() + months * 31 * DAY_MS);
}

function order(files: LocalFile[]): LocalFile[] {
    const isManifest = (f: LocalFile) => f.name.endsWith(".manifest.json");
    return [...files.filter((f) => !isManifest(f)), ...files.filter(isManifest)];
}

export function planUploads(opts: {
    env: string;
    now: Date;
    files: LocalFile[];
    retentionDays: number;
    monthlyArchiveMonths: number;
    /** True when no monthly archive exists yet for now's month. */
    firstOfMonth: boolean;
}): PlannedUpload[] {
    const files = order(opts.files);
    const daily = files.map((f): PlannedUpload => ({
        ...f,
        key: dbKey(opts.env, opts.now, f.name),
        retainUntil: dailyRetainUntil(opts.now, opts.retentionDays),
        tier: "daily",
    }));
    if (!opts.firstOfMonth) return daily;
    const monthly = files.map((f): PlannedUpload => ({
        ...f,
        key: monthlyDbKey(opts.env, opts.now, f.name),
        retainUntil: monthlyRetainUntil(opts.now, opts.monthlyArchiveMonths),
        tier: "monthly",
    }));
    return [...daily, ...monthly];
}
