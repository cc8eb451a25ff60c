import { describe, expect, it } from "vitest";
import * as path from "node:path";
import { backupSettingsFromEnv, secretsOf, vaultSettingsFromEnv, type StackLock } from "../../lib/backupJob/config";
import { readStackFile } from "../../lib/infra/stackFile";

const ROOT = path.resolve(__dirname, "../..");
/** The lock the repository's stack file declares for an environment, as scripts/backup.ts reads it. */
const stackLock = (env: string): StackLock | undefined => {
    const aws = readStackFile(ROOT, env)?.aws;
    return aws && { objectLockMode: aws.objectLockMode, retentionDays: aws.retentionDays, monthlyArchiveMonths: aws.monthlyArchiveMonths, file: `Pulumi.${env}.yaml` };
};

const base = { SOURCE_DB_URL: "postgresql://u:pw-secret@db:5432/postgres", BACKUP_ENV: "prod", BACKUP_BUCKET: "vault" };

describe("backup job configuration", () => {
    it("names each missing variable", () => {
        for (const name of Object.keys(base)) {
            expect(() => backupSettingsFromEnv({ ...base, [name]: undefined })).toThrow(new RegExp(`^${name} is not set`));
        }
    });

    it("applies runbook 004's defaults and reads the S3 endpoint and keys", () => {
        const s = backupSettingsFromEnv({ ...base, S3_ENDPOINT: "http://127.0.0.1:9000", AWS_ACCESS_KEY_ID: "AK", AWS_SECRET_ACCESS_KEY: "SK-secret" });
        expect(s).toMatchObject({ env: "prod", retentionDays: 7, monthlyArchiveMonths: 12 });
        expect(s.vault).toMatchObject({ bucket: "vault", endpoint: "http://127.0.0.1:9000", lockMode: "COMPLIANCE", region: "us-east-1" });
        expect(s.vault.credentials?.secretAccessKey).toBe("SK-secret");
    });

    it("rejects bad numbers, lock modes, half credentials and environment names without echoing secrets", () => {
        expect(() => backupSettingsFromEnv({ ...base, RETENTION_DAYS: "0" })).toThrow(/RETENTION_DAYS must be a positive/);
        expect(() => backupSettingsFromEnv({ ...base, MONTHLY_ARCHIVE_MONTHS: "1.5" })).toThrow(/MONTHLY_ARCHIVE_MONTHS/);
        expect(() => vaultSettingsFromEnv({ ...base, OBJECT_LOCK_MODE: "loose" })).toThrow(/OBJECT_LOCK_MODE/);
        expect(vaultSettingsFromEnv({ ...base, OBJECT_LOCK_MODE: "governance" }).lockMode).toBe("GOVERNANCE");
        const half = () => vaultSettingsFromEnv({ ...base, AWS_SECRET_ACCESS_KEY: "SK-secret" });
        expect(half).toThrow(/AWS_ACCESS_KEY_ID is not/);
        expect(() => half()).not.toThrow(/SK-secret/);
        expect(() => backupSettingsFromEnv({ ...base, BACKUP_ENV: "prod/../x" })).toThrow(/environment/);
    });

    it("locks as the environment's stack file declares: staging's vault is GOVERNANCE, 3 days, monthly 3 months", () => {
        const staging = backupSettingsFromEnv({ ...base, BACKUP_ENV: "staging" }, stackLock);
        expect(staging).toMatchObject({ retentionDays: 3, monthlyArchiveMonths: 3, lockSource: "Pulumi.staging.yaml" });
        expect(staging.vault.lockMode).toBe("GOVERNANCE");
        const prod = backupSettingsFromEnv(base, stackLock);
        expect(prod).toMatchObject({ retentionDays: 7, monthlyArchiveMonths: 12, lockSource: "Pulumi.prod.yaml" });
        expect(prod.vault.lockMode).toBe("COMPLIANCE");
    });

    it("an explicit variable wins over the stack file, and the source says so", () => {
        const s = backupSettingsFromEnv({ ...base, BACKUP_ENV: "staging", RETENTION_DAYS: "5" }, stackLock);
        expect(s).toMatchObject({ retentionDays: 5, monthlyArchiveMonths: 3, lockSource: "Pulumi.staging.yaml, RETENTION_DAYS" });
        expect(s.vault.lockMode).toBe("GOVERNANCE");
    });

    it("without a stack file or variables, runbook 004's defaults — named as defaults", () => {
        const s = backupSettingsFromEnv({ ...base, BACKUP_ENV: "dev" }, stackLock);
        expect(s).toMatchObject({ retentionDays: 7, monthlyArchiveMonths: 12, lockSource: "defaults (no Pulumi.<env>.yaml, no OBJECT_LOCK_MODE/RETENTION_DAYS/MONTHLY_ARCHIVE_MONTHS)" });
    });

    it("lists the values to redact", () => {
        expect(secretsOf({ AWS_SECRET_ACCESS_KEY: "s1", WEBHOOK_URL: "https://hooks/x", AWS_ACCESS_KEY_ID: "public" })).toEqual(["s1", "https://hooks/x"]);
    });
});
