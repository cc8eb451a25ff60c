// Nightly storage snapshot (issue 5, runbook 004 §1.2): every bucket, every object, into the vault.
// Each object is streamed once from Storage into a temporary file while its sha256 is computed
// (memory stays flat whatever the object size); only objects whose sha256 differs from the previous
// manifest are then uploaded from that file. The spool exists because the vault needs the checksum
// *before* the put (Object Lock puts carry it), and re-downloading would hash a possibly different
// version than the one uploaded.
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StorageClient } from "@supabase/storage-js";
import { sha256Tap } from "../backup/checksum";
import { redactError } from "../redact";
import type { BlobStore } from "../vault/blobStore";
import { dayPath } from "../vault/keys";
import { downloadStream, listAllObjects, storageClient, unwrap, type ListedObject } from "./client";
import { MANIFEST_VERSION, manifestKey, objectVaultKey, parseManifest, type ManifestEntry, type StorageManifest } from "./manifest";
import { forEachLimited } from "./pool";

export interface SnapshotOptions {
    /** `<SUPABASE_URL>/storage/v1` */
    storageUrl: string;
    serviceKey: string;
    env: string;
    store: BlobStore;
    now: Date;
    /** Retention of every object and manifest written. */
    retainUntil?: Date;
    /** Per bucket; when absent the newest manifest of the last `lookbackDays` days is read from the vault. */
    previousManifest?: Record<string, StorageManifest | undefined>;
    lookbackDays?: number;
    /** Copy every object even when unchanged (e.g. a monthly full, so references never outlive their copies). */
    fullCopy?: boolean;
    /** Only these buckets (default: all). */
    buckets?: string[];
    concurrency?: number;
}

export interface BucketSnapshot {
    bucket: string;
    manifestKey: string;
    listed: number;
    copied: number;
    skipped: number;
    /** Bytes uploaded to the vault (objects, not the manifest). */
    bytes: number;
}

export interface SnapshotResult {
    buckets: BucketSnapshot[];
    listed: number;
    copied: number;
    skipped: number;
    bytes: number;
}

export async function readText(store: BlobStore, key: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(key)) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString("utf8");
}

/** The newest manifest for the bucket strictly before `now`'s day, looking back at most `days` days. */
export async function findPreviousManifest(store: BlobStore, env: string, bucket: string, now: Date, days: number): Promise<StorageManifest | undefined> {
    for (let back = 1; back <= days; back++) {
        const day = new Date(now.getTime() - back * 86_400_000);
        const key = manifestKey(env, bucket, day);
        if (await store.head(key)) return parseManifest(await readText(store, key), key);
    }
    return undefined;
}

interface Spooled {
    file: string;
    sha256: string;
    bytes: number;
}

async function spool(client: StorageClient, bucket: string, key: string, dir: string): Promise<Spooled> {
    const file = path.join(dir, randomBytes(8).toString("hex"));
    const hashed = sha256Tap();
    const tap = hashed.stream;
    await pipeline(await downloadStream(client, bucket, key), tap, fs.createWriteStream(file));
    return { file, sha256: hashed.digest(), bytes: hashed.bytes() };
}

async function snapshotBucket(client: StorageClient, bucket: string, isPublic: boolean, opts: SnapshotOptions, spoolDir: string): Promise<BucketSnapshot> {
    const { store, env, now } = opts;
    const key = manifestKey(env, bucket, now);
    if (await store.head(key)) {
        throw new Error(`a snapshot of bucket ${bucket} for ${dayPath(now)} is already in the vault (${key}); one snapshot per bucket per day`);
    }
    const previous = opts.previousManifest && bucket in opts.previousManifest
        ? opts.previousManifest[bucket]
        : await findPreviousManifest(store, env, bucket, now, opts.lookbackDays ?? 35);
    const before = new Map((previous?.objects ?? []).map((e) => [e.key, e]));
    const entries: ManifestEntry[] = [];
    const stats: BucketSnapshot = { bucket, manifestKey: key, listed: 0, copied: 0, skipped: 0, bytes: 0 };

    await forEachLimited(listAllObjects(client, bucket), opts.concurrency ?? 8, async (obj: ListedObject) => {
        stats.listed++;
        const spooled = await spool(client, bucket, obj.key, spoolDir);
        try {
            const prior = before.get(obj.key);
            let vaultKey: string;
            if (!opts.fullCopy && prior && prior.sha256 === spooled.sha256) {
                vaultKey = prior.vaultKey;
                stats.skipped++;
            } else {
                vaultKey = objectVaultKey(env, bucket, now, obj.key);
                const existing = await store.head(vaultKey);
                // A re-run after a failure mid-bucket: the copy is already there (and locked).
                if (existing?.sha256 !== spooled.sha256) {
                    await store.put(vaultKey, fs.createReadStream(spooled.file, { highWaterMark: 1 << 20 }), {
                        sha256: spooled.sha256,
                        bytes: spooled.bytes,
                        contentType: obj.contentType,
                        metadata: { sha256: spooled.sha256, bucket, env },
                        retainUntil: opts.retainUntil,
                    });
                    stats.bytes += spooled.bytes;
                }
                stats.copied++;
            }
            entries.push({
                key: obj.key,
                bytes: spooled.bytes,
                contentType: obj.contentType,
                metadata: obj.metadata,
                sha256: spooled.sha256,
                lastModified: obj.lastModified,
                vaultKey,
            });
        } finally {
            await fs.promises.rm(spooled.file, { force: true });
        }
    });

    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const manifest: StorageManifest = { version: MANIFEST_VERSION, env, bucket, takenAt: now.toISOString(), public: isPublic, objects: entries };
    const body = Buffer.from(JSON.stringify(manifest, null, 1));
    await store.put(key, Readable.from([body]), {
        sha256: createHash("sha256").update(body).digest("hex"),
        bytes: body.length,
        contentType: "application/json",
        metadata: { objects: String(entries.length) },
        retainUntil: opts.retainUntil,
    });
    return stats;
}

export async function snapshotStorage(opts: SnapshotOptions): Promise<SnapshotResult> {
    const secrets = [opts.serviceKey];
    const spoolDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "supabase-dr-storage-"));
    try {
        const client = storageClient(opts.storageUrl, opts.serviceKey);
        const all = unwrap("list buckets", await client.listBuckets());
        const wanted = opts.buckets ? new Set(opts.buckets) : undefined;
        if (wanted) {
            const missing = [...wanted].filter((b) => !all.some((x) => x.id === b));
            if (missing.length > 0) throw new Error(`bucket(s) not found in Storage: ${missing.join(", ")}`);
        }
        const result: SnapshotResult = { buckets: [], listed: 0, copied: 0, skipped: 0, bytes: 0 };
        for (const bucket of all.filter((b) => !wanted || wanted.has(b.id)).sort((a, b) => (a.id < b.id ? -1 : 1))) {
            const s = await snapshotBucket(client, bucket.id, bucket.public, opts, spoolDir);
            result.buckets.push(s);
            result.listed += s.listed;
            result.copied += s.copied;
            result.skipped += s.skipped;
            result.bytes += s.bytes;
        }
        return result;
    } catch (err) {
        throw redactError(err, secrets);
    } finally {
        await fs.promises.rm(spoolDir, { recursive: true, force: true });
    }
}
