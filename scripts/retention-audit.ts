// `npm run retention-audit`: runbook 004's quarterly audit of the S3 vault. Writes a text report to
// stdout and, with --json FILE, the full report as JSON. Exit 1 when the delete proof fails or a
// database backup has no retention; 2 on bad configuration.
import * as fs from "node:fs";
import { backupEnvName, s3StoreFor, secretsOf, vaultSettingsFromEnv } from "../lib/backupJob/config";
import { redact } from "../lib/redact";
import { auditPassed, auditRetention, formatAuditReport } from "../lib/vault/audit";

const USAGE = `Usage: npm run retention-audit [-- --json FILE] [-- --no-delete-proof]

Environment: BACKUP_ENV, BACKUP_BUCKET, AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the
SDK's credential chain), S3_ENDPOINT (MinIO). The delete proof really attempts to delete the newest
locked object version: it must be refused.`;

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    if (args.includes("-h") || args.includes("--help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const jsonAt = args.indexOf("--json");
    const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
    if (jsonAt >= 0 && !jsonFile) {
        process.stderr.write(`retention-audit: --json needs a file name\n\n${USAGE}\n`);
        return 2;
    }
    const secrets = secretsOf(process.env);
    let env: string;
    let vault;
    try {
        env = backupEnvName(process.env);
        vault = vaultSettingsFromEnv(process.env);
    } catch (err) {
        process.stderr.write(`retention-audit: ${redact((err as Error).message, secrets)}\n\n${USAGE}\n`);
        return 2;
    }
    const report = await auditRetention({ store: s3StoreFor(vault), env, proveImmutability: !args.includes("--no-delete-proof") });
    process.stdout.write(redact(formatAuditReport(report), secrets) + "\n");
    if (jsonFile) fs.writeFileSync(jsonFile, redact(JSON.stringify(report, null, 2), secrets) + "\n");
    return auditPassed(report) ? 0 : 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
    process.stderr.write(`retention-audit: ${redact((err as Error).message, secretsOf(process.env))}\n`);
    process.exit(1);
});
