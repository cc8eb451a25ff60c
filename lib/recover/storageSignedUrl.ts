// Runbook 001 path C step 4-5 ("rebuild signed URLs … verify download from the app"): for a sample of
// the restored objects, a signed URL is created through the Storage API and fetched the way an app's
// user would (no key, only the URL's token), and the body's sha256 is compared with the snapshot's.
// The URLs carry a token, so they are never printed; they expire after a minute.
import { createHash } from "node:crypto";
import type { StorageClient } from "@supabase/storage-js";
import { storageFailure } from "../storage/client";
import type { ManifestEntry } from "../storage/manifest";

export const SIGNED_URL_SECONDS = 60;

export interface SignedUrlCheck {
    key: string;
    reachable: boolean;
    /** Why not, e.g. "HTTP 400" or "sha256 differs" (never the URL). */
    problem?: string;
}

/** Up to `size` entries spread evenly over the list (first and last included), in list order. */
export function sampleEntries<T>(entries: T[], size: number): T[] {
    if (size <= 0 || entries.length === 0) return [];
    if (entries.length <= size) return [...entries];
    if (size === 1) return [entries[0]];
    const picked = new Set<number>();
    for (let i = 0; i < size; i++) picked.add(Math.round((i * (entries.length - 1)) / (size - 1)));
    return [...picked].sort((a, b) => a - b).map((i) => entries[i]);
}

export async function checkSignedUrls(client: StorageClient, bucket: string, sample: ManifestEntry[], fetchImpl: typeof fetch = fetch): Promise<SignedUrlCheck[]> {
    const checks: SignedUrlCheck[] = [];
    for (const entry of sample) {
        const { data, error } = await client.from(bucket).createSignedUrl(entry.key, SIGNED_URL_SECONDS);
        if (error || !data) {
            checks.push({ key: entry.key, reachable: false, problem: `creating the signed URL failed: ${storageFailure("sign", error ?? "no URL returned").message.replace(/^sign: /, "")}` });
            continue;
        }
        try {
            const res = await fetchImpl(data.signedUrl);
            if (!res.ok) {
                await res.body?.cancel();
                checks.push({ key: entry.key, reachable: false, problem: `HTTP ${res.status}` });
                continue;
            }
            const sha256 = createHash("sha256").update(Buffer.from(await res.arrayBuffer())).digest("hex");
            checks.push(sha256 === entry.sha256 ? { key: entry.key, reachable: true } : { key: entry.key, reachable: false, problem: "reachable, but the body's sha256 differs from the snapshot's" });
        } catch (err) {
            // fetch's message names the failure (ECONNREFUSED …); the URL with its token is not in it.
            checks.push({ key: entry.key, reachable: false, problem: `GET failed: ${(err as Error).message}` });
        }
    }
    return checks;
}
