// Configuration of the infrastructure stacks (prod, staging), validated up front as strict zod
// schemas: every problem names its full key (`supabase-dr:aws.retentionDays`) and the expected form,
// all problems of the stack file are reported together, and a key nobody reads is an error with the
// nearest known key as a suggestion — a misspelled `retentionDay: 30` must not leave the vault on the
// 7-day default.
//
//   supabase-dr:environment         prod | staging | …
//   supabase-dr:aws                 { bucketName?, objectLockMode, retentionDays, dailyRetentionDays,
//                                     monthlyArchiveMonths, archiveStorageClass, oidcProviderArn? }
//   supabase-dr:azure               { location, resourceGroupName?, accountName?, containerName?,
//                                     immutabilityDays, lockImmutabilityPolicy, dailyRetentionDays,
//                                     monthlyArchiveMonths }                         (optional)
//   supabase-dr:github              { owner, repository, branch?, environment?, deployEnvironment?,
//                                     reviewers? { users?, teams? } }                (optional)
//   supabase-dr:supabase            { organization, region, instanceSize, storageUrl?, storageBuckets?,
//                                     projectRef?, pitr? (hosted PITR settings) }  (optional)
//   supabase-dr:pitr                the WAL archive (lib/infra/pitrConfig.ts)        (optional; needs github)
//   supabase-dr:drill               this environment's restore drills (lib/drill/settingsSchema.ts): read
//                                   by `npm run drill`, validated here too so a deploy catches what would
//                                   otherwise fail the next scheduled drill
//   secrets (pulumi config set --secret): sourceDbUrl, targetDbUrl, supabaseAccessToken,
//   apiBearerToken, maskingSalt, backendPassphrase, storageServiceKey, pitrCipherPass, alertWebhookUrl,
//   freshnessHealthcheckUrl — pushed to
//   GitHub Actions secrets — and the drill's own (pitrS3Key, pitrS3KeySecret, pitrS3Token).
import { z } from "zod";
import { hostedPitrSettingsSchema, PROJECT_REF, type HostedPitrSettings } from "../supabase/pitrSettings";
import { ConfigError, safeParseConfig, unknownKeyMessage, type ConfigIssue } from "../config/errors";
import { DRILL_CONFIG_KEY } from "../drill/config";
import { userDrillSettingsSchema } from "../drill/settingsSchema";
import { parseConnectionString } from "../postgres/connection";
import { infraPitrSchema, PITR_CONFIG_KEY, type InfraPitrConfig } from "./pitrConfig";

const NAMESPACE = "supabase-dr";

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
    // backup-freshness.yml: where a stale, corrupt or missing backup is reported, and the external
    // dead-man's switch pinged on every fresh result (it alerts when the daily check stops running).
    alertWebhookUrl: "ALERT_WEBHOOK_URL",
    freshnessHealthcheckUrl: "FRESHNESS_HEALTHCHECK_URL",
} as const;

export type InfraSecretKey = keyof typeof INFRA_SECRET_KEYS;

/** Secrets only a drill reads (lib/drill/config.ts DrillSecrets): allowed in the stack file, not pushed. */
const DRILL_ONLY_SECRET_KEYS = ["pitrS3Key", "pitrS3KeySecret", "pitrS3Token"] as const;

/** Every secret key a stack file may hold: their values are checked by checkInfraSecrets, never here. */
export const STACK_SECRET_KEYS: readonly string[] = [...Object.keys(INFRA_SECRET_KEYS), ...DRILL_ONLY_SECRET_KEYS];

const nonEmpty = z.string({ error: "expected a non-empty string" }).trim().min(1, { error: "expected a non-empty string" });

const days = (fallback: number) => {
    const error = "expected a whole number ≥ 1";
    return z.number({ error }).int({ error }).min(1, { error }).default(fallback);
};

const awsSchema = z.strictObject({
    bucketName: nonEmpty.optional(),
    objectLockMode: z.enum(["COMPLIANCE", "GOVERNANCE"]).default("COMPLIANCE"),
    retentionDays: days(7),
    dailyRetentionDays: days(7),
    monthlyArchiveMonths: days(12),
    archiveStorageClass: z.enum(["GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"]).default("GLACIER"),
    oidcProviderArn: nonEmpty.optional(),
});

const azureSchema = z.strictObject({
    location: nonEmpty,
    resourceGroupName: nonEmpty.optional(),
    accountName: z.string().regex(/^[a-z0-9]{3,24}$/, { error: "expected 3-24 lowercase letters and digits (an Azure storage account name)" }).optional(),
    containerName: nonEmpty.optional(),
    immutabilityDays: days(7),
    lockImmutabilityPolicy: z.boolean().default(false),
    dailyRetentionDays: days(7),
    monthlyArchiveMonths: days(12),
});

const githubId = z.number({ error: "expected a numeric GitHub id" }).int({ error: "expected a numeric GitHub id" }).positive({ error: "expected a numeric GitHub id" });

const githubSchema = z.strictObject({
    owner: z.string().regex(/^[A-Za-z0-9-]{1,39}$/, { error: "expected a GitHub user or organization name" }),
    repository: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, { error: "expected a repository name (without the owner)" }),
    branch: nonEmpty.default("main"),
    /**
     * Environment of the unattended jobs (nightly backup, weekly drill, audits): it holds their
     * secrets. Required reviewers would stall scheduled runs, so on prod this is a separate,
     * main-only environment without reviewers (default "<env>-automation" on prod, else the stack's name).
     */
    environment: nonEmpty.optional(),
    /** Environment of `pulumi up` on merge; on prod it requires reviewers (default: the stack's name). */
    deployEnvironment: nonEmpty.optional(),
    reviewers: z.strictObject({ users: z.array(githubId).optional(), teams: z.array(githubId).optional() }).optional(),
});

const supabaseSchema = z.strictObject({
    organization: nonEmpty,
    region: nonEmpty,
    instanceSize: nonEmpty.default("micro"),
    /** `<SUPABASE_URL>/storage/v1` of the project whose buckets the nightly backup snapshots. */
    storageUrl: z.string().regex(/^https?:\/\/[^/]+.*\/storage\/v1\/?$/, { error: "expected the project's Storage API URL, <SUPABASE_URL>/storage/v1" }).optional(),
    /** Buckets to snapshot; default: every bucket (new ones are included automatically). */
    storageBuckets: z.array(nonEmpty).min(1).optional(),
    /** The hosted project this environment protects: the hourly PITR health check reads its backups. */
    projectRef: z.string().regex(PROJECT_REF, { error: "expected a project ref (20 lowercase letters)" }).optional(),
    /** Hosted PITR settings (lib/supabase/pitrSettings.ts) for that check and for PITR drills. */
    pitr: hostedPitrSettingsSchema.optional(),
});

const environmentSchema = z.string().regex(/^[a-z][a-z0-9-]{0,20}$/, { error: "expected a short lowercase name such as prod or staging" });

/** Each supabase-dr:* setting and its schema; parsed one by one so each problem carries its full key. */
const SECTIONS = {
    environment: environmentSchema,
    aws: awsSchema,
    azure: azureSchema.optional(),
    github: githubSchema.optional(),
    supabase: supabaseSchema.optional(),
    pitr: infraPitrSchema.optional(),
    drill: userDrillSettingsSchema.optional(),
} as const;

export const INFRA_SETTING_KEYS = Object.keys(SECTIONS) as (keyof typeof SECTIONS)[];

export type AwsSettings = z.output<typeof awsSchema>;
export type AzureSettings = z.output<typeof azureSchema>;
export type GithubSettings = Omit<z.output<typeof githubSchema>, "environment" | "deployEnvironment"> & { environment: string; deployEnvironment: string };
export type SupabaseSettings = Omit<z.output<typeof supabaseSchema>, "pitr"> & { pitr?: HostedPitrSettings };

export interface InfraConfig {
    environment: string;
    aws: AwsSettings;
    azure?: AzureSettings;
    github?: GithubSettings;
    supabase?: SupabaseSettings;
    pitr?: InfraPitrConfig;
}

const keyPath = (key: string) => `${NAMESPACE}:${key}`;

/** The value a stack file set at section.key, before parsing (undefined when not an object). */
function rawValue(values: Record<string, unknown>, section: string, key: string): unknown {
    const v = values[section];
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
}

/**
 * Rules that span keys or depend on the environment. The prod rules read the raw values, so they are
 * reported even when another key of the same section is wrong too; the numeric ones need the parse.
 */
function crossChecks(values: Record<string, unknown>, parsed: Partial<{ [K in keyof typeof SECTIONS]: z.output<(typeof SECTIONS)[K]> }>): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const prod = parsed.environment === "prod";
    const { aws, supabase } = parsed;
    if (prod && (rawValue(values, "aws", "objectLockMode") ?? "COMPLIANCE") !== "COMPLIANCE") {
        issues.push({ path: keyPath("aws.objectLockMode"), message: "must be COMPLIANCE on prod (GOVERNANCE can be bypassed)" });
    }
    if (aws && aws.dailyRetentionDays < aws.retentionDays) {
        issues.push({ path: keyPath("aws.dailyRetentionDays"), message: `must be ≥ aws.retentionDays (${aws.retentionDays}): lifecycle cannot expire a locked object, got ${aws.dailyRetentionDays}` });
    }
    const reviewers = rawValue(values, "github", "reviewers") as { users?: unknown; teams?: unknown } | undefined;
    const named = (list: unknown) => Array.isArray(list) && list.length > 0;
    if (prod && values.github != null && !named(reviewers?.users) && !named(reviewers?.teams)) {
        issues.push({ path: keyPath("github.reviewers"), message: "must name at least one user or team id on prod: the deploy environment requires reviewers" });
    }
    if (supabase?.pitr && !supabase.projectRef) issues.push({ path: keyPath("supabase.projectRef"), message: "is required when supabase-dr:supabase.pitr is set: the PITR health check reads that project" });
    // The archive's roles trust GitHub's OIDC subjects of this repository, and its jobs run there.
    if (values.pitr != null && values.github == null) {
        issues.push({ path: keyPath("github"), message: "is required when supabase-dr:pitr is set: the archive's writer and reader roles trust the repository's GitHub Actions jobs" });
    }
    return issues;
}

/**
 * Validates the stack's supabase-dr:* configuration: `values` maps each key set in the stack file
 * (without the namespace) to its value, objects parsed; secret keys may map to anything (only their
 * names are checked here). Throws one ConfigError listing every problem.
 */
export function parseInfraConfig(values: Record<string, unknown>): InfraConfig {
    const issues: ConfigIssue[] = [];
    const known = [...INFRA_SETTING_KEYS, ...STACK_SECRET_KEYS];
    for (const key of Object.keys(values)) {
        if (!known.includes(key)) issues.push({ path: keyPath(key), message: unknownKeyMessage(key, known) });
    }
    const parsed: Record<string, unknown> = {};
    for (const key of INFRA_SETTING_KEYS) {
        // A drill's settings report under supabase-dr:drill like the drill command does; the WAL archive's under its own key.
        const root = key === "drill" ? DRILL_CONFIG_KEY : key === "pitr" ? PITR_CONFIG_KEY : keyPath(key);
        const result = safeParseConfig(SECTIONS[key], values[key] ?? undefined, root);
        if (result.success) parsed[key] = result.data;
        else issues.push(...result.issues);
    }
    issues.push(...crossChecks(values, parsed));
    if (issues.length > 0) throw new ConfigError(issues, { context: "invalid infrastructure configuration (Pulumi.<stack>.yaml)" });

    const p = parsed as { [K in keyof typeof SECTIONS]: z.output<(typeof SECTIONS)[K]> };
    const environment = p.environment;
    const github: GithubSettings | undefined = p.github && {
        ...p.github,
        environment: p.github.environment ?? (environment === "prod" ? `${environment}-automation` : environment),
        deployEnvironment: p.github.deployEnvironment ?? environment,
    };
    return { environment, aws: p.aws, azure: p.azure, github, supabase: p.supabase, pitr: p.pitr };
}

/** Checks the form of the secret config values that are set (never echoing them). */
export function checkInfraSecrets(secrets: Partial<Record<InfraSecretKey, string>>, pitr?: InfraPitrConfig): void {
    if (pitr && pitr.cipher !== "none") {
        const pass = secrets.pitrCipherPass;
        if (pass === undefined || pass === "") {
            throw new ConfigError([{ path: keyPath("pitrCipherPass"), message: "is required when supabase-dr:pitr.cipher is not none: the WAL archive's encryption passphrase (set it with --secret, e.g. $(openssl rand -base64 48), and keep a copy outside the stack: without it the archive cannot be read)" }]);
        }
        if (pass.length < 32) throw new ConfigError([{ path: keyPath("pitrCipherPass"), message: "must be at least 32 characters (a generated passphrase, e.g. openssl rand -base64 48)" }]);
    }
    for (const key of ["sourceDbUrl", "targetDbUrl"] as const) {
        const v = secrets[key];
        if (v !== undefined) parseConnectionString(v, `config supabase-dr:${key}`);
    }
}
