// The PITR benchmark's arithmetic and its targets (issue 11): the PITR drill against a bare
// `pgbackrest restore` + recovery to the same target, and the drill's peak memory (the engine issue's
// 300 MB, flat as the database grows: results.ts's flatnessChecks).
import type { PitrDrillPassResult } from "./pitrDrillPass";
import type { PitrRawPassResult } from "./pitrRawPass";
import { kbToMb, ratio, TARGETS, type Check } from "./results";

export const PITR_TARGETS = {
    /** Drill total ÷ (pgbackrest restore + recovery until promoted and accepting connections). */
    maxRatio: 1.15,
    maxPeakRssMb: TARGETS.maxPeakRssMb,
};

export interface PitrSizeRun {
    requestedBytes: number;
    scale: number;
    /** pg_database_size of the seeded source database. */
    databaseBytes: number;
    rows: number;
    /** Everything before the first pass: archive, seed, full backup, writes, mark. */
    prepareSeconds: number;
    /** The target every pass recovers to: the mark's LSN (exclusive), and the backup restored. */
    markLsn: string;
    backupLabel: string;
    /** Transactions written after the backup (WAL the recovery replays, and more past the mark). */
    transactions: number;
    /** The bare restore + recovery, before and after the drill. */
    raw: PitrRawPassResult[];
    drill: PitrDrillPassResult;
    loadBefore: number[];
    loadAfter: number[];
}

export interface PitrSizeEvaluation {
    rawMean: { restoreSeconds: number; recoverySeconds: number; totalSeconds: number };
    ratio: number;
    peakTotalMb: number;
    checks: Check[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function pitrRawMean(passes: PitrRawPassResult[]): PitrSizeEvaluation["rawMean"] {
    if (passes.length === 0) throw new Error("no raw pgbackrest restore + recovery pass to compare with");
    return {
        restoreSeconds: mean(passes.map((p) => p.restoreSeconds)),
        recoverySeconds: mean(passes.map((p) => p.recoverySeconds)),
        totalSeconds: mean(passes.map((p) => p.totalSeconds)),
    };
}

export function evaluatePitrSize(run: PitrSizeRun): PitrSizeEvaluation {
    // Every pass must have recovered from the same backup to the same mark, or the ratio compares two different restores.
    if (run.drill.backupLabel !== run.backupLabel) {
        throw new Error(`the drill restored backup ${run.drill.backupLabel}, the raw passes ${run.backupLabel}: not comparable`);
    }
    const base = pitrRawMean(run.raw);
    const r = ratio(run.drill.totalSeconds, base.totalSeconds, "the PITR drill/raw ratio");
    const peakTotalMb = kbToMb(run.drill.memory.drillTotalPeakKb);
    return {
        rawMean: base,
        ratio: r,
        peakTotalMb,
        checks: [
            { name: "ratio PITR drill/raw", value: r, limit: PITR_TARGETS.maxRatio, pass: r <= PITR_TARGETS.maxRatio },
            { name: "peak RSS total (MB)", value: peakTotalMb, limit: PITR_TARGETS.maxPeakRssMb, pass: peakTotalMb <= PITR_TARGETS.maxPeakRssMb },
        ],
    };
}
