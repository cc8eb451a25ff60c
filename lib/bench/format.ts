// The benchmark's table: one row per measurement, one column per database size, then the target.
import { ROLES, type ProcessRole } from "./processTree";
import { kbToMb, type Check, type SizeEvaluation, type SizeRun } from "./results";
import type { MemoryPeaks } from "./rssSampler";
import { formatSize } from "./size";

/** Left-aligns the first column, right-aligns the others. */
export function formatTable(rows: string[][]): string {
    const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => (r[col] ?? "").length)));
    return rows
        .map((r) => r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join("  ").trimEnd())
        .join("\n");
}

const s = (seconds: number) => seconds.toFixed(1);
const mb = (kb: number) => kbToMb(kb).toFixed(0);
const verdict = (c: Check) => (c.pass ? "PASS" : "FAIL");

const ROLE_LABEL: Record<ProcessRole, string> = {
    orchestrator: "orchestrator: node, Automation API",
    engine: "engine: pulumi",
    provider: "provider: node, dump/restore/validate",
    pgTools: "pg tools, pgBackRest (not counted)",
};

export function sizeLabel(run: SizeRun): string {
    return formatSize(run.requestedBytes);
}

export function formatResults(runs: SizeRun[], evaluations: SizeEvaluation[], jobs: number): string {
    const col = <T>(f: (r: SizeRun, e: SizeEvaluation) => T) => runs.map((r, i) => String(f(r, evaluations[i])));
    const check = (name: string, show: (v: number) => string) =>
        col((_, e) => {
            const c = e.checks.find((x) => x.name === name)!;
            return `${show(c.value)} ${verdict(c)}`;
        });
    const memoryRows = roleMemoryRows(runs);
    const rows: string[][] = [
        ["", ...runs.map(sizeLabel), "target"],
        ["source database (pg_database_size)", ...col((r) => formatSize(r.databaseBytes)), ""],
        ["rows", ...col((r) => r.rows.toLocaleString("en")), ""],
        ["dump file", ...col((r) => formatSize(r.drill.dumpBytes)), ""],
        ["raw pg_dump -Fc (s), pass 1 / 2", ...col((r) => r.raw.map((p) => s(p.dumpSeconds)).join(" / ")), ""],
        [`raw pg_restore -j ${jobs} (s), pass 1 / 2`, ...col((r) => r.raw.map((p) => s(p.restoreSeconds)).join(" / ")), ""],
        ["raw total (s), mean of passes", ...col((_, e) => s(e.rawMean.totalSeconds)), ""],
        ["drill total (s), whole runDrill call", ...col((r) => s(r.drill.totalSeconds)), ""],
        ["ratio drill/raw", ...check("ratio drill/raw", (v) => v.toFixed(2)), "≤ 1.25"],
        ["  start-up until the dump starts (s)", ...col((r) => s(r.drill.startupSeconds)), ""],
        ["  backup (s): pg_dump ∥ fingerprint, sha256", ...col((r) => s(r.drill.backupSeconds)), ""],
        ["  checksum verify before restore (s)", ...col((r) => s(r.drill.checksumSeconds)), ""],
        ["  restore (s)", ...col((r) => s(r.drill.restoreSeconds)), ""],
        ["  validation (s)", ...col((r) => s(r.drill.validationSeconds)), ""],
        ["  report, destroy, stack removal (s)", ...col((r) => s(r.drill.teardownSeconds)), ""],
        ["  between steps (s)", ...col((r) => s(r.drill.otherSeconds - r.drill.startupSeconds - r.drill.teardownSeconds)), ""],
        ["validation/restore", ...check("validation/restore", (v) => `${(v * 100).toFixed(0)}%`), "≤ 30%"],
        ["peak RSS MB (private RssAnon MB)", ...runs.map(() => ""), ""],
        ...memoryRows,
        ["  total of the drill's processes", ...check("peak RSS total (MB)", (v) => v.toFixed(0)), "≤ 300"],
        ["  total, private memory only", ...col((r) => mb(r.drill.memory.drillTotalAnonPeakKb)), ""],
        ["  orchestrator RSS before the drill", ...col((r) => mb(r.drill.memory.roles.orchestrator.startRssKb)), ""],
        ["  samples / longest gap (ms)", ...col((r) => `${r.drill.memory.samples} / ${r.drill.memory.maxGapMs}`), ""],
        ["alone: source fingerprint (s)", ...col((r) => s(r.diagnostics.sourceFingerprintSeconds)), ""],
        ["alone: sha256 of the dump (s)", ...col((r) => s(r.diagnostics.sha256Seconds)), ""],
        ["seed (s)", ...col((r) => s(r.seedSeconds)), ""],
        ["load average before → after", ...col((r) => `${r.loadBefore[0].toFixed(2)} → ${r.loadAfter[0].toFixed(2)}`), ""],
    ];
    return formatTable(rows);
}

export function formatFlatness(checks: Check[]): string {
    if (checks.length === 0) return "memory flat as the database grows: not measured (give several sizes, e.g. --size 200MB,1GB)";
    return checks
        .map((c) => `memory flat as the database grows: ${c.name} ${c.value >= 0 ? "+" : ""}${c.value.toFixed(1)} (≤ ${c.limit.toFixed(1)}) ${verdict(c)}`)
        .join("\n");
}

/** One row per process role: peak RSS (private) of each run, "—" where the role had no process. */
export function roleMemoryRows(runs: readonly { drill: { memory: MemoryPeaks } }[]): string[][] {
    return ROLES.map((role) => [
        `  ${ROLE_LABEL[role]}`,
        ...runs.map((r) => {
            const p = r.drill.memory.roles[role];
            return p.processes === 0 ? "—" : `${mb(p.peakRssKb)} (${mb(p.peakAnonKb)})`;
        }),
        "",
    ]);
}
