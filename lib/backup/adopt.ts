// Adopts an existing backup (custom format, SQL, SQL.gz, or a `supabase db dump` directory) as a drill's
// backup artifact: detects its format, hashes it, checks it against a .sha256 / manifest found beside
// it, and writes a manifest for the drill. The backup itself is not copied: it may be large, and the
// manifest records where it is.
import * as fs from "node:fs";
import * as path from "node:path";
import { formatSha256File, parseSha256File, sha256File } from "./checksum";
import { backupFiles, detectFormat } from "./formats";
import { manifestPathFor, readManifest, relativeEntryPath, timestampId, writeManifest, type BackupManifest, type ManifestFile } from "./manifest";
import { CheckFailedError, UsageError } from "../errors";

export interface AdoptOptions {
    /** Backup file or supabase-trio directory. */
    backupPath: string;
    outDir: string;
    id?: string;
    /** When the backup's data was captured, if known (ISO 8601). Default: its manifest, else the file's mtime. */
    takenAt?: string;
    onProgress?: (message: string) => void;
}

export interface AdoptResult {
    manifest: BackupManifest;
    manifestPath: string;
}

/** Expected checksums published beside the backup: `<file>.sha256`, `dump.sha256`, or any *.sha256 listing it. */
function publishedChecksums(files: string[]): Map<string, string> {
    const expected = new Map<string, string>();
    const dirs = new Set(files.map((f) => path.dirname(f)));
    for (const dir of dirs) {
        for (const name of fs.readdirSync(dir).filter((n) => n.endsWith(".sha256"))) {
            const sumFile = path.join(dir, name);
            for (const e of parseSha256File(fs.readFileSync(sumFile, "utf8"), sumFile)) {
                expected.set(path.resolve(dir, e.name), e.sha256);
            }
        }
    }
    return expected;
}

/** A supabase-dr manifest that already describes this backup (e.g. written by the backup job). */
function existingManifest(backupPath: string): BackupManifest | undefined {
    const dir = fs.statSync(backupPath).isDirectory() ? backupPath : path.dirname(backupPath);
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith(".manifest.json"))) {
        try {
            const m = readManifest(path.join(dir, name));
            if (m.files.some((f) => path.resolve(dir, f.path) === path.resolve(backupPath) || path.resolve(dir, m.root) === path.resolve(backupPath))) {
                return m;
            }
        } catch {
            // not ours; ignore
        }
    }
    return undefined;
}

export async function adoptBackup(opts: AdoptOptions): Promise<AdoptResult> {
    const backupPath = path.resolve(opts.backupPath);
    const format = await detectFormat(backupPath);
    const files = backupFiles(backupPath, format);
    const published = publishedChecksums(files);
    const prior = existingManifest(backupPath);
    const id = opts.id ?? `backup_${timestampId()}`;
    const manifestPath = manifestPathFor(opts.outDir, id);

    const entries: ManifestFile[] = [];
    for (const file of files) {
        opts.onProgress?.(`hashing ${path.basename(file)}`);
        const sha256 = await sha256File(file);
        const expected = published.get(file) ?? prior?.files.find((f) => path.basename(f.path) === path.basename(file))?.sha256;
        if (expected && expected !== sha256) {
            throw new CheckFailedError(
                `checksum mismatch for ${path.basename(file)}: expected ${expected}, got ${sha256} — the backup is corrupt or was modified`,
            );
        }
        entries.push({ path: relativeEntryPath(manifestPath, file), bytes: fs.statSync(file).size, sha256 });
    }

    const takenAt = opts.takenAt ?? prior?.takenAt ?? fs.statSync(files[0]).mtime.toISOString();
    if (Number.isNaN(Date.parse(takenAt))) throw new UsageError(`takenAt '${opts.takenAt}' is not an ISO 8601 date`);
    const manifest: BackupManifest = {
        manifestVersion: 1,
        id,
        format,
        root: relativeEntryPath(manifestPath, backupPath),
        files: entries,
        takenAt: new Date(takenAt).toISOString(),
        takenAtSource: opts.takenAt || prior ? "declared" : "file-mtime",
        source: prior?.source,
        tools: { ...(prior?.tools ?? {}), node: process.version },
        fingerprint: prior?.fingerprint,
        fingerprintOptions: prior?.fingerprintOptions,
    };
    fs.mkdirSync(opts.outDir, { recursive: true });
    fs.writeFileSync(
        path.join(opts.outDir, `${id}.sha256`),
        formatSha256File(entries.map((e) => ({ name: e.path, sha256: e.sha256 }))),
    );
    writeManifest(manifestPath, manifest);
    return { manifest, manifestPath };
}
