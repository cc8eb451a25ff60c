import { describe, expect, it } from "vitest";
import { parseBenchArgs } from "../../lib/bench/args";
import { formatPitrResults } from "../../lib/bench/pitrFormat";
import { pitrDrillTimings, type PitrDrillPassResult } from "../../lib/bench/pitrDrillPass";
import { rawPitrRestoreOptions } from "../../lib/bench/pitrRawPass";
import { evaluatePitrSize, pitrRawMean, PITR_TARGETS, type PitrSizeRun } from "../../lib/bench/pitrResults";
import { classifyTree } from "../../lib/bench/processTree";
import { flatnessChecks, missedTargets } from "../../lib/bench/results";
import type { RolePeak } from "../../lib/bench/rssSampler";
import type { BackupSummary, StanzaInfo } from "../../lib/pitr/info";
import { markTarget } from "../../lib/pitr/marks";
import { planRestore } from "../../lib/pitr/target";

const MB = 1024; // kB per MB
const role = (peakMb: number, name = "node"): RolePeak => ({
    peakRssKb: peakMb * MB,
    peakHwmKb: peakMb * MB,
    peakAnonKb: (peakMb / 2) * MB,
    processes: peakMb === 0 ? 0 : 1,
    startRssKb: 0,
    byName: { [name]: peakMb * MB },
});

function drill(o: { total?: number; peak?: number; provider?: number; label?: string } = {}): PitrDrillPassResult {
    return {
        stackName: "drill-bench-x",
        totalSeconds: o.total ?? 44,
        pitrSeconds: 33,
        restoreSeconds: 20,
        replaySeconds: 11.5,
        promotionSeconds: 1.25,
        validationSeconds: 6,
        startupSeconds: 3,
        teardownSeconds: 1.5,
        otherSeconds: 5,
        backupLabel: o.label ?? "20261130-061500F",
        reachedLsn: "0/9000100",
        memory: {
            roles: { orchestrator: { ...role(110), startRssKb: 90 * MB }, engine: role(60, "pulumi"), provider: role(o.provider ?? 95), pgTools: role(20, "pgbackrest") },
            drillTotalPeakKb: (o.peak ?? 260) * MB,
            drillTotalAnonPeakKb: 140 * MB,
            samples: 400,
            maxGapMs: 130,
            orchestratorHwmReset: true,
        },
    };
}

function run(o: { bytes?: number; raw?: [number, number][]; drill?: PitrDrillPassResult } = {}): PitrSizeRun {
    return {
        requestedBytes: o.bytes ?? 200 * 2 ** 20,
        scale: 3.1,
        databaseBytes: o.bytes ?? 200 * 2 ** 20,
        rows: 400_000,
        prepareSeconds: 90,
        markLsn: "0/9000100",
        backupLabel: "20261130-061500F",
        transactions: 1234,
        raw: (o.raw ?? [[22, 18], [18, 22]]).map(([restore, recovery]) => ({ restoreSeconds: restore, recoverySeconds: recovery, totalSeconds: restore + recovery })),
        drill: o.drill ?? drill(),
        loadBefore: [1.25, 1, 1],
        loadAfter: [2.5, 1, 1],
    };
}

describe("parseBenchArgs --pitr", () => {
    it("selects the PITR benchmark with sizes and --out", () => {
        expect(parseBenchArgs(["--pitr", "--size", "200MB,1GB", "--out=p.json"])).toEqual({ sizes: [200 * 2 ** 20, 2 ** 30], jobs: 2, out: "p.json", pitr: true });
        expect(parseBenchArgs(["--size=200MB", "--pitr"])).toMatchObject({ pitr: true, sizes: [200 * 2 ** 20] });
    });
    it("refuses --jobs with --pitr (a PITR restore runs no pg_restore) and values glued to --pitr", () => {
        expect(() => parseBenchArgs(["--pitr", "--jobs", "4"])).toThrow(/--jobs sets pg_restore -j.*leave it out with --pitr/);
        expect(() => parseBenchArgs(["--pitr=yes"])).toThrow(/unknown argument '--pitr=yes'/);
    });
});

const backup = (label: string, stopLsn: string): BackupSummary => ({
    label,
    type: "full",
    startTime: new Date("2026-11-30T06:00:00Z"),
    stopTime: new Date("2026-11-30T06:01:00Z"),
    startLsn: "0/2000028",
    stopLsn,
    archiveStart: "000000010000000000000002",
    archiveStop: "000000010000000000000003",
    error: false,
});
const stanza: StanzaInfo = {
    stanza: "demo-db",
    status: { code: 0, message: "ok" },
    cipher: "aes-256-cbc",
    backups: [backup("20261130-060000F", "0/3000100")],
    archives: [{ id: "15-1", min: "000000010000000000000002", max: "00000001000000000000000A" }],
    oldestBackup: backup("20261130-060000F", "0/3000100"),
    newestBackup: backup("20261130-060000F", "0/3000100"),
};

describe("rawPitrRestoreOptions", () => {
    it("restores the drill's backup to the mark's LSN, exclusive, promoting at the target, never archiving", () => {
        const plan = planRestore(stanza, markTarget({ lsn: "0/9000100" }));
        expect(rawPitrRestoreOptions(plan)).toEqual([
            "--type=lsn",
            "--target=0/9000100",
            "--target-exclusive",
            "--set=20261130-060000F",
            "--target-action=promote",
            "--archive-mode=off",
        ]);
    });
    it("refuses any target other than a mark's exclusive LSN", () => {
        expect(() => rawPitrRestoreOptions(planRestore(stanza, { type: "lsn", lsn: "0/9000100" }))).toThrow(/consistent-point mark/);
        expect(() => rawPitrRestoreOptions(planRestore(stanza, { type: "immediate" }))).toThrow(/not to immediate/);
    });
});

describe("pitrDrillTimings", () => {
    it("splits the runDrill call into start-up, PITR step, validation and teardown", () => {
        const started = Date.parse("2026-11-30T06:00:00.000Z");
        const t = pitrDrillTimings(
            { startedAt: "2026-11-30T06:00:04.000Z", finishedAt: "2026-11-30T06:00:34.000Z", durations: { restoreMs: 18_000, replayMs: 9_500, promoteMs: 1_500, totalMs: 29_000 } },
            { durationMs: 6_000, finishedAt: "2026-11-30T06:00:41.000Z" },
            started,
            started + 43_000,
        );
        expect(t).toEqual({
            totalSeconds: 43,
            pitrSeconds: 30,
            restoreSeconds: 18,
            replaySeconds: 9.5,
            promotionSeconds: 1.5,
            validationSeconds: 6,
            startupSeconds: 4,
            teardownSeconds: 2,
            otherSeconds: 7,
        });
    });
});

describe("evaluatePitrSize", () => {
    it("compares the drill with the mean of the raw passes: 44 s over 40 s is 1.10, met", () => {
        const e = evaluatePitrSize(run());
        expect(pitrRawMean(run().raw)).toEqual({ restoreSeconds: 20, recoverySeconds: 20, totalSeconds: 40 });
        expect(e.ratio).toBeCloseTo(1.1, 10);
        expect(e.checks).toEqual([
            { name: "ratio PITR drill/raw", value: e.ratio, limit: 1.15, pass: true },
            { name: "peak RSS total (MB)", value: 260, limit: 300, pass: true },
        ]);
    });
    it("misses the ratio just past 1.15 and the memory just past 300 MB", () => {
        const e = evaluatePitrSize(run({ drill: drill({ total: 46.1, peak: 301 }) }));
        expect(e.checks.map((c) => c.pass)).toEqual([false, false]);
        expect(PITR_TARGETS.maxRatio).toBe(1.15);
        expect(evaluatePitrSize(run({ drill: drill({ total: 46 }) })).checks[0].pass).toBe(true); // exactly 1.15
    });
    it("refuses runs that are not comparable or have no baseline", () => {
        expect(() => evaluatePitrSize(run({ drill: drill({ label: "20261130-070000F" }) }))).toThrow(/restored backup 20261130-070000F, the raw passes 20261130-061500F/);
        expect(() => evaluatePitrSize(run({ raw: [] }))).toThrow(/no raw pgbackrest restore/);
        expect(() => evaluatePitrSize(run({ raw: [[0, 0]] }))).toThrow(/baseline is 0/);
    });
    it("names the missed targets per size and checks memory flatness across sizes", () => {
        const small = run({ bytes: 200 * 2 ** 20 });
        const large = run({ bytes: 2 ** 30, drill: drill({ total: 60, provider: 140 }) });
        const runs = [small, large];
        const flat = flatnessChecks(runs);
        expect(flat.find((c) => c.name.startsWith("provider"))).toMatchObject({ value: 45, pass: false });
        const missed = missedTargets(runs, runs.map(evaluatePitrSize), flat, (r) => `${r.requestedBytes / 2 ** 20} MB`);
        expect(missed).toEqual(["1024 MB: ratio PITR drill/raw = 1.50 (target ≤ 1.15)", "provider peak growth (MB) = 45.0 (flat means ≤ 20.0)"]);
    });
});

describe("formatPitrResults", () => {
    it("prints the raw passes, the drill, its parts, the ratio verdict and the memory against 300 MB", () => {
        const runs = [run(), run({ bytes: 2 ** 30, drill: drill({ total: 50, peak: 320 }) })];
        const text = formatPitrResults(runs, runs.map(evaluatePitrSize));
        expect(text).toMatch(/raw total \(s\), pass 1 \/ 2\s+40\.0 \/ 40\.0\s+40\.0 \/ 40\.0/);
        expect(text).toMatch(/ratio PITR drill\/raw\s+1\.10 PASS\s+1\.25 FAIL\s+≤ 1\.15/);
        expect(text).toMatch(/WAL replay to the target \(s\)\s+11\.5\s+11\.5/);
        expect(text).toMatch(/promotion \(s\)\s+1\.3/);
        expect(text).toMatch(/total of the drill's processes\s+260 PASS\s+320 FAIL\s+≤ 300/);
        expect(text).toMatch(/pg tools, pgBackRest \(not counted\)\s+20 \(10\)/);
        expect(text).toMatch(/orchestrator RSS before the drill\s+90\s+90/);
        expect(text).toMatch(/load average before → after\s+1\.25 → 2\.50/);
    });
});

describe("process roles during a PITR drill", () => {
    it("counts pgBackRest and the server pg_ctl is still waiting for as PostgreSQL's, not the provider's", () => {
        const roles = classifyTree(
            [
                { pid: 10, ppid: 1, comm: "node" },
                { pid: 11, ppid: 10, comm: "pulumi" },
                { pid: 12, ppid: 11, comm: "node" },
                { pid: 13, ppid: 12, comm: "runuser" },
                { pid: 14, ppid: 13, comm: "pgbackrest" },
                { pid: 15, ppid: 12, comm: "runuser" },
                { pid: 16, ppid: 15, comm: "pg_ctl" },
                { pid: 17, ppid: 16, comm: "postgres" },
                { pid: 18, ppid: 17, comm: "postgres" },
            ],
            10,
        );
        expect(Object.fromEntries(roles)).toEqual({
            10: "orchestrator",
            11: "engine",
            12: "provider",
            13: "provider",
            14: "pgTools",
            15: "provider",
            16: "pgTools",
            17: "pgTools",
            18: "pgTools",
        });
    });
});
