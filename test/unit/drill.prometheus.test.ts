// drill_<id>.prom from drill reports built the real way (step results on disk → buildDrillReport),
// read back by a strict parser of the text exposition format as node_exporter's textfile collector
// reads it: every line a comment or `name{labels} value`, valid names, one TYPE per metric, families
// contiguous, no duplicate series, no timestamps. The parser is shown to reject what it must.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeStepResult, writeStorageStep } from "../../lib/drill/artifacts";
import { drillSuites } from "../../lib/drill/junit";
import { escapeLabelValue, formatPrometheus } from "../../lib/drill/prometheus";
import { buildDrillReport, writeDrillReport, type DrillMeta, type DrillReport } from "../../lib/drill/report";
import type { CheckResult } from "../../lib/validate/types";

const ID = "20261122100000";
const START = "2026-11-22T10:00:00.000Z";
const NOW = new Date("2026-11-22T10:11:00Z");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

interface Sample { name: string; labels: Record<string, string>; value: number }

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

/** `{a="x",b="y"}` → labels, with the format's three escapes (\\, \", \n) and nothing else. */
function parseLabels(text: string, line: number): Record<string, string> {
    const labels: Record<string, string> = {};
    let i = 0;
    while (i < text.length) {
        const name = /^[^=]*/.exec(text.slice(i))![0];
        if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name ${JSON.stringify(name)}`);
        if (name in labels) throw new Error(`line ${line}: label ${name} repeated`);
        i += name.length;
        if (text.slice(i, i + 2) !== '="') throw new Error(`line ${line}: expected =" after ${name}`);
        i += 2;
        let value = "";
        for (;;) {
            if (i >= text.length) throw new Error(`line ${line}: unterminated value of ${name}`);
            const c = text[i++];
            if (c === '"') break;
            if (c !== "\\") {
                value += c;
                continue;
            }
            const e = text[i++];
            if (e === "\\" || e === '"') value += e;
            else if (e === "n") value += "\n";
            else throw new Error(`line ${line}: bad escape \\${e}`);
        }
        labels[name] = value;
        if (i < text.length) {
            if (text[i] !== ",") throw new Error(`line ${line}: expected , after the value of ${name}`);
            i++;
        }
    }
    return labels;
}

function parseTextfile(text: string): Sample[] {
    if (!text.endsWith("\n")) throw new Error("the file does not end with a line feed");
    const types = new Map<string, string>();
    const helps = new Set<string>();
    const series = new Set<string>();
    const finished = new Set<string>();
    let current = "";
    const samples: Sample[] = [];
    const enter = (name: string, n: number) => {
        if (name === current) return;
        if (finished.has(name)) throw new Error(`line ${n}: ${name} continues after another metric (families must be contiguous)`);
        if (current) finished.add(current);
        current = name;
    };
    text.slice(0, -1).split("\n").forEach((line, idx) => {
        const n = idx + 1;
        if (line.startsWith("#")) {
            const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
            if (!m) return; // a plain comment
            if (!METRIC_NAME.test(m[2])) throw new Error(`line ${n}: bad metric name ${m[2]}`);
            enter(m[2], n);
            if (m[1] === "TYPE") {
                if (types.has(m[2])) throw new Error(`line ${n}: second TYPE for ${m[2]}`);
                if (samples.some((s) => s.name === m[2])) throw new Error(`line ${n}: TYPE of ${m[2]} after its samples`);
                if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(m[3])) throw new Error(`line ${n}: bad type ${m[3]}`);
                types.set(m[2], m[3]);
            } else {
                if (helps.has(m[2])) throw new Error(`line ${n}: second HELP for ${m[2]}`);
                if (/\\(?![\\n])/.test(m[3])) throw new Error(`line ${n}: bad escape in HELP`);
                helps.add(m[2]);
            }
            return;
        }
        // No timestamp: node_exporter's textfile collector refuses samples that carry one.
        const m = /^([^\s{]+)(?:\{(.*)\})? (\S+)$/.exec(line);
        if (!m) throw new Error(`line ${n}: not "name{labels} value": ${JSON.stringify(line)}`);
        if (!METRIC_NAME.test(m[1])) throw new Error(`line ${n}: bad metric name ${m[1]}`);
        if (!FLOAT.test(m[3])) throw new Error(`line ${n}: bad value ${m[3]}`);
        enter(m[1], n);
        const labels = parseLabels(m[2] ?? "", n);
        const key = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
        if (series.has(key)) throw new Error(`line ${n}: duplicate series ${m[1]}${JSON.stringify(labels)}`);
        series.add(key);
        samples.push({ name: m[1], labels, value: Number(m[3]) });
    });
    for (const s of samples) if (types.get(s.name) !== "gauge") throw new Error(`${s.name} has no gauge TYPE line`);
    return samples;
}

interface Fixture {
    restore?: boolean;
    checks?: CheckResult[];
    storage?: string[];
    env?: string;
    stack?: string;
    finishedAt?: string;
}

function drill(f: Fixture = {}): DrillMeta {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-prom-"));
    dirs.push(dir);
    writeStepResult(dir, ID, "backup", {
        mode: "adopt", manifestPath: "m", startedAt: START, finishedAt: START, durationMs: 1000,
        manifest: { manifestVersion: 1, id: `backup_${ID}`, format: "custom", root: "x", files: [], takenAt: "2026-11-22T09:00:00.000Z", takenAtSource: "snapshot", tools: {} },
    });
    if (f.restore !== false) {
        writeStepResult(dir, ID, "restore", {
            format: "custom", startedAt: START, finishedAt: START, durationMs: 2000, checksumMs: 1, target: "h:1/d",
            errors: [], allowedErrors: [], logPath: "/x/restore.log", extensionsSkipped: [], notes: [],
        });
        const checks = f.checks ?? [{ check: "row_count", object: "public.users", status: "pass", source: 3, target: 3 }];
        writeStepResult(dir, ID, "validation", {
            status: checks.some((c) => c.status === "fail") ? "fail" : "pass", comparedWith: "backup-fingerprint", startedAt: START,
            finishedAt: f.finishedAt ?? "2026-11-22T10:10:00.000Z", durationMs: 500, results: checks, dataCompared: true,
        });
        writeStepResult(dir, ID, "masking", {
            status: "pass", columns: [], unmaskedPii: [], allowedUnmasked: [], durationMs: 1500,
            survivorScan: { status: "pass", searched: 0, tooShort: 0, minChars: 4, tablesScanned: 0, columnsScanned: 0, survivors: [], notSearched: [] },
        });
    }
    for (const bucket of f.storage ?? []) {
        writeStorageStep(dir, ID, { sourceBucket: bucket, restoredBucket: `restored-${bucket}-20261122`, manifestKey: "k", objects: 4, bytes: 2048, verifiedAt: START });
    }
    return {
        id: ID, env: f.env ?? "prod", stack: f.stack ?? `drill-prod-${ID}`, artifactsDir: dir, startedAt: START,
        targets: { rtoSeconds: 3600, rpoSeconds: 7200 }, nextDrillDays: 90, maskingConfigured: true, storageBuckets: f.storage,
        error: f.restore === false ? "restore failed: pg_restore: error: could not connect" : undefined,
    };
}

const report = (f: Fixture = {}): DrillReport => buildDrillReport(drill(f), NOW);
const values = (samples: Sample[], name: string) =>
    samples.filter((s) => s.name === `supabase_dr_drill_${name}`).map((s) => {
        const { env: _env, stack: _stack, ...rest } = s.labels;
        return [rest, s.value];
    });

describe("drill Prometheus textfile", () => {
    it("a passing drill: status, step durations, RTO/RPO and targets, backup age, row counts, checks, storage", () => {
        const r = report({ storage: ["avatars"] });
        expect(r.status).toBe("PASS");
        const samples = parseTextfile(formatPrometheus(r));
        for (const s of samples) expect(s.labels, s.name).toMatchObject({ env: "prod", stack: `drill-prod-${ID}` });
        expect(values(samples, "status")).toEqual([[{}, 1]]);
        expect(values(samples, "last_run_timestamp_seconds")).toEqual([[{}, Date.parse(START) / 1000]]);
        expect(values(samples, "duration_seconds")).toEqual([
            [{ step: "backup" }, 1], [{ step: "restore" }, 2], [{ step: "validation" }, 0.5], [{ step: "masking" }, 1.5], [{ step: "total" }, 660],
        ]);
        expect(values(samples, "rto_seconds")).toEqual([[{}, 600]]);
        expect(values(samples, "rpo_seconds")).toEqual([[{}, 3600]]);
        expect(values(samples, "rto_target_seconds")).toEqual([[{}, 3600]]);
        expect(values(samples, "rpo_target_seconds")).toEqual([[{}, 7200]]);
        expect(values(samples, "target_met")).toEqual([[{ target: "rto" }, 1], [{ target: "rpo" }, 1]]);
        expect(values(samples, "backup_timestamp_seconds")).toEqual([[{}, Date.parse("2026-11-22T09:00:00.000Z") / 1000]]);
        expect(values(samples, "backup_age_seconds")).toEqual([[{}, 4260]]); // 09:00 → report at 10:11
        expect(values(samples, "table_rows")).toEqual([[{ table: "public.users", side: "source" }, 3], [{ table: "public.users", side: "restored" }, 3]]);
        expect(values(samples, "issues")).toEqual([[{}, 0]]);
        expect(values(samples, "storage_objects")).toEqual([[{ bucket: "avatars" }, 4]]);
        expect(values(samples, "storage_bytes")).toEqual([[{ bucket: "avatars" }, 2048]]);
    });

    it("counts checks per step and outcome exactly as the JUnit file has them, zeros included", () => {
        const r = report({
            checks: [
                { check: "row_count", object: "public.orders", status: "fail", source: 5, target: 4 },
                { check: "checksum", object: "public.orders", status: "fail", source: "a", target: "b" },
                { check: "index", object: "all", status: "skip", detail: "format 2" },
            ],
        });
        const checks = values(parseTextfile(formatPrometheus(r)), "checks");
        expect(checks).toHaveLength(7 * 3);
        for (const s of drillSuites(r)) {
            for (const status of ["passed", "failed", "skipped"] as const) {
                expect(checks, `${s.step} ${status}`).toContainEqual([{ step: s.step, status }, s.cases.filter((c) => c.outcome.status === status).length]);
            }
        }
        expect(checks).toContainEqual([{ step: "validation", status: "failed" }, 2]);
        expect(checks).toContainEqual([{ step: "validation", status: "skipped" }, 1]);
        expect(checks).toContainEqual([{ step: "validation", status: "passed" }, 1]); // the comparison basis
    });

    it("a failed drill: status 0, no RTO when the validation failed, the row counts of both sides", () => {
        const samples = parseTextfile(formatPrometheus(report({ checks: [{ check: "row_count", object: "public.orders", status: "fail", source: 5, target: 4 }] })));
        expect(values(samples, "status")).toEqual([[{}, 0]]);
        expect(values(samples, "rto_seconds")).toEqual([]);
        expect(values(samples, "target_met")).toEqual([[{ target: "rto" }, 0], [{ target: "rpo" }, 1]]);
        expect(values(samples, "table_rows")).toEqual([[{ table: "public.orders", side: "source" }, 5], [{ table: "public.orders", side: "restored" }, 4]]);
        expect(values(samples, "issues")[0][1]).toBeGreaterThan(0);
    });

    it("a step that did not run: its duration, the RTO and the row counts are absent, not zero", () => {
        const samples = parseTextfile(formatPrometheus(report({ restore: false, storage: [] })));
        expect(values(samples, "status")).toEqual([[{}, 0]]);
        expect(values(samples, "duration_seconds").map(([l]) => l)).toEqual([{ step: "backup" }, { step: "total" }]);
        expect(values(samples, "rto_seconds")).toEqual([]);
        expect(values(samples, "rpo_seconds")).toEqual([[{}, 3600]]);
        expect(values(samples, "table_rows")).toEqual([]);
        expect(values(samples, "checks")).toContainEqual([{ step: "restore", status: "failed" }, 1]);
        expect(values(samples, "checks")).toContainEqual([{ step: "validation", status: "skipped" }, 1]);
        expect(values(samples, "checks")).toContainEqual([{ step: "masking", status: "skipped" }, 1]);
    });

    it("escapes label values with quotes, backslashes, newlines and <&> so they parse back exactly", () => {
        const table = 'public."we\\ird"\n<&>';
        const env = 'pr"od\\\n';
        const r = report({ env, stack: "drill-\"x\"", checks: [{ check: "row_count", object: table, status: "pass", source: 2, target: 2 }] });
        const text = formatPrometheus(r);
        expect(text).toContain(`table="${escapeLabelValue(table)}"`);
        expect(escapeLabelValue(table)).toBe('public.\\"we\\\\ird\\"\\n<&>');
        const samples = parseTextfile(text);
        expect(samples.find((s) => s.name === "supabase_dr_drill_table_rows")?.labels).toEqual({ env, stack: 'drill-"x"', table, side: "source" });
    });

    it("never repeats a series, even when the validation lists a table twice", () => {
        const twice: CheckResult = { check: "row_count", object: "public.t", status: "pass", source: 1, target: 1 };
        const samples = parseTextfile(formatPrometheus(report({ checks: [twice, { ...twice, source: 2, target: 2 }] })));
        expect(values(samples, "table_rows")).toEqual([[{ table: "public.t", side: "source" }, 1], [{ table: "public.t", side: "restored" }, 1]]);
    });

    it("is written beside the report (no temporary file left behind) and listed among its artifacts", () => {
        const meta = drill();
        const { prometheusPath, junitPath, summaryPath } = writeDrillReport(meta, [], NOW);
        expect(prometheusPath).toBe(path.join(meta.artifactsDir, `drill_${ID}.prom`));
        expect(parseTextfile(fs.readFileSync(prometheusPath, "utf8")).length).toBeGreaterThan(10);
        expect(fs.readdirSync(meta.artifactsDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
        const summary = fs.readFileSync(summaryPath, "utf8");
        for (const f of [prometheusPath, junitPath]) expect(summary).toContain(`- ${path.basename(f)}\n`);
    });
});

describe("the textfile parser these tests rely on", () => {
    const good = '# HELP m_x Help.\n# TYPE m_x gauge\nm_x{a="1"} 1\n';
    it("accepts a valid file and rejects each kind of invalid line", () => {
        expect(parseTextfile(good)).toEqual([{ name: "m_x", labels: { a: "1" }, value: 1 }]);
        const bad: [string, RegExp][] = [
            ['# TYPE m_x gauge\nm_x{a="x"y"} 1\n', /expected , after the value of a/],
            ['# TYPE m_x gauge\nm_x{a="x\\t"} 1\n', /bad escape/],
            ["# TYPE 9m gauge\n9m 1\n", /bad metric name 9m/],
            ["# TYPE m_x gauge\n# TYPE m_x gauge\nm_x 1\n", /second TYPE for m_x/],
            ['# TYPE m_x gauge\nm_x{a="1"} 1\nm_x{a="1"} 2\n', /duplicate series/],
            ["# TYPE m_x gauge\nm_x 1 1700000000000\n", /not "name\{labels\} value"/],
            ["# TYPE m_x gauge\nm_x one\n", /bad value one/],
            ["# TYPE m_x gauge\n# TYPE m_y gauge\nm_x 1\nm_y 1\nm_x{b=\"2\"} 1\n", /families must be contiguous/],
            ["m_x 1\n", /has no gauge TYPE line/],
            ['# TYPE m_x gauge\nm_x{a="1",a="2"} 1\n', /label a repeated/],
            ["# TYPE m_x gauge\nm_x 1", /does not end with a line feed/],
        ];
        for (const [text, error] of bad) expect(() => parseTextfile(text), text).toThrow(error);
    });
});
