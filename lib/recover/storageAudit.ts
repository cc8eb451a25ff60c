// The audit record of a `recover storage --apply`, in the same directory and naming as the other
// recover commands' records (lib/recover/audit.ts): who, when, which bucket, how many objects and
// bytes, the before-image, and the snapshot used (manifest key and the sha256 of its bytes).
// Names and counts only, never object contents; the Storage URL without credentials.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { actor, artifactName } from "./audit";

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
    fs.mkdirSync(artifactsDir, { recursive: true });
    const file = path.resolve(artifactsDir, artifactName("audit-recover-storage", "json", now));
    const body = { who: actor(), when: now.toISOString(), host: os.hostname(), ...record };
    const fd = fs.openSync(file, "wx", 0o600);
    try {
        fs.writeSync(fd, JSON.stringify(body, null, 2) + "\n");
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    return file;
}
