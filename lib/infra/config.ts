// Configuration of the infrastructure stacks (prod, staging), validated up front: every error names
// the key and the expected form, so a bad Pulumi.<stack>.yaml fails before anything is planned.
//
//   supabase-dr:environment         prod | staging | …
//   supabase-dr:aws                 { bucketName?, objectLockMode, retentionDays, dailyRetentionDays,
//                                     monthlyArchiveMonths, archiveStorageClass, oidcProviderArn? }
//   supabase-dr:azure               { location, resourceGroupName?, accountName?, containerName?,
//                                     immutabilityDays, lockImmutabilityPolicy, dailyRetentionDays,
//                                     monthlyArchiveMonths }                         (optional)
//   supabase-dr:github              { owner, repository, branch?, environment?, reviewers? } (optional)
//   supabase-dr:supabase            { organization, region, instanceSize, storageUrl?, storageBuckets?,
//                                     projectRef?, pitr? (hosted PITR settings) }  (optional)
//   supabase-dr:pitr                the WAL archive (lib/infra/pitrConfig.ts)        (optional; needs github)
//   secrets (pulumi config set --secret): sourceDbUrl, targetDbUrl, supabaseAccessToken,
//   apiBearerToken, maskingSalt, backendPassphrase, pitrCipherPass — pushed to GitHub Actions secrets.
import { parseHostedPitrSettings, PROJECT_REF, type HostedPitrSettings } from "../supabase/pitrSettings";
import { ConfigError } from "../config/errors";
import { parseConnectionString } from "../postgres/connection";
import { parseInfraPitrConfig, type InfraPitrConfig } from "./pitrConfig";

export const INFRA_SECRET_KEYS = {
    sourceDbUrl: "SOURCE_DB_URL",
    targetDbUrl: "TARGET_DB_URL",
    supabaseAccessToken: "SUPABASE_ACCESS_TOKEN",
    apiBearerToken: "API_BEARER_TOKEN",
    maskingSalt: "MASKING_SALT",
    backendPassphrase: "PULUMI_CONFIG_PASSPHRASE",
    storageServiceKey: "SUPABASE_SERVICE_ROLE_KEY",
    // The WAL archive's repository encryption passphrase: lost, it makes the whole archive unreadable.
    pitrCipherPass: "PITR_CIPHER_PASS",
} as const;

export type InfraSecretKey = keyof typeof INFRA_SECRET_KEYS;

export interface AwsSettings {
    bucketName?: string;
    objectLockMode: "COMPLIANCE" | "GOVERNANCE";
    retentionDays: number;
    dailyRetentionDays: number;
    monthlyArchiveMonths: number;
    archiveStorageClass: "GLACIER" | "DEEP_ARCHIVE" | "GLACIER_IR";
    oidcProviderArn?: string;
}

export interface AzureSettings {
    location: string;
    resourceGroupName?: string;
    accountName?: string;
    containerName?: string;
    immutabilityDays: number;
    lockImmutabilityPolicy: boolean;
    dailyRetentionDays: number;
    monthlyArchiveMonths: number;
}

export interface GithubSettings {
    owner: string;
    repository: string;
    branch: string;
    /**
     * Environment of the unattended jobs (nightly backup, weekly drill, audits): it holds their
     * secrets. Required reviewers would stall scheduled runs, so on prod this is a separate,
     * main-only environment without reviewers (default "prod-automation").
     */
    environment: string;
    /** Environment of `pulumi up` on merge; on prod it requires reviewers (default: the stack's name). */
    deployEnvironment: string;
    reviewers?: { users?: number[]; teams?: number[] };
}

export interface SupabaseSettings {
    organization: string;
    region: string;
    instanceSize: string;
    /** `<SUPABASE_URL>/storage/v1` of the project whose buckets the nightly backup snapshots. */
    storageUrl?: string;
    /** Buckets to snapshot; default: every bucket (new ones are included automatically). */
    storageBuckets?: string[];
    /** The hosted project this environment protects: the hourly PITR health check reads its backups. */
    projectRef?: string;
    /** Hosted PITR settings (lib/supabase/pitrSettings.ts) for that check and for PITR drills. */
    pitr?: HostedPitrSettings;
}

export interface InfraConfig {
    environment: string;
    aws: AwsSettings;
    azure?: AzureSettings;
    github?: GithubSettings;
    supabase?: SupabaseSettings;
    pitr?: InfraPitrConfig;
}

/** Reads one raw config value (already JSON-parsed for objects). */
export type ConfigReader = (key: string) => unknown;

class InfraConfigError extends ConfigError {}

function fail(key: string, expected: string, got?: unknown): never {
    const shown = got === undefined ? "" : ` (got ${JSON.stringify(got)})`;
    throw new InfraConfigError([{ path: `supabase-dr:${key}`, message: `${expected}${shown}` }]);
}

function obj(v: unknown, key: string, required: boolean): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return required ? fail(key, "is required (an object)") : undefined;
    if (typeof v !== "object" || Array.isArray(v)) fail(key, "must be an object", v);
    return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, path: string, fallback?: string): string {
    const v = o[key] ?? fallback;
    if (typeof v !== "string" || v.trim() === "") fail(`${path}.${key}`, "must be a non-empty string", o[key]);
    return v;
}

function stringList(v: unknown, path: string): string[] {
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== "string" || x.trim() === "")) fail(path, "must be a non-empty list of names", v);
    return v as string[];
}

function optStr(o: Record<string, unknown>, key: string, path: string): string | undefined {
    return o[key] === undefined ? undefined : str(o, key, path);
}

function days(o: Record<string, unknown>, key: string, path: string, fallback: number): number {
    const v = o[key] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) fail(`${path}.${key}`, "must be a whole number ≥ 1", o[key]);
    return v;
}

function bool(o: Record<string, unknown>, key: string, path: string, fallback: boolean): boolean {
    const v = o[key] ?? fallback;
    if (typeof v !== "boolean") fail(`${path}.${key}`, "must be true or false", o[key]);
    return v;
}

function oneOf<T extends string>(o: Record<string, unknown>, key: string, path: string, allowed: readonly T[], fallback: T): T {
    const v = o[key] ?? fallback;
    if (!allowed.includes(v as T)) fail(`${path}.${key}`, `must be one of ${allowed.join(", ")}`, o[key]);
    return v as T;
}

function reviewers(v: unknown): GithubSettings["reviewers"] {
    if (v === undefined || v === null) return undefined;
    const r = obj(v, "github.reviewers", true)!;
    const ids = (key: "users" | "teams") => {
        const list = r[key];
        if (list === undefined) return undefined;
        if (!Array.isArray(list) || list.some((n) => typeof n !== "number" || !Number.isInteger(n) || n <= 0)) {
            fail(`github.reviewers.${key}`, "must be a list of numeric GitHub ids", list);
        }
        return list as number[];
    };
    return { users: ids("users"), teams: ids("teams") };
}

export function parseInfraConfig(read: ConfigReader): InfraConfig {
    const environment = read("environment");
    if (typeof environment !== "string" || !/^[a-z][a-z0-9-]{0,20}$/.test(environment)) {
        fail("environment", "must be a short lowercase name such as prod or staging", environment);
    }
    const prod = environment === "prod";

    const a = obj(read("aws"), "aws", true)!;
    const aws: AwsSettings = {
        bucketName: optStr(a, "bucketName", "aws"),
        objectLockMode: oneOf(a, "objectLockMode", "aws", ["COMPLIANCE", "GOVERNANCE"] as const, "COMPLIANCE"),
        retentionDays: days(a, "retentionDays", "aws", 7),
        dailyRetentionDays: days(a, "dailyRetentionDays", "aws", 7),
        monthlyArchiveMonths: days(a, "monthlyArchiveMonths", "aws", 12),
        archiveStorageClass: oneOf(a, "archiveStorageClass", "aws", ["GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"] as const, "GLACIER"),
        oidcProviderArn: optStr(a, "oidcProviderArn", "aws"),
    };
    if (prod && aws.objectLockMode !== "COMPLIANCE") fail("aws.objectLockMode", "must be COMPLIANCE on prod (GOVERNANCE can be bypassed)", aws.objectLockMode);
    if (aws.dailyRetentionDays < aws.retentionDays) {
        fail("aws.dailyRetentionDays", `must be ≥ aws.retentionDays (${aws.retentionDays}): lifecycle cannot expire a locked object`, aws.dailyRetentionDays);
    }

    const z = obj(read("azure"), "azure", false);
    const azure: AzureSettings | undefined = z && {
        location: str(z, "location", "azure"),
        resourceGroupName: optStr(z, "resourceGroupName", "azure"),
        accountName: optStr(z, "accountName", "azure"),
        containerName: optStr(z, "containerName", "azure"),
        immutabilityDays: days(z, "immutabilityDays", "azure", 7),
        lockImmutabilityPolicy: bool(z, "lockImmutabilityPolicy", "azure", false),
        dailyRetentionDays: days(z, "dailyRetentionDays", "azure", 7),
        monthlyArchiveMonths: days(z, "monthlyArchiveMonths", "azure", 12),
    };
    if (azure?.accountName !== undefined && !/^[a-z0-9]{3,24}$/.test(azure.accountName)) {
        fail("azure.accountName", "must be 3-24 lowercase letters and digits (an Azure storage account name)", azure.accountName);
    }

    const g = obj(read("github"), "github", false);
    const github: GithubSettings | undefined = g && {
        owner: str(g, "owner", "github"),
        repository: str(g, "repository", "github"),
        branch: str(g, "branch", "github", "main"),
        environment: str(g, "environment", "github", prod ? `${environment}-automation` : environment),
        deployEnvironment: str(g, "deployEnvironment", "github", environment),
        reviewers: reviewers(g.reviewers),
    };
    if (github && prod && !github.reviewers?.users?.length && !github.reviewers?.teams?.length) {
        fail("github.reviewers", "must name at least one user or team id on prod: the deploy environment requires reviewers");
    }
    if (github && !/^[A-Za-z0-9-]{1,39}$/.test(github.owner)) fail("github.owner", "must be a GitHub user or organization name", github.owner);
    if (github && !/^[A-Za-z0-9._-]{1,100}$/.test(github.repository)) fail("github.repository", "must be a repository name (without the owner)", github.repository);

    const s = obj(read("supabase"), "supabase", false);
    const supabase: SupabaseSettings | undefined = s && {
        organization: str(s, "organization", "supabase"),
        region: str(s, "region", "supabase"),
        instanceSize: str(s, "instanceSize", "supabase", "micro"),
        storageUrl: optStr(s, "storageUrl", "supabase"),
        storageBuckets: s.storageBuckets === undefined ? undefined : stringList(s.storageBuckets, "supabase.storageBuckets"),
        projectRef: optStr(s, "projectRef", "supabase"),
        pitr: s.pitr === undefined ? undefined : parseHostedPitrSettings(s.pitr, "supabase-dr:supabase.pitr"),
    };
    if (supabase?.projectRef !== undefined && !PROJECT_REF.test(supabase.projectRef)) {
        fail("supabase.projectRef", "must be a project ref (20 lowercase letters)", supabase.projectRef);
    }
    if (supabase?.pitr && !supabase.projectRef) fail("supabase.projectRef", "is required when supabase-dr:supabase.pitr is set: the PITR health check reads that project");
    if (supabase?.storageUrl && !/^https?:\/\/[^/]+.*\/storage\/v1\/?$/.test(supabase.storageUrl)) {
        fail("supabase.storageUrl", "must be the project's Storage API URL, <SUPABASE_URL>/storage/v1", supabase.storageUrl);
    }
    const rawPitr = read("pitr");
    const pitr = rawPitr === undefined || rawPitr === null ? undefined : parseInfraPitrConfig(rawPitr);
    // The archive's roles trust GitHub's OIDC subjects of this repository, and its jobs run there.
    if (pitr && !github) fail("github", "is required when supabase-dr:pitr is set: the archive's writer and reader roles trust the repository's GitHub Actions jobs");
    return { environment, aws, azure, github, supabase, pitr };
}

/** Checks the form of the secret config values that are set (never echoing them). */
export function checkInfraSecrets(secrets: Partial<Record<InfraSecretKey, string>>, pitr?: InfraPitrConfig): void {
    if (pitr && pitr.cipher !== "none") {
        const pass = secrets.pitrCipherPass;
        if (pass === undefined || pass === "") {
            throw new InfraConfigError([{ path: "supabase-dr:pitrCipherPass", message: "is required when supabase-dr:pitr.cipher is not none: the WAL archive's encryption passphrase (set it with --secret, e.g. $(openssl rand -base64 48), and keep a copy outside the stack: without it the archive cannot be read)" }]);
        }
        if (pass.length < 32) throw new InfraConfigError([{ path: "supabase-dr:pitrCipherPass", message: "must be at least 32 characters (a generated passphrase, e.g. openssl rand -base64 48)" }]);
    }
    for (const key of ["sourceDbUrl", "targetDbUrl"] as const) {
        const v = secrets[key];
        if (v !== undefined) parseConnectionString(v, `config supabase-dr:${key}`);
    }
}
