// The per-bucket storage manifest (runbook 002 "storage manifests", 001 Path C step 2): every object's
// key, size, content type, Storage metadata and sha256, plus where in the vault its bytes are. Every
// object a manifest lists lives beside it (under its own day, or its own month for a monthly archive),
// so a manifest never outlives its objects and a restore never has to guess.
import { monthPath, monthlyStorageKey, storageKey } from "../vault/keys";

export const MANIFEST_FILE = "manifest.json";
export const MANIFEST_VERSION = 1;

export interface ManifestEntry {
    /** Object path inside the bucket ("folder/sub/file.png"). */
    key: string;
    bytes: number;
    contentType: string;
    /** What Storage reports for the object (eTag, cacheControl, lastModified, ...). */
    metadata: Record<string, unknown>;
    sha256: string;
    lastModified: string;
    /** Vault key holding this object's bytes (under the manifest's own day or month folder). */
    vaultKey: string;
}

export interface StorageManifest {
    version: typeof MANIFEST_VERSION;
    env: string;
    bucket: string;
    /** ISO time of the snapshot. */
    takenAt: string;
    public: boolean;
    /**
     * "monthly" for runbook 004's monthly archive (monthly/storage/...), a copy of that night's daily
     * snapshot kept for the monthly window; absent on daily snapshots (manifests written before the
     * field existed are daily ones too).
     */
    tier?: "monthly";
    objects: ManifestEntry[];
}

/** `storage/{env}/{bucket}/YYYY/MM/DD/manifest.json` */
export function manifestKey(env: string, bucket: string, date: Date): string {
    return storageKey(env, bucket, date, MANIFEST_FILE);
}

/** `storage/{env}/{bucket}/YYYY/MM/DD/objects/<key>` */
export function objectVaultKey(env: string, bucket: string, date: Date, key: string): string {
    return storageKey(env, bucket, date, `objects/${key}`);
}

/** `monthly/storage/{env}/{bucket}/YYYY/MM/manifest.json` */
export function monthlyManifestKey(env: string, bucket: string, date: Date): string {
    return monthlyStorageKey(env, bucket, date, MANIFEST_FILE);
}

/** `monthly/storage/{env}/{bucket}/YYYY/MM/objects/<key>` */
export function monthlyObjectVaultKey(env: string, bucket: string, date: Date, key: string): string {
    return monthlyStorageKey(env, bucket, date, `objects/${key}`);
}

/** "YYYY-MM" of a date (UTC), as the rehearsal's --monthly names a month. */
export function monthLabel(date: Date): string {
    return monthPath(date).replace("/", "-");
}

/**
 * The objects of `manifest` whose bytes are not under `folder` (the manifest's own day or month
 * folder, ending in "/"). Each must be empty for a snapshot to stay restorable as long as it is kept:
 * anything outside lives by another folder's lifecycle.
 */
export function entriesOutside(manifest: StorageManifest, folder: string): ManifestEntry[] {
    if (!folder.endsWith("/")) throw new Error(`snapshot folder must end in "/" (got ${JSON.stringify(folder)})`);
    return manifest.objects.filter((e) => !e.vaultKey.startsWith(folder));
}

/** Parses and sanity-checks a manifest read back from the vault. */
export function parseManifest(text: string, source = "manifest"): StorageManifest {
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (err) {
        throw new Error(`${source} is not JSON: ${(err as Error).message}`);
    }
    const m = raw as Partial<StorageManifest>;
    if (!m || m.version !== MANIFEST_VERSION || typeof m.bucket !== "string" || typeof m.env !== "string" || !Array.isArray(m.objects)) {
        throw new Error(`${source} is not a version ${MANIFEST_VERSION} storage manifest`);
    }
    if (m.tier !== undefined && m.tier !== "monthly") {
        throw new Error(`${source}: tier must be "monthly" or absent (got ${JSON.stringify(m.tier)})`);
    }
    for (const [i, e] of m.objects.entries()) {
        if (!e || typeof e.key !== "string" || typeof e.vaultKey !== "string" || !/^[0-9a-f]{64}$/.test(String(e.sha256))
            || !Number.isInteger(e.bytes)) {
            throw new Error(`${source}: object #${i} lacks key, vaultKey, sha256 or bytes`);
        }
    }
    return m as StorageManifest;
}
