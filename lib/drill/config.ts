// A drill stack's configuration, validated up front with messages that name the key and the form
// expected. The drill command writes it into the stack's config; index.ts (and the command's inline
// program) read it back, so `pulumi up` of a drill-* stack and the command run the same drill.
//
//   supabase-dr:drill           object   everything non-secret (below)
//   supabase-dr:sourceDbUrl     secret   SOURCE_DB_URL: dump this database now; with drill.backupPath it is
//                                        only protected and, when the backup has no fingerprint, compared with
//   supabase-dr:targetDbUrl     secret   TARGET_DB_URL: a role that may CREATE DATABASE on the scratch server
//   supabase-dr:supabaseAccessToken secret  SUPABASE_ACCESS_TOKEN, when drill.target.kind is supabase-project
//   supabase-dr:apiBearerToken  secret   API_BEARER_TOKEN for smoke checks
//   supabase-dr:maskingSalt     secret   salt of the "hash" masking strategy
import { parseConnectionString } from "../postgres/connection";
import type { FingerprintOptions, SqlAssertion } from "../validate/types";
import type { VaultSettings } from "../vault/openVault";
import type { RestoreDrillArgs, SupabaseTargetSettings } from "../../components/RestoreDrill";

export const CONFIG_NAMESPACE = "supabase-dr";

/** Runbook 003: RPO ≤ 24 h, RTO ≤ 2 h. Runbook 002: quarterly drills. */
export const DEFAULT_TARGETS = { rtoSeconds: 2 * 3600, rpoSeconds: 24 * 3600 };
export const DEFAULT_NEXT_DRILL_DAYS = 90;

export interface DrillSettings {
    env: string;
    id: string;
    artifactsDir: string;
    startedAt: string;
    backupPath?: string;
    backupTakenAt?: string;
    /** Fetch the newest backup from the vault instead: {kind: "s3", bucket, region?, endpoint?, env?, notAfter?}. */
    vault?: { kind: "s3"; bucket: string; region?: string; endpoint?: string; env?: string; notAfter?: string };
    scratchPrefix?: string;
    /** Default: a scratch database on TARGET_DB_URL's server. */
    target?: { kind: "database" } | ({ kind: "supabase-project" } & SupabaseTargetSettings);
    restore?: { jobs?: number; allowErrors?: string[] };
    validation?: RestoreDrillArgs["validation"];
    masking?: { rules: unknown; allowUnmasked?: string[] };
    smoke?: { baseUrl?: string; checks?: unknown; retries?: number };
    targets?: { rtoSeconds?: number; rpoSeconds?: number };
    nextDrillDays?: number;
    /** Storage restore from the vault's snapshots: {storageUrl, buckets, vault?, env?}; vault defaults to drill.vault. */
    storage?: { storageUrl: string; buckets: string[]; vault?: VaultSettings; env?: string };
}

export interface DrillSecrets {
    /** SUPABASE_SERVICE_ROLE_KEY of the project storage is restored into. */
    storageServiceKey?: string;
    sourceDbUrl?: string;
    targetDbUrl?: string;
    supabaseAccessToken?: string;
    apiBearerToken?: string;
    maskingSalt?: string;
}

class ConfigError extends Error {}

function fail(key: string, expected: string): never {
    throw new ConfigError(`config ${CONFIG_NAMESPACE}:${key} ${expected}`);
}

function optionalString(obj: Record<string, unknown>, key: string, path: string): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v === "") fail(`${path}.${key}`, "must be a non-empty string");
    return v;
}

function positiveNumber(v: unknown, path: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) fail(path, `must be a positive number (got ${JSON.stringify(v)})`);
    return v;
}

function stringArray(v: unknown, path: string): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) fail(path, "must be a list of strings");
    return v as string[];
}

function assertions(v: unknown): SqlAssertion[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) fail("drill.validation.assertions", 'must be a list of {"name", "sql", "expected"}');
    return v.map((a, i) => {
        const path = `drill.validation.assertions[${i}]`;
        if (typeof a !== "object" || a === null) fail(path, 'must be {"name", "sql", "expected"}');
        const { name, sql, expected } = a as Record<string, unknown>;
        if (typeof name !== "string" || !name) fail(`${path}.name`, "must be a non-empty string");
        if (typeof sql !== "string" || !sql) fail(`${path}.sql`, "must be a SQL query returning one value");
        if (!(expected === null || ["string", "number", "boolean"].includes(typeof expected))) {
            fail(`${path}.expected`, "must be a string, number, boolean or null");
        }
        return { name, sql, expected } as SqlAssertion;
    });
}

function vaultSettings(raw: unknown, env: string): RestoreDrillArgs["vault"] {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== "object") fail("drill.vault", 'must be {"kind": "s3", "bucket": …}');
    const v = raw as Record<string, unknown>;
    if (v.kind !== "s3") fail("drill.vault.kind", 'must be "s3"');
    const notAfter = optionalString(v, "notAfter", "drill.vault");
    if (notAfter && Number.isNaN(Date.parse(notAfter))) fail("drill.vault.notAfter", "must be an ISO 8601 time");
    return {
        settings: {
            kind: "s3",
            bucket: optionalString(v, "bucket", "drill.vault") ?? fail("drill.vault.bucket", "is required"),
            region: optionalString(v, "region", "drill.vault"),
            endpoint: optionalString(v, "endpoint", "drill.vault"),
        },
        env: optionalString(v, "env", "drill.vault") ?? env,
        notAfter,
    };
}

function storageSettings(raw: unknown, vault: VaultSettings | undefined, env: string, secrets: DrillSecrets): RestoreDrillArgs["storage"] {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== "object") fail("drill.storage", 'must be {"storageUrl", "buckets": [...]}');
    const st = raw as Record<string, unknown>;
    const storageUrl = optionalString(st, "storageUrl", "drill.storage") ?? fail("drill.storage.storageUrl", "is required (<SUPABASE_URL>/storage/v1)");
    const buckets = stringArray(st.buckets, "drill.storage.buckets") ?? fail("drill.storage.buckets", "is required (bucket names)");
    const storeVault = (st.vault as VaultSettings | undefined) ?? vault ?? fail("drill.storage.vault", "is required when drill.vault is not set");
    if (!secrets.storageServiceKey) fail("storageServiceKey", "is required for a storage restore (SUPABASE_SERVICE_ROLE_KEY), set with --secret");
    return { storageUrl, buckets, vault: storeVault, env: optionalString(st, "env", "drill.storage") ?? env, serviceKey: secrets.storageServiceKey };
}

function drillTarget(raw: unknown, secrets: DrillSecrets): RestoreDrillArgs["target"] {
    const t = (raw ?? { kind: "database" }) as Record<string, unknown>;
    if (typeof t !== "object" || t === null) fail("drill.target", 'must be {"kind": "database"} or {"kind": "supabase-project", ...}');
    if (t.kind === undefined || t.kind === "database") {
        if (!secrets.targetDbUrl) fail("targetDbUrl", "is required: the scratch server's admin URI (TARGET_DB_URL), set with --secret");
        parseConnectionString(secrets.targetDbUrl, `config ${CONFIG_NAMESPACE}:targetDbUrl`);
        return { kind: "database", adminUrl: secrets.targetDbUrl };
    }
    if (t.kind !== "supabase-project") fail("drill.target.kind", 'must be "database" or "supabase-project"', );
    if (!secrets.supabaseAccessToken) fail("supabaseAccessToken", "is required for a supabase-project target (SUPABASE_ACCESS_TOKEN), set with --secret");
    return {
        kind: "supabase-project",
        accessToken: secrets.supabaseAccessToken,
        organization: optionalString(t, "organization", "drill.target") ?? fail("drill.target.organization", "is required (the organization slug)"),
        region: optionalString(t, "region", "drill.target") ?? fail("drill.target.region", "is required (e.g. eu-west-2)"),
        instanceSize: optionalString(t, "instanceSize", "drill.target"),
        apiBaseUrl: optionalString(t, "apiBaseUrl", "drill.target"),
        readyTimeoutSeconds: positiveNumber(t.readyTimeoutSeconds, "drill.target.readyTimeoutSeconds"),
        pollIntervalSeconds: positiveNumber(t.pollIntervalSeconds, "drill.target.pollIntervalSeconds"),
    };
}

/** Validates the drill settings and secrets and returns the component's arguments. */
export function drillArgsFromConfig(raw: unknown, secrets: DrillSecrets, stack: string): RestoreDrillArgs {
    if (typeof raw !== "object" || raw === null) fail("drill", "must be an object (the drill command writes it)");
    const d = raw as Record<string, unknown>;
    const env = optionalString(d, "env", "drill") ?? fail("drill.env", "is required (e.g. staging)");
    const id = optionalString(d, "id", "drill") ?? fail("drill.id", "is required (yyyymmddHHMMss)");
    if (!/^\d{14}$/.test(id)) fail("drill.id", `must be yyyymmddHHMMss (got ${id})`);
    const artifactsDir = optionalString(d, "artifactsDir", "drill") ?? fail("drill.artifactsDir", "is required (BACKUP_DIR)");
    const startedAt = optionalString(d, "startedAt", "drill") ?? fail("drill.startedAt", "is required (ISO 8601)");
    if (Number.isNaN(Date.parse(startedAt))) fail("drill.startedAt", "must be an ISO 8601 time");
    const backupPath = optionalString(d, "backupPath", "drill");
    const backupTakenAt = optionalString(d, "backupTakenAt", "drill");
    if (backupTakenAt && Number.isNaN(Date.parse(backupTakenAt))) fail("drill.backupTakenAt", "must be an ISO 8601 time");

    const target = drillTarget(d.target, secrets);
    if (secrets.sourceDbUrl) parseConnectionString(secrets.sourceDbUrl, `config ${CONFIG_NAMESPACE}:sourceDbUrl`);
    const vault = vaultSettings(d.vault, env);
    if (vault && backupPath) fail("drill.vault", "cannot be combined with drill.backupPath: adopt one backup");
    if (!secrets.sourceDbUrl && !backupPath && !vault) {
        fail("sourceDbUrl", "or drill.backupPath or drill.vault is required: dump the source now, or adopt a backup");
    }

    const restore = (d.restore ?? {}) as Record<string, unknown>;
    const validation = (d.validation ?? {}) as Record<string, unknown>;
    const targets = (d.targets ?? {}) as Record<string, unknown>;
    const masking = d.masking as Record<string, unknown> | undefined;
    const smoke = d.smoke as Record<string, unknown> | undefined;
    if (masking && masking.rules === undefined) fail("drill.masking.rules", "is required when masking is configured");
    const jobs = positiveNumber(restore.jobs, "drill.restore.jobs");
    if (jobs !== undefined && !Number.isInteger(jobs)) fail("drill.restore.jobs", "must be a whole number");

    return {
        drillId: id,
        env,
        stack,
        artifactsDir,
        startedAt,
        sourceUrl: secrets.sourceDbUrl,
        backupPath,
        backupTakenAt,
        vault,
        target,
        scratchPrefix: optionalString(d, "scratchPrefix", "drill"),
        restore: { jobs, allowErrors: stringArray(restore.allowErrors, "drill.restore.allowErrors") },
        validation: {
            fingerprint: validation.fingerprint as FingerprintOptions | undefined,
            assertions: assertions(validation.assertions),
        },
        masking: masking && {
            rules: masking.rules,
            salt: secrets.maskingSalt,
            allowUnmasked: stringArray(masking.allowUnmasked, "drill.masking.allowUnmasked"),
        },
        smoke: smoke && {
            baseUrl: optionalString(smoke, "baseUrl", "drill.smoke"),
            bearerToken: secrets.apiBearerToken,
            checks: smoke.checks,
            retries: positiveNumber(smoke.retries, "drill.smoke.retries"),
        },
        storage: storageSettings(d.storage, vault?.settings, env, secrets),
        targets: {
            rtoSeconds: positiveNumber(targets.rtoSeconds, "drill.targets.rtoSeconds") ?? DEFAULT_TARGETS.rtoSeconds,
            rpoSeconds: positiveNumber(targets.rpoSeconds, "drill.targets.rpoSeconds") ?? DEFAULT_TARGETS.rpoSeconds,
        },
        nextDrillDays: positiveNumber(d.nextDrillDays, "drill.nextDrillDays") ?? DEFAULT_NEXT_DRILL_DAYS,
    };
}
