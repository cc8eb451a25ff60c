// Storage restore (runbook 001 Path C, 004 §2.2): objects listed in a manifest are copied from the
// vault into a separate, private bucket `restored-{bucket}-{yyyyMMdd}` (never over the original: a
// swap is a human decision after approval), with upsert and the original content type; then every
// object is downloaded back and hashed, so "restored" means "byte-identical", not "uploaded".
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { StorageClient } from "@supabase/storage-js";
import { redactError } from "../redact";
import type { BlobStore } from "../vault/blobStore";
import { downloadStream, listAllObjects, storageClient, unwrap } from "./client";
import type { ManifestEntry, StorageManifest } from "./manifest";
import { forEachLimited } from "./pool";

/** `restored-{bucket}-{yyyyMMdd}` (UTC). */
export function restoredBucketName(bucket: string, date: Date): string {
    const d = date.toISOString().slice(0, 10).replace(/-/g, "");
    return `restored-${bucket}-${d}`;
}

export interface RestoreOptions {
    storageUrl: string;
    serviceKey: string;
    store: BlobStore;
    manifest: StorageManifest;
    /** Default: restoredBucketName(manifest.bucket, date). */
    targetBucket?: string;
    /** Names the target bucket; default now. */
    date?: Date;
    concurrency?: number;
}

export interface ChecksumProblem {
    key: string;
    expected: string;
    actual: string;
}

export interface RestoreResult {
    bucket: string;
    objects: number;
    bytes: number;
}

async function sha256Of(stream: Readable): Promise<{ sha256: string; bytes: number }> {
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of stream) {
        const buf = chunk as Buffer;
        hash.update(buf);
        bytes += buf.length;
    }
    return { sha256: hash.digest("hex"), bytes };
}

export function formatMismatches(bucket: string, problems: ChecksumProblem[], shown = 20): string {
    const lines = problems.slice(0, shown).map((p) => `  ${p.key}: expected sha256 ${p.expected}, got ${p.actual}`);
    if (problems.length > shown) lines.push(`  ... and ${problems.length - shown} more`);
    return `${problems.length} object(s) in ${bucket} failed checksum verification:\n${lines.join("\n")}`;
}

async function ensurePrivateBucket(client: StorageClient, bucket: string): Promise<void> {
    const existing = await client.getBucket(bucket);
    if (existing.data) {
        // A bucket left by an earlier, interrupted drill is reused (upserts make that safe), but
        // never a public one: restored production files must not become reachable by URL.
        if (existing.data.public) throw new Error(`target bucket ${bucket} exists and is public; refusing to restore into it`);
        return;
    }
    unwrap(`create bucket ${bucket}`, await client.createBucket(bucket, { public: false }));
}

/** Downloads every manifest object back from `bucket` and returns those whose sha256 differs. */
export async function verifyRestoredObjects(client: StorageClient, bucket: string, entries: ManifestEntry[], concurrency = 8): Promise<ChecksumProblem[]> {
    const problems: ChecksumProblem[] = [];
    await forEachLimited(entries, concurrency, async (e) => {
        let actual: string;
        try {
            actual = (await sha256Of(await downloadStream(client, bucket, e.key))).sha256;
        } catch (err) {
            actual = `unreadable (${(err as Error).message})`;
        }
        if (actual !== e.sha256) problems.push({ key: e.key, expected: e.sha256, actual });
    });
    return problems.sort((a, b) => (a.key < b.key ? -1 : 1));
}

export async function restoreStorage(opts: RestoreOptions): Promise<RestoreResult> {
    const { manifest, store } = opts;
    const bucket = opts.targetBucket ?? restoredBucketName(manifest.bucket, opts.date ?? new Date());
    try {
        if (bucket === manifest.bucket) {
            throw new Error(`refusing to restore into the original bucket ${bucket}: restore into restored-${manifest.bucket}-<yyyyMMdd> and swap after approval`);
        }
        const client = storageClient(opts.storageUrl, opts.serviceKey);
        await ensurePrivateBucket(client, bucket);
        let bytes = 0;
        await forEachLimited(manifest.objects, opts.concurrency ?? 8, async (e) => {
            const body = await store.get(e.vaultKey);
            unwrap(`upload ${bucket}/${e.key}`, await client.from(bucket).upload(e.key, body, {
                upsert: true,
                contentType: e.contentType,
                cacheControl: typeof e.metadata.cacheControl === "string" ? e.metadata.cacheControl.replace(/^max-age=/, "") : undefined,
            }));
            bytes += e.bytes;
        });
        const problems = await verifyRestoredObjects(client, bucket, manifest.objects, opts.concurrency ?? 8);
        if (problems.length > 0) throw new Error(formatMismatches(bucket, problems));
        return { bucket, objects: manifest.objects.length, bytes };
    } catch (err) {
        throw redactError(err, [opts.serviceKey]);
    }
}

/** Empties and deletes a restored bucket; a bucket that is already gone is fine. */
export async function removeRestoredBucket(storageUrl: string, serviceKey: string, bucket: string, original?: string): Promise<void> {
    try {
        if (original !== undefined && bucket === original) throw new Error(`refusing to delete the original bucket ${bucket}`);
        const client = storageClient(storageUrl, serviceKey);
        if (!(await bucketExists(storageUrl, serviceKey, bucket))) return;
        let batch: string[] = [];
        const flush = async (): Promise<void> => {
            if (batch.length === 0) return;
            unwrap(`remove objects from ${bucket}`, await client.from(bucket).remove(batch));
            batch = [];
        };
        // Collected first, removed after: removing while paging by offset would skip entries.
        const keys: string[] = [];
        for await (const obj of listAllObjects(client, bucket)) keys.push(obj.key);
        for (const key of keys) {
            batch.push(key);
            if (batch.length >= 1000) await flush();
        }
        await flush();
        unwrap(`delete bucket ${bucket}`, await client.deleteBucket(bucket));
    } catch (err) {
        throw redactError(err, [serviceKey]);
    }
}

/** True when the bucket exists. */
export async function bucketExists(storageUrl: string, serviceKey: string, bucket: string): Promise<boolean> {
    const { data, error } = await storageClient(storageUrl, serviceKey).getBucket(bucket);
    if (data) return true;
    const status = (error as { status?: number } | null)?.status;
    // Storage answers a missing bucket with 404 (or 400 carrying statusCode 404); anything else is
    // an outage or a bad key, which must not read as "the bucket is gone".
    if (status === 404 || status === 400) return false;
    throw redactError(new Error(`get bucket ${bucket}: ${(error as Error | null)?.message ?? "unknown error"}`), [serviceKey]);
}
