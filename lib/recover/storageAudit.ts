// The audit record of a `recover storage --apply`, in the same directory and naming as the other
// recover commands' records (lib/recover/audit.ts): who, when, which bucket, how many objects and
// bytes, the before-image, and the snapshot used (manifest key and the sha256 of its bytes).
// Names and counts only, never object contents; the Storage URL without credentials.
import { writeAuditFile } from "./audit";

export interface StorageAuditRecord {
    action: "recover storage";
    into: "live" | "review";
    /** Storage API host (STORAGE_URL's origin and path; it carries no credentials). */
    storage: string;
    bucket: string;
    /** The bucket written: the live bucket, or restored-<bucket>-<yyyyMMdd>. */
    target: string;
    filter: string;
    snapshot: { vault: string; manifestKey: string; manifestSha256: string; takenAt: string };
    /** Objects (and their bytes) uploaded. */
    objects: number;
    bytes: number;
    missingBefore: number;
    changedBefore: number;
    /** Directory of the previous content of overwritten live objects, or why there is none. */
    beforeImage: string;
    verified?: { objects: number; failed: number };
    signedUrls?: { checked: number; reachable: number };
    outcome: "completed" | "failed";
    error?: string;
}

/** Writes audit-recover-storage-<time>-<random>.json (O_EXCL, 0600, fsynced); returns its path. */
export function writeStorageAudit(artifactsDir: string, record: StorageAuditRecord, now = new Date()): string {
    return writeAuditFile(artifactsDir, record, now);
}
