// The per-bucket storage manifest (runbook 002 "storage manifests", 001 Path C step 2): every object's
// key, size, content type, Storage metadata and sha256, plus where in the vault its bytes are. An
// unchanged object points at the copy an earlier snapshot made, so a restore never has to guess.
import { storageKey } from "../vault/keys";

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
    /** Vault key holding this object's bytes (this snapshot's or an earlier one's). */
    vaultKey: string;
}

export interface StorageManifest {
    version: typeof MANIFEST_VERSION;
    env: string;
    bucket: string;
    /** ISO time of the snapshot. */
    takenAt: string;
    public: boolean;
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
    for (const [i, e] of m.objects.entries()) {
        if (!e || typeof e.key !== "string" || typeof e.vaultKey !== "string" || !/^[0-9a-f]{64}$/.test(String(e.sha256))
            || !Number.isInteger(e.bytes)) {
            throw new Error(`${source}: object #${i} lacks key, vaultKey, sha256 or bytes`);
        }
    }
    return m as StorageManifest;
}
