// Where `recover storage` reads from: the bucket's newest daily snapshot in the vault, the snapshot of
// one day, or a monthly archive (lib/storage/manifest.ts keys, written by lib/storage/snapshot.ts).
// The manifest's own bytes are hashed as read, so the audit record names exactly the manifest used.
import { createHash } from "node:crypto";
import { manifestKey, monthLabel, monthlyManifestKey, parseManifest, type StorageManifest } from "../storage/manifest";
import { readText } from "../storage/snapshot";
import type { BlobStore } from "../vault/blobStore";
import { dayPath } from "../vault/keys";

/** How far back "newest" looks for a daily snapshot (the vault keeps dailies for at most this long). */
export const NEWEST_LOOKBACK_DAYS = 35;

export type SnapshotChoice = { kind: "newest" } | { kind: "day"; day: Date } | { kind: "monthly"; month: Date };

export interface ChosenSnapshot {
    manifest: StorageManifest;
    manifestKey: string;
    /** sha256 of the manifest's bytes as read from the vault. */
    manifestSha256: string;
    /** The vault (no credentials). */
    location: string;
}

async function load(store: BlobStore, key: string, env: string, bucket: string): Promise<ChosenSnapshot> {
    const text = await readText(store, key);
    const manifest = parseManifest(text, key);
    if (manifest.bucket !== bucket || manifest.env !== env) {
        throw new Error(`${key} is the manifest of bucket ${manifest.bucket} in env ${manifest.env}, not of ${bucket} in ${env}`);
    }
    return { manifest, manifestKey: key, manifestSha256: createHash("sha256").update(text, "utf8").digest("hex"), location: store.location };
}

export async function loadSnapshot(store: BlobStore, env: string, bucket: string, choice: SnapshotChoice, now: Date, lookbackDays = NEWEST_LOOKBACK_DAYS): Promise<ChosenSnapshot> {
    if (choice.kind === "monthly") {
        const key = monthlyManifestKey(env, bucket, choice.month);
        if (!(await store.head(key))) throw new Error(`no monthly archive of bucket ${bucket} for ${monthLabel(choice.month)} in ${store.location} (${key})`);
        const found = await load(store, key, env, bucket);
        if (found.manifest.tier !== "monthly") throw new Error(`${key} is not a monthly archive's manifest`);
        return found;
    }
    if (choice.kind === "day") {
        const key = manifestKey(env, bucket, choice.day);
        if (!(await store.head(key))) throw new Error(`no snapshot of bucket ${bucket} for ${dayPath(choice.day)} in ${store.location} (${key})`);
        return load(store, key, env, bucket);
    }
    // Day by day from today backwards: one HEAD per day, instead of listing every object the vault holds.
    for (let back = 0; back <= lookbackDays; back++) {
        const key = manifestKey(env, bucket, new Date(now.getTime() - back * 86_400_000));
        if (await store.head(key)) return load(store, key, env, bucket);
    }
    throw new Error(`no snapshot of bucket ${bucket} in ${store.location} from the last ${lookbackDays} days (storage/${env}/${bucket}/YYYY/MM/DD/${"manifest.json"})`);
}
