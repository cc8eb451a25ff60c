// The PITR drill, as `npm run drill -- --pitr…` runs it (PitrRestore to a consistent-point mark into the
// drill's own cluster, exact validation against the mark's fingerprint, report, destroy), through the
// real Pulumi engine on a fresh local backend, timed as one call, with the memory of its process tree
// sampled throughout. Its step files give where the time went.
import { readStepResult } from "../drill/artifacts";
import type { PitrStep } from "../drill/pitrRestore";
import type { ValidationStep } from "../drill/report";
import { runDrill, type RunDrillOptions } from "../drill/run";
import { localBackend } from "../pulumi/engine";
import { startRssSampler, type MemoryPeaks } from "./rssSampler";

export interface PitrDrillPassOptions {
    /** BACKUP_DIR for the drill's artifacts. */
    backupDir: string;
    /** The archive's cipher passphrase (the drill's pitrCipherPass secret). */
    cipherPass: string;
    /** drill.pitr (archive, marks, target = the mark) and the rest of the drill's settings. */
    settings: NonNullable<RunDrillOptions["settings"]>;
    program: RunDrillOptions["program"];
    onOutput?: (text: string) => void;
}

export interface PitrDrillPassResult {
    stackName: string;
    /** The whole runDrill call: engine, every step, report, destroy. */
    totalSeconds: number;
    /** The PitrRestore step as a whole (restore + replay + promotion + the drill's guards on the copy). */
    pitrSeconds: number;
    /** From the step's own durations (lib/pitr/restore.ts). */
    restoreSeconds: number;
    replaySeconds: number;
    promotionSeconds: number;
    validationSeconds: number;
    /** From the runDrill call until the PITR step starts: engine and provider start-up, stack creation, config, mark lookup. */
    startupSeconds: number;
    /** After validation until runDrill returns: report, destroy (stops and deletes the cluster), stack removal. */
    teardownSeconds: number;
    /** Everything that is neither the PITR step nor validation. */
    otherSeconds: number;
    backupLabel: string;
    reachedLsn: string;
    memory: MemoryPeaks;
}

function need<T>(value: T | undefined, what: string, artifactsDir: string): T {
    if (value === undefined) throw new Error(`the PITR drill left no ${what} result in ${artifactsDir}`);
    return value;
}

/** The pass's timings from the drill's step files and the call's own start and end (ms since epoch). */
export function pitrDrillTimings(pitr: Pick<PitrStep, "startedAt" | "finishedAt" | "durations">, validation: Pick<ValidationStep, "durationMs" | "finishedAt">, started: number, ended: number) {
    const totalSeconds = (ended - started) / 1000;
    const pitrSeconds = (Date.parse(pitr.finishedAt) - Date.parse(pitr.startedAt)) / 1000;
    const validationSeconds = validation.durationMs / 1000;
    return {
        totalSeconds,
        pitrSeconds,
        restoreSeconds: pitr.durations.restoreMs / 1000,
        replaySeconds: pitr.durations.replayMs / 1000,
        promotionSeconds: pitr.durations.promoteMs / 1000,
        validationSeconds,
        startupSeconds: (Date.parse(pitr.startedAt) - started) / 1000,
        teardownSeconds: (ended - Date.parse(validation.finishedAt)) / 1000,
        otherSeconds: totalSeconds - pitrSeconds - validationSeconds,
    };
}

export async function runPitrDrillPass(opts: PitrDrillPassOptions): Promise<PitrDrillPassResult> {
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
                secrets: { pitrCipherPass: opts.cipherPass },
                settings: opts.settings,
                onOutput: opts.onOutput,
            });
        } finally {
            // Stopped on failure too, so no timer outlives the pass.
            memory = sampler.stop();
        }
        const ended = Date.now();
        if (result.status !== "PASS") {
            const why = result.error ?? result.report.issues.join("\n");
            throw new Error(`the PITR drill failed, so its timings mean nothing:\n${why}\nartifacts: ${result.artifactsDir}`);
        }
        const dir = result.artifactsDir;
        const id = result.report.drill_id;
        const pitr = need(readStepResult<PitrStep>(dir, id, "pitr"), "pitr", dir);
        const validation = need(readStepResult<ValidationStep>(dir, id, "validation"), "validation", dir);
        return {
            stackName: result.stackName,
            ...pitrDrillTimings(pitr, validation, started, ended),
            backupLabel: pitr.backupLabel,
            reachedLsn: pitr.reached.lsn,
            memory,
        };
    } finally {
        backend.cleanup();
    }
}
