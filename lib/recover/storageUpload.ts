// One snapshot object from the vault into a Storage bucket. The vault copy is spooled to a 0600
// temporary file and checked against the manifest's sha256 and size *before* anything is uploaded:
// a damaged vault copy must never overwrite a live object. The upload is an upsert with the
// object's original content type and cache control; nothing is ever deleted.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { sha256Tap } from "../backup/checksum";
import type { StorageClient } from "@supabase/storage-js";
import { cacheControlOptions, unwrap } from "../storage/client";
import type { ManifestEntry } from "../storage/manifest";
import type { BlobStore } from "../vault/blobStore";

async function spoolVerified(store: BlobStore, entry: ManifestEntry, tmpDir: string): Promise<string> {
    const file = path.join(tmpDir, randomBytes(8).toString("hex"));
    const tap = sha256Tap();
    try {
        await pipeline(await store.get(entry.vaultKey), tap.stream, fs.createWriteStream(file, { mode: 0o600 }));
        const sha256 = tap.digest();
        const bytes = tap.bytes();
        if (sha256 !== entry.sha256 || bytes !== entry.bytes) {
            throw new Error(`vault copy ${entry.vaultKey} of ${entry.key} holds ${bytes} bytes with sha256 ${sha256}, the manifest says ${entry.bytes} bytes with sha256 ${entry.sha256}: not uploaded`);
        }
        return file;
    } catch (err) {
        fs.rmSync(file, { force: true });
        throw err;
    }
}

export async function uploadFromVault(client: StorageClient, store: BlobStore, bucket: string, entry: ManifestEntry, tmpDir: string): Promise<void> {
    const file = await spoolVerified(store, entry, tmpDir);
    try {
        unwrap(`upload ${bucket}/${entry.key}`, await client.from(bucket).upload(entry.key, fs.createReadStream(file, { highWaterMark: 1 << 20 }), {
            upsert: true,
            contentType: entry.contentType,
            ...cacheControlOptions(entry.metadata),
        }));
    } finally {
        fs.rmSync(file, { force: true });
    }
}
