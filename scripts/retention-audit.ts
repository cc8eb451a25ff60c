// `npm run retention-audit`: runbook 004's quarterly audit of the S3 vault (lib/vault/audit.ts) and,
// when the archive's variables are set, of the Azure archive (lib/vault/azureAudit.ts). Writes
// the text report to stdout, with --report FILE also to a file (the workflow's artifact), and with
// --json FILE the full report as JSON. Exit 0 PASS, 1 FAIL, 3 SKIPPED (every check passed but the delete
// proof was not run: immutability is unproven, so the audit declines to pass); errors exit with their
// class's code (lib/cli/run.ts: 2 bad configuration, 5 S3 unreachable, …).
import * as fs from "node:fs";
import * as path from "node:path";
import { AzureCliCredential } from "../lib/backupJob/azureCliCredential";
import { backupEnvName, clockOverride, positiveInt, secretsOf, vaultSettingsFromEnv } from "../lib/backupJob/config";
import { runCli } from "../lib/cli/run";
import { UsageError } from "../lib/errors";
import { readStackFile, stackFilePath, VAULT_SECTIONS } from "../lib/infra/stackFile";
import { redact } from "../lib/redact";
import { auditRetention, formatAuditReport, LOCK_CLOCK_TOLERANCE_MS, withArchiveNotAudited, withAzureArchive, type ExpectedLock } from "../lib/vault/audit";
import { auditAzureArchive, type AzureArchiveReport } from "../lib/vault/azureAudit";
import { ARM_SCOPE, readContainerPolicy, type ContainerPolicyRead } from "../lib/vault/azureAuditArm";
import { azureAuditSettingsFromEnv, type AzureAuditSettings } from "../lib/vault/azureAuditConfig";
import { AzureArchiveAuditSource } from "../lib/vault/azureAuditSource";
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
no Object Lock.

The expected lock comes from Pulumi.<env>.yaml's supabase-dr:aws (objectLockMode, retentionDays,
monthlyArchiveMonths, read as \`pulumi up\` reads them); OBJECT_LOCK_MODE, LOCK_RETENTION_DAYS and
LOCK_MONTHLY_MONTHS each override their field. The bucket default must be that mode and days; every
version must be locked in that mode (COMPLIANCE is accepted where GOVERNANCE is expected) until at
least its LastModified + retentionDays (db/, storage/) or + monthlyArchiveMonths × 31 days (monthly/),
less ${LOCK_CLOCK_TOLERANCE_MS / 60_000} minutes for the nightly's clock. The report says where the expectation came from.

The delete proof really sends DeleteObject for the newest locked version (and the newest version
protected only by the bucket default): it must be refused by Object Lock — HTTP 403 AccessDenied
"Access Denied because object protected by object lock.", as AWS and Versity Gateway answer; any
other answer is FAIL. It proves something only
when run as a principal IAM allows to delete versions (the retention-auditor role); an IAM denial is
reported as FAIL.

The Azure archive is audited too when AZURE_CONTAINER is set with AZURE_STORAGE_ACCOUNT (token from
the Azure CLI session: azure/login) or AZURE_STORAGE_CONNECTION_STRING, and AZURE_IMMUTABILITY as the
nightly has it (container, the default, or blob). AZURE_SUBSCRIPTION_ID and AZURE_RESOURCE_GROUP locate
the container's immutability policy in Azure Resource Manager (read with an ARM token from the same
CLI session; AZURE_ARM_ENDPOINT overrides https://management.azure.com for tests). Expected: a policy
of at least supabase-dr:azure immutabilityDays (AZURE_IMMUTABILITY_DAYS overrides), Locked on prod or
where lockImmutabilityPolicy is true, no protected append writes; every blob under the prefixes
protected for its tier (monthly archives in blob mode: monthlyArchiveMonths, AZURE_MONTHLY_ARCHIVE_MONTHS
overrides). No delete is attempted in Azure: that part rests on what ARM and the blob service report,
and the report says so. A FAIL there FAILs the audit. Exit 0 PASS, 1 FAIL, 2 bad configuration, 3 SKIPPED.`;

type Env = Record<string, string | undefined>;

/** The flag's value; throws when the flag is given without one. */
function flagValue(args: string[], flag: string): string | undefined {
    const at = args.indexOf(flag);
    if (at < 0) return undefined;
    const v = args[at + 1];
    if (!v || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
}

/**
 * The lock the vault must have. Each of OBJECT_LOCK_MODE, LOCK_RETENTION_DAYS and LOCK_MONTHLY_MONTHS,
 * when set, wins over its field of Pulumi.<env>.yaml's supabase-dr:aws (objectLockMode, retentionDays,
 * monthlyArchiveMonths), which is parsed exactly as `pulumi up` parses it, defaults included: the audit
 * expects what the deployed stack declares, and a stack file `pulumi up` would reject stops the audit.
 * With neither, it is an error: an audit that guessed its expectation could pass a wrong vault.
 */
export function expectedLock(env: Env, auditEnv: string, repoRoot = REPO_ROOT): ExpectedLock {
    const aws = readStackFile(repoRoot, auditEnv, VAULT_SECTIONS)?.aws;
    const file = path.basename(stackFilePath(repoRoot, auditEnv));
    const fromEnv: string[] = [];
    const fromFile: string[] = [];
    const missing: string[] = [];
    const pick = <T>(variable: string, field: string, read: () => T | undefined, stackValue: T | undefined): T | undefined => {
        if (env[variable]) {
            fromEnv.push(variable);
            return read();
        }
        if (stackValue !== undefined) fromFile.push(field);
        else missing.push(variable);
        return stackValue;
    };
    const mode = pick("OBJECT_LOCK_MODE", "objectLockMode", () => env.OBJECT_LOCK_MODE!.toUpperCase(), aws?.objectLockMode);
    const days = pick("LOCK_RETENTION_DAYS", "retentionDays", () => positiveInt(env, "LOCK_RETENTION_DAYS", 0), aws?.retentionDays);
    const monthlyMonths = pick("LOCK_MONTHLY_MONTHS", "monthlyArchiveMonths", () => positiveInt(env, "LOCK_MONTHLY_MONTHS", 0), aws?.monthlyArchiveMonths);
    if (mode !== undefined && mode !== "COMPLIANCE" && mode !== "GOVERNANCE") {
        throw new UsageError(`OBJECT_LOCK_MODE must be COMPLIANCE or GOVERNANCE (got ${JSON.stringify(env.OBJECT_LOCK_MODE)})`);
    }
    if (mode === undefined || days === undefined || monthlyMonths === undefined) {
        throw new UsageError(`the expected lock is unknown: no ${file}, and ${missing.join(", ")} not set`);
    }
    const source = [fromEnv.join(", "), fromFile.length ? `${file} (supabase-dr:aws ${fromFile.join(", ")})` : ""].filter(Boolean).join("; ");
    return { mode, days, monthlyMonths, source };
}

const NO_ARM = "AZURE_SUBSCRIPTION_ID and AZURE_RESOURCE_GROUP are not set: the container policy's days and state are known only to Azure Resource Manager";

/** The Azure section: the archive's blobs through the data plane, its container policy through ARM. */
async function auditArchive(s: AzureAuditSettings, env: string, now: () => Date): Promise<AzureArchiveReport> {
    const m = s.mirror;
    // One credential for both scopes: the CLI session azure/login opened (storage, then ARM).
    const credential = new AzureCliCredential();
    const source = m.kind === "connection-string"
        ? new AzureArchiveAuditSource({ connectionString: m.connectionString, container: m.container })
        : new AzureArchiveAuditSource({ accountUrl: m.accountUrl, credential, container: m.container });
    const arm = s.arm;
    const policy = async (): Promise<ContainerPolicyRead> => arm
        ? readContainerPolicy({ target: arm.target, endpoint: arm.endpoint, token: async () => (await credential.getToken(ARM_SCOPE)).token })
        : { outcome: "not-read", message: NO_ARM };
    return auditAzureArchive({ source, env, expected: s.expected, retention: m.retention, policy, now });
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
        // Read before anything runs: a half-configured archive is a configuration error (exit 2).
        azure: azureAuditSettingsFromEnv(process.env, env, REPO_ROOT),
    };
    const { vault, now } = settings;
    // A file:// vault (rehearsals, air-gapped runs) is audited too, and always FAILs: a directory has no Object Lock.
    const source = vault.localDir
        ? new DirAuditSource(new DirBlobStore(vault.localDir))
        : new S3AuditSource({ bucket: vault.bucket, region: vault.region, endpoint: vault.endpoint, credentials: vault.credentials });
    const clock = () => now ?? new Date();
    let report = await auditRetention({ source, env: settings.env, expected: settings.expected, proveImmutability: settings.prove, now: clock });
    if (settings.azure) report = withAzureArchive(report, await auditArchive(settings.azure, settings.env, clock));
    else if (readStackFile(REPO_ROOT, settings.env, VAULT_SECTIONS)?.azure) {
        report = withArchiveNotAudited(report, `Pulumi.${settings.env}.yaml declares one (supabase-dr:azure) but AZURE_CONTAINER and AZURE_STORAGE_ACCOUNT are not set`);
    }
    const text = redact(formatAuditReport(report), secrets) + "\n";
    process.stdout.write(text);
    if (settings.reportFile) fs.writeFileSync(settings.reportFile, text);
    if (settings.jsonFile) fs.writeFileSync(settings.jsonFile, redact(JSON.stringify(report, null, 2), secrets) + "\n");
    return report.result === "PASS" ? 0 : report.result === "SKIPPED" ? 3 : 1;
}

if (require.main === module) runCli("retention-audit", main, { secrets: () => secretsOf(process.env), usage: USAGE });
