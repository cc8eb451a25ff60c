// Inputs of the backup job, the freshness check and the retention audit, read from the environment
// the nightly workflow sets (standard AWS_* variables, S3_ENDPOINT for a local S3 server). Errors name
// the missing variable; values that are secrets are returned only as what the caller must redact.
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { AzureBlobStore } from "../vault/azureStore";
import type { BlobStore } from "../vault/blobStore";
import { DirBlobStore } from "../vault/dirStore";
import { S3Store, type ObjectLockMode } from "../vault/s3Store";
import { assertEnvironment } from "../vault/keys";
import { AzureCliCredential, STORAGE_SCOPE } from "./azureCliCredential";
import { UsageError } from "../errors";

export interface VaultSettings {
    bucket: string;
    /**
     * BACKUP_BUCKET=file:///abs/dir: a local directory vault (lib/vault/dirStore.ts) for rehearsals and
     * air-gapped runs. Never immutable storage: retention is enforced by this code only.
     */
    localDir?: string;
    region: string;
    endpoint?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    lockMode: ObjectLockMode;
}

export interface StorageSettings {
    /** `<SUPABASE_URL>/storage/v1` */
    storageUrl: string;
    serviceKey: string;
    /** Only these buckets; undefined: every bucket Storage lists (new buckets are included automatically). */
    buckets?: string[];
}

export type MirrorSettings =
    /** Production: Entra ID token from the Azure CLI session (azure/login); the account allows no shared keys. */
    | { kind: "azure-cli"; accountUrl: string; container: string; retention: "policy" | "metadata" }
    /** A connection string (Azurite, or an account with shared keys): a secret. */
    | { kind: "connection-string"; connectionString: string; container: string; retention: "policy" | "metadata" };

/** The vault's lock as the environment's infrastructure stack file declares it (lib/infra/stackFile.ts). */
export interface StackLock {
    objectLockMode: ObjectLockMode;
    retentionDays: number;
    monthlyArchiveMonths: number;
    /** Where it was read, e.g. "Pulumi.staging.yaml". */
    file: string;
}

export interface BackupSettings {
    sourceUrl: string;
    env: string;
    vault: VaultSettings;
    retentionDays: number;
    monthlyArchiveMonths: number;
    /** Where lock mode, retention and monthly months came from (printed by the job). */
    lockSource: string;
    /** Undefined: STORAGE_URL is not set (a plain PostgreSQL source has no Storage). */
    storage?: StorageSettings;
    /** Undefined: no AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_CONNECTION_STRING. */
    mirror?: MirrorSettings;
    /** NOW (ISO time), for rehearsals over a simulated calendar; default the real clock. */
    now?: Date;
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string, purpose: string): string {
    const v = env[name];
    if (!v) throw new UsageError(`${name} is not set (${purpose})`);
    return v;
}

export function positiveInt(env: Env, name: string, fallback: number): number {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${name} must be a positive whole number (got ${JSON.stringify(raw)})`);
    return n;
}

export function backupEnvName(env: Env): string {
    const name = required(env, "BACKUP_ENV", "the environment whose backups these are, e.g. prod");
    assertEnvironment(name);
    return name;
}

/** `stackMode`: the stack file's objectLockMode, used when OBJECT_LOCK_MODE is not set. */
export function vaultSettingsFromEnv(env: Env, stackMode?: ObjectLockMode): VaultSettings {
    const bucket = required(env, "BACKUP_BUCKET", "the S3 vault bucket");
    let localDir: string | undefined;
    if (bucket.startsWith("file:")) {
        try {
            localDir = fileURLToPath(bucket);
        } catch {
            throw new UsageError(`BACKUP_BUCKET ${JSON.stringify(bucket)} is not a file:///absolute/path URL`);
        }
        if (!path.isAbsolute(localDir)) throw new UsageError(`BACKUP_BUCKET ${JSON.stringify(bucket)} must name an absolute directory`);
    }
    const mode = (env.OBJECT_LOCK_MODE || stackMode || "COMPLIANCE").toUpperCase();
    if (mode !== "COMPLIANCE" && mode !== "GOVERNANCE") {
        throw new UsageError(`OBJECT_LOCK_MODE must be COMPLIANCE or GOVERNANCE (got ${JSON.stringify(env.OBJECT_LOCK_MODE)})`);
    }
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (accessKeyId && !secretAccessKey) throw new UsageError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    if (!accessKeyId && secretAccessKey) throw new UsageError("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    return {
        bucket,
        region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
        endpoint: env.S3_ENDPOINT || undefined,
        // Without explicit keys the SDK's chain applies (the workflow's OIDC role, a profile).
        credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN } : undefined,
        lockMode: mode,
        ...(localDir ? { localDir } : {}),
    };
}

/** NOW as a Date, or undefined for the real clock. */
export function clockOverride(env: Env): Date | undefined {
    if (!env.NOW) return undefined;
    const now = new Date(env.NOW);
    if (Number.isNaN(now.getTime())) throw new UsageError(`NOW must be an ISO date (got ${JSON.stringify(env.NOW)})`);
    return now;
}

export function storageSettingsFromEnv(env: Env): StorageSettings | undefined {
    const url = env.STORAGE_URL;
    if (!url) {
        if (env.STORAGE_BUCKETS) throw new UsageError("STORAGE_BUCKETS is set but STORAGE_URL is not (the project's Storage API, <SUPABASE_URL>/storage/v1)");
        return undefined;
    }
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        throw new UsageError(`STORAGE_URL must be an http(s) URL such as https://<ref>.supabase.co/storage/v1 (got ${JSON.stringify(url)})`);
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new UsageError(`STORAGE_URL must be an http(s) URL (got ${JSON.stringify(url)})`);
    const serviceKey = required(env, "SUPABASE_SERVICE_ROLE_KEY", "the service role key the storage snapshot lists and reads every bucket with");
    const buckets = (env.STORAGE_BUCKETS ?? "").split(",").map((b) => b.trim()).filter((b) => b !== "");
    return { storageUrl: url.replace(/\/+$/, ""), serviceKey, buckets: buckets.length > 0 ? buckets : undefined };
}

export function mirrorSettingsFromEnv(env: Env): MirrorSettings | undefined {
    const container = env.AZURE_CONTAINER;
    const mode = env.AZURE_IMMUTABILITY || "container";
    if (mode !== "container" && mode !== "blob") throw new UsageError(`AZURE_IMMUTABILITY must be container or blob (got ${JSON.stringify(mode)})`);
    // "container": the container's time-based policy (ArchiveVault) makes every blob immutable and the
    // retain-until date is recorded as metadata; "blob": a blob-level policy per object, which needs
    // version-level immutability on the container.
    const retention = mode === "blob" ? "policy" : "metadata";
    if (env.AZURE_STORAGE_CONNECTION_STRING) {
        if (!container) throw new UsageError("AZURE_CONTAINER is not set (the archive container the mirror writes into)");
        return { kind: "connection-string", connectionString: env.AZURE_STORAGE_CONNECTION_STRING, container, retention };
    }
    const account = env.AZURE_STORAGE_ACCOUNT;
    if (!account && !container) return undefined;
    if (!account) throw new UsageError("AZURE_CONTAINER is set but AZURE_STORAGE_ACCOUNT is not (the archive's storage account)");
    if (!container) throw new UsageError("AZURE_STORAGE_ACCOUNT is set but AZURE_CONTAINER is not (the archive container)");
    if (!/^[a-z0-9]{3,24}$/.test(account)) throw new UsageError(`AZURE_STORAGE_ACCOUNT must be 3-24 lowercase letters and digits (got ${JSON.stringify(account)})`);
    return { kind: "azure-cli", accountUrl: `https://${account}.blob.core.windows.net`, container, retention };
}

/**
 * `stackLock(env)`: the lock the environment's stack file declares, if any. Each of OBJECT_LOCK_MODE,
 * RETENTION_DAYS and MONTHLY_ARCHIVE_MONTHS, when set, wins over it; what neither gives falls back to
 * runbook 004's defaults (COMPLIANCE, 7 days, 12 months), and `lockSource` says which applied — a job
 * must not lock staging's 3-day GOVERNANCE vault for 7 days in COMPLIANCE without saying why.
 */
export function backupSettingsFromEnv(env: Env, stackLock: (env: string) => StackLock | undefined = () => undefined): BackupSettings {
    const sourceUrl = required(env, "SOURCE_DB_URL", "the database to back up");
    const name = backupEnvName(env);
    const stack = stackLock(name);
    const sources = new Set<string>();
    let defaulted = false;
    const fields = [["OBJECT_LOCK_MODE", stack?.objectLockMode], ["RETENTION_DAYS", stack?.retentionDays], ["MONTHLY_ARCHIVE_MONTHS", stack?.monthlyArchiveMonths]] as const;
    for (const [variable, stackValue] of fields) {
        if (env[variable]) sources.add(variable);
        else if (stackValue !== undefined) sources.add(stack!.file);
        else defaulted = true;
    }
    if (defaulted) sources.add(sources.size === 0 ? "defaults (no Pulumi.<env>.yaml, no OBJECT_LOCK_MODE/RETENTION_DAYS/MONTHLY_ARCHIVE_MONTHS)" : "defaults");
    return {
        sourceUrl,
        env: name,
        vault: vaultSettingsFromEnv(env, stack?.objectLockMode),
        retentionDays: positiveInt(env, "RETENTION_DAYS", stack?.retentionDays ?? 7),
        monthlyArchiveMonths: positiveInt(env, "MONTHLY_ARCHIVE_MONTHS", stack?.monthlyArchiveMonths ?? 12),
        lockSource: [...sources].join(", "),
        storage: storageSettingsFromEnv(env),
        mirror: mirrorSettingsFromEnv(env),
        now: clockOverride(env),
    };
}

export function s3StoreFor(v: VaultSettings): S3Store {
    return new S3Store({ bucket: v.bucket, region: v.region, endpoint: v.endpoint, credentials: v.credentials, lockMode: v.lockMode });
}

/** The vault: the S3 bucket, or the local directory of a file:// BACKUP_BUCKET (whose clock follows NOW). */
export function vaultStoreFor(v: VaultSettings, now?: Date): BlobStore {
    if (v.localDir) return new DirBlobStore(v.localDir, () => now ?? new Date());
    return s3StoreFor(v);
}

export function mirrorStoreFor(m: MirrorSettings, now?: Date): AzureBlobStore {
    const clock = () => now ?? new Date();
    if (m.kind === "connection-string") return new AzureBlobStore({ connectionString: m.connectionString, container: m.container, retention: m.retention, clock });
    return new AzureBlobStore({ accountUrl: m.accountUrl, credential: new AzureCliCredential(), container: m.container, retention: m.retention, clock });
}

/** Fetches the mirror's token now (see azureCliCredential.ts) and fails early without one. */
export async function warmUpMirror(m: MirrorSettings): Promise<void> {
    if (m.kind === "azure-cli") await new AzureCliCredential().getToken(STORAGE_SCOPE);
}

/** Every value of the environment that must never reach output. */
export function secretsOf(env: Env): string[] {
    const accountKey = /AccountKey=([^;]+)/.exec(env.AZURE_STORAGE_CONNECTION_STRING ?? "")?.[1];
    return [env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN, env.WEBHOOK_URL, env.HEALTHCHECK_URL, env.SUPABASE_SERVICE_ROLE_KEY,
        env.AZURE_STORAGE_CONNECTION_STRING, accountKey].filter((s): s is string => !!s);
}
