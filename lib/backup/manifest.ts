// The backup manifest: what a backup is, when it was taken, its checksums, the tools that made it,
// and (when the drill dumped the source itself) the source fingerprint taken inside the dump's own
// snapshot, so any later restore can be validated even when the source is gone or has moved on.
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackupFormat } from "./formats";

export interface ManifestFile {
    /** Relative to the manifest's directory when inside it, absolute otherwise. */
    path: string;
    bytes: number;
    sha256: string;
}

export interface BackupManifest {
    manifestVersion: 1;
    /** backup_<yyyymmddHHMMss> */
    id: string;
    format: BackupFormat;
    /** For the supabase-trio format: the directory holding the three files. */
    root: string;
    files: ManifestFile[];
    /** When the data was captured (snapshot time for our dumps). ISO 8601. */
    takenAt: string;
    /** How takenAt was learned: our own snapshot, a manifest/declaration, or the file's mtime. */
    takenAtSource: "snapshot" | "declared" | "file-mtime";
    source?: {
        /** host:port/database — never credentials. */
        endpoint: string;
        serverVersion: string;
        systemIdentifier?: string;
        databaseBytes?: number;
    };
    tools: Record<string, string>;
    /** Source fingerprint from lib/validate, taken in the dump's snapshot. JSON data. */
    fingerprint?: unknown;
    /** Options the fingerprint was taken with, so the target is fingerprinted the same way. */
    fingerprintOptions?: unknown;
}

export function manifestPathFor(dir: string, id: string): string {
    return path.join(dir, `${id}.manifest.json`);
}

export function writeManifest(file: string, manifest: BackupManifest): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(manifest, null, 2) + "\n");
    fs.renameSync(tmp, file);
}

export function readManifest(file: string): BackupManifest {
    let data: unknown;
    try {
        data = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new Error(`cannot read backup manifest ${file}: ${(err as Error).message}`);
    }
    const m = data as Partial<BackupManifest>;
    if (m.manifestVersion !== 1 || !m.id || !m.format || !Array.isArray(m.files) || !m.takenAt) {
        throw new Error(`${file} is not a supabase-dr backup manifest (manifestVersion 1 with id, format, files, takenAt)`);
    }
    return m as BackupManifest;
}

/** Absolute path of a manifest file entry. */
export function resolveFile(manifestFile: string, entry: ManifestFile): string {
    return path.resolve(path.dirname(manifestFile), entry.path);
}

/** The path to store for `file` in a manifest written to `manifestFile`. */
export function relativeEntryPath(manifestFile: string, file: string): string {
    const rel = path.relative(path.dirname(manifestFile), file);
    return rel.startsWith("..") || path.isAbsolute(rel) ? path.resolve(file) : rel;
}

export function timestampId(date = new Date()): string {
    return date.toISOString().replace(/[-:TZ.]/g, "").slice(0, 14);
}
