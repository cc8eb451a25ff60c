// The dry run's question for each selected snapshot object: is it missing live, or does live hold
// something else? Live objects are listed once (names, sizes, content types) and then streamed and
// hashed, because only the content's sha256 says whether it is the snapshot's; a size difference
// already says "changed" without a download. With a before-image directory (apply), every live object
// that is hashed is spooled there at the same time, so the before-image is exactly the content that
// was compared; identical ones are dropped again. Concurrency is bounded (lib/storage/pool.ts).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { StorageClient } from "@supabase/storage-js";
import { downloadStream, listAllObjects, type ListedObject } from "../storage/client";
import type { ManifestEntry } from "../storage/manifest";
import { forEachLimited } from "../storage/pool";
import { keepSpooled, spoolLiveObject, type BeforeImageEntry } from "./storageBeforeImage";

export type ChangeReason = "content" | "size" | "content type" | "cache control";

export interface ChangedObject {
    entry: ManifestEntry;
    reasons: ChangeReason[];
    live: { bytes: number; contentType: string; lastModified: string; sha256?: string };
    /** Set when a before-image directory was given. */
    beforeImage?: BeforeImageEntry;
}

export interface LiveComparison {
    liveBucketExists: boolean;
    missing: ManifestEntry[];
    changed: ChangedObject[];
    identical: number;
    /** Live objects not in the selection (left alone). */
    liveOnly: number;
    hashedBytes: number;
}

export interface CompareOptions {
    concurrency?: number;
    onProgress?: (message: string) => void;
    /** Apply: spool hashed live objects here and keep the changed ones as the before-image. */
    beforeImageDir?: string;
    /** Whether the live bucket exists (the caller has asked Storage already). */
    liveBucketExists: boolean;
}

function cacheControlOf(metadata: Record<string, unknown>): string | undefined {
    return typeof metadata.cacheControl === "string" ? metadata.cacheControl : undefined;
}

/** sha256 and size of a live object, streamed (never held whole in memory). */
export async function hashLive(client: StorageClient, bucket: string, key: string): Promise<{ sha256: string; bytes: number }> {
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of await downloadStream(client, bucket, key)) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
    }
    return { sha256: hash.digest("hex"), bytes };
}

function progressReporter(total: number, onProgress?: (m: string) => void) {
    let done = 0;
    let bytes = 0;
    let last = Date.now();
    return {
        tick(hashed: number) {
            done++;
            bytes += hashed;
            // Large buckets take minutes: say where it is every few seconds, not per object.
            if (onProgress && (Date.now() - last >= 3000 || done === total) && total > 0) {
                last = Date.now();
                onProgress(`compared ${done}/${total} object(s) with live (${(bytes / 1048576).toFixed(1)} MiB read)`);
            }
        },
        bytes: () => bytes,
    };
}

export async function compareWithLive(client: StorageClient, bucket: string, entries: ManifestEntry[], opts: CompareOptions): Promise<LiveComparison> {
    const result: LiveComparison = { liveBucketExists: opts.liveBucketExists, missing: [], changed: [], identical: 0, liveOnly: 0, hashedBytes: 0 };
    if (!opts.liveBucketExists) {
        result.missing = [...entries];
        return result;
    }
    const live = new Map<string, ListedObject>();
    opts.onProgress?.(`listing live bucket ${bucket}`);
    for await (const obj of listAllObjects(client, bucket)) live.set(obj.key, obj);
    const wanted = new Set(entries.map((e) => e.key));
    for (const key of live.keys()) if (!wanted.has(key)) result.liveOnly++;

    const progress = progressReporter(entries.length, opts.onProgress);
    await forEachLimited(entries, opts.concurrency ?? 8, async (entry) => {
        const listed = live.get(entry.key);
        if (!listed) {
            result.missing.push(entry);
            progress.tick(0);
            return;
        }
        const reasons: ChangeReason[] = [];
        const liveFacts: ChangedObject["live"] = { bytes: listed.bytes, contentType: listed.contentType, lastModified: listed.lastModified };
        let beforeImage: BeforeImageEntry | undefined;
        let readBytes = 0;
        if (opts.beforeImageDir) {
            const spooled = await spoolLiveObject(client, bucket, entry.key, opts.beforeImageDir);
            readBytes = spooled.bytes;
            liveFacts.sha256 = spooled.sha256;
            liveFacts.bytes = spooled.bytes;
            if (spooled.sha256 !== entry.sha256) reasons.push(spooled.bytes !== entry.bytes ? "size" : "content");
            const differs = reasons.length > 0 || listed.contentType !== entry.contentType || differentCache(entry, listed);
            if (differs) {
                const file = keepSpooled(opts.beforeImageDir, spooled);
                beforeImage = {
                    key: entry.key,
                    file,
                    sha256: spooled.sha256,
                    bytes: spooled.bytes,
                    contentType: listed.contentType,
                    cacheControl: cacheControlOf(listed.metadata),
                    lastModified: listed.lastModified,
                };
            } else {
                fs.rmSync(spooled.file, { force: true });
            }
        } else if (listed.bytes !== entry.bytes) {
            reasons.push("size");
        } else {
            const hashed = await hashLive(client, bucket, entry.key);
            readBytes = hashed.bytes;
            liveFacts.sha256 = hashed.sha256;
            if (hashed.sha256 !== entry.sha256) reasons.push(hashed.bytes !== entry.bytes ? "size" : "content");
        }
        if (listed.contentType !== entry.contentType) reasons.push("content type");
        if (differentCache(entry, listed)) reasons.push("cache control");
        if (reasons.length === 0) result.identical++;
        else result.changed.push({ entry, reasons, live: liveFacts, ...(beforeImage ? { beforeImage } : {}) });
        progress.tick(readBytes);
    });
    result.hashedBytes = progress.bytes();
    result.missing.sort((a, b) => (a.key < b.key ? -1 : 1));
    result.changed.sort((a, b) => (a.entry.key < b.entry.key ? -1 : 1));
    return result;
}

/** Only when the snapshot recorded a cache control: older manifests, or other sources, may not have. */
function differentCache(entry: ManifestEntry, listed: ListedObject): boolean {
    const recorded = cacheControlOf(entry.metadata);
    return recorded !== undefined && recorded !== cacheControlOf(listed.metadata);
}
