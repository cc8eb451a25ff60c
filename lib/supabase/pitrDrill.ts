// Hosted PITR drills.
//
// In place (runbook 004's weekly "restore PITR in staging"): a drillable staging project is restored
// to T with POST …/database/backups/restore-pitr; the project is unavailable meanwhile; once healthy,
// its database must equal a mark recorded on it before the restore (exactly, see pitrMark.ts). With
// `--to mark` the drill records that mark itself and T is the mark's first whole second; with a stored
// mark, T must lie in its quiet range.
//
// Scratch project (runbook 000): only the dashboard restores into a NEW project, so the click is the
// operator's; everything after it is automated: wait until healthy, validate against the source's mark
// at T, report, and delete the scratch project within the hour (or print the reminder when deletion is
// not asked for or not permitted).
//
// Every guard runs before the first API call that could change anything, and a refused drill never
// reaches restore-pitr.
import type { V1BackupsResponse, V1ProjectWithDatabaseResponse } from "supabase-management-js";
import { SupabaseApiError, isApiStatus, type SupabaseApi } from "./client";
import { DEFAULT_HEALTH_SERVICES, waitUntilReady } from "./project";
import { assertDeletableScratch, assertDrillableInPlace, assertScratchTarget, DrillRefused } from "./pitrGuard";
import { pitrWindow, type PitrWindow } from "./pitrHealth";
import { assertTargetReproducesMark, recordHostedMark, type HostedMark } from "./pitrMark";
import { drillFingerprintOptions, type HostedPitrSettings } from "./pitrSettings";
import { validateAgainstMark, type MarkValidation } from "./pitrValidate";

export type DrillTarget = { kind: "mark" } | { kind: "time"; time: Date; mark: HostedMark };

export interface InPlaceDrillRequest {
    settings: HostedPitrSettings;
    project: string;
    /** Environment name stored in a mark the drill records. */
    env: string;
    target: DrillTarget;
    /** The project's database (direct connection, a role with REPLICATION for marks). Needed with apply. */
    dbUrl?: string;
    apply: boolean;
}

export interface ScratchDrillRequest {
    settings: HostedPitrSettings;
    /** The project restored from (its mark). */
    project: string;
    /** The new project the dashboard restored into. */
    targetProject: string;
    targetDbUrl: string;
    time: Date;
    mark: HostedMark;
    /** Delete the scratch project through the API after the report (else only the reminder). */
    deleteTarget: boolean;
}

export interface PitrDrillReport {
    kind: "supabase-pitr-drill";
    mode: "in-place" | "scratch-project";
    status: "PASS" | "FAIL" | "DRY-RUN";
    project: string;
    targetProject?: string;
    recoveryTarget?: { unix: number; iso: string };
    window?: { earliest: string; latest: string };
    mark?: { lsn: string; time: string; targetUnix: number; quietUntilUnix: number };
    plan?: string[];
    timestamps: Record<string, string>;
    durations_seconds: Record<string, number>;
    validation?: Omit<MarkValidation, "comparison"> & { differingSections: string[]; sequencePositions: MarkValidation["comparison"]["sequencePositions"] };
    cleanup?: { action: "deleted" | "reminder"; deadline: string; detail: string };
    issues: string[];
}

export interface DrillDeps {
    api: SupabaseApi;
    log?: (line: string) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();
const unixOf = (d: Date) => Math.floor(d.getTime() / 1000);

function assertWholeSecond(time: Date): number {
    if (Number.isNaN(time.getTime())) throw new DrillRefused("the recovery target is not a valid time");
    if (time.getTime() % 1000 !== 0) {
        throw new DrillRefused(`recovery target ${time.toISOString()} has a fraction of a second: hosted PITR takes whole seconds (recovery_time_target_unix)`);
    }
    const unix = time.getTime() / 1000;
    // The API documents 0 as "now" for the CLI's default; a drill never sends anything it did not mean.
    if (unix <= 0) throw new DrillRefused("the recovery target must be after 1970");
    return unix;
}

function windowText(w: PitrWindow): string {
    return `${w.earliest.toISOString()} … ${w.latest.toISOString()}`;
}

/** Refusal text when T lies outside the window, else undefined. */
export function outsideWindow(t: number, w: PitrWindow | undefined, nowMs: number): string | undefined {
    if (!w) return "the project reports no PITR window (physical_backup_data is empty)";
    if (t * 1000 > nowMs) return `recovery target ${iso(t * 1000)} is in the future (now ${iso(nowMs)})`;
    if (t < unixOf(w.earliest)) return `recovery target ${iso(t * 1000)} is before the window ${windowText(w)}`;
    if (t > unixOf(w.latest)) return `recovery target ${iso(t * 1000)} is after the latest recovery point of the window ${windowText(w)}`;
    return undefined;
}

async function pitrBackups(api: SupabaseApi, ref: string): Promise<V1BackupsResponse> {
    const backups = await api.listBackups(ref);
    if (!backups.pitr_enabled) throw new DrillRefused(`project ${ref} does not have PITR enabled (pitr_enabled false): nothing to restore to a point in time`);
    return backups;
}

/** Polls the backups endpoint until the window's latest point reaches `t`, or refuses after `waitMs`. */
async function waitForWindow(api: SupabaseApi, ref: string, t: number, waitMs: number, pollMs: number, log: (l: string) => void): Promise<PitrWindow> {
    const deadline = api.clock.now() + waitMs;
    for (;;) {
        const w = pitrWindow(await pitrBackups(api, ref));
        const problem = outsideWindow(t, w, api.clock.now());
        if (!problem) return w!;
        const latestBehind = w && t > unixOf(w.latest) && t * 1000 <= api.clock.now();
        if (!latestBehind || api.clock.now() >= deadline) throw new DrillRefused(`refusing to restore project ${ref}: ${problem}`);
        log(`waiting for the PITR window to reach ${iso(t * 1000)} (latest recovery point ${w!.latest.toISOString()})`);
        await api.clock.sleep(Math.min(pollMs, Math.max(1, deadline - api.clock.now())));
    }
}

const TRANSIENT_DB = /ECONNREFUSED|ECONNRESET|EAI_AGAIN|ETIMEDOUT|starting up|shutting down|not yet accepting|Connection terminated|timeout/i;

/** Validates, retrying while the database is still coming up after the API reported healthy. */
async function validateWhenReachable(url: string, mark: HostedMark, label: string, api: SupabaseApi, timeoutMs: number): Promise<MarkValidation> {
    const deadline = api.clock.now() + timeoutMs;
    for (;;) {
        try {
            return await validateAgainstMark(url, mark, label);
        } catch (err) {
            if (!TRANSIENT_DB.test((err as Error).message) || api.clock.now() >= deadline) throw err;
            await api.clock.sleep(1000);
        }
    }
}

function validationSummary(v: MarkValidation): NonNullable<PitrDrillReport["validation"]> {
    const { comparison, ...rest } = v;
    return { ...rest, differingSections: comparison.differingSections, sequencePositions: comparison.sequencePositions };
}

/** Waits until the project shows the restore started (any status but ACTIVE_HEALTHY), then until healthy. */
async function waitThroughRestore(api: SupabaseApi, ref: string, settings: HostedPitrSettings, times: Record<string, string>, log: (l: string) => void): Promise<void> {
    const pollMs = settings.drill.pollIntervalSeconds * 1000;
    const startDeadline = api.clock.now() + settings.drill.restoreStartTimeoutMinutes * 60_000;
    for (;;) {
        const status = (await api.getProject(ref)).status;
        if (status === "RESTORE_FAILED") throw new Error(`project ${ref}: the restore failed (status RESTORE_FAILED)`);
        if (status !== "ACTIVE_HEALTHY") {
            times.restore_started_seen_at = iso(api.clock.now());
            log(`project ${ref} is ${status}: restore running, the project is unavailable`);
            break;
        }
        // Validating before the restore even began would compare the old database: wait to see it start.
        if (api.clock.now() >= startDeadline) {
            throw new Error(`project ${ref} still ACTIVE_HEALTHY ${settings.drill.restoreStartTimeoutMinutes} min after restore-pitr was accepted: the restore never showed as started`);
        }
        await api.clock.sleep(pollMs);
    }
    await waitUntilReady(api, ref, { timeoutMs: settings.drill.readyTimeoutMinutes * 60_000, pollIntervalMs: pollMs, services: DEFAULT_HEALTH_SERVICES });
    times.healthy_at = iso(api.clock.now());
}

/** The in-place drill on a staging project (dry-run unless `apply`). */
export async function runInPlaceDrill(req: InPlaceDrillRequest, deps: DrillDeps): Promise<PitrDrillReport> {
    const { api, settings, project } = { api: deps.api, settings: req.settings, project: req.project };
    const log = deps.log ?? (() => undefined);
    // The guards first: a refused drill makes no API call at all.
    assertDrillableInPlace(settings, project);
    let t: number | undefined;
    let mark: HostedMark | undefined;
    if (req.target.kind === "time") {
        mark = req.target.mark;
        if (mark.project !== project) throw new DrillRefused(`the mark was recorded on project ${mark.project}, not on ${project}: it cannot validate this restore`);
        t = assertWholeSecond(req.target.time);
        assertTargetReproducesMark(mark, t);
    }
    if (req.apply && !req.dbUrl) throw new DrillRefused("the project's database URL is needed to record the mark and validate the restore (SUPABASE_DB_URL)");

    const started = api.clock.now();
    const times: Record<string, string> = { drill_started_at: iso(started) };
    const report: PitrDrillReport = { kind: "supabase-pitr-drill", mode: "in-place", status: "DRY-RUN", project, timestamps: times, durations_seconds: {}, issues: [] };
    const backups = await pitrBackups(api, project);
    const windowNow = pitrWindow(backups);
    if (windowNow) report.window = { earliest: windowNow.earliest.toISOString(), latest: windowNow.latest.toISOString() };
    if (t !== undefined) {
        const problem = outsideWindow(t, windowNow, api.clock.now());
        if (problem) throw new DrillRefused(`refusing to restore project ${project}: ${problem}`);
    }

    if (!req.apply) {
        report.recoveryTarget = t !== undefined ? { unix: t, iso: iso(t * 1000) } : undefined;
        report.plan = [
            t !== undefined
                ? `use the stored mark at LSN ${mark!.mark.lsn} (${mark!.mark.time}); T = ${iso(t * 1000)}`
                : "record a mark on the project's database (a quiet moment, nothing committing) and take T = its first whole second",
            `POST /v1/projects/${project}/database/backups/restore-pitr {"recovery_time_target_unix": ${t ?? "<T>"}}: restores IN PLACE, the project is unavailable meanwhile and everything written after T is lost`,
            `wait until the project is ACTIVE_HEALTHY with ${DEFAULT_HEALTH_SERVICES.join(", ")} healthy (up to ${settings.drill.readyTimeoutMinutes} min)`,
            "deactivate pg_cron jobs and empty pg_net's queue on the restored database, before anything else",
            "fingerprint the restored database and compare it with the mark: it must match exactly",
        ];
        for (const line of report.plan) log(`would: ${line}`);
        return report;
    }

    if (req.target.kind === "mark") {
        mark = await recordHostedMark(req.dbUrl!, {
            project,
            env: req.env,
            fingerprint: drillFingerprintOptions(settings),
            attempts: settings.drill.markAttempts,
            onAttempt: (n, problem) => log(problem ? `mark attempt ${n}: not quiet (${problem})` : `mark attempt ${n}: quiet`),
        });
        t = mark.targetUnix;
        times.mark_recorded_at = iso(api.clock.now());
        log(`mark at LSN ${mark.mark.lsn} (${mark.mark.time}); T = ${iso(t * 1000)}`);
    }
    const target = t!;
    report.recoveryTarget = { unix: target, iso: iso(target * 1000) };
    report.mark = { lsn: mark!.mark.lsn, time: mark!.mark.time, targetUnix: mark!.targetUnix, quietUntilUnix: mark!.quietUntilUnix };
    const w = await waitForWindow(api, project, target, settings.drill.windowWaitMinutes * 60_000, settings.drill.pollIntervalSeconds * 1000, log);
    report.window = { earliest: w.earliest.toISOString(), latest: w.latest.toISOString() };

    // Checked again right before the only call that destroys data.
    assertDrillableInPlace(settings, project);
    times.restore_requested_at = iso(api.clock.now());
    log(`restore-pitr project ${project} to ${iso(target * 1000)}`);
    await api.restorePitr(project, target, async () => {
        // A lost response may hide an accepted restore: a project that left ACTIVE_HEALTHY has started one.
        const status = (await api.getProject(project)).status;
        return status === "RESTORING" ? true : undefined;
    });
    await waitThroughRestore(api, project, settings, times, log);
    const restoredMs = Date.parse(times.healthy_at) - Date.parse(times.restore_requested_at);
    report.durations_seconds.restore = restoredMs / 1000;
    log(`project ${project} healthy again after ${(restoredMs / 1000).toFixed(1)} s; validating against the mark`);

    const validationStarted = api.clock.now();
    const validation = await validateWhenReachable(req.dbUrl!, mark!, `project ${project} (restored)`, api, settings.drill.readyTimeoutMinutes * 60_000);
    finishReport(report, validation, validationStarted, started, api);
    return report;
}

function finishReport(report: PitrDrillReport, validation: MarkValidation, validationStarted: number, started: number, api: SupabaseApi): void {
    const now = api.clock.now();
    report.timestamps.validated_at = iso(now);
    report.durations_seconds.validation = (now - validationStarted) / 1000;
    report.durations_seconds.total = (now - started) / 1000;
    report.validation = validationSummary(validation);
    report.issues.push(...validation.problems, ...validation.jobs.problems);
    report.status = validation.status;
}

/** Runbook 000: validate a project restored by hand in the dashboard, report, then delete it (or remind). */
export async function runScratchDrill(req: ScratchDrillRequest, deps: DrillDeps): Promise<PitrDrillReport> {
    const { api, settings } = { api: deps.api, settings: req.settings };
    const log = deps.log ?? (() => undefined);
    assertScratchTarget(settings, req.project, req.targetProject);
    if (req.mark.project !== req.project) throw new DrillRefused(`the mark was recorded on project ${req.mark.project}, not on the source ${req.project}`);
    const t = assertWholeSecond(req.time);
    assertTargetReproducesMark(req.mark, t);

    const started = api.clock.now();
    const times: Record<string, string> = { drill_started_at: iso(started) };
    const report: PitrDrillReport = {
        kind: "supabase-pitr-drill",
        mode: "scratch-project",
        status: "FAIL",
        project: req.project,
        targetProject: req.targetProject,
        recoveryTarget: { unix: t, iso: iso(t * 1000) },
        mark: { lsn: req.mark.mark.lsn, time: req.mark.mark.time, targetUnix: req.mark.targetUnix, quietUntilUnix: req.mark.quietUntilUnix },
        timestamps: times,
        durations_seconds: {},
        issues: [],
    };
    const pollMs = settings.drill.pollIntervalSeconds * 1000;
    const project: V1ProjectWithDatabaseResponse = await waitUntilReady(api, req.targetProject, {
        timeoutMs: settings.drill.readyTimeoutMinutes * 60_000,
        pollIntervalMs: pollMs,
        services: DEFAULT_HEALTH_SERVICES,
    });
    times.healthy_at = iso(api.clock.now());
    log(`scratch project ${req.targetProject} (${project.name}) is healthy; validating against the mark of ${req.project}`);
    const validationStarted = api.clock.now();
    const validation = await validateWhenReachable(req.targetDbUrl, req.mark, `scratch project ${req.targetProject}`, api, settings.drill.readyTimeoutMinutes * 60_000);
    finishReport(report, validation, validationStarted, started, api);

    const deadline = iso(api.clock.now() + settings.drill.scratchDeleteWithinMinutes * 60_000);
    const reminder = (why: string) => {
        report.cleanup = { action: "reminder", deadline, detail: `${why}: delete project ${req.targetProject} ('${project.name}') by ${deadline} (dashboard, or DELETE /v1/projects/${req.targetProject})` };
        log(`REMINDER: ${report.cleanup.detail}`);
    };
    if (!req.deleteTarget) {
        reminder("deletion not requested (--delete-target)");
        return report;
    }
    try {
        assertDeletableScratch(settings, req.project, req.targetProject, project.created_at, new Date(t * 1000));
        await api.deleteProject(req.targetProject);
        report.cleanup = { action: "deleted", deadline, detail: `project ${req.targetProject} ('${project.name}') deleted through the Management API` };
        log(report.cleanup.detail);
    } catch (err) {
        if (err instanceof DrillRefused) {
            report.issues.push(err.message);
            reminder("not deleted automatically");
        } else if (isApiStatus(err, 401) || isApiStatus(err, 403)) {
            reminder(`the access token may not delete projects (HTTP ${(err as SupabaseApiError).status})`);
        } else {
            report.issues.push(`deleting the scratch project failed: ${(err as Error).message}`);
            reminder("deletion failed");
        }
    }
    return report;
}
