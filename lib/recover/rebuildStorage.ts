// Storage of `recover rebuild`: every bucket that has a daily snapshot in the vault, each from its
// newest snapshot, into the NEW project's Storage under its own name and with its public flag. The
// new project is ours (the rebuild created it), so its buckets are written without an ownership
// marker; a retry compares what is there already (sha256 of every object, lib/recover/storageCompare)
// and uploads only what is missing or differs. Every object is downloaded back and checked by sha256.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StorageClient } from "@supabase/storage-js";
import { isStorageNotFound, storageErrorStatus, storageFailure } from "../storage/client";
import { MANIFEST_FILE } from "../storage/manifest";
import { forEachLimited } from "../storage/pool";
import { formatMismatches, verifyRestoredObjects } from "../storage/restore";
import type { BlobStore } from "../vault/blobStore";
import { storagePrefix } from "../vault/keys";
import { compareWithLive } from "./storageCompare";
import { loadSnapshot, type ChosenSnapshot } from "./storageSource";
import { uploadFromVault } from "./storageUpload";

export interface BucketPlan {
    bucket: string;
    snapshot: ChosenSnapshot;
    objects: number;
    bytes: number;
}

export interface BucketRestored {
    bucket: string;
    uploaded: number;
    /** Already in the new project with the snapshot's content (a retry). */
    alreadyThere: number;
    bytes: number;
    verified: number;
}

/**
 * Buckets with at least one daily snapshot under storage/<env>/: from the manifests' keys
 * (storage/<env>/<bucket>/YYYY/MM/DD/manifest.json), or the given list.
 */
export async function snapshotBuckets(store: BlobStore, env: string, only?: string[]): Promise<string[]> {
    if (only && only.length > 0) return [...new Set(only)].sort();
    const prefix = storagePrefix(env);
    const manifest = new RegExp(`^([^/]+)/\\d{4}/\\d{2}/\\d{2}/${MANIFEST_FILE.replace(".", "\\.")}$`);
    const buckets = new Set<string>();
    for await (const o of store.list(prefix)) {
        const m = manifest.exec(o.key.slice(prefix.length));
        if (m) buckets.add(m[1]);
    }
    return [...buckets].sort();
}

export async function planBuckets(store: BlobStore, env: string, now: Date, only?: string[]): Promise<BucketPlan[]> {
    const buckets = await snapshotBuckets(store, env, only);
    if (buckets.length === 0) throw new Error(`no storage snapshot in ${store.location} under ${storagePrefix(env)}: check --storage-env (the BACKUP_ENV the nightly job snapshots Storage under)`);
    const plans: BucketPlan[] = [];
    for (const bucket of buckets) {
        const snapshot = await loadSnapshot(store, env, bucket, { kind: "newest" }, now);
        plans.push({ bucket, snapshot, objects: snapshot.manifest.objects.length, bytes: snapshot.manifest.objects.reduce((n, e) => n + e.bytes, 0) });
    }
    return plans;
}

async function ensureBucket(client: StorageClient, bucket: string, isPublic: boolean): Promise<boolean> {
    const { data, error } = await client.getBucket(bucket);
    if (data) {
        if (data.public !== isPublic) throw new Error(`bucket ${bucket} in the new project is ${data.public ? "public" : "private"}, the snapshot recorded it ${isPublic ? "public" : "private"}: fix it in the dashboard and run again`);
        return true;
    }
    if (!isStorageNotFound(error)) throw storageFailure(`get bucket ${bucket} of the new project`, error ?? "no answer");
    const created = await client.createBucket(bucket, { public: isPublic });
    if (created.error && storageErrorStatus(created.error) !== 409) throw storageFailure(`create bucket ${bucket} in the new project`, created.error);
    return false;
}

export async function restoreBucketIntoNewProject(
    client: StorageClient,
    store: BlobStore,
    plan: BucketPlan,
    opts: { concurrency?: number; onProgress?: (message: string) => void } = {},
): Promise<BucketRestored> {
    const concurrency = opts.concurrency ?? 8;
    const { bucket } = plan;
    const entries = plan.snapshot.manifest.objects;
    const existed = await ensureBucket(client, bucket, plan.snapshot.manifest.public);
    const cmp = await compareWithLive(client, bucket, entries, { concurrency, onProgress: opts.onProgress, liveBucketExists: existed });
    const toUpload = [...cmp.missing, ...cmp.changed.map((c) => c.entry)];
    const result: BucketRestored = { bucket, uploaded: 0, alreadyThere: cmp.identical, bytes: 0, verified: 0 };
    if (toUpload.length > 0) {
        opts.onProgress?.(`uploading ${toUpload.length} object(s) into bucket ${bucket} of the new project${cmp.identical > 0 ? ` (${cmp.identical} there already)` : ""}`);
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-rebuild-storage-"));
        try {
            await forEachLimited(toUpload, concurrency, async (entry) => {
                await uploadFromVault(client, store, bucket, entry, tmp);
                result.uploaded++;
                result.bytes += entry.bytes;
            });
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    }
    opts.onProgress?.(`verifying ${entries.length} object(s) of bucket ${bucket}: download and sha256`);
    const problems = await verifyRestoredObjects(client, bucket, entries, concurrency);
    if (problems.length > 0) throw new Error(formatMismatches(bucket, problems));
    result.verified = entries.length;
    return result;
}
