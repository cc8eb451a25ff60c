import { describe, expect, it } from "vitest";
import { formatFlatness, formatResults, formatTable } from "../../lib/bench/format";
import type { RolePeak } from "../../lib/bench/rssSampler";
import { evaluateSize, flatnessChecks, missedTargets, ratio, rawMean, type SizeRun } from "../../lib/bench/results";

const MB = 1024; // kB per MB
const role = (peakMb: number, name = "node"): RolePeak => ({
    peakRssKb: peakMb * MB,
    peakHwmKb: peakMb * MB,
    peakAnonKb: (peakMb / 2) * MB,
    processes: 1,
    startRssKb: 0,
    byName: { [name]: peakMb * MB },
});

function run(o: { bytes?: number; raw?: [number, number][]; drill?: number; restore?: number; validation?: number; provider?: number; total?: number } = {}): SizeRun {
    const raw = (o.raw ?? [[10, 20], [12, 18]]).map(([d, r]) => ({ dumpSeconds: d, restoreSeconds: r, totalSeconds: d + r, dumpBytes: 1 }));
    return {
        requestedBytes: o.bytes ?? 2 ** 30,
        scale: 16.6,
        databaseBytes: o.bytes ?? 2 ** 30,
        rows: 2_000_000,
        seedSeconds: 60,
        raw,
        drill: {
            stackName: "drill-bench-x",
            totalSeconds: o.drill ?? 36,
            backupSeconds: 12,
            checksumSeconds: 1,
            startupSeconds: 1.5,
            teardownSeconds: 1,
            restoreSeconds: o.restore ?? 20,
            validationSeconds: o.validation ?? 5,
            otherSeconds: 3,
            dumpBytes: 300 * 2 ** 20,
            memory: {
                roles: { orchestrator: role(100), engine: role(60, "pulumi"), provider: role(o.provider ?? 90), pgTools: role(30, "pg_restore") },
                drillTotalPeakKb: (o.total ?? 250) * MB,
                drillTotalAnonPeakKb: 125 * MB,
                samples: 300,
                maxGapMs: 120,
                orchestratorHwmReset: true,
            },
        },
        diagnostics: { sourceFingerprintSeconds: 8, sha256Seconds: 1 },
        loadBefore: [0.5, 0.5, 0.5],
        loadAfter: [1.5, 1, 1],
    };
}

describe("rawMean and ratio", () => {
    it("averages the raw passes", () => {
        expect(rawMean(run().raw)).toEqual({ dumpSeconds: 11, restoreSeconds: 19, totalSeconds: 30 });
    });
    it("refuses a missing or zero baseline", () => {
        expect(() => rawMean([])).toThrow(/no raw dump/);
        expect(() => ratio(5, 0, "the ratio")).toThrow(/cannot compute the ratio: the baseline is 0/);
    });
});

describe("evaluateSize", () => {
    it("passes a drill within every target", () => {
        const e = evaluateSize(run());
        expect(e.ratio).toBeCloseTo(1.2); // 36 / mean(30, 30)
        expect(e.validationShare).toBeCloseTo(0.25);
        expect(e.peakTotalMb).toBe(250);
        expect(e.checks.map((c) => c.pass)).toEqual([true, true, true]);
    });
    it("fails each target it misses, and only those", () => {
        const e = evaluateSize(run({ drill: 45, validation: 7, total: 301 }));
        expect(e.checks.map((c) => [c.name, c.pass])).toEqual([
            ["ratio drill/raw", false],
            ["validation/restore", false],
            ["peak RSS total (MB)", false],
        ]);
        expect(evaluateSize(run({ drill: 37.5 })).checks[0].pass).toBe(true); // exactly 1.25 meets ≤ 1.25
    });
});

describe("flatnessChecks", () => {
    it("needs two sizes", () => {
        expect(flatnessChecks([run()])).toEqual([]);
        expect(formatFlatness([])).toMatch(/not measured/);
    });
    it("compares the smallest database with the largest, whatever the order given", () => {
        const small = run({ bytes: 200 * 2 ** 20, provider: 100, total: 250 });
        const large = run({ bytes: 2 ** 30, provider: 108, total: 290 });
        const checks = flatnessChecks([large, small]);
        expect(checks[0]).toMatchObject({ name: "provider peak growth (MB)", value: 8, limit: 20, pass: true });
        // 40 MB more is above both 20 MB and 10% of 250 MB.
        expect(checks[1]).toMatchObject({ name: "total peak growth (MB)", value: 40, limit: 25, pass: false });
        expect(formatFlatness(checks)).toMatch(/total peak growth \(MB\) \+40\.0 \(≤ 25\.0\) FAIL/);
    });
});

describe("missedTargets", () => {
    it("names the size and the target", () => {
        const runs = [run({ drill: 45 })];
        const missed = missedTargets(runs, runs.map(evaluateSize), [], () => "1 GB");
        expect(missed).toEqual(["1 GB: ratio drill/raw = 1.50 (target ≤ 1.25)"]);
        expect(missedTargets([run()], [evaluateSize(run())], [], () => "1 GB")).toEqual([]);
    });
});

describe("formatting", () => {
    it("aligns the table", () => {
        expect(formatTable([["a", "1", "x"], ["long name", "100", ""]])).toBe("a            1  x\nlong name  100");
    });
    it("prints every measurement with its verdict", () => {
        const runs = [run({ bytes: 200 * 2 ** 20 }), run({ drill: 45 })];
        const text = formatResults(runs, runs.map(evaluateSize), 2);
        expect(text).toMatch(/^\s+200 MB\s+1 GB\s+target$/m);
        expect(text).toMatch(/ratio drill\/raw\s+1\.20 PASS\s+1\.50 FAIL\s+≤ 1\.25/);
        expect(text).toMatch(/raw pg_restore -j 2 \(s\), pass 1 \/ 2\s+20\.0 \/ 18\.0/);
        expect(text).toMatch(/validation\/restore\s+25% PASS/);
        expect(text).toMatch(/total of the drill's processes\s+250 PASS/);
        expect(text).toMatch(/provider: node, dump\/restore\/validate\s+90 \(45\)\s+90 \(45\)/);
        expect(text).toMatch(/total, private memory only\s+125\s+125/);
        expect(text).toMatch(/between steps \(s\)\s+0\.5/); // other 3 − start-up 1.5 − teardown 1
    });
});
