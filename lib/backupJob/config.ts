// Inputs of the backup job, the freshness check and the retention audit, read from the environment
// the nightly workflow sets (standard AWS_* variables, S3_ENDPOINT for MinIO). Errors name the missing
// variable; values that are secrets are returned only as what the caller must redact.
import { S3Store, type ObjectLockMode } from "../vault/s3Store";
import { assertEnvironment } from "../vault/keys";

export interface VaultSettings {
    bucket: string;
    region: string;
    endpoint?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    lockMode: ObjectLockMode;
}

export interface BackupSettings {
    sourceUrl: string;
    env: string;
    vault: VaultSettings;
    retentionDays: number;
    monthlyArchiveMonths: number;
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string, purpose: string): string {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set (${purpose})`);
    return v;
}

export function positiveInt(env: Env, name: string, fallback: number): number {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number (got ${JSON.stringify(raw)})`);
    return n;
}

export function backupEnvName(env: Env): string {
    const name = required(env, "BACKUP_ENV", "the environment whose backups these are, e.g. prod");
    assertEnvironment(name);
    return name;
}

export function vaultSettingsFromEnv(env: Env): VaultSettings {
    const bucket = required(env, "BACKUP_BUCKET", "the S3 vault bucket");
    const mode = (env.OBJECT_LOCK_MODE ?? "COMPLIANCE").toUpperCase();
    if (mode !== "COMPLIANCE" && mode !== "GOVERNANCE") {
        throw new Error(`OBJECT_LOCK_MODE must be COMPLIANCE or GOVERNANCE (got ${JSON.stringify(env.OBJECT_LOCK_MODE)})`);
    }
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (accessKeyId && !secretAccessKey) throw new Error("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    if (!accessKeyId && secretAccessKey) throw new Error("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    return {
        bucket,
        region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
        endpoint: env.S3_ENDPOINT || undefined,
        // Without explicit keys the SDK's chain applies (the workflow's OIDC role, a profile).
        credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN } : undefined,
        lockMode: mode,
    };
}

export function backupSettingsFromEnv(env: Env): BackupSettings {
    return {
        sourceUrl: required(env, "SOURCE_DB_URL", "the database to back up"),
        env: backupEnvName(env),
        vault: vaultSettingsFromEnv(env),
        retentionDays: positiveInt(env, "RETENTION_DAYS", 7),
        monthlyArchiveMonths: positiveInt(env, "MONTHLY_ARCHIVE_MONTHS", 12),
    };
}

export function s3StoreFor(v: VaultSettings): S3Store {
    return new S3Store({ bucket: v.bucket, region: v.region, endpoint: v.endpoint, credentials: v.credentials, lockMode: v.lockMode });
}

/** Every value of the environment that must never reach output. */
export function secretsOf(env: Env): string[] {
    return [env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN, env.WEBHOOK_URL, env.HEALTHCHECK_URL].filter((s): s is string => !!s);
}
