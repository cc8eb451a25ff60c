// The full drill, as `npm run drill` runs it (dump now, scratch database, restore, validation, report,
// destroy), through the real Pulumi engine on a fresh local backend, timed as one call, with the
// memory of its process tree sampled throughout.
import type { RestoreResult } from "../restore/restore";
import { readStepResult } from "../drill/artifacts";
import type { BackupStep, ValidationStep } from "../drill/report";
import { runDrill, type RunDrillOptions } from "../drill/run";
import { localBackend } from "../pulumi/engine";
import { startRssSampler, type MemoryPeaks } from "./rssSampler";

export interface DrillPassOptions {
    sourceUrl: string;
    /** TARGET_DB_URL: the scratch database is created on this server. */
    targetAdminUrl: string;
    /** BACKUP_DIR for the drill's artifacts. */
    backupDir: string;
    settings: NonNullable<RunDrillOptions["settings"]>;
    /** The drill stack's program (programs/drill.ts). */
    program: RunDrillOptions["program"];
    onOutput?: (text: string) => void;
}

export interface DrillPassResult {
    stackName: string;
    /** The whole runDrill call: engine, every step, report, destroy. */
    totalSeconds: number;
    /** pg_dump, with the source fingerprint taken alongside in the same snapshot, then sha256. */
    backupSeconds: number;
    /** sha256 verification of the dump before the restore touches the target. */
    checksumSeconds: number;
    restoreSeconds: number;
    validationSeconds: number;
    /** Everything else (engine start-up, scratch database, report, destroy, stack removal), split below. */
    otherSeconds: number;
    /** From the runDrill call until the dump starts: engine and provider start-up, stack creation, config. */
    startupSeconds: number;
    /** After validation until runDrill returns: report, destroy (drops the scratch database), stack removal. */
    teardownSeconds: number;
    dumpBytes: number;
    memory: MemoryPeaks;
}

function need<T>(value: T | undefined, what: string, artifactsDir: string): T {
    if (value === undefined) throw new Error(`the drill left no ${what} result in ${artifactsDir}`);
    return value;
}

export async function runDrillPass(opts: DrillPassOptions): Promise<DrillPassResult> {
    const backend = localBackend();
    try {
        const sampler = startRssSampler();
        const started = Date.now();
        let result: Awaited<ReturnType<typeof runDrill>>;
        let memory: MemoryPeaks;
        try {
            result = await runDrill({
                env: "bench",
                program: opts.program,
                backend,
                backupDir: opts.backupDir,
                secrets: { sourceDbUrl: opts.sourceUrl, targetDbUrl: opts.targetAdminUrl },
                settings: opts.settings,
                onOutput: opts.onOutput,
            });
        } finally {
            // Stopped on failure too, so no timer outlives the pass.
            memory = sampler.stop();
        }
        const ended = Date.now();
        const totalSeconds = (ended - started) / 1000;
        if (result.status !== "PASS") {
            const why = result.error ?? result.report.issues.join("\n");
            throw new Error(`the drill failed, so its timings mean nothing:\n${why}\nartifacts: ${result.artifactsDir}`);
        }
        const dir = result.artifactsDir;
        const id = result.report.drill_id;
        const backup = need(readStepResult<BackupStep>(dir, id, "backup"), "backup", dir);
        const restore = need(readStepResult<RestoreResult>(dir, id, "restore"), "restore", dir);
        const validation = need(readStepResult<ValidationStep>(dir, id, "validation"), "validation", dir);
        const backupSeconds = backup.durationMs / 1000;
        const checksumSeconds = restore.checksumMs / 1000;
        const restoreSeconds = restore.durationMs / 1000;
        const validationSeconds = validation.durationMs / 1000;
        const startupSeconds = (Date.parse(backup.startedAt) - started) / 1000;
        const teardownSeconds = (ended - Date.parse(validation.finishedAt)) / 1000;
        return {
            stackName: result.stackName,
            totalSeconds,
            backupSeconds,
            checksumSeconds,
            restoreSeconds,
            validationSeconds,
            otherSeconds: totalSeconds - backupSeconds - checksumSeconds - restoreSeconds - validationSeconds,
            startupSeconds,
            teardownSeconds,
            dumpBytes: backup.manifest.files.reduce((s, f) => s + f.bytes, 0),
            memory,
        };
    } finally {
        backend.cleanup();
    }
}
