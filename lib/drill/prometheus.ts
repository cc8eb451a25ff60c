// The drill's result for monitoring: drill_<id>.prom in the Prometheus text exposition format that
// node_exporter's textfile collector reads (copy it into the collector's directory). Every series
// carries env and stack: the stack name holds the drill's id, so the files of several drills can sit
// in one collector directory without clashing. No sample timestamps: the collector rejects them.
import { drillSuites, type CaseOutcome } from "./junit";
import type { RehearsalStep } from "./rehearseRecover";
import type { DrillReport } from "./report";

export const METRIC_PREFIX = "supabase_dr_drill_";

type Labels = Record<string, string>;

interface Family {
    name: string;
    help: string;
    samples: { labels: Labels; value: number }[];
}

/** A label value as the exposition format wants it: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
    return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
    return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
    if (Number.isNaN(v)) return "NaN";
    if (v === Infinity) return "+Inf";
    if (v === -Infinity) return "-Inf";
    return String(v);
}

const epochSeconds = (iso: string) => Date.parse(iso) / 1000;
const OUTCOMES: CaseOutcome["status"][] = ["passed", "failed", "skipped"];
const REHEARSAL_PHASES: [string, keyof RehearsalStep["durationsMs"]][] = [
    ["damage", "damage"],
    ["dry_run", "dryRun"],
    ["apply", "apply"],
    ["undo", "undo"],
    ["reapply", "reapply"],
    ["total", "total"],
];

function families(r: DrillReport): Family[] {
    const base: Labels = { env: r.environment, stack: r.stack };
    const one = (value: number | undefined, labels: Labels = {}) => (value === undefined || Number.isNaN(value) ? [] : [{ labels: { ...base, ...labels }, value }]);
    const d = r.durations_seconds;
    const steps: [string, number | undefined][] = [
        ["backup", d.backup],
        ["restore", d.restore],
        ["replay", d.replay],
        ["validation", d.validation],
        ["masking", d.masking],
        ["total", d.total],
    ];
    const rowCounts = (r.validation?.checks ?? []).filter((c) => c.check === "row_count");
    const sides = (side: "source" | "target", label: string) =>
        rowCounts.flatMap((c) => (typeof c[side] === "number" ? one(c[side] as number, { table: c.object, side: label }) : []));
    const suites = drillSuites(r);
    const backupAge = r.backup ? (Date.parse(r.timestamps.report_at) - Date.parse(r.backup.taken_at)) / 1000 : undefined;

    return [
        { name: "status", help: "Verdict of the restore drill: 1 PASS, 0 FAIL.", samples: one(r.status === "PASS" ? 1 : 0) },
        { name: "last_run_timestamp_seconds", help: "When the drill started (Unix time).", samples: one(epochSeconds(r.timestamps.drill_started_at)) },
        {
            name: "duration_seconds",
            help: "Time each drill step took; step=\"total\" is the drill's start to its report.",
            samples: steps.flatMap(([step, v]) => one(v, { step })),
        },
        { name: "rto_seconds", help: "Recovery time measured: drill start to validated restore.", samples: one(r.rto_seconds) },
        { name: "rpo_seconds", help: "Recovery point measured: drill start minus the restored backup's capture time (a point-in-time drill: T minus the last replayed commit, 0 at a mark).", samples: one(r.rpo_seconds) },
        { name: "rto_target_seconds", help: "RTO target of the drill.", samples: one(r.targets.rto_seconds) },
        { name: "rpo_target_seconds", help: "RPO target of the drill.", samples: one(r.targets.rpo_seconds) },
        {
            name: "target_met",
            help: "Whether a target was met: 1 yes, 0 no (or not measured).",
            samples: [...one(r.targets.rto_met ? 1 : 0, { target: "rto" }), ...one(r.targets.rpo_met ? 1 : 0, { target: "rpo" })],
        },
        { name: "backup_timestamp_seconds", help: "When the restored backup's data was captured (Unix time).", samples: one(r.backup && epochSeconds(r.backup.taken_at)) },
        { name: "backup_age_seconds", help: "Age of the restored backup when the report was written.", samples: one(backupAge) },
        {
            name: "pitr_target_timestamp_seconds",
            help: "A point-in-time drill's target time T (Unix time), when the target is a time.",
            samples: one(r.pitr?.target.type === "time" ? epochSeconds(r.pitr.target.time) : undefined),
        },
        {
            name: "pitr_reached_commit_timestamp_seconds",
            help: "Commit time of the last transaction the point-in-time restore replayed (Unix time).",
            samples: one(r.pitr?.reached_last_commit_time ? epochSeconds(r.pitr.reached_last_commit_time) : undefined),
        },
        {
            name: "table_rows",
            help: "Row count per table from the validation: side=\"source\" what the backup recorded (or the live source), side=\"restored\" the target.",
            samples: [...sides("source", "source"), ...sides("target", "restored")],
        },
        {
            name: "checks",
            help: "Checks per step and outcome (the testcases of the drill's JUnit file).",
            samples: suites.flatMap((s) => OUTCOMES.flatMap((status) => one(s.cases.filter((c) => c.outcome.status === status).length, { step: s.step, status }))),
        },
        { name: "issues", help: "Issues the drill report lists.", samples: one(r.issues.length) },
        {
            name: "rehearse_recover_status",
            help: "Verdict of each recovery rehearsal (runbook 001 path A on the scratch copy): 1 PASS, 0 FAIL.",
            samples: (r.rehearse_recover ?? []).flatMap((x) => one(x.status === "pass" ? 1 : 0, { table: x.table, path: "rows" })),
        },
        {
            name: "rehearse_recover_duration_seconds",
            help: "Time each phase of a recovery rehearsal took (damage, dry_run, apply, undo, reapply, total).",
            samples: (r.rehearse_recover ?? []).flatMap((x) =>
                REHEARSAL_PHASES.flatMap(([phase, key]) => one(x.durationsMs[key] === undefined ? undefined : x.durationsMs[key]! / 1000, { table: x.table, phase })),
            ),
        },
        {
            name: "rehearse_recover_rows",
            help: "Rows a recovery rehearsal damaged and recovered: kind=\"deleted\" or \"changed\".",
            samples: (r.rehearse_recover ?? []).flatMap((x) => [...one(x.deleted, { table: x.table, kind: "deleted" }), ...one(x.changed, { table: x.table, kind: "changed" })]),
        },
        {
            name: "storage_objects",
            help: "Objects restored and verified per storage bucket.",
            samples: (r.storage ?? []).flatMap((s) => one(s.objects, { bucket: s.sourceBucket })),
        },
        {
            name: "storage_bytes",
            help: "Bytes restored and verified per storage bucket.",
            samples: (r.storage ?? []).flatMap((s) => one(s.bytes, { bucket: s.sourceBucket })),
        },
    ];
}

/** drill_<id>.prom's content: every family with samples, each with its HELP and TYPE lines. */
export function formatPrometheus(report: DrillReport): string {
    const lines: string[] = [];
    for (const f of families(report)) {
        if (f.samples.length === 0) continue;
        const name = METRIC_PREFIX + f.name;
        lines.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} gauge`);
        // A repeated series (e.g. a table listed twice) would make the collector drop the whole file.
        const seen = new Set<string>();
        for (const s of f.samples) {
            const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",");
            if (seen.has(labels)) continue;
            seen.add(labels);
            lines.push(`${name}{${labels}} ${formatValue(s.value)}`);
        }
    }
    return lines.join("\n") + "\n";
}
