// Object key layout of the backup vault (runbook 001): daily database dumps under db/{env}/YYYY/MM/DD/,
// storage snapshots under storage/{env}/{bucket}/YYYY/MM/DD/, and runbook 004's monthly archives under
// monthly/... Shared by the vault's lifecycle rules, the IAM policies and the backup job, so the three
// can never disagree about where a backup lives. Dates are UTC: a 23:30 backup in Manila and one in
// Lisbon land in the same day folder as the 01:00 UTC schedule that produced them.
import { UsageError } from "../errors";


// Environment names end up inside IAM resource ARNs: "*" or "?" there would widen a policy, so the
// alphabet is deliberately narrow.
const ENV_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Throws unless `env` is a usable environment name ("prod", "staging", "drill-1", ...). */
export function assertEnvironment(env: string): void {
    if (typeof env !== "string" || !ENV_NAME.test(env)) {
        throw new UsageError(
            `environment must be 1-63 lowercase letters, digits, "-" or "_", starting with a letter or digit (got ${JSON.stringify(env)})`,
        );
    }
}

function hasControlCharacters(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code < 0x20 || code === 0x7f) return true;
    }
    return false;
}

/** Throws unless `name` can be one key segment: not empty, no "/", not "." or "..", no control characters. */
function assertSegment(what: string, name: string): void {
    if (typeof name !== "string" || name.length === 0 || name.includes("/") || name === "." || name === ".."
        || hasControlCharacters(name)) {
        throw new UsageError(`${what} must be a non-empty name without "/" or control characters, and not "." or ".." (got ${JSON.stringify(name)})`);
    }
}

/** A Storage object path may contain "/" (folders) but must stay below its prefix when restored. */
function assertObjectPath(key: string): void {
    if (typeof key !== "string" || key.length === 0 || key.startsWith("/")
        || key.split("/").some((s) => s === "." || s === "..")
        || hasControlCharacters(key)) {
        throw new Error(`storage object key must be a non-empty relative path without "." or ".." segments or control characters (got ${JSON.stringify(key)})`);
    }
}

function utcParts(date: Date): { yyyy: string; mm: string; dd: string } {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
        throw new Error(`backup date must be a valid Date (got ${String(date)})`);
    }
    return {
        yyyy: String(date.getUTCFullYear()).padStart(4, "0"),
        mm: String(date.getUTCMonth() + 1).padStart(2, "0"),
        dd: String(date.getUTCDate()).padStart(2, "0"),
    };
}

/** "YYYY/MM/DD" in UTC. */
export function dayPath(date: Date): string {
    const { yyyy, mm, dd } = utcParts(date);
    return `${yyyy}/${mm}/${dd}`;
}

/** "YYYY/MM" in UTC. */
export function monthPath(date: Date): string {
    const { yyyy, mm } = utcParts(date);
    return `${yyyy}/${mm}`;
}

/** `db/{env}/` */
export function dbPrefix(env: string): string {
    assertEnvironment(env);
    return `db/${env}/`;
}

/** `db/{env}/YYYY/MM/DD/<file>` */
export function dbKey(env: string, date: Date, file: string): string {
    assertSegment("database backup file name", file);
    return `${dbPrefix(env)}${dayPath(date)}/${file}`;
}

/** `storage/{env}/`, or `storage/{env}/{bucket}/` when a bucket is given. */
export function storagePrefix(env: string, bucket?: string): string {
    assertEnvironment(env);
    if (bucket === undefined) return `storage/${env}/`;
    assertSegment("storage bucket name", bucket);
    return `storage/${env}/${bucket}/`;
}

/** `storage/{env}/{bucket}/YYYY/MM/DD/<key>` */
export function storageKey(env: string, bucket: string, date: Date, key: string): string {
    assertObjectPath(key);
    return `${storagePrefix(env, bucket)}${dayPath(date)}/${key}`;
}

/** `monthly/db/{env}/` */
export function monthlyDbPrefix(env: string): string {
    return `monthly/${dbPrefix(env)}`;
}

/** `monthly/storage/{env}/`, or `monthly/storage/{env}/{bucket}/` when a bucket is given. */
export function monthlyStoragePrefix(env: string, bucket?: string): string {
    return `monthly/${storagePrefix(env, bucket)}`;
}

/** `monthly/db/{env}/YYYY/MM/<file>` */
export function monthlyDbKey(env: string, date: Date, file: string): string {
    assertSegment("database backup file name", file);
    return `${monthlyDbPrefix(env)}${monthPath(date)}/${file}`;
}

/** `monthly/storage/{env}/{bucket}/YYYY/MM/<key>` */
export function monthlyStorageKey(env: string, bucket: string, date: Date, key: string): string {
    assertObjectPath(key);
    return `${monthlyStoragePrefix(env, bucket)}${monthPath(date)}/${key}`;
}

/** Every prefix an environment's backups are written under (daily and monthly, db and storage). */
export function environmentPrefixes(env: string): string[] {
    return [dbPrefix(env), storagePrefix(env), monthlyDbPrefix(env), monthlyStoragePrefix(env)];
}
