// The freshness alarm (issue 5, runbook 002's RPO): is the newest database backup in the vault younger
// than the RPO target, and does its content still hash to the sha256 its manifest recorded?
//
// "Corrupt" under Object Lock cannot mean an overwritten locked version, but it can mean: a newer
// version put on top of the key (reads return it; the locked original survives underneath), a dump
// uploaded with a checksum claim its bytes never had, or a manifest naming a file that is missing.
// The check reads what a restore would read (the current version), streamed through sha256.
import { createHash } from "node:crypto";
import * as path from "node:path/posix";
import type { BackupManifest } from "../backup/manifest";
import { redact } from "../redact";
import type { BlobStore } from "./blobStore";
import { dbPrefix } from "./keys";
import { UsageError } from "../errors";

export const DEFAULT_RPO_SECONDS = 24 * 3600;

export type FreshnessStatus = "fresh" | "stale" | "corrupt" | "missing";

export interface FileVerification {
    key: string;
    expected: string;
    /** "missing" when the object is not in the store. */
    actual: string | "missing";
    bytes: number;
    ok: boolean;
}

export interface FreshnessResult {
    status: FreshnessStatus;
    env: string;
    location: string;
    /** Key of the newest manifest. */
    newestBackup?: string;
    takenAt?: string;
    ageSeconds?: number;
    rpoSeconds: number;
    reason: string;
    files: FileVerification[];
}

export interface FreshnessOptions {
    store: BlobStore;
    env: string;
    rpoSeconds?: number;
    /** Injectable clock (tests move it past the RPO). */
    now?: () => Date;
    /** Skip re-hashing the dump (age only). Default: verify. */
    verify?: boolean;
}

/** Manifest keys sort by time: db/{env}/YYYY/MM/DD/backup_<yyyymmddHHMMss>.manifest.json. */
export function isManifestKey(key: string): boolean {
    return key.endsWith(".manifest.json");
}

export function newestManifestKey(keys: Iterable<string>): string | undefined {
    let newest: string | undefined;
    for (const k of keys) if (isManifestKey(k) && (newest === undefined || k > newest)) newest = k;
    return newest;
}

/** Whole seconds from takenAt to now (negative when the clock is behind the backup). */
export function ageSeconds(takenAt: Date, now: Date): number {
    return Math.floor((now.getTime() - takenAt.getTime()) / 1000);
}

export function isStale(age: number, rpoSeconds: number): boolean {
    return age > rpoSeconds;
}

export function parseRpoSeconds(text: string | undefined): number {
    if (text === undefined || text === "") return DEFAULT_RPO_SECONDS;
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`RPO_SECONDS must be a positive whole number of seconds (got ${JSON.stringify(text)})`);
    return n;
}

/** Streams the object through sha256; memory stays flat whatever its size. */
export async function verifyStoredSha256(store: BlobStore, key: string, expected: string): Promise<FileVerification> {
    if (!(await store.head(key))) return { key, expected, actual: "missing", bytes: 0, ok: false };
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of await store.get(key)) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
    }
    const actual = hash.digest("hex");
    return { key, expected, actual, bytes, ok: actual === expected.toLowerCase() };
}

async function readSmallObject(store: BlobStore, key: string, limit = 64 * 1024 * 1024): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of await store.get(key)) {
        size += (chunk as Buffer).length;
        if (size > limit) throw new Error(`${key} is larger than ${limit} bytes: not a manifest`);
        chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
}

/** The store keys of every file a stored manifest lists (paths are relative to the manifest's folder). */
export function manifestFileKeys(manifestKey: string, manifest: Pick<BackupManifest, "files"> & { split?: BackupManifest["files"] }): { key: string; sha256: string }[] {
    const dir = path.dirname(manifestKey);
    return [...manifest.files, ...(manifest.split ?? [])].map((f) => ({ key: path.join(dir, path.basename(f.path)), sha256: f.sha256 }));
}

export async function checkFreshness(opts: FreshnessOptions): Promise<FreshnessResult> {
    const rpoSeconds = opts.rpoSeconds ?? DEFAULT_RPO_SECONDS;
    const now = (opts.now ?? (() => new Date()))();
    const base = { env: opts.env, location: opts.store.location, rpoSeconds, files: [] as FileVerification[] };
    const prefix = dbPrefix(opts.env);

    const keys: string[] = [];
    for await (const o of opts.store.list(prefix)) if (isManifestKey(o.key)) keys.push(o.key);
    const newest = newestManifestKey(keys);
    if (!newest) return { ...base, status: "missing", reason: `no backup manifest under ${opts.store.location}/${prefix}` };

    let manifest: BackupManifest & { split?: BackupManifest["files"] };
    try {
        manifest = JSON.parse(await readSmallObject(opts.store, newest)) as typeof manifest;
        if (!Array.isArray(manifest.files) || manifest.files.length === 0 || !manifest.takenAt) throw new Error("no files or takenAt");
    } catch (err) {
        return { ...base, status: "corrupt", newestBackup: newest, reason: `manifest ${newest} is unreadable: ${(err as Error).message}` };
    }
    const takenAt = new Date(manifest.takenAt);
    if (Number.isNaN(takenAt.getTime())) {
        return { ...base, status: "corrupt", newestBackup: newest, reason: `manifest ${newest} has an invalid takenAt` };
    }
    const age = ageSeconds(takenAt, now);
    const found = { ...base, newestBackup: newest, takenAt: takenAt.toISOString(), ageSeconds: age };

    if (opts.verify !== false) {
        for (const f of manifestFileKeys(newest, manifest)) found.files.push(await verifyStoredSha256(opts.store, f.key, f.sha256));
        const bad = found.files.filter((f) => !f.ok);
        if (bad.length > 0) {
            const what = bad.map((f) => (f.actual === "missing" ? `${f.key} is missing` : `${f.key} hashes to ${f.actual}, manifest says ${f.expected}`));
            return { ...found, status: "corrupt", reason: `checksum verification failed: ${what.join("; ")}` };
        }
    }
    if (isStale(age, rpoSeconds)) {
        return { ...found, status: "stale", reason: `newest backup is ${formatAge(age)} old, older than the RPO of ${formatAge(rpoSeconds)}` };
    }
    return { ...found, status: "fresh", reason: `newest backup is ${formatAge(age)} old (RPO ${formatAge(rpoSeconds)})${opts.verify === false ? "" : ", sha256 verified"}` };
}

export function formatAge(seconds: number): string {
    const s = Math.abs(seconds);
    const sign = seconds < 0 ? "-" : "";
    if (s < 120) return `${sign}${s}s`;
    if (s < 7200) return `${sign}${Math.floor(s / 60)}m`;
    if (s < 172800) return `${sign}${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
    return `${sign}${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export interface FreshnessNotification {
    text: string;
    status: FreshnessStatus;
    env: string;
    newest_backup: string | null;
    age_seconds: number | null;
    rpo_seconds: number;
    reason: string;
}

/** Slack/Teams read `text`; Healthchecks-style receivers keep the whole body. */
export function notificationPayload(r: FreshnessResult, secrets: string[] = []): FreshnessNotification {
    const icon = r.status === "fresh" ? "OK" : "ALERT";
    return {
        text: redact(`[${icon}] supabase-dr backup ${r.status} for ${r.env} (${r.location}): ${r.reason}`, secrets),
        status: r.status,
        env: r.env,
        newest_backup: r.newestBackup ?? null,
        age_seconds: r.ageSeconds ?? null,
        rpo_seconds: r.rpoSeconds,
        reason: redact(r.reason, secrets),
    };
}

/** POSTs JSON; the URL (which often embeds a token) never appears in errors, only its host. */
export async function postJson(url: string, body: unknown, timeoutMs = 10_000): Promise<void> {
    let host = "webhook";
    try {
        host = new URL(url).host;
    } catch {
        throw new Error("webhook URL is not a valid URL");
    }
    let res: Response;
    try {
        res = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(timeoutMs),
        });
    } catch (err) {
        throw new Error(`POST to ${host} failed: ${(err as Error).message}`);
    }
    if (!res.ok) throw new Error(`POST to ${host} answered HTTP ${res.status}`);
    await res.body?.cancel();
}

export function formatFreshness(r: FreshnessResult): string {
    const lines = [
        `freshness: ${r.status.toUpperCase()} — ${r.env} at ${r.location}`,
        `  newest backup: ${r.newestBackup ?? "none"}${r.takenAt ? ` (taken ${r.takenAt})` : ""}`,
        `  age: ${r.ageSeconds === undefined ? "n/a" : formatAge(r.ageSeconds)}  RPO: ${formatAge(r.rpoSeconds)}`,
        ...r.files.map((f) => `  ${f.ok ? "ok     " : "FAILED "} ${f.key} (${f.bytes} bytes)`),
        `  ${r.reason}`,
    ];
    return lines.join("\n");
}

export interface FreshnessAlarmOptions extends FreshnessOptions {
    /** POSTed the notification when stale, corrupt or missing. */
    webhookUrl?: string;
    /** POSTed the notification when fresh (a dead man's switch such as Healthchecks). */
    healthcheckUrl?: string;
    secrets?: string[];
}

export interface FreshnessAlarmResult {
    result: FreshnessResult;
    ok: boolean;
    notified?: "webhook" | "healthcheck";
    notifyError?: string;
}

/** The check plus its notifications; a failed notification is reported, never thrown. */
export async function runFreshnessAlarm(opts: FreshnessAlarmOptions): Promise<FreshnessAlarmResult> {
    const secrets = [...(opts.secrets ?? []), opts.webhookUrl, opts.healthcheckUrl].filter((s): s is string => !!s);
    let result: FreshnessResult;
    try {
        result = await checkFreshness(opts);
    } catch (err) {
        // An unreachable vault is as alarming as a stale backup: report it the same way.
        result = { status: "missing", env: opts.env, location: opts.store.location, rpoSeconds: opts.rpoSeconds ?? DEFAULT_RPO_SECONDS, files: [],
            reason: `the vault could not be checked: ${redact((err as Error).message, secrets)}` };
    }
    const ok = result.status === "fresh";
    const url = ok ? opts.healthcheckUrl : opts.webhookUrl;
    if (!url) return { result, ok };
    try {
        await postJson(url, notificationPayload(result, secrets));
        return { result, ok, notified: ok ? "healthcheck" : "webhook" };
    } catch (err) {
        return { result, ok, notifyError: redact((err as Error).message, secrets) };
    }
}
