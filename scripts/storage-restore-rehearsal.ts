// `npm run storage-restore-rehearsal`: runbook 004 §3's monthly storage restore rehearsal. For every
// bucket of the project, the newest snapshot in the Azure archive (or the vault) is restored into a
// temporary bucket rehearsal-<bucket>-<yyyyMMdd> of the same project, every object is downloaded back
// and checked against the manifest's sha256 (lib/storage/restore.ts), and the temporary bucket is
// removed again (only if its ownership marker proves this run created it). A bucket without a recent
// snapshot fails the rehearsal: that is exactly what a monthly rehearsal is for.
// --monthly YYYY-MM (or "current", the month of the run's clock) rehearses runbook 004's monthly
// archive of that month instead (monthly/storage/<env>/<bucket>/YYYY/MM/, lib/storage/snapshot.ts).
// Either way the snapshot must be self-contained: an object stored outside the snapshot's own folder
// lives by another folder's lifecycle and would be gone before the snapshot is, so it fails the bucket
// even though it restores today.
// Exit 0 PASS, 1 FAIL; errors exit with their class's code (lib/cli/run.ts: 2 bad configuration, 4 the
// Azure CLI missing, 5 the Storage API failing, …). A report (Markdown and JSON) goes to BACKUP_DIR.
import * as fs from "node:fs";
import * as path from "node:path";
import { backupEnvName, clockOverride, mirrorSettingsFromEnv, mirrorStoreFor, secretsOf, storageSettingsFromEnv, vaultSettingsFromEnv, vaultStoreFor, warmUpMirror } from "../lib/backupJob/config";
import { parseCliArgs } from "../lib/cli/args";
import { runCli } from "../lib/cli/run";
import { UsageError } from "../lib/errors";
import { redact } from "../lib/redact";
import { storageClient, unwrap } from "../lib/storage/client";
import { entriesOutside, MANIFEST_FILE, manifestKey, monthLabel, monthlyManifestKey, type StorageManifest } from "../lib/storage/manifest";
import { removeRestoredBucket, restoreStorage } from "../lib/storage/restore";
import { findMonthlyManifest, findPreviousManifest } from "../lib/storage/snapshot";
import type { BlobStore } from "../lib/vault/blobStore";

const USAGE = `Usage: npm run storage-restore-rehearsal -- --env NAME [--from archive|vault] [--max-age-days N | --monthly YYYY-MM|current] [--keep]

  --env NAME          whose snapshots (storage/<env>/...); default $BACKUP_ENV
  --from archive      read the snapshots from the Azure archive (default; AZURE_STORAGE_ACCOUNT +
                      AZURE_CONTAINER with the Azure CLI login, or AZURE_STORAGE_CONNECTION_STRING)
  --from vault        read them from the S3 vault (BACKUP_BUCKET, AWS credentials)
  --max-age-days N    a bucket's newest snapshot may be at most N days old (default 2)
  --monthly MONTH     rehearse the monthly archive of MONTH (YYYY-MM, or current: the month of NOW / today)
                      instead of the newest daily snapshot. Archives move to the archive tier a day after
                      they are written: rehearse the current month's right after the 1st's backup
  --keep              keep the rehearsal buckets (default: removed after the check)
Environment: STORAGE_URL (<SUPABASE_URL>/storage/v1 of the project restored into), SUPABASE_SERVICE_ROLE_KEY,
STORAGE_BUCKETS (default: every bucket the project has), BACKUP_DIR (report; default ./storage-restore),
NOW (ISO time, rehearsals).`;

/** Which snapshot of each bucket is rehearsed. */
type Source = { kind: "daily"; maxAgeDays: number } | { kind: "monthly"; month: Date };

interface BucketResult {
    bucket: string;
    status: "PASS" | "FAIL";
    /** Key of the manifest restored. */
    snapshot?: string;
    takenAt?: string;
    objects?: number;
    bytes?: number;
    restoredInto?: string;
    removed?: boolean;
    seconds?: number;
    error?: string;
}

function dateStamp(d: Date): string {
    return d.toISOString().slice(0, 10).replace(/-/g, "");
}

/** "YYYY-MM" or "current" as the first day of that month (UTC). */
function parseMonth(text: string, now: Date): Date {
    if (text === "current") return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const m = /^(\d{4})-(\d{2})$/.exec(text);
    const month = m ? Number(m[2]) : 0;
    if (!m || month < 1 || month > 12) throw new UsageError(`--monthly must be YYYY-MM or current (got ${JSON.stringify(text)})`);
    return new Date(Date.UTC(Number(m[1]), month - 1, 1));
}

/** The manifest to rehearse and its key, or the reason there is none. */
async function findSnapshot(store: BlobStore, env: string, bucket: string, now: Date, source: Source): Promise<{ key: string; manifest: StorageManifest } | { error: string }> {
    if (source.kind === "monthly") {
        const key = monthlyManifestKey(env, bucket, source.month);
        const manifest = await findMonthlyManifest(store, env, bucket, source.month);
        if (!manifest) return { error: `no monthly archive of ${bucket} for ${monthLabel(source.month)} in ${store.location} (${key})` };
        if (manifest.tier !== "monthly") return { error: `${key} is not a monthly archive's manifest (tier ${JSON.stringify(manifest.tier ?? "daily")})` };
        return { key, manifest };
    }
    // findPreviousManifest looks at the days strictly before its date: start from tomorrow to include today.
    const tomorrow = new Date(now.getTime() + 86_400_000);
    const manifest = await findPreviousManifest(store, env, bucket, tomorrow, source.maxAgeDays + 1);
    if (!manifest) {
        return { error: `no snapshot of ${bucket} in ${store.location} from the last ${source.maxAgeDays} day(s) (storage/${env}/${bucket}/YYYY/MM/DD/manifest.json)` };
    }
    // A daily manifest's key is its day's, the day of takenAt (lib/storage/snapshot.ts writes both from one clock).
    return { key: manifestKey(env, bucket, new Date(manifest.takenAt)), manifest };
}

async function rehearseBucket(bucket: string, o: { store: BlobStore; env: string; now: Date; source: Source; storageUrl: string; serviceKey: string; keep: boolean }): Promise<BucketResult> {
    const started = Date.now();
    // An unreadable manifest or an unreachable store fails this bucket, not the report.
    const found = await findSnapshot(o.store, o.env, bucket, o.now, o.source).catch((err: Error) => ({ error: err.message }));
    if ("error" in found) return { bucket, status: "FAIL", error: found.error };
    const { key, manifest } = found;
    const target = `rehearsal-${bucket}-${dateStamp(o.now)}`;
    const result: BucketResult = { bucket, status: "FAIL", snapshot: key, takenAt: manifest.takenAt, objects: manifest.objects.length, restoredInto: target };
    const folder = key.slice(0, -MANIFEST_FILE.length);
    const outside = entriesOutside(manifest, folder);
    if (outside.length > 0) {
        const shown = outside.slice(0, 5).map((e) => `${e.key} → ${e.vaultKey}`).join(", ");
        return { ...result, error: `${key} is not self-contained: ${outside.length} object(s) are stored outside ${folder} and expire with another snapshot (${shown}${outside.length > 5 ? ", ..." : ""})` };
    }
    try {
        const restored = await restoreStorage({ storageUrl: o.storageUrl, serviceKey: o.serviceKey, store: o.store, manifest, targetBucket: target, date: o.now });
        result.bytes = restored.bytes;
        result.status = "PASS";
        if (!o.keep) result.removed = (await removeRestoredBucket(o.storageUrl, o.serviceKey, target, { ownerToken: restored.ownerToken, original: bucket })) === "removed";
    } catch (err) {
        result.status = "FAIL";
        result.error = (err as Error).message;
    }
    result.seconds = Math.round((Date.now() - started) / 100) / 10;
    return result;
}

function markdown(env: string, from: string, now: Date, source: Source, results: BucketResult[]): string {
    const status = results.length > 0 && results.every((r) => r.status === "PASS") ? "PASS" : "FAIL";
    const what = source.kind === "monthly" ? `monthly archive of ${monthLabel(source.month)}` : "newest snapshot";
    const lines = [
        `# Storage restore rehearsal (${env}): ${status}`,
        "",
        `Run at ${now.toISOString()} from ${from}. Each bucket's ${what} restored into a temporary bucket, every object's sha256 checked after download.`,
        "",
        "| bucket | result | snapshot taken | objects | bytes | restored into | removed | seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ...results.map((r) => `| ${r.bucket} | ${r.status} | ${r.takenAt ?? "-"} | ${r.objects ?? "-"} | ${r.bytes ?? "-"} | ${r.restoredInto ?? "-"} | ${r.removed === undefined ? "-" : r.removed ? "yes" : "no"} | ${r.seconds ?? "-"} |`),
        "",
        ...results.filter((r) => r.snapshot).map((r) => `- ${r.bucket}: ${r.snapshot}`),
    ];
    if (results.length === 0) lines.push("", "No bucket to rehearse: the project has no Storage bucket and STORAGE_BUCKETS names none.");
    for (const r of results.filter((x) => x.error)) lines.push("", `## ${r.bucket}: ${r.status}`, "", "```text", r.error!, "```");
    return lines.join("\n") + "\n";
}

async function main(): Promise<number> {
    const secrets = secretsOf(process.env);
    const { values } = parseCliArgs({
        options: { env: { type: "string" }, from: { type: "string" }, "max-age-days": { type: "string" }, monthly: { type: "string" }, keep: { type: "boolean" }, help: { type: "boolean", short: "h" } },
        strict: true,
    });
    if (values.help) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const env = backupEnvName(values.env ? { BACKUP_ENV: values.env } : process.env);
    const from = values.from ?? "archive";
    if (from !== "archive" && from !== "vault") throw new UsageError(`--from must be archive or vault (got ${JSON.stringify(from)})`);
    const maxAgeDays = Number(values["max-age-days"] ?? "2");
    if (!Number.isInteger(maxAgeDays) || maxAgeDays < 1) throw new UsageError(`--max-age-days must be a whole number ≥ 1 (got ${JSON.stringify(values["max-age-days"])})`);
    const storage = storageSettingsFromEnv(process.env);
    if (!storage) throw new UsageError("STORAGE_URL is not set (the project's Storage API, <SUPABASE_URL>/storage/v1, restored into)");
    const now = clockOverride(process.env);
    if (values.monthly !== undefined && values["max-age-days"] !== undefined) {
        throw new UsageError("--max-age-days applies to daily snapshots; --monthly names the archive's month instead");
    }
    const source: Source = values.monthly !== undefined
        ? { kind: "monthly", month: parseMonth(values.monthly, now ?? new Date()) }
        : { kind: "daily", maxAgeDays };
    let store: BlobStore;
    if (from === "archive") {
        const mirror = mirrorSettingsFromEnv(process.env);
        if (!mirror) throw new UsageError("AZURE_STORAGE_ACCOUNT and AZURE_CONTAINER are not set (--from archive: the Azure archive)");
        await warmUpMirror(mirror);
        store = mirrorStoreFor(mirror, now);
    } else {
        store = vaultStoreFor(vaultSettingsFromEnv(process.env), now);
    }
    const o = { env, from, source, storage, store, now: now ?? new Date(), keep: values.keep ?? false, dir: process.env.BACKUP_DIR || path.resolve("storage-restore") };
    let buckets = o.storage.buckets;
    if (!buckets) {
        const listed = unwrap("list buckets", await storageClient(o.storage.storageUrl, o.storage.serviceKey).listBuckets());
        // Earlier rehearsals' and restores' buckets are not the project's own.
        buckets = listed.map((b) => b.id).filter((id) => !/^(rehearsal|restored)-.+-\d{8}$/.test(id)).sort();
    }
    const results: BucketResult[] = [];
    for (const bucket of buckets) {
        process.stderr.write(`storage-restore-rehearsal: ${bucket} ...\n`);
        const r = await rehearseBucket(bucket, { store: o.store, env: o.env, now: o.now, source: o.source, storageUrl: o.storage.storageUrl, serviceKey: o.storage.serviceKey, keep: o.keep });
        if (r.error) r.error = redact(r.error, secrets);
        results.push(r);
    }
    const text = markdown(o.env, o.store.location, o.now, o.source, results);
    fs.mkdirSync(o.dir, { recursive: true });
    // A monthly and a daily rehearsal of the same run time keep separate reports.
    const kind = o.source.kind === "monthly" ? `_monthly-${monthLabel(o.source.month)}` : "";
    const base = path.join(o.dir, `storage-restore_${o.env}${kind}_${o.now.toISOString().replace(/[-:]/g, "").slice(0, 15)}`);
    fs.writeFileSync(`${base}.md`, text);
    const rehearsed = o.source.kind === "monthly" ? { monthly: monthLabel(o.source.month) } : { maxAgeDays: o.source.maxAgeDays };
    fs.writeFileSync(`${base}.json`, JSON.stringify({ env: o.env, from: o.store.location, at: o.now.toISOString(), ...rehearsed, results }, null, 2) + "\n");
    process.stdout.write(text);
    return results.length > 0 && results.every((r) => r.status === "PASS") ? 0 : 1;
}

runCli("storage-restore-rehearsal", main, { secrets: () => secretsOf(process.env), usage: USAGE });
