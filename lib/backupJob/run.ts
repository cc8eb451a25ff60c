// The nightly backup job (issue 5): dump the source (custom format, fingerprinted in the dump's own
// snapshot), optionally the roles/schema/data split, then stream every file into the vault under
// db/{env}/YYYY/MM/DD/ with Object Lock retention, plus a monthly archive copy the first time a month
// sees a backup, and the same objects into an optional mirror (the Azure archive). Files are streamed
// from the temp directory: nothing is ever read whole into memory.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatSha256File, sha256File } from "../backup/checksum";
import { dumpSource } from "../backup/dump";
import { timestampId, writeManifest, type BackupManifest, type ManifestFile } from "../backup/manifest";
import { parseConnectionString } from "../postgres/connection";
import { redact } from "../redact";
import type { BlobStore } from "../vault/blobStore";
import { monthlyDbKey } from "../vault/keys";
import { planUploads, type LocalFile, type PlannedUpload } from "./plan";
import { dumpSplit } from "./split";

export interface BackupJobOptions {
    sourceUrl: string;
    env: string;
    store: BlobStore;
    /** Receives the same objects (e.g. lib/vault/azureStore.ts). */
    mirror?: BlobStore;
    retentionDays: number;
    monthlyArchiveMonths: number;
    split?: boolean;
    /** Injectable clock: decides the day folder and the retention dates. */
    now?: () => Date;
    /** Where the dump is staged (default: a new temp dir, deleted afterwards). */
    workDir?: string;
    keepWorkDir?: boolean;
    onProgress?: (line: string) => void;
    /** Values to redact from errors besides the source password (e.g. cloud secrets). */
    secrets?: string[];
}

export interface UploadedObject {
    key: string;
    tier: PlannedUpload["tier"];
    bytes: number;
    sha256: string;
    versionId?: string;
    retainUntil: string;
}

export interface StoreOutcome {
    location: string;
    uploaded: UploadedObject[];
    monthlyArchive: boolean;
    error?: string;
}

export interface BackupJobResult {
    id: string;
    env: string;
    takenAt: string;
    primary: StoreOutcome;
    mirror?: StoreOutcome;
    warnings: string[];
    durationMs: number;
}

const CONTENT_TYPES: [RegExp, string][] = [
    [/\.manifest\.json$/, "application/json"],
    [/\.(sha256|sql)$/, "text/plain; charset=utf-8"],
];

function contentTypeOf(name: string): string {
    return CONTENT_TYPES.find(([re]) => re.test(name))?.[1] ?? "application/octet-stream";
}

async function localFile(file: string): Promise<LocalFile> {
    const name = path.basename(file);
    return { path: file, name, bytes: fs.statSync(file).size, sha256: await sha256File(file), contentType: contentTypeOf(name) };
}

async function hasMonthlyArchive(store: BlobStore, env: string, now: Date): Promise<boolean> {
    const prefix = path.posix.dirname(monthlyDbKey(env, now, "x")) + "/";
    for await (const o of store.list(prefix)) if (o.key.endsWith(".manifest.json")) return true;
    return false;
}

function human(bytes: number): string {
    return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${bytes} B`;
}

async function uploadAll(store: BlobStore, files: LocalFile[], opts: BackupJobOptions, now: Date, progress: (l: string) => void): Promise<StoreOutcome> {
    const monthlyArchive = !(await hasMonthlyArchive(store, opts.env, now));
    const plan = planUploads({ env: opts.env, now, files, retentionDays: opts.retentionDays, monthlyArchiveMonths: opts.monthlyArchiveMonths, firstOfMonth: monthlyArchive });
    const uploaded: UploadedObject[] = [];
    for (const [i, u] of plan.entries()) {
        const started = Date.now();
        progress(`upload ${i + 1}/${plan.length} ${store.location}/${u.key} (${human(u.bytes)}, locked until ${u.retainUntil.toISOString()})`);
        const stored = await store.put(u.key, fs.createReadStream(u.path, { highWaterMark: 1 << 20 }), {
            sha256: u.sha256,
            bytes: u.bytes,
            contentType: u.contentType,
            retainUntil: u.retainUntil,
            metadata: { env: opts.env, tier: u.tier },
        });
        progress(`  done in ${((Date.now() - started) / 1000).toFixed(1)}s${stored.versionId ? ` (version ${stored.versionId})` : ""}`);
        uploaded.push({ key: u.key, tier: u.tier, bytes: u.bytes, sha256: u.sha256, versionId: stored.versionId, retainUntil: u.retainUntil.toISOString() });
    }
    return { location: store.location, uploaded, monthlyArchive };
}

export async function runBackup(opts: BackupJobOptions): Promise<BackupJobResult> {
    const started = Date.now();
    const now = (opts.now ?? (() => new Date()))();
    const progress = opts.onProgress ?? (() => undefined);
    const secrets = [parseConnectionString(opts.sourceUrl, "SOURCE_DB_URL").password, ...(opts.secrets ?? [])];
    const workDir = opts.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-backup-"));
    const warnings: string[] = [];
    const id = `backup_${timestampId(now)}`;
    try {
        const dump = await dumpSource({ sourceUrl: opts.sourceUrl, outDir: workDir, id, onProgress: progress });
        const manifest: BackupManifest & { split?: ManifestFile[] } = { ...dump.manifest };
        const extra: string[] = [];
        if (opts.split) {
            const split = await dumpSplit({ sourceUrl: opts.sourceUrl, outDir: workDir, id, onProgress: progress, onWarning: (w) => (warnings.push(w), progress(`warning: ${w}`)) });
            manifest.split = [];
            for (const s of split) {
                const f = await localFile(s.path);
                manifest.split.push({ path: f.name, bytes: f.bytes, sha256: f.sha256 });
                extra.push(s.path);
            }
            writeManifest(dump.manifestPath, manifest);
        }
        // One .sha256 for everything, so `sha256sum -c` on a downloaded day folder checks it all.
        const sumsPath = path.join(workDir, `${id}.sha256`);
        fs.writeFileSync(sumsPath, formatSha256File([...manifest.files, ...(manifest.split ?? [])].map((f) => ({ name: path.basename(f.path), sha256: f.sha256 }))));

        const files = await Promise.all([dump.dumpPath, ...extra, sumsPath, dump.manifestPath].map(localFile));
        const primary = await uploadAll(opts.store, files, opts, now, progress);
        let mirror: StoreOutcome | undefined;
        if (opts.mirror) {
            try {
                mirror = await uploadAll(opts.mirror, files, opts, now, progress);
            } catch (err) {
                // The vault copy is in place; a failed mirror is reported (and fails the job) without undoing it.
                mirror = { location: opts.mirror.location, uploaded: [], monthlyArchive: false, error: redact((err as Error).message, secrets) };
                progress(`mirror ${opts.mirror.location} FAILED: ${mirror.error}`);
            }
        }
        return { id, env: opts.env, takenAt: manifest.takenAt, primary, mirror, warnings, durationMs: Date.now() - started };
    } catch (err) {
        throw new Error(`backup of ${opts.env} failed: ${redact((err as Error).message, secrets)}`);
    } finally {
        if (!opts.keepWorkDir && !opts.workDir) fs.rmSync(workDir, { recursive: true, force: true });
    }
}
