// The drill report: drill_summary_<id>.md (runbook 002's template), drill_<id>.json (machine
// readable), drill_<id>.junit.xml (CI test reporters) and drill_<id>.prom (Prometheus textfile),
// built from the step results the drill's resources left in the artifacts directory.
// One code path for both endings: the Report resource calls it when every step ran, the drill
// command calls it when the stack failed part-way, so a failed drill still gets all four files.
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackupManifest } from "../backup/manifest";
import type { MaskingResult } from "../mask";
import type { RestoreResult } from "../restore/restore";
import type { SmokeResult } from "../smoke/run";
import type { CheckResult } from "../validate/types";
import { redact } from "../redact";
import { artifactPaths, readStepResult, readStorageSteps, type StorageStep } from "./artifacts";
import { formatJUnit } from "./junit";
import { formatPrometheus } from "./prometheus";
import type { PitrStep } from "./pitrRestore";
import { describeDrillPitrTarget, type DrillPitrTarget } from "./pitrTarget";
import { describeRehearsal, readRehearsalSteps, type RehearsalStep } from "./rehearseRecover";

export interface DrillTargets {
    rtoSeconds: number;
    rpoSeconds: number;
}

export interface DrillMeta {
    id: string;
    env: string;
    stack: string;
    artifactsDir: string;
    /** Drill start (ISO): RTO and RPO are measured from here. */
    startedAt: string;
    targets: DrillTargets;
    /** Days until the next drill (runbook 002: quarterly). */
    nextDrillDays: number;
    /** Set when the drill failed before its Report resource ran (already redacted). */
    error?: string;
    /** Whether masking / smoke tests were configured (a missing result then means they never ran). */
    maskingConfigured?: boolean;
    smokeConfigured?: boolean;
    /** Buckets the drill restores from the vault's storage snapshots. */
    storageBuckets?: string[];
    /** Set for a point-in-time recovery drill: what it asked for (its pitr step replaces backup and restore). */
    pitrTarget?: DrillPitrTarget;
    /** Tables whose recovery (runbook 001 path A) the drill rehearses on the scratch copy (schema.table). */
    rehearsedTables?: string[];
}

export interface BackupStep {
    mode: "dump" | "adopt";
    manifestPath: string;
    manifest: BackupManifest;
    /** The vault manifest an adopted backup came from (location/key), when it came from the vault. */
    vaultObject?: string;
    startedAt: string;
    finishedAt: string;
    durationMs: number;
}

export interface ValidationStep {
    status: "pass" | "fail";
    /** consistent-point and heartbeat-log: a PITR drill's bases (lib/drill/validatePitr.ts). */
    comparedWith: "backup-fingerprint" | "live-source" | "none" | "consistent-point" | "heartbeat-log";
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    results: CheckResult[];
    /** Whether any table's data was compared with the source (absent in results of older versions). */
    dataCompared?: boolean;
    /** The caller accepted a validation that compares no data (allowNoData). */
    allowNoData?: boolean;
    note?: string;
}

export interface DrillReport {
    drill_id: string;
    environment: string;
    stack: string;
    status: "PASS" | "FAIL";
    timestamps: {
        drill_started_at: string;
        backup_taken_at?: string;
        restore_started_at?: string;
        restore_finished_at?: string;
        validated_at?: string;
        report_at: string;
    };
    /** A PITR drill's restore is the whole point-in-time restore; replay is the WAL replay part of it. */
    durations_seconds: { backup?: number; restore?: number; replay?: number; validation?: number; masking?: number; total: number };
    backup?: { id: string; mode: string; format: string; files: BackupManifest["files"]; taken_at: string; taken_at_source: string; source?: string; vault_object?: string };
    restore?: { target: string; errors: string[]; allowed_errors: string[]; log: string };
    /** A point-in-time recovery drill: T (the target asked) and what recovery reached. */
    pitr?: {
        target_asked: string;
        target: DrillPitrTarget | PitrStep["target"];
        mark?: PitrStep["mark"];
        stanza?: string;
        repository?: string;
        backup_label?: string;
        reached_lsn?: string;
        /** Commit time of the last replayed transaction (null: none was replayed). */
        reached_last_commit_time?: string | null;
        restore_seconds?: number;
        replay_seconds?: number;
        promote_seconds?: number;
        /** pg_cron / pg_net in the restored cluster: what was disabled before anything else ran. */
        scheduled_jobs?: string;
        completed: boolean;
    };
    validation?: {
        status: string;
        compared_with: string;
        data_compared?: boolean;
        no_data_allowed?: boolean;
        checks: CheckResult[];
        not_compared: number;
        note?: string;
    };
    masking?: MaskingResult;
    smoke?: SmokeResult;
    storage?: StorageStep[];
    /** Recovery rehearsals (runbook 001 path A on the scratch copy): counts, durations, key hashes only. */
    rehearse_recover?: RehearsalStep[];
    rto_seconds?: number;
    rpo_seconds?: number;
    /** Why the drill stopped or could not be cleaned up (redacted), when it did. */
    failure?: string;
    /** What this drill was set up to run: a configured step without a result did not complete. */
    configured: { masking: boolean; smoke: boolean; storage_buckets: string[]; rehearse_recover?: string[] };
    targets: { rto_seconds: number; rpo_seconds: number; rto_met: boolean; rpo_met: boolean };
    issues: string[];
    recommendations: string[];
    next_drill_date: string;
    artifacts: string[];
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

export function buildDrillReport(meta: DrillMeta, now = new Date()): DrillReport {
    const dir = meta.artifactsDir;
    const backup = readStepResult<BackupStep>(dir, meta.id, "backup");
    const restore = readStepResult<RestoreResult>(dir, meta.id, "restore");
    const validation = readStepResult<ValidationStep>(dir, meta.id, "validation");
    const masking = readStepResult<MaskingResult>(dir, meta.id, "masking");
    const smoke = readStepResult<SmokeResult>(dir, meta.id, "smoke");
    const storage = readStorageSteps(dir, meta.id);
    const pitrStep = readStepResult<PitrStep>(dir, meta.id, "pitr");
    const isPitr = meta.pitrTarget !== undefined || pitrStep !== undefined;
    const storageMissing = (meta.storageBuckets ?? []).filter((b) => !storage.some((s) => s.sourceBucket === b));
    const rehearsals = readRehearsalSteps(dir, meta.id);
    const rehearsalsMissing = (meta.rehearsedTables ?? []).filter((t) => !rehearsals.some((r) => r.table === t));
    const start = Date.parse(meta.startedAt);
    const issues: string[] = [];

    if (meta.error) issues.push(`Drill failed: ${meta.error}`);
    if (isPitr) {
        if (!pitrStep) issues.push("The point-in-time restore did not complete.");
        else if (pitrStep.target.type === "time" && pitrStep.reached.lastCommitTime === null) {
            issues.push("Recovery replayed no transaction before T: the restore holds the base backup's state only (RPO not measured).");
        }
    } else {
        if (!backup) issues.push("No backup artifact was produced.");
        if (!restore) issues.push("The restore did not complete.");
    }
    if (!validation) issues.push("Validation did not run.");
    if (validation) {
        for (const r of validation.results.filter((x) => x.status === "fail")) {
            issues.push(`Validation ${r.check} failed for ${r.object}${r.detail ? `: ${r.detail}` : ""}`);
        }
        if (validation.comparedWith === "none") issues.push(validation.note ?? "Data was not compared with the source.");
        else if (validation.dataCompared === false) {
            issues.push(`No table data was compared with the source${validation.allowNoData ? " (accepted: allowNoData)" : ""}.`);
        }
    }
    if (meta.maskingConfigured && !masking) issues.push("Masking was configured but did not run.");
    if (masking && masking.status !== "pass") issues.push("Masking left original PII values in the target.");
    if (meta.smokeConfigured && !smoke) issues.push("Smoke tests were configured but did not run.");
    if (smoke && smoke.status === "fail") issues.push(`Smoke tests: ${smoke.passed}/${smoke.total} passed.`);
    if (meta.smokeConfigured && smoke?.status === "skipped") {
        issues.push(`Smoke tests were configured but could not run: no API of the restored environment to send them to (${smoke.total} check(s) not run).`);
    }
    for (const b of storageMissing) issues.push(`Storage bucket ${b} was not restored and verified.`);
    for (const t of rehearsalsMissing) issues.push(`The recovery rehearsal of ${t} did not run.`);
    for (const r of rehearsals.filter((x) => x.status !== "pass")) issues.push(`Recovery rehearsal of ${r.table} failed: ${r.failures.join("; ")}`);
    if (restore && restore.allowedErrors.length > 0) issues.push(`${restore.allowedErrors.length} restore error(s) were allow-listed.`);

    // A backup the drill took itself is younger than the drill: nothing older than the start is lost.
    // A PITR drill's recovery point is its target: what is lost is what committed between the last
    // replayed commit and T (nothing at a mark, an LSN or a restore point: recovery stops exactly there).
    const rpo = isPitr ? (pitrStep ? pitrRpoSeconds(pitrStep) : undefined) : backup ? Math.max(0, Math.round((start - Date.parse(backup.manifest.takenAt)) / 1000)) : undefined;
    const validatedOk = validation && validation.status === "pass";
    const rto = validatedOk ? Math.round((Date.parse(validation.finishedAt) - start) / 1000) : undefined;
    const rtoMet = rto !== undefined && rto <= meta.targets.rtoSeconds;
    const rpoMet = rpo !== undefined && rpo <= meta.targets.rpoSeconds;
    if (rto !== undefined && !rtoMet) issues.push(`RTO ${rto}s exceeds the target of ${meta.targets.rtoSeconds}s.`);
    if (rpo !== undefined && !rpoMet) {
        issues.push(`RPO ${rpo}s exceeds the target of ${meta.targets.rpoSeconds}s (${isPitr ? "the last transaction replayed is that much older than T: is WAL archived late?" : "backup too old"}).`);
    }

    const pass =
        !meta.error &&
        (isPitr ? !!pitrStep : !!backup && !!restore) &&
        !!validatedOk &&
        // A validation without a basis proves nothing about the data, unless the caller accepted that.
        (validation!.comparedWith !== "none" || validation!.allowNoData === true) &&
        (!meta.maskingConfigured || masking?.status === "pass") &&
        // Configured smoke must have run and passed: skipped smoke proves nothing about the restore.
        (!meta.smokeConfigured || smoke?.status === "pass") &&
        storageMissing.length === 0 &&
        rehearsalsMissing.length === 0 &&
        rehearsals.every((r) => r.status === "pass") &&
        rtoMet &&
        rpoMet;

    const paths = artifactPaths(dir, meta.id);
    const artifacts = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.includes(meta.id)).sort() : [];
    for (const file of [paths.summaryMd, paths.drillJson, paths.junitXml, paths.prometheus]) {
        const f = path.basename(file);
        if (!artifacts.includes(f)) artifacts.push(f);
    }
    artifacts.sort();
    const next = new Date(now.getTime() + meta.nextDrillDays * 86_400_000);

    return {
        drill_id: meta.id,
        environment: meta.env,
        stack: meta.stack,
        status: pass ? "PASS" : "FAIL",
        timestamps: {
            drill_started_at: meta.startedAt,
            backup_taken_at: backup?.manifest.takenAt,
            restore_started_at: restore?.startedAt ?? pitrStep?.startedAt,
            restore_finished_at: restore?.finishedAt ?? pitrStep?.finishedAt,
            validated_at: validation?.finishedAt,
            report_at: now.toISOString(),
        },
        durations_seconds: {
            backup: backup ? seconds(backup.durationMs) : undefined,
            restore: restore ? seconds(restore.durationMs) : pitrStep ? seconds(pitrStep.durations.totalMs) : undefined,
            replay: pitrStep ? seconds(pitrStep.durations.replayMs) : undefined,
            validation: validation ? seconds(validation.durationMs) : undefined,
            masking: masking ? seconds(masking.durationMs) : undefined,
            total: seconds(now.getTime() - start),
        },
        backup: backup && {
            id: backup.manifest.id,
            mode: backup.mode,
            format: backup.manifest.format,
            files: backup.manifest.files,
            taken_at: backup.manifest.takenAt,
            taken_at_source: backup.manifest.takenAtSource,
            source: backup.manifest.source?.endpoint,
            vault_object: backup.vaultObject,
        },
        restore: restore && { target: restore.target, errors: restore.errors, allowed_errors: restore.allowedErrors, log: path.basename(restore.logPath) },
        pitr: isPitr ? pitrSection(meta, pitrStep) : undefined,
        validation: validation && {
            status: validation.status,
            compared_with: validation.comparedWith,
            data_compared: validation.dataCompared,
            no_data_allowed: validation.allowNoData,
            checks: validation.results,
            not_compared: validation.results.filter((r) => r.status === "skip").length,
            note: validation.note,
        },
        masking,
        smoke,
        storage: storage.length > 0 ? storage : undefined,
        rehearse_recover: rehearsals.length > 0 ? rehearsals : undefined,
        rto_seconds: rto,
        rpo_seconds: rpo,
        failure: meta.error,
        configured: {
            masking: !!meta.maskingConfigured,
            smoke: !!meta.smokeConfigured,
            storage_buckets: meta.storageBuckets ?? [],
            ...(meta.rehearsedTables && meta.rehearsedTables.length > 0 ? { rehearse_recover: meta.rehearsedTables } : {}),
        },
        targets: { rto_seconds: meta.targets.rtoSeconds, rpo_seconds: meta.targets.rpoSeconds, rto_met: rtoMet, rpo_met: rpoMet },
        issues,
        recommendations: recommendations(pass, issues, restore, validation, smoke, isPitr ? (pitrStep ? "ok" : "failed") : undefined),
        next_drill_date: next.toISOString().slice(0, 10),
        artifacts,
    };
}

/** Seconds between T and the last replayed commit; 0 where recovery stops exactly at the target. */
function pitrRpoSeconds(step: PitrStep): number | undefined {
    if (step.target.type !== "time") return 0;
    if (step.reached.lastCommitTime === null) return undefined;
    return Math.max(0, Math.round((Date.parse(step.target.time) - Date.parse(step.reached.lastCommitTime)) / 1000));
}

function pitrSection(meta: DrillMeta, step: PitrStep | undefined): NonNullable<DrillReport["pitr"]> {
    if (!step) return { target_asked: meta.pitrTarget ? describeDrillPitrTarget(meta.pitrTarget) : "unknown", target: meta.pitrTarget!, completed: false };
    return {
        target_asked: step.targetAsked,
        target: step.target,
        mark: step.mark,
        stanza: step.stanza,
        repository: step.repository,
        backup_label: step.backupLabel,
        reached_lsn: step.reached.lsn,
        reached_last_commit_time: step.reached.lastCommitTime,
        restore_seconds: seconds(step.durations.restoreMs),
        replay_seconds: seconds(step.durations.replayMs),
        promote_seconds: seconds(step.durations.promoteMs),
        scheduled_jobs: step.jobsSummary,
        completed: true,
    };
}

function recommendations(pass: boolean, issues: string[], restore?: RestoreResult, validation?: ValidationStep, smoke?: SmokeResult, pitr?: "ok" | "failed"): string[] {
    const recs: string[] = [];
    if (issues.some((i) => i.startsWith("Drill failed:"))) recs.push("Read the failure above and the step logs in the artifacts; fix the cause and re-run the drill.");
    if (pitr === "failed") {
        recs.push("Fix the point-in-time restore first: check the archive's health (gaps, stale WAL), that T lies between the oldest backup and the newest archived WAL, and the restore's server log in the error.");
    } else if (!pitr && !restore) recs.push("Fix the restore failure first: read the restore log, retry with a fresh target, or use the previous day's backup (runbook 002).");
    if (validation?.results.some((r) => r.status === "fail")) recs.push("Investigate the validation differences before trusting this backup for recovery.");
    if (issues.some((i) => i.startsWith("RPO"))) recs.push("Back up more often or check the backup schedule: the newest backup is older than the RPO target.");
    if (issues.some((i) => i.startsWith("RTO"))) recs.push("Speed up the restore (more pg_restore jobs, a larger scratch instance) or revisit the RTO target.");
    if (smoke?.status === "fail") recs.push("Fix the failing smoke endpoints, then re-run the drill.");
    if (issues.some((i) => i.startsWith("Recovery rehearsal of") || i.startsWith("The recovery rehearsal of"))) {
        recs.push("Treat a failed recovery rehearsal as a broken incident path: path A (npm run recover -- rows) would not restore that table as it was; read the rehearsal's failures (a trigger rewriting rows, a backup that differs) before an incident needs it.");
    }
    if (smoke?.status === "skipped") {
        recs.push("Give the smoke tests the restored environment's API (drill.smoke.baseUrl or TARGET_API_URL; a scratch Supabase project target supplies its own), or remove drill.smoke.");
    }
    if (restore && restore.allowedErrors.length > 0) recs.push("Review the allow-listed restore errors; remove entries that are no longer needed.");
    if (pass) recs.push("No action needed: keep the drill schedule, and extend validation assertions as the schema grows.");
    return recs;
}

/** Verdict, basis, and whether data was compared: "no data compared" must be visible at a glance. */
function validationLine(r: DrillReport): string {
    const v = r.validation;
    if (!v) return "not run";
    const failed = v.checks.filter((c) => c.status === "fail").length;
    const passed = v.checks.filter((c) => c.status === "pass").length;
    const counts = `${passed} passed, ${failed} failed${v.not_compared > 0 ? `, ${v.not_compared} not compared` : ""}`;
    const noData = v.compared_with === "none" || v.data_compared === false;
    const data = noData ? `, NO DATA COMPARED${v.no_data_allowed ? " (accepted: allowNoData)" : ""}` : "";
    return `${v.status.toUpperCase()} (${counts}; compared with ${v.compared_with}${data})`;
}

/** A PITR drill's metrics: T, what recovery reached, the base backup, the durations, the jobs stopped. */
function pitrLines(r: DrillReport): string[] {
    const p = r.pitr!;
    if (!p.completed) return [`- Point-in-time Target: ${p.target_asked}`, "- Point-in-time Restore: did not complete"];
    return [
        `- Point-in-time Target: ${p.target_asked}`,
        `- Target Reached: LSN ${p.reached_lsn}, last commit ${p.reached_last_commit_time ?? "none replayed"}`,
        `- Base Backup: ${p.backup_label} (stanza ${p.stanza}, ${p.repository})`,
        `- Restore Duration: ${r.durations_seconds.restore ?? "—"}s (restore ${p.restore_seconds}s, WAL replay ${p.replay_seconds}s, promotion ${p.promote_seconds}s)`,
        `- Scheduled Jobs: ${p.scheduled_jobs}`,
    ];
}

/** One line per configured or run recovery rehearsal; none when the drill rehearses nothing. */
function rehearsalLines(r: DrillReport): string[] {
    const ran = r.rehearse_recover ?? [];
    const missing = (r.configured.rehearse_recover ?? []).filter((t) => !ran.some((x) => x.table === t));
    return [...ran.map((x) => `- Recovery Rehearsal: ${describeRehearsal(x)}`), ...missing.map((t) => `- Recovery Rehearsal: ${t}: did not run`)];
}

export function formatSummary(r: DrillReport): string {
    const total = `${r.durations_seconds.total}s`;
    const smoke = !r.smoke ? "not run" : r.smoke.status === "skipped" ? `could not run (${r.smoke.total} check(s) not run)` : `${r.smoke.passed}/${r.smoke.total}`;
    const recs = r.recommendations.length > 0 ? r.recommendations : ["—"];
    const lines = [
        `DR Drill Execution Report - ${r.timestamps.drill_started_at.slice(0, 10)}`,
        "",
        "Executive Summary:",
        `- Drill Status: ${r.status}`,
        `- Total Duration: ${total}`,
        `- Issues Encountered: ${r.issues.length}`,
        "",
        "Metrics:",
        ...(r.pitr ? pitrLines(r) : [
            `- Backup Duration: ${r.durations_seconds.backup ?? "—"}s${r.backup ? ` (${r.backup.mode}, ${r.backup.format}, taken ${r.backup.taken_at}${r.backup.vault_object ? `, from ${r.backup.vault_object}` : ""})` : ""}`,
            `- Restore Duration: ${r.durations_seconds.restore ?? "—"}s`,
        ]),
        `- Validation Duration: ${r.durations_seconds.validation ?? "—"}s`,
        `- Validation: ${validationLine(r)}`,
        `- Smoke Test Results: ${smoke}`,
        `- Storage Restore: ${r.storage ? r.storage.map((s) => `${s.sourceBucket} → ${s.restoredBucket} (${s.objects} objects verified)`).join("; ") : "not run"}`,
        ...rehearsalLines(r),
        `- RTO: ${r.rto_seconds ?? "—"}s (target ${r.targets.rto_seconds}s, ${r.targets.rto_met ? "met" : "NOT met"})`,
        `- RPO: ${r.rpo_seconds ?? "—"}s (target ${r.targets.rpo_seconds}s, ${r.targets.rpo_met ? "met" : "NOT met"})`,
        "",
        "Issues:",
        ...(r.issues.length > 0 ? r.issues.map((i) => `- ${i}`) : ["- none"]),
        "",
        "Recommendations:",
        ...recs.map((rec, i) => `${i + 1}. ${rec}`),
        "",
        `Next Drill Date: ${r.next_drill_date}`,
        "",
        "Artifacts:",
        ...r.artifacts.map((a) => `- ${a}`),
        "",
    ];
    return "```\n" + lines.join("\n") + "```\n";
}

/**
 * Every string of the report redacted where it stands: a secret is then gone before any format
 * escapes it (JSON's \" or XML's &amp; would hide it from a redaction of the finished file).
 */
function redactReport<T>(value: T, secrets: string[]): T {
    if (typeof value === "string") return redact(value, secrets) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => redactReport(v, secrets)) as T;
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactReport(v, secrets)])) as T;
    }
    return value;
}

/** Write-then-rename: node_exporter's textfile collector (or a CI step) never reads a half-written file. */
function writeAtomically(file: string, text: string): void {
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
}

export interface WrittenDrillReport {
    /** The report as written: every string redacted with the given secrets. */
    report: DrillReport;
    summaryPath: string;
    jsonPath: string;
    junitPath: string;
    prometheusPath: string;
}

/**
 * Builds the report and writes drill_summary_<id>.md, drill_<id>.json, drill_<id>.junit.xml and
 * drill_<id>.prom beside each other; all of them redacted with the given secrets.
 */
export function writeDrillReport(meta: DrillMeta, secrets: string[] = [], now = new Date()): WrittenDrillReport {
    const report = redactReport(buildDrillReport(meta, now), secrets);
    const paths = artifactPaths(meta.artifactsDir, meta.id);
    fs.mkdirSync(meta.artifactsDir, { recursive: true });
    writeAtomically(paths.summaryMd, redact(`# Restore drill ${meta.id} (${meta.env})\n\n` + formatSummary(report), secrets));
    writeAtomically(paths.drillJson, redact(JSON.stringify(report, null, 2) + "\n", secrets));
    // Built from the redacted report only. Not redacted again as a whole: a replacement inside a
    // finished file could land in markup or a sample value and break the format CI tools parse.
    writeAtomically(paths.junitXml, formatJUnit(report));
    writeAtomically(paths.prometheus, formatPrometheus(report));
    return { report, summaryPath: paths.summaryMd, jsonPath: paths.drillJson, junitPath: paths.junitXml, prometheusPath: paths.prometheus };
}
