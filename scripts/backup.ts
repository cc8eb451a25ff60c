// `npm run backup`: the nightly backup job (lib/backupJob/run.ts) into the S3 vault.
// Exit 0 when every object is in the vault (and the mirror, if any); 1 on failure; 2 on bad configuration.
import { backupSettingsFromEnv, s3StoreFor, secretsOf } from "../lib/backupJob/config";
import { runBackup } from "../lib/backupJob/run";
import { redact } from "../lib/redact";

const USAGE = `Usage: npm run backup [-- --split] [-- --json]

Dumps SOURCE_DB_URL (custom format, fingerprinted) and uploads it with Object Lock retention to
s3://$BACKUP_BUCKET/db/$BACKUP_ENV/YYYY/MM/DD/ (plus monthly/db/... on the month's first backup).
  --split   also roles.sql / schema.sql / data.sql (supabase db dump style)
Environment: SOURCE_DB_URL, BACKUP_ENV, BACKUP_BUCKET, RETENTION_DAYS (7), MONTHLY_ARCHIVE_MONTHS (12),
OBJECT_LOCK_MODE (COMPLIANCE), AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the SDK's credential
chain), S3_ENDPOINT (MinIO).`;

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    if (args.includes("-h") || args.includes("--help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const secrets = secretsOf(process.env);
    let settings;
    try {
        settings = backupSettingsFromEnv(process.env);
    } catch (err) {
        process.stderr.write(`backup: ${redact((err as Error).message, secrets)}\n\n${USAGE}\n`);
        return 2;
    }
    const result = await runBackup({
        sourceUrl: settings.sourceUrl,
        env: settings.env,
        store: s3StoreFor(settings.vault),
        retentionDays: settings.retentionDays,
        monthlyArchiveMonths: settings.monthlyArchiveMonths,
        split: args.includes("--split"),
        secrets,
        onProgress: (line) => process.stderr.write(`backup: ${redact(line, secrets)}\n`),
    });
    if (args.includes("--json")) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    else process.stdout.write(`backup ${result.id}: ${result.primary.uploaded.length} objects in ${result.primary.location}${result.primary.monthlyArchive ? " (with monthly archive)" : ""} in ${(result.durationMs / 1000).toFixed(1)}s\n`);
    if (result.mirror?.error) return 1;
    return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
    process.stderr.write(`backup: ${redact((err as Error).message, secretsOf(process.env))}\n`);
    process.exit(1);
});
