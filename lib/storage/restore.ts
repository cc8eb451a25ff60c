// Storage restore (runbook 001 Path C, 004 §2.2): objects listed in a manifest are copied from the
// vault into a separate, private bucket `restored-{bucket}-{yyyyMMdd}` (never over the original: a
// swap is a human decision after approval), with upsert and the original content type; then every
// object is downloaded back and hashed, so "restored" means "byte-identical", not "uploaded".
//
// Ownership is proven, not assumed (like ScratchDatabase's comment): the name alone cannot tell our
// bucket from a real path-C restore somebody made the same day. Every bucket we create gets an
// ownership marker, an object at OWNER_MARKER_KEY, written right after the bucket and before any
// restored object; we reuse, empty or delete a bucket only when its marker proves a random owner
// token that only the caller (our Pulumi state, as a secret) holds.
//
// Why an object and not bucket metadata: Storage's buckets carry no free-form metadata (create and
// update take only name/id, public, type, file_size_limit, allowed_mime_types: supabase/storage
// src/http/routes/bucket/createBucket.ts), and `owner` is the JWT's sub, which a service key has not.
// The marker holds an HMAC of the bucket's name keyed with the token, not the token: reading the
// bucket does not reveal it, and a marker copied into another bucket (a swap done by copying every
// object) does not make that bucket ours.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Readable } from "node:stream";
import type { StorageClient } from "@supabase/storage-js";
import { redactError } from "../redact";
import type { BlobStore } from "../vault/blobStore";
import { cacheControlOptions, downloadStream, isStorageNotFound, listAllObjects, storageClient, storageErrorStatus, storageFailure, unwrap } from "./client";
import type { ManifestEntry, StorageManifest } from "./manifest";
import { forEachLimited } from "./pool";
import { CheckFailedError, RefusedError, withMessageSuffix } from "../errors";

/** Where the ownership marker lives inside a restored bucket. */
export const OWNER_MARKER_KEY = ".supabase-dr/restore-owner.json";
const MARKER_TOOL = "supabase-dr";
const MARKER_KIND = "restored-bucket-owner";
// A marker is a few hundred bytes; a bigger object at that key is not one of ours.
const MARKER_MAX_BYTES = 4096;

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
    /**
     * The owner token of a bucket this caller created before (to finish an earlier restore into it).
     * Default: a new token, so only a bucket that does not exist yet is restored into.
     */
    ownerToken?: string;
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
    /** Proves ownership of `bucket`: keep it secret, and give it to removeRestoredBucket. */
    ownerToken: string;
}

/** 256 random bits, hex. */
export function newOwnerToken(): string {
    return randomBytes(32).toString("hex");
}

/** What the marker of `bucket` must carry for the holder of `ownerToken`. */
export function ownershipProof(bucket: string, ownerToken: string): string {
    return createHmac("sha256", ownerToken).update(`supabase-dr restored bucket ${bucket}`).digest("hex");
}

interface OwnerMarker {
    tool: string;
    kind: string;
    bucket: string;
    proof: string;
    /** For people reading the bucket: where its objects came from, and when. */
    sourceBucket: string;
    createdAt: string;
}

export type BucketOwnership =
    | { state: "missing" }
    | { state: "ours"; public: boolean }
    /** `reason` says what is wrong, e.g. "it has no supabase-dr ownership marker". */
    | { state: "foreign"; reason: string };

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

/** The marker's bytes, or undefined when there is none; at most MARKER_MAX_BYTES + 1 are read. */
async function readMarker(client: StorageClient, bucket: string): Promise<Buffer | undefined> {
    const { data, error } = await client.from(bucket).download(OWNER_MARKER_KEY).asStream();
    if (error) {
        if (isStorageNotFound(error)) return undefined;
        throw storageFailure(`read the ownership marker of ${bucket}`, error);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const reader = (data as ReadableStream<Uint8Array>).getReader();
    for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(Buffer.from(value));
        size += value.byteLength;
        if (size > MARKER_MAX_BYTES) {
            await reader.cancel();
            break;
        }
    }
    return Buffer.concat(chunks);
}

function sameProof(found: unknown, expected: string): boolean {
    if (typeof found !== "string" || found.length !== expected.length) return false;
    return timingSafeEqual(Buffer.from(found), Buffer.from(expected));
}

/** Whether `bucket` exists and, if so, whether its marker proves `ownerToken`. */
export async function checkBucketOwnership(client: StorageClient, bucket: string, ownerToken: string): Promise<BucketOwnership> {
    const { data: info, error } = await client.getBucket(bucket);
    if (error) {
        // Anything but "not found" is an outage or a bad key, which must not read as "missing".
        if (isStorageNotFound(error)) return { state: "missing" };
        throw storageFailure(`get bucket ${bucket}`, error);
    }
    const raw = await readMarker(client, bucket);
    if (raw === undefined) return { state: "foreign", reason: `it has no supabase-dr ownership marker (${OWNER_MARKER_KEY})` };
    let marker: Partial<OwnerMarker> | undefined;
    try {
        marker = raw.length > MARKER_MAX_BYTES ? undefined : (JSON.parse(raw.toString("utf8")) as Partial<OwnerMarker>);
    } catch {
        marker = undefined;
    }
    if (!marker || typeof marker !== "object" || marker.tool !== MARKER_TOOL || marker.kind !== MARKER_KIND) {
        return { state: "foreign", reason: `its ${OWNER_MARKER_KEY} is not a supabase-dr ownership marker` };
    }
    if (marker.bucket !== bucket || !sameProof(marker.proof, ownershipProof(bucket, ownerToken))) {
        return { state: "foreign", reason: "its ownership marker belongs to another restore, or was altered" };
    }
    return { state: "ours", public: info?.public === true };
}

async function writeMarker(client: StorageClient, bucket: string, ownerToken: string, sourceBucket: string): Promise<void> {
    const marker: OwnerMarker = {
        tool: MARKER_TOOL,
        kind: MARKER_KIND,
        bucket,
        proof: ownershipProof(bucket, ownerToken),
        sourceBucket,
        createdAt: new Date().toISOString(),
    };
    const body = Buffer.from(JSON.stringify(marker, null, 2) + "\n");
    // No upsert: in a bucket we have just created nothing can be there, and if something is, it is not ours.
    unwrap(`write the ownership marker of ${bucket}`, await client.from(bucket).upload(OWNER_MARKER_KEY, body, { contentType: "application/json", upsert: false }));
}

function refuseRestoreInto(bucket: string, reason: string): RefusedError {
    return new RefusedError(
        `refusing to restore into bucket ${bucket}: ${reason}. It may be a real restore (runbook 001 path C) made today; ` +
            `it is left untouched. Restore into another bucket (targetBucket), or, once you have checked that nobody needs ${bucket}, ` +
            `delete it yourself and run again`,
        { code: "NOT_SCRATCH" },
    );
}

/**
 * Creates the private target bucket and writes its marker, or takes a bucket this caller already
 * owns. Returns whether the bucket was created here (and so is ours to remove if the restore fails).
 */
async function claimTargetBucket(client: StorageClient, bucket: string, ownerToken: string, sourceBucket: string): Promise<boolean> {
    const ownership = await checkBucketOwnership(client, bucket, ownerToken);
    if (ownership.state === "foreign") throw refuseRestoreInto(bucket, ownership.reason);
    if (ownership.state === "ours") {
        // Restored production files must never become reachable by URL.
        if (ownership.public) throw new RefusedError(`target bucket ${bucket} exists and is public; refusing to restore into it`, { code: "NOT_SCRATCH" });
        return false;
    }
    const created = await client.createBucket(bucket, { public: false });
    if (created.error) {
        if (storageErrorStatus(created.error) === 409) throw refuseRestoreInto(bucket, "somebody else created it while this restore was starting");
        throw storageFailure(`create bucket ${bucket}`, created.error);
    }
    try {
        await writeMarker(client, bucket, ownerToken, sourceBucket);
    } catch (err) {
        // Without its marker we could never remove the bucket again: undo the create. Storage refuses
        // to delete a bucket that is not empty, so this cannot take anybody's objects with it.
        const undo = await client.deleteBucket(bucket);
        const cleanup = undo.error ? `; removing the new, empty bucket failed too, delete ${bucket} by hand` : `; the new bucket ${bucket} was removed`;
        throw withMessageSuffix(err, cleanup);
    }
    return true;
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
    const ownerToken = opts.ownerToken ?? newOwnerToken();
    try {
        if (bucket === manifest.bucket) {
            throw new RefusedError(`refusing to restore into the original bucket ${bucket}: restore into restored-${manifest.bucket}-<yyyyMMdd> and swap after approval`, { code: "SOURCE_PROTECTED" });
        }
        if (manifest.objects.some((e) => e.key === OWNER_MARKER_KEY)) {
            // Restoring it would overwrite our marker with somebody else's (a snapshot of a restored bucket).
            throw new RefusedError(`the snapshot of ${manifest.bucket} holds an object at ${OWNER_MARKER_KEY}, the key of supabase-dr's ownership marker: remove it from the source bucket (it came from a restored bucket) and take a new snapshot`);
        }
        const client = storageClient(opts.storageUrl, opts.serviceKey);
        const createdHere = await claimTargetBucket(client, bucket, ownerToken, manifest.bucket);
        try {
            let bytes = 0;
            await forEachLimited(manifest.objects, opts.concurrency ?? 8, async (e) => {
                const body = await store.get(e.vaultKey);
                unwrap(`upload ${bucket}/${e.key}`, await client.from(bucket).upload(e.key, body, {
                    upsert: true,
                    contentType: e.contentType,
                    ...cacheControlOptions(e.metadata),
                }));
                bytes += e.bytes;
            });
            const problems = await verifyRestoredObjects(client, bucket, manifest.objects, opts.concurrency ?? 8);
            if (problems.length > 0) throw new CheckFailedError(formatMismatches(bucket, problems));
            return { bucket, objects: manifest.objects.length, bytes, ownerToken };
        } catch (err) {
            if (!createdHere) throw err;
            // A failed create leaves no state behind, so nobody would ever hold this bucket's token
            // again: remove it now (the error above already lists what went wrong).
            const cleanup = await removeOwnedBucket(client, bucket, ownerToken).then(
                () => `the partly restored bucket ${bucket} was removed`,
                (e: Error) => `removing the partly restored bucket ${bucket} failed too, delete it by hand: ${e.message}`,
            );
            throw withMessageSuffix(err, `\n(${cleanup})`);
        }
    } catch (err) {
        throw redactError(err, [opts.serviceKey, ownerToken]);
    }
}

export interface RemoveOptions {
    /** The token restoreStorage returned. Without it nothing is deleted. */
    ownerToken: string | undefined;
    /** The bucket the restore came from: never deleted, whatever its marker says. */
    original?: string;
}

/**
 * Empties and deletes a restored bucket, only when its marker proves `ownerToken`. A bucket that is
 * already gone is fine.
 */
export async function removeRestoredBucket(storageUrl: string, serviceKey: string, bucket: string, owner: RemoveOptions): Promise<"removed" | "already-gone"> {
    const secrets = [serviceKey, owner.ownerToken ?? ""].filter((s) => s !== "");
    try {
        if (owner.original !== undefined && bucket === owner.original) throw new RefusedError(`refusing to delete the original bucket ${bucket}`, { code: "SOURCE_PROTECTED" });
        const client = storageClient(storageUrl, serviceKey);
        if (!owner.ownerToken) {
            if (!(await bucketExists(storageUrl, serviceKey, bucket))) return "already-gone";
            throw new RefusedError(
                `refusing to empty or delete bucket ${bucket}: no owner token was recorded for it (made by a supabase-dr version without ownership markers), ` +
                    `so it cannot be told apart from somebody else's bucket. Check it by hand, delete it yourself if it is a drill's, then remove the resource from the state`,
                { code: "NOT_SCRATCH" },
            );
        }
        return await removeOwnedBucket(client, bucket, owner.ownerToken);
    } catch (err) {
        throw redactError(err, secrets);
    }
}

async function removeOwnedBucket(client: StorageClient, bucket: string, ownerToken: string): Promise<"removed" | "already-gone"> {
    const ownership = await checkBucketOwnership(client, bucket, ownerToken);
    if (ownership.state === "missing") return "already-gone";
    if (ownership.state === "foreign") {
        throw new RefusedError(
            `refusing to empty or delete bucket ${bucket}: ${ownership.reason}, so this supabase-dr restore did not create it. ` +
                `It is left untouched: check it by hand, and if it is a drill's leftover delete it yourself, then remove the resource from the state (pulumi state delete <urn>)`,
            { code: "NOT_SCRATCH" },
        );
    }
    // Collected first, removed after: removing while paging by offset would skip entries. The marker
    // goes last, so an interrupted removal leaves a bucket that is still provably ours.
    const keys: string[] = [];
    for await (const obj of listAllObjects(client, bucket)) if (obj.key !== OWNER_MARKER_KEY) keys.push(obj.key);
    for (let i = 0; i < keys.length; i += 1000) {
        unwrap(`remove objects from ${bucket}`, await client.from(bucket).remove(keys.slice(i, i + 1000)));
    }
    unwrap(`remove the ownership marker of ${bucket}`, await client.from(bucket).remove([OWNER_MARKER_KEY]));
    // Storage deletes only empty buckets, so the marker cannot outlive this step. Should the delete
    // fail, the empty bucket can no longer prove it is ours, and it is left for a person to delete.
    const deleted = await client.deleteBucket(bucket);
    if (deleted.error) throw withMessageSuffix(storageFailure(`delete bucket ${bucket}`, deleted.error), `; it is empty and its marker is gone: delete the empty bucket ${bucket} by hand`);
    return "removed";
}

/** True when the bucket exists. */
export async function bucketExists(storageUrl: string, serviceKey: string, bucket: string): Promise<boolean> {
    const { data, error } = await storageClient(storageUrl, serviceKey).getBucket(bucket);
    if (data) return true;
    // Only "not found" means gone: hosted Storage answers a rejected key with HTTP 400 as well
    // (statusCode 403 in the body), which must not read as "the bucket is gone".
    if (isStorageNotFound(error)) return false;
    throw redactError(storageFailure(`get bucket ${bucket}`, error ?? "unknown error"), [serviceKey]);
}
