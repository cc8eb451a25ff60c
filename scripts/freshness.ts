// `npm run freshness`: is the newest database backup in the vault within the RPO, and intact?
// Exit 0 fresh; 1 stale, corrupt or missing (after notifying WEBHOOK_URL); 2 bad configuration (lib/cli/run.ts).
import { backupEnvName, clockOverride, secretsOf, vaultSettingsFromEnv, vaultStoreFor } from "../lib/backupJob/config";
import { runCli } from "../lib/cli/run";
import { redact } from "../lib/redact";
import { formatFreshness, parseRpoSeconds, runFreshnessAlarm } from "../lib/vault/freshness";

const USAGE = `Usage: npm run freshness [-- --json] [-- --no-verify]

Environment: BACKUP_ENV, BACKUP_BUCKET (or file:///dir), RPO_SECONDS (default 86400), WEBHOOK_URL (notified on failure),
HEALTHCHECK_URL (pinged on success), AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the SDK's
credential chain), S3_ENDPOINT (an S3-compatible server), NOW (ISO time, for rehearsals).`;

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    if (args.includes("-h") || args.includes("--help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const secrets = secretsOf(process.env);
    const settings = { env: backupEnvName(process.env), vault: vaultSettingsFromEnv(process.env), rpoSeconds: parseRpoSeconds(process.env.RPO_SECONDS), now: clockOverride(process.env) };
    const out = await runFreshnessAlarm({
        store: vaultStoreFor(settings.vault, settings.now),
        env: settings.env,
        rpoSeconds: settings.rpoSeconds,
        now: settings.now ? () => settings.now! : undefined,
        verify: !args.includes("--no-verify"),
        webhookUrl: process.env.WEBHOOK_URL || undefined,
        healthcheckUrl: process.env.HEALTHCHECK_URL || undefined,
        secrets,
    });
    if (args.includes("--json")) process.stdout.write(JSON.stringify(out.result, null, 2) + "\n");
    else process.stdout.write(redact(formatFreshness(out.result), secrets) + "\n");
    if (out.notified) process.stderr.write(`freshness: notified the ${out.notified} URL\n`);
    if (out.notifyError) process.stderr.write(`freshness: notification failed: ${out.notifyError}\n`);
    return out.ok ? 0 : 1;
}

runCli("freshness", main, { secrets: () => secretsOf(process.env), usage: USAGE });
