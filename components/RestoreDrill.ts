// A restore drill as resources (runbooks 000 and 003): backup artifact → scratch target → restore →
// validation → optional recovery rehearsals (runbook 001 path A on the copy) → optional masking →
// optional smoke tests → report. Creating the component runs the drill;
// destroying it drops the scratch target. Artifacts stay in artifactsDir.
// Smoke tests go to the restored environment: a scratch Supabase project's own API with its key by
// default; a local database target has no API, so its smoke needs an explicit base URL.
// A point-in-time recovery drill (args.pitr) replaces backup → scratch target → restore → validation with
// PitrRestore (the WAL archive restored to T into the drill's own cluster) → PitrValidation (a mark's
// fingerprint exactly, or heartbeat ordering at T); masking, smoke and report run on it as usual.
import * as pulumi from "@pulumi/pulumi";
import { BackupArtifact } from "../sdk/backupArtifact";
import { DrillReport } from "../sdk/drillReport";
import { Masking } from "../sdk/masking";
import { RecoverRehearsal } from "../sdk/recoverRehearsal";
import { PitrRestore, PitrValidation } from "../sdk/pitrRestore";
import { Restore, type RestoreArgs } from "../sdk/restore";
import { ScratchCluster } from "../sdk/scratchCluster";
import { ScratchDatabase } from "../sdk/scratchDatabase";
import { SmokeTest } from "../sdk/smokeTest";
import { StorageRestore } from "../sdk/storageRestore";
import { SupabaseProject } from "../sdk/supabaseProject";
import { Validation } from "../sdk/validation";
import type { DrillPitrTarget } from "../lib/drill/pitrTarget";
import type { DrillTargets } from "../lib/drill/report";
import { secretValues as pitrSecretValues } from "../lib/pitr/config";
import type { PitrSecrets, PitrSettings } from "../lib/pitr/settings";
import { smokeChecksFor, smokeEndpoint, type ProjectKeyRole } from "../lib/smoke/target";
import { SUPABASE_ONLY_EXTENSIONS } from "../lib/supabase/platform/extensions";
import type { FingerprintOptions, SqlAssertion } from "../lib/validate/types";
import type { VaultSettings } from "../lib/vault/openVault";

export interface RestoreDrillArgs {
    /** yyyymmddHHMMss; stamps every artifact. */
    drillId: string;
    env: string;
    /** The drill stack's name, for the report. */
    stack: string;
    /** BACKUP_DIR: where artifacts are written (and kept). */
    artifactsDir: string;
    /** Drill start (ISO 8601): RTO and RPO are measured from it. */
    startedAt: string;
    /**
     * SOURCE_DB_URL. A secret. Without backupPath it is dumped now; with backupPath it is only
     * protected from the restore and, when the backup has no fingerprint, validated against.
     */
    sourceUrl?: pulumi.Input<string>;
    /** Adopt this backup instead of dumping (custom, SQL, SQL.gz, supabase db dump directory). */
    backupPath?: string;
    /** Or fetch the newest backup of `env` from the vault and adopt it (credentials from the environment). */
    vault?: { settings: VaultSettings; env: string; notAfter?: string };
    backupTakenAt?: string;
    /** Where the backup is restored: a scratch database, or a scratch Supabase project. */
    target: DrillTarget;
    scratchPrefix?: string;
    restore?: RestoreSettings;
    validation?: { fingerprint?: FingerprintOptions; assertions?: SqlAssertion[]; allowNoData?: boolean };
    masking?: { rules: unknown; salt?: pulumi.Input<string>; allowUnmasked?: string[] };
    smoke?: SmokeSettings;
    /**
     * Storage restore (runbook 001 path C, 004 §2.2): the newest snapshot of each bucket, from the vault,
     * into restored-{bucket}-{yyyyMMdd} of the project at storageUrl; checksums verified; removed on destroy.
     */
    storage?: { storageUrl: string; serviceKey: pulumi.Input<string>; vault: VaultSettings; env: string; buckets: string[] };
    targets: DrillTargets;
    nextDrillDays: number;
    /** A point-in-time recovery drill: replaces the backup, target and restore steps. */
    pitr?: PitrDrillSettings;
    /**
     * Recovery rehearsals (runbook 001 path A) on the scratch copy after validation, before masking: a
     * sample of each table's rows deleted and changed there, recovered from the drill's backup.
     */
    rehearseRecover?: { path: "rows"; table: string; sample?: number }[];
}

/** Point-in-time recovery from the WAL archive into the drill's own throw-away cluster. */
export interface PitrDrillSettings {
    archive: PitrSettings;
    /** The archive's S3 keys and cipher passphrase. A secret. */
    secrets: pulumi.Input<PitrSecrets>;
    target: DrillPitrTarget;
    /** Where the consistent-point marks are (default: beside an S3 archive). */
    marks?: VaultSettings;
    /** The database validated, masked and smoke-tested. */
    database: string;
    superuser?: string;
    timeoutMinutes?: number;
}

/** What every restore path hands to masking, smoke and the report. */
interface RestoredTarget {
    connectionString: pulumi.Output<string>;
    databaseName: pulumi.Output<string>;
    validatedAt: pulumi.Output<string>;
    /** The backup restored (absent for a PITR drill): what a recovery rehearsal recovers from. */
    manifestPath?: pulumi.Output<string>;
    requireScratchMarker: boolean;
    project?: SupabaseProject;
}

/** Smoke tests against the restored environment (runbook 002). */
export interface SmokeSettings {
    /**
     * TARGET_API_URL. Default for a scratch Supabase project: its own API (https://<ref>.supabase.co).
     * Required for path checks on a local database target, which has no API.
     */
    baseUrl?: string;
    /** API_BEARER_TOKEN (a user's session token), for checks with auth. A secret. */
    bearerToken?: pulumi.Input<string>;
    /** Default with a base URL: runbook 002's checks of the application (lib/smoke/checks); a project's API needs its own. */
    checks?: unknown;
    retries?: number;
    /** Which of the scratch project's keys the checks carry (as `apikey`). Default anon. */
    projectKey?: ProjectKeyRole;
}

/** A scratch Supabase project's settings (non-secret; the access token travels separately). */
export interface SupabaseTargetSettings {
    organization: string;
    region: string;
    instanceSize?: string;
    apiBaseUrl?: string;
    /** The projects' API URL, `{ref}` for the ref. Default https://{ref}.supabase.co. */
    projectApiUrl?: string;
    readyTimeoutSeconds?: number;
    pollIntervalSeconds?: number;
}

/** How the restore step treats a backup made for a Supabase project. */
export interface RestoreSettings {
    jobs?: number;
    allowErrors?: string[];
    /**
     * Extensions the backup creates that the target cannot have (plain PostgreSQL lacks Supabase's own):
     * each is reported and its CREATE EXTENSION skipped. Default: lib/supabase/platform's SUPABASE_ONLY_EXTENSIONS.
     */
    allowMissingExtensions?: string[];
    /**
     * Supabase platform part (roles, managed schemas, auth/storage tables, publication) prepared on a local
     * target before a Supabase backup: from the source's own catalog when reachable ("auto", the default),
     * always from it ("source"), from the project's baseline ("baseline"), or not at all ("none").
     */
    platform?: "auto" | "source" | "baseline" | "none";
}

export type DrillTarget =
    /** Default: a throw-away PostgreSQL cluster the drill starts itself (loopback, random password), removed on destroy. */
    | { kind: "cluster" }
    /** TARGET_DB_URL: a role that may CREATE DATABASE on the scratch server. A secret. */
    | { kind: "database"; adminUrl: pulumi.Input<string> }
    /** A new Supabase project per drill, created through the Management API and deleted afterwards. */
    | ({ kind: "supabase-project"; accessToken: pulumi.Input<string> } & SupabaseTargetSettings);

export class RestoreDrill extends pulumi.ComponentResource {
    public readonly status: pulumi.Output<string>;
    public readonly summaryPath: pulumi.Output<string>;
    public readonly reportJsonPath: pulumi.Output<string>;
    public readonly scratchDatabase: pulumi.Output<string>;
    public readonly rtoSeconds: pulumi.Output<number | undefined>;
    public readonly rpoSeconds: pulumi.Output<number | undefined>;

    constructor(name: string, args: RestoreDrillArgs, opts?: pulumi.ComponentResourceOptions) {
        super("supabase-dr:drill:RestoreDrill", name, {}, opts);
        const common = { artifactsDir: args.artifactsDir, drillId: args.drillId };
        const t = args.target;
        // Before anything is created: smoke that has nothing to check fails now, not after the restore.
        const smokeChecks = args.smoke && smokeChecksFor(args.smoke, args.pitr ? "cluster" : t.kind);
        const restored = args.pitr ? this.pointInTime(name, args, args.pitr) : this.fromBackup(name, args);
        const { project, requireScratchMarker } = restored;
        const target = { connectionString: restored.connectionString, databaseName: restored.databaseName };

        let last: pulumi.Output<string> = restored.validatedAt;
        // Rehearsals run on the validated copy, one after another, and before masking: masking rewrites
        // the rows path A compares with the backup. Each ends with the table as validated.
        for (const r of args.rehearseRecover ?? []) {
            if (!restored.manifestPath) throw new Error("a recovery rehearsal needs a backup to recover from: a PITR drill has none");
            const rehearsal = new RecoverRehearsal(`${name}-rehearse-${r.table}`, {
                ...common,
                targetUrl: target.connectionString,
                sourceUrl: args.sourceUrl,
                manifestPath: restored.manifestPath,
                table: r.table,
                sample: r.sample,
                requireScratchMarker,
                after: last,
            }, { parent: this });
            last = rehearsal.finishedAt;
        }
        if (args.masking) {
            const masking = new Masking(`${name}-masking`, {
                ...common,
                targetUrl: target.connectionString,
                sourceUrl: args.sourceUrl,
                rules: args.masking.rules,
                salt: args.masking.salt,
                allowUnmasked: args.masking.allowUnmasked,
                requireScratchMarker,
                after: last,
            }, { parent: this });
            last = masking.status;
        }
        if (args.smoke) {
            const endpoint = smokeEndpoint(
                args.smoke.baseUrl,
                project && { apiUrl: project.apiUrl, anonKey: project.anonKey, serviceRoleKey: project.serviceRoleKey },
                args.smoke.projectKey,
            );
            const smoke = new SmokeTest(`${name}-smoke`, {
                ...common,
                baseUrl: endpoint.baseUrl,
                bearerToken: args.smoke.bearerToken,
                apiKey: endpoint.apiKey,
                // Checks may carry header values (e.g. an apikey): kept secret in state.
                checks: pulumi.secret(smokeChecks),
                retries: args.smoke.retries,
                after: last,
            }, { parent: this });
            last = smoke.status;
        }

        const storageRestores = (args.storage?.buckets ?? []).map(
            (bucket) =>
                new StorageRestore(`${name}-storage-${bucket}`, {
                    storageUrl: args.storage!.storageUrl,
                    serviceKey: args.storage!.serviceKey,
                    vault: args.storage!.vault,
                    env: args.storage!.env,
                    bucket,
                    ...common,
                }, { parent: this }),
        );

        const report = new DrillReport(`${name}-report`, {
            meta: {
                id: args.drillId,
                env: args.env,
                stack: args.stack,
                artifactsDir: args.artifactsDir,
                startedAt: args.startedAt,
                targets: args.targets,
                nextDrillDays: args.nextDrillDays,
                maskingConfigured: !!args.masking,
                smokeConfigured: !!args.smoke,
                storageBuckets: args.storage?.buckets,
                pitrTarget: args.pitr?.target,
                rehearsedTables: args.rehearseRecover?.map((r) => r.table),
            },
            redactValues: pulumi
                .all([
                    pulumi.all([
                        args.smoke?.bearerToken,
                        args.masking?.salt,
                        args.storage?.serviceKey,
                        t.kind === "supabase-project" ? t.accessToken : undefined,
                        project?.anonKey,
                        project?.serviceRoleKey,
                    ]),
                    args.pitr ? pulumi.output(args.pitr.secrets).apply((s) => pitrSecretValues(s)) : [],
                ])
                .apply(([values, pitrSecrets]) => [...values.filter((v): v is string => v !== undefined), ...pitrSecrets]),
            after: [last, ...storageRestores.map((r) => r.verifiedAt)],
        }, { parent: this });

        this.status = report.status;
        this.summaryPath = report.summaryPath;
        this.reportJsonPath = report.jsonPath;
        this.scratchDatabase = target.databaseName;
        this.rtoSeconds = report.rtoSeconds;
        this.rpoSeconds = report.rpoSeconds;
        this.registerOutputs({
            status: this.status,
            summaryPath: this.summaryPath,
            reportJsonPath: this.reportJsonPath,
            scratchDatabase: this.scratchDatabase,
            rtoSeconds: this.rtoSeconds,
            rpoSeconds: this.rpoSeconds,
        });
    }

    /** backup → scratch target → restore → validation against the backup's fingerprint. */
    private fromBackup(name: string, args: RestoreDrillArgs): RestoredTarget {
        const common = { artifactsDir: args.artifactsDir, drillId: args.drillId };

        const backup = new BackupArtifact(`${name}-backup`, {
            ...common,
            sourceUrl: args.backupPath || args.vault ? undefined : args.sourceUrl,
            backupPath: args.backupPath,
            vault: args.vault,
            takenAt: args.backupTakenAt,
            fingerprint: args.validation?.fingerprint,
        }, { parent: this });

        // Every target offers the same interface: connectionString (a secret) and databaseName. The
        // default is the drill's own throw-away cluster, with a scratch database (and its ownership
        // marker) on it like any other server.
        const t = args.target;
        const prefix = args.scratchPrefix ?? "drill";
        let drillServer: RestoreArgs["drillServer"];
        let target: ScratchDatabase | SupabaseProject;
        let project: SupabaseProject | undefined;
        if (t.kind === "supabase-project") {
            target = project = new SupabaseProject(`${name}-target`, {
                accessToken: t.accessToken,
                organization: t.organization,
                region: t.region,
                instanceSize: t.instanceSize,
                apiBaseUrl: t.apiBaseUrl,
                projectApiUrl: t.projectApiUrl,
                namePrefix: prefix,
                readyTimeoutSeconds: t.readyTimeoutSeconds,
                pollIntervalSeconds: t.pollIntervalSeconds,
            }, { parent: this });
            drillServer = { supabaseProject: true };
        } else if (t.kind === "cluster") {
            const cluster = new ScratchCluster(`${name}-cluster`, {}, { parent: this });
            target = new ScratchDatabase(`${name}-target`, { adminUrl: cluster.adminUrl, namePrefix: prefix }, { parent: this });
            drillServer = { systemIdentifier: cluster.systemIdentifier };
        } else {
            target = new ScratchDatabase(`${name}-target`, { adminUrl: t.adminUrl, namePrefix: prefix }, { parent: this });
        }
        // Only our scratch databases carry the ownership marker; a fresh project is guarded by the
        // source checks (endpoint and server identity) alone.
        const requireScratchMarker = t.kind !== "supabase-project";

        const restore = new Restore(`${name}-restore`, {
            ...common,
            manifestPath: backup.manifestPath,
            targetUrl: target.connectionString,
            protectedSourceUrl: args.sourceUrl,
            jobs: args.restore?.jobs,
            requireScratchMarker,
            allowErrors: args.restore?.allowErrors,
            drillServer,
            platform: args.restore?.platform,
            allowMissingExtensions: args.restore?.allowMissingExtensions,
        }, { parent: this });

        const validation = new Validation(`${name}-validation`, {
            ...common,
            manifestPath: backup.manifestPath,
            targetUrl: target.connectionString,
            sourceUrl: args.sourceUrl,
            assertions: args.validation?.assertions,
            fingerprint: args.validation?.fingerprint,
            allowNoData: args.validation?.allowNoData,
            allowMissingExtensions: args.restore?.allowMissingExtensions ?? [...SUPABASE_ONLY_EXTENSIONS],
            restoredAt: restore.finishedAt,
        }, { parent: this });

        return {
            connectionString: target.connectionString,
            databaseName: target.databaseName,
            validatedAt: validation.validatedAt,
            manifestPath: backup.manifestPath,
            requireScratchMarker,
            project,
        };
    }

    /** PITR to the target into the drill's own cluster → validation at the mark, or heartbeat ordering at T. */
    private pointInTime(name: string, args: RestoreDrillArgs, pitr: PitrDrillSettings): RestoredTarget {
        const common = { artifactsDir: args.artifactsDir, drillId: args.drillId };
        const restore = new PitrRestore(`${name}-pitr`, {
            ...common,
            archive: pitr.archive,
            secrets: pitr.secrets,
            target: pitr.target,
            marks: pitr.marks,
            database: pitr.database,
            superuser: pitr.superuser,
            timeoutMinutes: pitr.timeoutMinutes,
        }, { parent: this });
        const mark = pitr.target.type === "mark";
        // A time target is judged at T; an LSN or restore point at the last commit recovery replayed.
        const targetTime = pitr.target.type === "time" ? pulumi.output(pitr.target.time) : restore.reachedLastCommitTime;
        const validation = new PitrValidation(`${name}-validation`, {
            ...common,
            targetUrl: restore.connectionString,
            mode: mark ? "mark" : "heartbeat",
            markKey: mark ? restore.markKey : undefined,
            marks: pitr.marks,
            changedTables: mark ? restore.changedTables : undefined,
            archive: mark ? pitr.archive : undefined,
            secrets: mark ? pitr.secrets : undefined,
            sourceUrl: mark ? undefined : args.sourceUrl,
            targetTime: mark ? undefined : targetTime,
            targetNote: pitr.target.type === "lsn" || pitr.target.type === "name" ? `T is the last commit replayed up to the ${pitr.target.type === "lsn" ? "LSN" : "restore point"}` : undefined,
            assertions: args.validation?.assertions,
            restoredAt: restore.finishedAt,
        }, { parent: this });
        // The cluster is the drill's own (random password, its own directory): no scratch-database marker.
        return { connectionString: restore.connectionString, databaseName: restore.databaseName, validatedAt: validation.validatedAt, requireScratchMarker: false };
    }
}
