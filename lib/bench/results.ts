// The benchmark's arithmetic and its targets (issue 3): drill time against a bare dump + restore,
// validation time against restore time, and the drill's peak memory, flat as the database grows.
import type { DrillPassResult } from "./drillPass";
import type { RawPassResult } from "./rawPass";
import type { MemoryPeaks } from "./rssSampler";

export const TARGETS = {
    /** Drill total ÷ (pg_dump + pg_restore). */
    maxRatio: 1.25,
    /** Validation ÷ restore. */
    maxValidationShare: 0.3,
    /** Peak RSS of the drill's processes together (orchestrator + engine + provider). */
    maxPeakRssMb: 300,
    /**
     * "Flat": from the smallest to the largest database, a peak may grow by this share of its value
     * at the smallest size or by flatGrowthMb, whichever is more. Node's heap grows and shrinks with
     * garbage collection timing, so a few MB either way is noise, not a trend.
     */
    flatGrowthShare: 0.1,
    flatGrowthMb: 20,
};

export interface SizeRun {
    requestedBytes: number;
    scale: number;
    /** pg_database_size of the seeded source. */
    databaseBytes: number;
    rows: number;
    seedSeconds: number;
    /** The bare dump + restore, before and after the drill. */
    raw: RawPassResult[];
    drill: DrillPassResult;
    /** Not part of any timing: parts of the drill measured alone, to show where its time goes. */
    diagnostics: { sourceFingerprintSeconds: number; sha256Seconds: number };
    loadBefore: number[];
    loadAfter: number[];
}

export interface Check {
    name: string;
    value: number;
    limit: number;
    pass: boolean;
}

export interface SizeEvaluation {
    rawMean: { dumpSeconds: number; restoreSeconds: number; totalSeconds: number };
    ratio: number;
    validationShare: number;
    peakTotalMb: number;
    peakProviderMb: number;
    checks: Check[];
}

export const kbToMb = (kb: number) => kb / 1024;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function rawMean(passes: RawPassResult[]): SizeEvaluation["rawMean"] {
    if (passes.length === 0) throw new Error("no raw dump + restore pass to compare with");
    return {
        dumpSeconds: mean(passes.map((p) => p.dumpSeconds)),
        restoreSeconds: mean(passes.map((p) => p.restoreSeconds)),
        totalSeconds: mean(passes.map((p) => p.totalSeconds)),
    };
}

/** a ÷ b, refusing a zero or negative baseline (a ratio against nothing would read as a pass or ∞). */
export function ratio(a: number, b: number, what: string): number {
    if (!(b > 0)) throw new Error(`cannot compute ${what}: the baseline is ${b}`);
    return a / b;
}

export function evaluateSize(run: SizeRun): SizeEvaluation {
    const base = rawMean(run.raw);
    const r = ratio(run.drill.totalSeconds, base.totalSeconds, "the drill/raw ratio");
    const share = ratio(run.drill.validationSeconds, run.drill.restoreSeconds, "validation as a share of restore");
    const peakTotalMb = kbToMb(run.drill.memory.drillTotalPeakKb);
    const peakProviderMb = kbToMb(run.drill.memory.roles.provider.peakRssKb);
    return {
        rawMean: base,
        ratio: r,
        validationShare: share,
        peakTotalMb,
        peakProviderMb,
        checks: [
            { name: "ratio drill/raw", value: r, limit: TARGETS.maxRatio, pass: r <= TARGETS.maxRatio },
            { name: "validation/restore", value: share, limit: TARGETS.maxValidationShare, pass: share <= TARGETS.maxValidationShare },
            { name: "peak RSS total (MB)", value: peakTotalMb, limit: TARGETS.maxPeakRssMb, pass: peakTotalMb <= TARGETS.maxPeakRssMb },
        ],
    };
}

/** What the flatness checks need of a run: the dump/restore bench's and the PITR bench's alike. */
export interface MemoryRun {
    databaseBytes: number;
    drill: { memory: MemoryPeaks };
}

/** Growth of a peak from the smallest to the largest database; empty with fewer than two sizes. */
export function flatnessChecks(runs: MemoryRun[]): Check[] {
    if (runs.length < 2) return [];
    const sorted = [...runs].sort((a, b) => a.databaseBytes - b.databaseBytes);
    const [small, large] = [sorted[0], sorted[sorted.length - 1]];
    const peaks: [string, (r: MemoryRun) => number][] = [
        ["provider peak growth (MB)", (r) => kbToMb(r.drill.memory.roles.provider.peakRssKb)],
        ["total peak growth (MB)", (r) => kbToMb(r.drill.memory.drillTotalPeakKb)],
    ];
    return peaks.map(([name, peak]) => {
        const growth = peak(large) - peak(small);
        const limit = Math.max(TARGETS.flatGrowthMb, TARGETS.flatGrowthShare * peak(small));
        return { name, value: growth, limit, pass: growth <= limit };
    });
}

/** One line per missed target, naming the size it was missed at. */
export function missedTargets<R>(runs: R[], evaluations: { checks: Check[] }[], flatness: Check[], label: (r: R) => string): string[] {
    const missed: string[] = [];
    evaluations.forEach((e, i) => {
        for (const c of e.checks.filter((x) => !x.pass)) {
            missed.push(`${label(runs[i])}: ${c.name} = ${c.value.toFixed(2)} (target ≤ ${c.limit})`);
        }
    });
    for (const c of flatness.filter((x) => !x.pass)) missed.push(`${c.name} = ${c.value.toFixed(1)} (flat means ≤ ${c.limit.toFixed(1)})`);
    return missed;
}
