// `npm run backup`: the nightly backup (runbook 004 §1.1/§1.2) in one command: the database dump
// (lib/backupJob/run.ts) and a snapshot of every configured Storage bucket (lib/storage/snapshot.ts),
// both into the vault and, when configured, the same objects into the Azure archive.
// Both parts run even when the other fails (a broken dump must not also cost the night's files).
// Exit 0 when everything configured is in the vault and the mirror; 1 when a part failed (both parts
// ran); otherwise the code of the error (lib/cli/run.ts: 2 bad configuration, 4 the Azure CLI missing, …).
import * as path from "node:path";
import { backupSettingsFromEnv, mirrorStoreFor, secretsOf, vaultStoreFor, warmUpMirror, type BackupSettings, type StackLock } from "../lib/backupJob/config";
import { readStackFile, VAULT_SECTIONS } from "../lib/infra/stackFile";
import { dailyRetainUntil, monthlyRetainUntil } from "../lib/backupJob/plan";
import { runBackup, type BackupJobResult } from "../lib/backupJob/run";
import { runCli } from "../lib/cli/run";
import { UsageError } from "../lib/errors";
import { redact } from "../lib/redact";
import { snapshotStorage, type SnapshotResult } from "../lib/storage/snapshot";

const USAGE = `Usage: npm run backup [-- --split] [-- --json] [-- --require-storage] [-- --require-mirror]

Dumps SOURCE_DB_URL (custom format, fingerprinted) into $BACKUP_BUCKET under db/$BACKUP_ENV/YYYY/MM/DD/
(plus monthly/db/... on the month's first backup) with Object Lock retention, snapshots the Storage
buckets under storage/$BACKUP_ENV/<bucket>/YYYY/MM/DD/ (plus monthly/storage/... on a bucket's first
snapshot of the month), and writes the same objects into the Azure archive.
  --split            also roles.sql / schema.sql / data.sql (supabase db dump style)
  --require-storage  fail (exit 2) unless STORAGE_URL is set: scheduled jobs of Supabase projects
  --require-mirror   fail (exit 2) unless the Azure archive is configured
Environment:
  database  SOURCE_DB_URL, BACKUP_ENV
  locks     OBJECT_LOCK_MODE, RETENTION_DAYS, MONTHLY_ARCHIVE_MONTHS: each, when set, wins over what
            Pulumi.$BACKUP_ENV.yaml of this checkout declares (supabase-dr:aws objectLockMode,
            retentionDays, monthlyArchiveMonths); without either, COMPLIANCE, 7 days, 12 months
  vault     BACKUP_BUCKET (a bucket name, or file:///dir for a local directory vault), AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the SDK's credential
            chain), S3_ENDPOINT (an S3-compatible server)
  storage   STORAGE_URL (<SUPABASE_URL>/storage/v1), SUPABASE_SERVICE_ROLE_KEY, STORAGE_BUCKETS
            (comma-separated; default every bucket)
  mirror    AZURE_STORAGE_ACCOUNT + AZURE_CONTAINER (token from the Azure CLI login), or
            AZURE_STORAGE_CONNECTION_STRING + AZURE_CONTAINER; AZURE_IMMUTABILITY container (default: the
            container's policy) or blob (a blob-level policy per object)
  NOW       ISO time the job acts as (rehearsals over a simulated calendar)`;

interface Outcome {
    database?: BackupJobResult;
    databaseError?: string;
    storage?: SnapshotResult;
    storageError?: string;
}

function failures(o: Outcome): string[] {
    return [
        o.databaseError && `database: ${o.databaseError}`,
        o.database?.mirror?.error && `database mirror ${o.database.mirror.location}: ${o.database.mirror.error}`,
        o.storageError && `storage: ${o.storageError}`,
        o.storage?.mirror?.error && `storage mirror ${o.storage.mirror.location}: ${o.storage.mirror.error}`,
    ].filter((f): f is string => !!f);
}

function summary(o: Outcome, s: BackupSettings): string[] {
    const lines: string[] = [`locks: ${s.vault.lockMode}, ${s.retentionDays} day(s) daily, ${s.monthlyArchiveMonths} month(s) monthly (from ${s.lockSource})`];
    const db = o.database;
    if (db) {
        lines.push(`backup ${db.id}: ${db.primary.uploaded.length} objects in ${db.primary.location}${db.primary.monthlyArchive ? " (with monthly archive)" : ""} in ${(db.durationMs / 1000).toFixed(1)}s`);
        if (db.mirror && !db.mirror.error) lines.push(`  mirrored: ${db.mirror.uploaded.length} objects in ${db.mirror.location}`);
    }
    if (o.storage) {
        const st = o.storage;
        lines.push(`storage: ${st.buckets.length} bucket(s), ${st.listed} objects: ${st.uploaded} uploaded (${st.bytes} bytes), ${st.serverSideCopies} unchanged copied in the vault`);
        for (const b of st.buckets) {
            lines.push(`  ${b.bucket}: ${b.listed} objects → ${b.manifestKey}`);
            if (b.monthly) lines.push(`  ${b.bucket}: monthly archive → ${b.monthly.manifestKey} (locked until ${b.monthly.retainUntil})`);
        }
        if (st.mirror && !st.mirror.error) {
            const archived = st.mirror.buckets.filter((b) => b.monthly).length;
            lines.push(`  mirrored: ${st.mirror.buckets.length} bucket(s) in ${st.mirror.location}${archived > 0 ? `, ${archived} monthly archive(s)` : ""}`);
        }
    } else if (!s.storage) {
        lines.push("storage: not backed up (STORAGE_URL is not set)");
    }
    if (!s.mirror) lines.push("mirror: none configured (AZURE_STORAGE_ACCOUNT / AZURE_CONTAINER not set)");
    return lines;
}

const REPO_ROOT = path.resolve(__dirname, "..");

/** The vault lock Pulumi.<env>.yaml of this checkout declares (the stack `pulumi up` deployed from it). */
function stackLock(env: string): StackLock | undefined {
    const aws = readStackFile(REPO_ROOT, env, VAULT_SECTIONS)?.aws;
    return aws && { objectLockMode: aws.objectLockMode, retentionDays: aws.retentionDays, monthlyArchiveMonths: aws.monthlyArchiveMonths, file: `Pulumi.${env}.yaml` };
}

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    if (args.includes("-h") || args.includes("--help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const known = new Set(["--split", "--json", "--require-storage", "--require-mirror"]);
    const unknown = args.filter((a) => !known.has(a));
    const secrets = secretsOf(process.env);
    if (unknown.length > 0) throw new UsageError(`unknown argument(s): ${unknown.join(" ")}`);
    const settings: BackupSettings = backupSettingsFromEnv(process.env, stackLock);
    if (args.includes("--require-storage") && !settings.storage) {
        throw new UsageError("STORAGE_URL is not set (--require-storage): the project's Storage API, <SUPABASE_URL>/storage/v1");
    }
    if (args.includes("--require-mirror") && !settings.mirror) {
        throw new UsageError("AZURE_STORAGE_ACCOUNT and AZURE_CONTAINER are not set (--require-mirror): the Azure archive");
    }
    const log = (line: string) => process.stderr.write(`backup: ${redact(line, secrets)}\n`);
    const now = settings.now ?? new Date();
    const store = vaultStoreFor(settings.vault, settings.now);
    const mirror = settings.mirror && mirrorStoreFor(settings.mirror, settings.now);
    if (settings.mirror) await warmUpMirror(settings.mirror);

    const outcome: Outcome = {};
    try {
        outcome.database = await runBackup({
            sourceUrl: settings.sourceUrl,
            env: settings.env,
            store,
            mirror,
            retentionDays: settings.retentionDays,
            monthlyArchiveMonths: settings.monthlyArchiveMonths,
            split: args.includes("--split"),
            now: () => now,
            secrets,
            onProgress: log,
        });
    } catch (err) {
        outcome.databaseError = redact((err as Error).message, secrets);
        log(`database FAILED: ${outcome.databaseError}`);
    }
    if (settings.storage) {
        try {
            log(`storage: snapshot of ${settings.storage.buckets?.join(", ") ?? "every bucket"} from ${settings.storage.storageUrl}`);
            outcome.storage = await snapshotStorage({
                storageUrl: settings.storage.storageUrl,
                serviceKey: settings.storage.serviceKey,
                buckets: settings.storage.buckets,
                env: settings.env,
                store,
                mirror,
                now,
                // Same locks as the night's database backup: both leave the vault together.
                retainUntil: dailyRetainUntil(now, settings.retentionDays),
                monthly: { retainUntil: monthlyRetainUntil(now, settings.monthlyArchiveMonths) },
            });
        } catch (err) {
            outcome.storageError = redact((err as Error).message, secrets);
            log(`storage FAILED: ${outcome.storageError}`);
        }
    }
    const failed = failures(outcome);
    if (args.includes("--json")) process.stdout.write(redact(JSON.stringify({ ...outcome, failures: failed }, null, 2), secrets) + "\n");
    else process.stdout.write(redact(summary(outcome, settings).join("\n"), secrets) + "\n");
    for (const f of failed) process.stderr.write(`backup: FAILED ${redact(f, secrets)}\n`);
    return failed.length > 0 ? 1 : 0;
}

runCli("backup", main, { secrets: () => secretsOf(process.env), usage: USAGE });
