// A drill stack's configuration, validated up front: the settings against their schema
// (lib/drill/settingsSchema), the secrets against what the settings need. Every problem is reported
// at once, each with its property path (lib/config/errors). The drill command writes the config into
// the stack; index.ts (and the command's inline program) read it back, so `pulumi up` of a drill-*
// stack and the command run the same drill.
//
//   supabase-dr:drill           object   everything non-secret (settingsSchema.ts)
//   supabase-dr:sourceDbUrl     secret   SOURCE_DB_URL: dump this database now; with drill.backupPath it is
//                                        only protected and, when the backup has no fingerprint, compared with
//   supabase-dr:targetDbUrl     secret   TARGET_DB_URL: a role that may CREATE DATABASE on the scratch server;
//                                        without it (and without drill.target) the drill starts its own cluster
//   supabase-dr:supabaseAccessToken secret  SUPABASE_ACCESS_TOKEN, when drill.target.kind is supabase-project
//   supabase-dr:apiBearerToken  secret   API_BEARER_TOKEN for smoke checks
//   supabase-dr:maskingSalt     secret   salt of the "hash" masking strategy
//   supabase-dr:storageServiceKey secret SUPABASE_SERVICE_ROLE_KEY, when drill.storage is set
//   supabase-dr:pitrS3Key, pitrS3KeySecret, pitrS3Token, pitrCipherPass   secrets of a PITR drill's archive:
//                                        PGBACKREST_REPO1_S3_KEY, …_S3_KEY_SECRET, …_S3_TOKEN, …_CIPHER_PASS
import { ConfigError, safeParseConfig, type ConfigIssue } from "../config/errors";
import { parseConnectionString } from "../postgres/connection";
import { displayTable, parseTableName } from "../recover/identifiers";
import { smokeChecksFor, type DrillTargetKind } from "../smoke/target";
import { drillStackSettingsSchema, userDrillSettingsFieldsSchema, userDrillSettingsSchema, type DrillStackSettings, type UserDrillSettings } from "./settingsSchema";
import type { VaultSettings } from "../vault/openVault";
import type { PitrSecrets } from "../pitr/settings";

export const CONFIG_NAMESPACE = "supabase-dr";
/** Where the drill settings live in a stack's config; the prefix of every settings error. */
export const DRILL_CONFIG_KEY = `${CONFIG_NAMESPACE}:drill`;

/** Runbook 003: RPO ≤ 24 h, RTO ≤ 2 h. Runbook 002: quarterly drills. */
export const DEFAULT_TARGETS = { rtoSeconds: 2 * 3600, rpoSeconds: 24 * 3600 };
export const DEFAULT_NEXT_DRILL_DAYS = 90;

/** The settings of a drill stack: the user's (UserDrillSettings) plus env, id, artifactsDir, startedAt. */
export type DrillSettings = DrillStackSettings;
export type { UserDrillSettings };

export interface DrillSecrets {
    /** SUPABASE_SERVICE_ROLE_KEY of the project storage is restored into. */
    storageServiceKey?: string;
    sourceDbUrl?: string;
    targetDbUrl?: string;
    supabaseAccessToken?: string;
    apiBearerToken?: string;
    maskingSalt?: string;
    /** The PITR archive's secrets (lib/pitr/settings PitrSecrets), when drill.pitr.target is set. */
    pitrS3Key?: string;
    pitrS3KeySecret?: string;
    pitrS3Token?: string;
    pitrCipherPass?: string;
}

/** The drill secrets that are the PITR archive's, as lib/pitr takes them. */
export function pitrSecretsOf(secrets: DrillSecrets): PitrSecrets {
    return {
        ...(secrets.pitrS3Key ? { s3Key: secrets.pitrS3Key } : {}),
        ...(secrets.pitrS3KeySecret ? { s3KeySecret: secrets.pitrS3KeySecret } : {}),
        ...(secrets.pitrS3Token ? { s3Token: secrets.pitrS3Token } : {}),
        ...(secrets.pitrCipherPass ? { cipherPass: secrets.pitrCipherPass } : {}),
    };
}

/** A PITR drill: drill.pitr with a target (the --pitr* flags set it). */
export function isPitrDrill(raw: unknown): boolean {
    const pitr = (raw !== null && typeof raw === "object" ? (raw as { pitr?: unknown }).pitr : undefined) as { target?: unknown } | undefined;
    return pitr !== null && typeof pitr === "object" && pitr.target !== undefined;
}

/** What a PITR drill's archive needs of the secrets (unvalidated settings: read defensively). */
function pitrSecretIssues(raw: Record<string, unknown>, secrets: DrillSecrets): ConfigIssue[] {
    const pitr = raw.pitr as { archive?: { cipher?: unknown; repository?: { type?: unknown; keyType?: unknown } }; target?: { type?: unknown } };
    const repo = pitr.archive?.repository;
    const issues: ConfigIssue[] = [];
    if (repo && (repo.type ?? "s3") === "s3" && (repo.keyType ?? "shared") === "shared") {
        if (!secrets.pitrS3Key) issues.push({ path: secretPath("pitrS3Key"), message: "required for the archive's S3 repository with shared keys (PGBACKREST_REPO1_S3_KEY)" });
        if (!secrets.pitrS3KeySecret) issues.push({ path: secretPath("pitrS3KeySecret"), message: "required for the archive's S3 repository with shared keys (PGBACKREST_REPO1_S3_KEY_SECRET)" });
    }
    if (pitr.archive && (pitr.archive.cipher ?? "aes-256-cbc") !== "none" && !secrets.pitrCipherPass) {
        issues.push({ path: secretPath("pitrCipherPass"), message: "required: the archive is encrypted (PGBACKREST_REPO1_CIPHER_PASS)" });
    }
    // A mark carries its own basis; any other target is judged by the heartbeat log, kept in the source.
    if (pitr.target?.type !== "mark" && !secrets.sourceDbUrl) {
        issues.push({
            path: secretPath("sourceDbUrl"),
            message: "required for a PITR drill to a time, LSN or restore point: the heartbeat log (supabase_dr.pitr_heartbeat) is read from it, nothing else",
        });
    }
    return issues;
}

const secretPath = (key: keyof DrillSecrets) => `${CONFIG_NAMESPACE}:${key}`;

function connectionIssue(key: "sourceDbUrl" | "targetDbUrl", url: string | undefined): ConfigIssue[] {
    if (url === undefined) return [];
    try {
        // Its messages name the problem, never the value (it may hold a password).
        parseConnectionString(url, "the connection string");
        return [];
    } catch (err) {
        return [{ path: secretPath(key), message: (err as Error).message }];
    }
}

/** The drill's own cluster unless a target is set or TARGET_DB_URL is given. */
function targetKind(settings: Pick<UserDrillSettings, "target">, secrets: DrillSecrets): "cluster" | "database" | "supabase-project" {
    return settings.target?.kind ?? (secrets.targetDbUrl ? "database" : "cluster");
}

/**
 * What the secrets must provide for these settings, each problem under the secret's config key
 * (supabase-dr:targetDbUrl). `raw` may be unvalidated (its own issues are reported separately), so
 * it is read defensively.
 */
export function drillSecretIssues(raw: unknown, secrets: DrillSecrets): ConfigIssue[] {
    const s = (raw !== null && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
    const declared = (s.target as { kind?: unknown } | undefined)?.kind;
    const kind = typeof declared === "string" ? declared : targetKind({}, secrets);
    const issues: ConfigIssue[] = [];
    if (kind === "database" && !secrets.targetDbUrl) {
        issues.push({ path: secretPath("targetDbUrl"), message: "required for drill.target kind database: the scratch server's admin URI (TARGET_DB_URL)" });
    }
    if (kind === "supabase-project" && !secrets.supabaseAccessToken) {
        issues.push({ path: secretPath("supabaseAccessToken"), message: "required for drill.target kind supabase-project: a Management API token (SUPABASE_ACCESS_TOKEN)" });
    }
    // TARGET_DB_URL is only used by a database target; another explicit kind ignores it.
    if (kind === "database") issues.push(...connectionIssue("targetDbUrl", secrets.targetDbUrl));
    issues.push(...connectionIssue("sourceDbUrl", secrets.sourceDbUrl));
    if (isPitrDrill(s)) issues.push(...pitrSecretIssues(s, secrets));
    else if (!secrets.sourceDbUrl && s.backupPath === undefined && s.vault === undefined) {
        issues.push({ path: secretPath("sourceDbUrl"), message: "required unless drill.backupPath or drill.vault is set: dump the source now, or adopt a backup" });
    }
    // Smoke checks need an API to go to: a local target has none unless a base URL is given.
    if (s.smoke !== null && typeof s.smoke === "object") {
        try {
            smokeChecksFor(s.smoke as { baseUrl?: string; checks?: unknown }, kind as DrillTargetKind);
        } catch (err) {
            issues.push({ path: `${DRILL_CONFIG_KEY}.smoke`, message: (err as Error).message });
        }
    }
    if (s.storage !== undefined && !secrets.storageServiceKey) {
        issues.push({ path: secretPath("storageServiceKey"), message: "required for a storage restore: the project's service role key (SUPABASE_SERVICE_ROLE_KEY)" });
    }
    return issues;
}

/**
 * Validates what a user wrote (stack file, --settings file, flags merged) and returns it parsed, or
 * throws one ConfigError with every problem under supabase-dr:drill.
 */
export function parseUserDrillSettings(raw: unknown): UserDrillSettings {
    const result = safeParseConfig(userDrillSettingsSchema, raw, DRILL_CONFIG_KEY);
    if (!result.success) throw new ConfigError(result.issues);
    return result.data;
}

/**
 * The settings of several sources, later ones replacing earlier ones key by key (the stack file's
 * section, then a --settings file). Each source is checked alone for its fields and keys — an error
 * names that source — and the merged settings against every rule, those that span keys included.
 */
export function mergeDrillSettings(sources: { label: string; value: unknown }[]): UserDrillSettings {
    let merged: Record<string, unknown> = {};
    for (const { label, value } of sources) {
        if (value === undefined) continue;
        const one = safeParseConfig(userDrillSettingsFieldsSchema, value, DRILL_CONFIG_KEY);
        if (!one.success) throw new ConfigError(one.issues, { context: `invalid drill settings (${label})` });
        merged = { ...merged, ...(one.data as Record<string, unknown>) };
    }
    const all = safeParseConfig(userDrillSettingsSchema, merged, DRILL_CONFIG_KEY);
    if (!all.success) throw new ConfigError(all.issues, { context: `invalid drill settings (${sources.filter((s) => s.value !== undefined).map((s) => s.label).join(" + ")})` });
    return all.data;
}

/**
 * Where the drill restores, with its credential in plain text: components/RestoreDrill's DrillTarget
 * before the program wraps the credential as a secret (programs/drill.ts, where the compiler checks the
 * two agree; lib/ does not import the components).
 */
export type DrillTargetArgs =
    | { kind: "cluster" }
    | { kind: "database"; adminUrl: string }
    | ({ kind: "supabase-project"; accessToken: string } & Omit<Extract<NonNullable<DrillStackSettings["target"]>, { kind: "supabase-project" }>, "kind">);

/** Validates the drill settings and secrets and returns the drill component's arguments (RestoreDrillArgs). */
export function drillArgsFromConfig(raw: unknown, secrets: DrillSecrets, stack: string) {
    const parsed = safeParseConfig(drillStackSettingsSchema, raw, DRILL_CONFIG_KEY);
    const issues = [...(parsed.success ? [] : parsed.issues), ...drillSecretIssues(raw, secrets)];
    if (!parsed.success || issues.length > 0) throw new ConfigError(issues);
    const d = parsed.data;
    const env = d.env;

    return {
        drillId: d.id,
        env,
        stack,
        artifactsDir: d.artifactsDir,
        startedAt: d.startedAt,
        sourceUrl: secrets.sourceDbUrl,
        backupPath: d.backupPath,
        backupTakenAt: d.backupTakenAt,
        vault: d.vault && {
            settings: vaultLocation(d.vault),
            env: d.vault.env ?? env,
            notAfter: d.vault.notAfter,
        },
        target: drillTarget(d, secrets),
        scratchPrefix: d.scratchPrefix,
        restore: d.restore ?? {},
        validation: d.validation ?? {},
        masking: d.masking && { rules: d.masking.rules, salt: secrets.maskingSalt, allowUnmasked: d.masking.allowUnmasked },
        smoke: d.smoke && { baseUrl: d.smoke.baseUrl, bearerToken: secrets.apiBearerToken, checks: d.smoke.checks, retries: d.smoke.retries, projectKey: d.smoke.projectKey },
        storage: d.storage && {
            storageUrl: d.storage.storageUrl,
            buckets: d.storage.buckets,
            // The schema requires storage.vault when drill.vault is absent.
            vault: d.storage.vault ?? vaultLocation(d.vault!),
            env: d.storage.env ?? env,
            serviceKey: secrets.storageServiceKey!,
        },
        targets: {
            rtoSeconds: d.targets?.rtoSeconds ?? DEFAULT_TARGETS.rtoSeconds,
            rpoSeconds: d.targets?.rpoSeconds ?? DEFAULT_TARGETS.rpoSeconds,
        },
        nextDrillDays: d.nextDrillDays ?? DEFAULT_NEXT_DRILL_DAYS,
        // Canonical names (public.x): the resource names and the report's file names derive from them.
        rehearseRecover: d.rehearseRecover?.map((r) => ({ ...r, table: displayTable(parseTableName(r.table)) })),
        pitr: d.pitr?.target && {
            archive: d.pitr.archive,
            secrets: pitrSecretsOf(secrets),
            target: d.pitr.target,
            marks: d.pitr.marks && vaultLocation(d.pitr.marks),
            database: d.pitr.database ?? "postgres",
            superuser: d.pitr.superuser,
            timeoutMinutes: d.pitr.timeoutMinutes,
        },
    };
}

/** Where a vault is, without the drill's adoption settings (env, notAfter). */
function vaultLocation(v: { kind: "dir"; path: string } | { kind: "s3"; bucket: string; region?: string; endpoint?: string }): VaultSettings {
    return v.kind === "dir" ? { kind: "dir", path: v.path } : { kind: "s3", bucket: v.bucket, region: v.region, endpoint: v.endpoint };
}

function drillTarget(d: DrillStackSettings, secrets: DrillSecrets): DrillTargetArgs {
    const t = d.target;
    switch (targetKind(d, secrets)) {
        case "cluster":
            return { kind: "cluster" };
        case "database":
            return { kind: "database", adminUrl: secrets.targetDbUrl! };
        case "supabase-project": {
            const { kind: _kind, ...settings } = t as Extract<NonNullable<DrillStackSettings["target"]>, { kind: "supabase-project" }>;
            return { kind: "supabase-project", accessToken: secrets.supabaseAccessToken!, ...settings };
        }
    }
}
