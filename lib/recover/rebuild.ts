// Path D of runbook 001 (the project is lost or unusable) as one command: a NEW Supabase project
// through the Management API, the database restored into it from the backup as path B does
// (recoverSchema, with the new project's database as the target), every bucket restored from its
// newest vault snapshot into the new project's Storage, then the secret-rotation report with the new
// endpoints. The old project is never deleted or changed (at most its secrets' digests are read).
//
// Dry run by default: it reads the vault and prints the plan, and creates nothing. With --apply every
// step is recorded in <artifacts>/rebuild-state.json as it finishes, and the state is written before
// the project is created: running the same command again after a failure resumes with the project
// the first run created (the database step resumes through recoverSchema's own marker, buckets are
// compared object by object), never a second project.
import * as fs from "node:fs";
import * as path from "node:path";
import { SupabaseApi, type Clock, type RetryEvent } from "../supabase/client";
import { scratchProjectName, validateProjectRequest } from "../supabase/project";
import { CheckFailedError, RefusedError, UsageError, withMessageSuffix } from "../errors";
import { redactError } from "../redact";
import { storageClient } from "../storage/client";
import type { BlobStore } from "../vault/blobStore";
import { artifactName, writeAuditFile } from "./audit";
import { listMigrations } from "./migrationsDir";
import { createOrResumeProject, type NewProject } from "./rebuildProject";
import { formatSecretsReport, oldProjectSecrets, parseSecretValues, planSecretCopy, type SecretsReport } from "./rebuildSecrets";
import { markDone, readRebuildState, statePath, writeRebuildState, type RebuildState } from "./rebuildState";
import { planBuckets, restoreBucketIntoNewProject, type BucketPlan, type BucketRestored } from "./rebuildStorage";
import { recoverSchema, type RecoverSchemaResult } from "./schema";

export const DEFAULT_REBUILD_NAME_PREFIX = "rebuild";

export interface RecoverRebuildOptions {
    accessToken: string;
    /** Organization slug the new project is created in. */
    organization: string;
    region: string;
    /** Default rebuild-<yyyymmddhhmmss>-<6 hex>. */
    projectName?: string;
    apiBaseUrl?: string;
    /** The projects' API URL template ({ref}); default https://{ref}.supabase.co. */
    projectApiUrl?: string;
    /** The database backup: a local path, or the vault. */
    backupPath?: string;
    vault?: { store: BlobStore; env: string; key?: string };
    migrationsDir: string;
    /** As for recover schema: a backup without its own migration history. */
    baseline?: string;
    /** The vault holding the storage snapshots, and the env they are under. */
    storageStore: BlobStore;
    storageEnv: string;
    /** Only these buckets (default: every bucket with a snapshot). */
    buckets?: string[];
    /** The old project (only read: its secrets' names and digests). */
    oldRef?: string;
    /** KEY=VALUE file with the project secrets' values. */
    secretValuesFile?: string;
    /** Live database (only read, to refuse it as a target) when it is still reachable. */
    liveUrl?: string;
    now: Date;
    apply: boolean;
    artifactsDir: string;
    readyTimeoutMs?: number;
    pollIntervalMs?: number;
    clock?: Clock;
    onRetry?: (event: RetryEvent) => void;
    concurrency?: number;
    onProgress?: (message: string) => void;
}

export interface RebuildEndpoints {
    ref: string;
    name: string;
    region: string;
    apiUrl: string;
    storageUrl: string;
    dbHost: string;
    /** The pooler URL without its password. */
    poolerUrl: string;
    dbPasswordFile: string;
}

export interface RecoverRebuildResult {
    planText: string;
    summary: string;
    buckets: BucketPlan[];
    /** After --apply. */
    resumed?: boolean;
    endpoints?: RebuildEndpoints;
    schema?: RecoverSchemaResult;
    restored?: BucketRestored[];
    secrets?: SecretsReport;
    /** The rebuild report (endpoints and the rotation checklist; names only). */
    reportFile?: string;
    audit?: string;
    notes: string[];
}

function withoutPassword(url: string): string {
    const u = new URL(url);
    u.password = "";
    return u.toString().replace(/:@/, "@");
}

function planText(o: RecoverRebuildOptions, state: RebuildState | undefined, name: string, buckets: BucketPlan[], secretNames: string[], oldSecrets: string | undefined): string {
    const lines = ["# recover rebuild (runbook 001 path D)"];
    if (state?.ref) lines.push(`project: resume project ${state.ref} ('${state.projectName}') created by an earlier run (${statePath(o.artifactsDir)}); steps done: ${state.done.join(", ") || "none"}`);
    else lines.push(`project: create '${name}' in organization '${o.organization}', region ${o.region}${state ? " (an earlier run started it: looked up by name first)" : ""}`);
    const backup = o.vault ? `vault ${o.vault.store.location}, env ${o.vault.env}, ${o.vault.key ? `key ${o.vault.key}` : "newest backup"}` : path.resolve(o.backupPath!);
    const migrations = listMigrations(o.migrationsDir).migrations.length;
    lines.push(`database: restore ${backup} into the new project's database as 'recover schema' does, then the outstanding of ${migrations} migration(s) in ${o.migrationsDir}, verified`);
    lines.push(`storage: ${buckets.length} bucket(s) from their newest snapshot in ${o.storageStore.location} (env ${o.storageEnv}):`);
    for (const b of buckets) {
        lines.push(`  ${b.bucket}: ${b.objects} object(s), ${b.bytes} bytes, ${b.snapshot.manifest.public ? "public" : "private"}, snapshot taken ${b.snapshot.manifest.takenAt} (${b.snapshot.manifestKey})`);
    }
    lines.push("secrets rotated by construction: the new project's API keys, JWT secret and database password");
    if (oldSecrets) lines.push(`project secrets: the old project's could not be listed (${oldSecrets})`);
    lines.push(`project secrets to carry over: ${secretNames.length > 0 ? secretNames.join(", ") : "none known"}${o.secretValuesFile ? ` (values from ${o.secretValuesFile})` : " (no --secret-values: listed as to set by hand)"}`);
    lines.push("the old project is never deleted or changed");
    return lines.join("\n");
}

function reportText(e: RebuildEndpoints, restored: BucketRestored[], schema: RecoverSchemaResult, secrets: SecretsReport): string {
    return [
        `# rebuild report: project ${e.ref} ('${e.name}', ${e.region})`,
        "new endpoints:",
        `  API URL:       ${e.apiUrl}`,
        `  Storage URL:   ${e.storageUrl}`,
        `  database host: ${e.dbHost} (direct, IPv6 unless the IPv4 add-on is enabled)`,
        `  pooler URL:    ${e.poolerUrl} (session mode; password in ${e.dbPasswordFile})`,
        `database: ${schema.summary}`,
        `storage: ${restored.map((b) => `${b.bucket} ${b.verified} object(s) verified`).join(", ") || "no buckets"}`,
        "",
        formatSecretsReport(secrets),
        "",
    ].join("\n");
}

export async function recoverRebuild(opts: RecoverRebuildOptions): Promise<RecoverRebuildResult> {
    const values = opts.secretValuesFile ? parseSecretValues(opts.secretValuesFile) : {};
    const secrets = [opts.accessToken, ...Object.values(values)];
    try {
        return await run(opts, values, secrets);
    } catch (err) {
        throw redactError(err, secrets);
    }
}

async function run(opts: RecoverRebuildOptions, values: Record<string, string>, secrets: string[]): Promise<RecoverRebuildResult> {
    const progress = opts.onProgress ?? (() => undefined);
    const problems = validateProjectRequest({ accessToken: opts.accessToken, organization: opts.organization, region: opts.region, apiBaseUrl: opts.apiBaseUrl, projectApiUrl: opts.projectApiUrl });
    if (problems.length > 0) throw new UsageError(`rebuild: ${problems.map((p) => `${p.property}: ${p.reason}`).join("; ")}`);
    const api = new SupabaseApi({ accessToken: opts.accessToken, apiBaseUrl: opts.apiBaseUrl, clock: opts.clock, onRetry: opts.onRetry, secrets });
    let state = readRebuildState(opts.artifactsDir);
    if (state && opts.projectName && state.projectName !== opts.projectName) {
        throw new RefusedError(`refusing: ${statePath(opts.artifactsDir)} belongs to the rebuild of '${state.projectName}', not '${opts.projectName}': use another --artifacts directory for another rebuild`);
    }
    if (state && state.organization !== opts.organization) {
        throw new RefusedError(`refusing: ${statePath(opts.artifactsDir)} belongs to a rebuild in organization '${state.organization}', not '${opts.organization}'`);
    }
    const name = state?.projectName ?? opts.projectName ?? scratchProjectName(DEFAULT_REBUILD_NAME_PREFIX, opts.now);

    progress(`reading the storage snapshots of env ${opts.storageEnv} from ${opts.storageStore.location}`);
    const buckets = await planBuckets(opts.storageStore, opts.storageEnv, opts.now, opts.buckets);
    const old = opts.oldRef ? await oldProjectSecrets(api, opts.oldRef) : undefined;
    const secretNames = [...new Set([...(old && typeof old !== "string" ? old.keys() : []), ...Object.keys(values)])].sort();
    const result: RecoverRebuildResult = {
        planText: planText(opts, state, name, buckets, secretNames, typeof old === "string" ? old : undefined),
        summary: `${state?.ref ? `resume project ${state.ref}` : `create project '${name}'`}, restore the database, ${buckets.length} bucket(s) with ${buckets.reduce((n, b) => n + b.objects, 0)} object(s), ${secretNames.length} project secret(s) to carry over`,
        buckets,
        notes: [],
    };
    if (!opts.apply) return result;

    result.resumed = !!state;
    state ??= {
        kind: "supabase-dr rebuild state",
        projectName: name,
        organization: opts.organization,
        region: opts.region,
        dbPasswordFile: path.resolve(opts.artifactsDir, `rebuild-${name}.dbpass`),
        startedAt: new Date().toISOString(),
        done: [],
    };
    writeRebuildState(opts.artifactsDir, state);
    const audit = (record: Record<string, unknown>) => {
        const full = { action: "recover rebuild", project: { ref: state!.ref ?? null, name: state!.projectName }, organization: state!.organization, stateFile: statePath(opts.artifactsDir), ...record };
        return writeAuditFile(opts.artifactsDir, full);
    };

    let project: NewProject | undefined;
    try {
        project = await createOrResumeProject(api, opts.artifactsDir, state, {
            projectApiUrl: opts.projectApiUrl,
            oldRef: opts.oldRef,
            readyTimeoutMs: opts.readyTimeoutMs,
            pollIntervalMs: opts.pollIntervalMs,
            onProgress: progress,
        });
        secrets.push(project.dbPassword, project.serviceRoleKey);
        markDone(opts.artifactsDir, state, "project");
        const endpoints: RebuildEndpoints = {
            ref: project.ref,
            name: project.name,
            region: project.region,
            apiUrl: project.apiUrl,
            storageUrl: project.storageUrl,
            dbHost: project.dbHost,
            poolerUrl: withoutPassword(project.dbUrl),
            dbPasswordFile: state.dbPasswordFile,
        };
        result.endpoints = endpoints;
        progress(`${project.createdNow ? "created" : "resuming with"} project ${project.ref}; restoring the database`);

        // recoverSchema refuses a non-empty target unless it carries its own marker: a retry resumes.
        const schema = await recoverSchema({
            backupPath: opts.backupPath,
            vault: opts.vault,
            migrationsDir: opts.migrationsDir,
            baseline: opts.baseline,
            targetUrl: project.dbUrl,
            liveUrl: opts.liveUrl,
            apply: true,
            artifactsDir: opts.artifactsDir,
            onProgress: progress,
        });
        result.schema = schema;
        if (!schema.verified) throw new CheckFailedError(`the restored database failed verification (${schema.summary}; audit record ${schema.audit}): stopping before Storage`);
        markDone(opts.artifactsDir, state, "database");

        const client = storageClient(project.storageUrl, project.serviceRoleKey);
        result.restored = [];
        for (const plan of buckets) {
            progress(`restoring bucket ${plan.bucket} (${plan.objects} object(s)) into the new project`);
            result.restored.push(await restoreBucketIntoNewProject(client, opts.storageStore, plan, { concurrency: opts.concurrency, onProgress: progress }));
            markDone(opts.artifactsDir, state, `storage:${plan.bucket}`);
        }

        const current = new Map((await api.listSecrets(project.ref)).map((s) => [s.name, s.value.toLowerCase()]));
        const copy = planSecretCopy({ keyNames: project.keyNames, old, values, current });
        if (copy.set.length > 0) {
            progress(`setting ${copy.set.length} project secret(s) on the new project`);
            await api.createSecrets(project.ref, copy.set);
        }
        markDone(opts.artifactsDir, state, "secrets");
        result.secrets = copy.report;

        result.reportFile = path.resolve(opts.artifactsDir, artifactName("rebuild-report", "md"));
        fs.writeFileSync(result.reportFile, reportText(endpoints, result.restored, schema, copy.report), { mode: 0o600, flag: "wx" });
        state.completedAt = new Date().toISOString();
        writeRebuildState(opts.artifactsDir, state);
        result.audit = audit({
            outcome: "completed",
            resumed: result.resumed,
            endpoints,
            database: { audit: schema.audit, summary: schema.summary },
            storage: result.restored,
            storageSnapshots: buckets.map((b) => ({ bucket: b.bucket, manifestKey: b.snapshot.manifestKey, manifestSha256: b.snapshot.manifestSha256 })),
            secrets: { copied: copy.report.copied.map((c) => c.name), toSet: copy.report.toSet.map((t) => t.name), automatic: copy.report.automatic },
            report: result.reportFile,
        });
        result.summary = `project ${project.ref} rebuilt: ${schema.summary}; ${result.restored.reduce((n, b) => n + b.verified, 0)} object(s) in ${result.restored.length} bucket(s) verified; ${copy.report.copied.length} secret(s) set, ${copy.report.toSet.length} to set by hand`;
        return result;
    } catch (err) {
        const redacted = redactError(err, secrets);
        const auditFile = audit({ outcome: "failed", stepsDone: state.done, error: redacted.message });
        const resume = state.ref ? `run the same command again: it resumes with project ${state.ref}` : "run the same command again: it looks the project up by name before creating one";
        // Keeps the error's class: it decides the exit code (an API outage is not a bug).
        throw withMessageSuffix(redacted, `\n(${resume}; audit record ${auditFile})`);
    }
}
