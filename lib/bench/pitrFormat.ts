// The PITR benchmark's table: one row per measurement, one column per database size, then the target.
import { formatTable, roleMemoryRows } from "./format";
import type { PitrSizeEvaluation, PitrSizeRun } from "./pitrResults";
import { PITR_TARGETS } from "./pitrResults";
import { kbToMb } from "./results";
import { formatSize } from "./size";

const s = (seconds: number) => seconds.toFixed(1);
const mb = (kb: number) => kbToMb(kb).toFixed(0);

export function pitrSizeLabel(run: PitrSizeRun): string {
    return formatSize(run.requestedBytes);
}

export function formatPitrResults(runs: PitrSizeRun[], evaluations: PitrSizeEvaluation[]): string {
    const col = (f: (r: PitrSizeRun, e: PitrSizeEvaluation) => string) => runs.map((r, i) => f(r, evaluations[i]));
    const check = (name: string, show: (v: number) => string) =>
        col((_, e) => {
            const c = e.checks.find((x) => x.name === name);
            if (!c) throw new Error(`no check named ${name}`);
            return `${show(c.value)} ${c.pass ? "PASS" : "FAIL"}`;
        });
    const passes = (f: (p: PitrSizeRun["raw"][number]) => number) => col((r) => r.raw.map((p) => s(f(p))).join(" / "));
    const memoryRows = roleMemoryRows(runs);
    const rows: string[][] = [
        ["", ...runs.map(pitrSizeLabel), "target"],
        ["source database (pg_database_size)", ...col((r) => formatSize(r.databaseBytes)), ""],
        ["rows seeded", ...col((r) => r.rows.toLocaleString("en")), ""],
        ["transactions after the backup", ...col((r) => r.transactions.toLocaleString("en")), ""],
        ["target: mark LSN (exclusive)", ...col((r) => r.markLsn), ""],
        ["raw pgbackrest restore (s), pass 1 / 2", ...passes((p) => p.restoreSeconds), ""],
        ["raw recovery until promoted (s), pass 1 / 2", ...passes((p) => p.recoverySeconds), ""],
        ["raw total (s), pass 1 / 2", ...passes((p) => p.totalSeconds), ""],
        ["raw total (s), mean of passes", ...col((_, e) => s(e.rawMean.totalSeconds)), ""],
        ["PITR drill total (s), whole runDrill call", ...col((r) => s(r.drill.totalSeconds)), ""],
        ["ratio PITR drill/raw", ...check("ratio PITR drill/raw", (v) => v.toFixed(2)), `≤ ${PITR_TARGETS.maxRatio}`],
        ["  start-up until the PITR step (s)", ...col((r) => s(r.drill.startupSeconds)), ""],
        ["  PITR step (s)", ...col((r) => s(r.drill.pitrSeconds)), ""],
        ["    pgbackrest restore (s)", ...col((r) => s(r.drill.restoreSeconds)), ""],
        ["    WAL replay to the target (s)", ...col((r) => s(r.drill.replaySeconds)), ""],
        ["    promotion (s)", ...col((r) => s(r.drill.promotionSeconds)), ""],
        ["  validation against the mark (s)", ...col((r) => s(r.drill.validationSeconds)), ""],
        ["  report, destroy, stack removal (s)", ...col((r) => s(r.drill.teardownSeconds)), ""],
        ["  between steps (s)", ...col((r) => s(r.drill.otherSeconds - r.drill.startupSeconds - r.drill.teardownSeconds)), ""],
        ["peak RSS MB (private RssAnon MB)", ...runs.map(() => ""), ""],
        ...memoryRows,
        ["  total of the drill's processes", ...check("peak RSS total (MB)", (v) => v.toFixed(0)), `≤ ${PITR_TARGETS.maxPeakRssMb}`],
        ["  total, private memory only", ...col((r) => mb(r.drill.memory.drillTotalAnonPeakKb)), ""],
        // What the bench process itself already held (seeding, workload, earlier sizes): part of the orchestrator's peak.
        ["  orchestrator RSS before the drill", ...col((r) => mb(r.drill.memory.roles.orchestrator.startRssKb)), ""],
        ["  samples / longest gap (ms)", ...col((r) => `${r.drill.memory.samples} / ${r.drill.memory.maxGapMs}`), ""],
        ["preparation: archive, seed, backup, writes, mark (s)", ...col((r) => s(r.prepareSeconds)), ""],
        ["load average before → after", ...col((r) => `${r.loadBefore[0].toFixed(2)} → ${r.loadAfter[0].toFixed(2)}`), ""],
    ];
    return formatTable(rows);
}
