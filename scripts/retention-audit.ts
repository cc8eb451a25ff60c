// `npm run retention-audit`: runbook 004's quarterly audit of the S3 vault (lib/vault/audit.ts). Writes
// the text report to stdout, with --report FILE also to a file (the workflow's artifact), and with
// --json FILE the full report as JSON. Exit 0 PASS, 1 FAIL, 3 SKIPPED (every check passed but the delete
// proof was not run: immutability is unproven, so the audit declines to pass); errors exit with their
// class's code (lib/cli/run.ts: 2 bad configuration, 5 S3 unreachable, …).
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { backupEnvName, clockOverride, positiveInt, secretsOf, vaultSettingsFromEnv } from "../lib/backupJob/config";
import { runCli } from "../lib/cli/run";
import { UsageError } from "../lib/errors";
import { redact } from "../lib/redact";
import { auditRetention, formatAuditReport, type ExpectedLock } from "../lib/vault/audit";
import { DirAuditSource } from "../lib/vault/dirAudit";
import { DirBlobStore } from "../lib/vault/dirStore";
import { S3AuditSource } from "../lib/vault/s3Audit";

const REPO_ROOT = path.resolve(__dirname, "..");

const USAGE = `Usage: npm run retention-audit -- [--env NAME] [--report FILE] [--json FILE] [--no-delete-proof]

  --env NAME          environment whose prefixes are audited (default: $BACKUP_ENV)
  --report FILE       also write the text report to FILE
  --json FILE         write the full report (every version) as JSON to FILE
  --no-delete-proof   do not attempt the delete: the result is at best SKIPPED, never PASS

Environment: BACKUP_BUCKET, AWS_REGION, AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
the SDK's chain: in CI the retention-auditor role), S3_ENDPOINT (test server), NOW (ISO time the audit
acts at, for rehearsals). A file:///dir BACKUP_BUCKET is audited too and always FAILs: a directory has
no Object Lock. The expected bucket
lock is OBJECT_LOCK_MODE and LOCK_RETENTION_DAYS, or else supabase-dr:aws objectLockMode and
retentionDays of Pulumi.<env>.yaml.

The delete proof really sends DeleteObject for the newest locked version (and the newest version
protected only by the bucket default): it must be refused by Object Lock. It proves something only
when run as a principal IAM allows to delete versions (the retention-auditor role); an IAM denial is
reported as FAIL. Exit 0 PASS, 1 FAIL, 2 bad configuration, 3 SKIPPED.`;

type Env = Record<string, string | undefined>;

/** The flag's value; throws when the flag is given without one. */
function flagValue(args: string[], flag: string): string | undefined {
    const at = args.indexOf(flag);
    if (at < 0) return undefined;
    const v = args[at + 1];
    if (!v || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
}

/** The lock the vault must have: from the environment, else from the infrastructure stack file. */
export function expectedLock(env: Env, auditEnv: string, repoRoot = REPO_ROOT): ExpectedLock {
    let mode = env.OBJECT_LOCK_MODE?.toUpperCase();
    let days = env.LOCK_RETENTION_DAYS ? positiveInt(env, "LOCK_RETENTION_DAYS", 0) : undefined;
    const stackFile = path.join(repoRoot, `Pulumi.${auditEnv}.yaml`);
    if ((mode === undefined || days === undefined) && fs.existsSync(stackFile)) {
        let doc: { config?: Record<string, unknown> } | undefined;
        try {
            doc = yaml.load(fs.readFileSync(stackFile, "utf8")) as typeof doc;
        } catch (err) {
            throw new UsageError(`${path.basename(stackFile)} is not readable YAML: ${(err as Error).name}`, { cause: err });
        }
        const aws = doc?.config?.["supabase-dr:aws"] as { objectLockMode?: unknown; retentionDays?: unknown } | undefined;
        if (aws) {
            // The same defaults the infrastructure program applies (lib/infra/config.ts).
            mode ??= String(aws.objectLockMode ?? "COMPLIANCE").toUpperCase();
            days ??= aws.retentionDays === undefined ? 7 : Number(aws.retentionDays);
        }
    }
    if (mode === undefined || days === undefined) {
        throw new UsageError(`the expected bucket lock is unknown: set OBJECT_LOCK_MODE and LOCK_RETENTION_DAYS, or provide ${path.basename(stackFile)} with supabase-dr:aws settings`);
    }
    if (mode !== "COMPLIANCE" && mode !== "GOVERNANCE") throw new UsageError(`the expected object lock mode must be COMPLIANCE or GOVERNANCE (got ${JSON.stringify(mode)})`);
    if (!Number.isInteger(days) || days < 1) throw new UsageError(`the expected retention must be a whole number of days ≥ 1 (got ${JSON.stringify(days)})`);
    return { mode, days };
}

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    if (args.includes("-h") || args.includes("--help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const secrets = secretsOf(process.env);
    const known = new Set(["--env", "--report", "--json", "--no-delete-proof"]);
    const unknown = args.filter((a, i) => a.startsWith("--") && !known.has(a) && !["--env", "--report", "--json"].includes(args[i - 1]));
    if (unknown.length) throw new UsageError(`unknown option ${unknown[0]}`);
    const envFlag = flagValue(args, "--env");
    const env = backupEnvName(envFlag ? { BACKUP_ENV: envFlag } : process.env);
    const settings = {
        env,
        reportFile: flagValue(args, "--report"),
        jsonFile: flagValue(args, "--json"),
        vault: vaultSettingsFromEnv(process.env),
        expected: expectedLock(process.env, env),
        prove: !args.includes("--no-delete-proof"),
        now: clockOverride(process.env),
    };
    const { vault, now } = settings;
    // A file:// vault (rehearsals, air-gapped runs) is audited too, and always FAILs: a directory has no Object Lock.
    const source = vault.localDir
        ? new DirAuditSource(new DirBlobStore(vault.localDir))
        : new S3AuditSource({ bucket: vault.bucket, region: vault.region, endpoint: vault.endpoint, credentials: vault.credentials });
    const report = await auditRetention({ source, env: settings.env, expected: settings.expected, proveImmutability: settings.prove, now: () => now ?? new Date() });
    const text = redact(formatAuditReport(report), secrets) + "\n";
    process.stdout.write(text);
    if (settings.reportFile) fs.writeFileSync(settings.reportFile, text);
    if (settings.jsonFile) fs.writeFileSync(settings.jsonFile, redact(JSON.stringify(report, null, 2), secrets) + "\n");
    return report.result === "PASS" ? 0 : report.result === "SKIPPED" ? 3 : 1;
}

if (require.main === module) runCli("retention-audit", main, { secrets: () => secretsOf(process.env), usage: USAGE });
