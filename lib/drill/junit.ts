// The drill's result for CI test reporters: drill_<id>.junit.xml, one testsuite per step and one
// testcase per check. Built from the DrillReport alone, which is already redacted. The file is shown
// on CI pages that everyone who can read the repository sees, so free text that PostgreSQL or an
// HTTP response produced goes through withoutRowValues / smokeReason first: no row value gets in.
import { columnLabel } from "../mask/report";
import type { DrillReport } from "./report";
import { describeRehearsal } from "./rehearseRecover";

export const DRILL_STEPS = ["backup", "restore", "validation", "masking", "smoke", "storage", "report"] as const;
/**
 * The recovery rehearsal's suite sits between validation and masking, where it runs; only in the files
 * of drills that rehearse (most do not, and their files keep the shape CI dashboards already know).
 */
export const REHEARSAL_STEP = "rehearse-recover";
export type DrillStepName = (typeof DRILL_STEPS)[number] | typeof REHEARSAL_STEP;

export type CaseOutcome =
    | { status: "passed" }
    | { status: "failed"; message: string; detail?: string }
    | { status: "skipped"; message: string };

export interface DrillCase {
    name: string;
    classname: string;
    timeSeconds?: number;
    outcome: CaseOutcome;
    /** Context worth keeping beside the verdict (<system-out>). */
    output?: string;
}

export interface DrillSuite {
    step: DrillStepName;
    timeSeconds: number;
    cases: DrillCase[];
    properties?: Record<string, string>;
}

const passed: CaseOutcome = { status: "passed" };
const MESSAGE_CHARS = 300;
const DETAIL_CHARS = 8000;

// PostgreSQL message parts that quote row data: the error context lines and the values they cite.
const ROW_CONTEXT = /\b(DETAIL|CONTEXT|QUERY|STATEMENT|LINE \d+):.*$/gm;
const ROW_VALUE_PATTERNS: [RegExp, string][] = [
    [/\bKey \(([^)]*)\)=\(.*$/gm, "Key ($1)=(…)"], // unique / foreign key violations
    [/\bFailing row contains \(.*$/gm, "Failing row contains (…)"], // not-null / check violations
    [/: "(?:[^"\\\n]|\\.)*"/g, ': "…"'], // invalid input syntax for type x: "value", COPY … column c: "value"
    [/\bvalue "(?:[^"\\\n]|\\.)*"/g, 'value "…"'], // value "…" is out of range for type …
    [/(^|\W)'(?:[^'\n]|'')*'(?!\w)/gm, "$1'…'"], // SQL literals in echoed statements (not the ' of "drill's")
    [/\b(source|target)=("(?:[^"\\\n]|\\.)*"|\S+)/g, "$1=…"], // values in the validation step's error
];

/**
 * Text from PostgreSQL (restore errors, validation details, the drill's error) without the parts that
 * may quote row values: DETAIL/CONTEXT/LINE tails, key values, failing rows, quoted literals.
 * Identifiers (quoted after a word, e.g. table "users") stay: they say where the problem is.
 */
export function withoutRowValues(text: string): string {
    let out = text.replace(ROW_CONTEXT, "$1: (not shown: may quote row values)");
    for (const [pattern, replacement] of ROW_VALUE_PATTERNS) out = out.replace(pattern, replacement);
    return out;
}

// Smoke failure reasons (lib/smoke/run.ts) are "; "-joined parts; parts that quote the response body
// are left out. Only parts of these shapes are kept, so a body excerpt can never pass through.
const SMOKE_PARTS_KEPT = [
    /^expected status \d+( or \d+)*, got \d+$/,
    /^server error \d+ \(5xx always fails\)$/,
    /^took \d+ ms, budget \d+ ms$/,
    /^\(empty body\)$/,
    /^timed out after \d+ ms$/,
    /^request failed: /,
    /^could not run: /,
    /^body is not JSON$/,
    /^body is too large to check as JSON$/,
    /^body does not (contain|match) .*$/,
    /^JSON "(?:[^"\\]|\\.)*" is missing$/,
    /^body is empty, expected a CSV header with /,
    /^path check needs a base URL/,
    /^auth is true but no bearer token/,
    /^expected exactly one of url or path$/,
];
const SMOKE_PARTS_SHORTENED: [RegExp, string][] = [
    [/^(JSON "(?:[^"\\]|\\.)*"): expected .*$/, "$1: not the expected value"],
    [/^(CSV header lacks column\(s\) .*?) \(header: .*$/, "$1"],
];

/** A smoke check's failure reason without response-body excerpts (they may hold restored rows). */
export function smokeReason(reason: string): string {
    const attempts = / \(failed \d+ attempts\)$/.exec(reason)?.[0] ?? "";
    const parts = reason.slice(0, reason.length - attempts.length).split("; ");
    const kept: string[] = [];
    let dropped = false;
    for (const part of parts) {
        const shortened = SMOKE_PARTS_SHORTENED.find(([re]) => re.test(part));
        if (shortened) kept.push(part.replace(shortened[0], shortened[1]));
        else if (SMOKE_PARTS_KEPT.some((re) => re.test(part))) kept.push(part);
        else dropped = true;
    }
    if (dropped) kept.push("response excerpt not shown (see the smoke report)");
    return kept.join("; ") + attempts;
}

// Checks whose source/target values are counts or versions, never row data.
const VALUES_SHOWN = new Set(["row_count", "server_version", "migration", "fingerprint_format"]);

const failed = (message: string, detail?: string): CaseOutcome => ({
    status: "failed",
    message: withoutRowValues(message),
    detail: detail === undefined ? undefined : withoutRowValues(detail),
});
const skipped = (message: string): CaseOutcome => ({ status: "skipped", message: withoutRowValues(message) });

/** The drill as suites of cases, one per step in order: the JUnit file and the Prometheus counts. */
export function drillSuites(report: DrillReport): DrillSuite[] {
    const chain: [DrillStepName, boolean, boolean][] = [
        // A PITR drill's base backup is the archive's own: its suite reports it once the restore chose it.
        ["backup", true, !!report.backup || !!report.pitr],
        ["restore", true, !!report.restore || !!report.pitr?.completed],
        ["validation", true, !!report.validation],
        [
            REHEARSAL_STEP,
            (report.configured.rehearse_recover ?? []).length > 0,
            (report.configured.rehearse_recover ?? []).every((t) => (report.rehearse_recover ?? []).some((r) => r.table === t)),
        ],
        ["masking", report.configured.masking, !!report.masking],
        ["smoke", report.configured.smoke, !!report.smoke],
    ];
    const firstMissing = chain.find(([, configured, present]) => configured && !present)?.[0];
    const notRun = (step: DrillStepName): CaseOutcome =>
        step === firstMissing
            ? failed(`the ${step} step did not complete`, report.failure ?? "no result was written for this step")
            : skipped(`did not run: the ${firstMissing} step did not complete`);
    const single = (step: DrillStepName, outcome: CaseOutcome): DrillCase[] => [{ name: step, classname: `drill.${step}`, outcome }];
    const d = report.durations_seconds;

    return [
        {
            step: "backup",
            timeSeconds: d.backup ?? 0,
            cases: report.backup ? backupCases(report) : report.pitr ? pitrBackupCases(report) : single("backup", notRun("backup")),
        },
        {
            step: "restore",
            timeSeconds: d.restore ?? 0,
            cases: report.restore ? restoreCases(report) : report.pitr?.completed ? pitrRestoreCases(report) : single("restore", notRun("restore")),
        },
        {
            step: "validation",
            timeSeconds: d.validation ?? 0,
            cases: report.validation ? validationCases(report) : single("validation", notRun("validation")),
        },
        ...(rehearses(report)
            ? [{
                step: REHEARSAL_STEP,
                timeSeconds: (report.rehearse_recover ?? []).reduce((sum, r) => sum + r.durationsMs.total, 0) / 1000,
                cases: rehearsalCases(report, notRun),
            } satisfies DrillSuite]
            : []),
        {
            step: "masking",
            timeSeconds: d.masking ?? 0,
            cases: !report.configured.masking && !report.masking
                ? single("masking", skipped("masking is not configured for this drill"))
                : report.masking ? maskingCases(report) : single("masking", notRun("masking")),
        },
        {
            step: "smoke",
            timeSeconds: (report.smoke?.checks ?? []).reduce((sum, c) => sum + (c.latencyMs ?? 0), 0) / 1000,
            cases: !report.configured.smoke && !report.smoke
                ? single("smoke", skipped("smoke tests are not configured for this drill"))
                : report.smoke ? smokeCases(report) : single("smoke", notRun("smoke")),
        },
        { step: "storage", timeSeconds: 0, cases: storageCases(report) },
        { step: "report", timeSeconds: 0, cases: reportCases(report), properties: reportProperties(report) },
    ];
}

function backupCases(r: DrillReport): DrillCase[] {
    const b = r.backup!;
    return [{
        name: `${b.id} (${b.mode}, ${b.format})`,
        classname: "drill.backup",
        timeSeconds: r.durations_seconds.backup,
        outcome: passed,
        output: `taken at ${b.taken_at} (${b.taken_at_source}); ${b.files.length} file(s)`,
    }];
}

function pitrBackupCases(r: DrillReport): DrillCase[] {
    const p = r.pitr!;
    if (!p.completed) return [{ name: "base backup", classname: "drill.backup", outcome: skipped("chosen by the point-in-time restore, which did not complete") }];
    return [{ name: `base backup ${p.backup_label} (pgBackRest)`, classname: "drill.backup", outcome: passed, output: `stanza ${p.stanza}, ${p.repository}` }];
}

function pitrRestoreCases(r: DrillReport): DrillCase[] {
    const p = r.pitr!;
    return [{
        name: `point-in-time restore to ${p.target_asked}`,
        classname: "drill.restore",
        timeSeconds: r.durations_seconds.restore,
        outcome: passed,
        output: [
            `reached LSN ${p.reached_lsn}, last commit ${p.reached_last_commit_time ?? "none replayed"}`,
            `restore ${p.restore_seconds}s, WAL replay ${p.replay_seconds}s, promotion ${p.promote_seconds}s`,
            `scheduled jobs: ${p.scheduled_jobs}`,
        ].join("\n"),
    }];
}

function restoreCases(r: DrillReport): DrillCase[] {
    const x = r.restore!;
    const allowed = x.allowed_errors.map((e) => `allow-listed: ${withoutRowValues(e)}`).join("\n");
    return [
        {
            name: `restore into ${x.target}`,
            classname: "drill.restore",
            timeSeconds: r.durations_seconds.restore,
            outcome: passed,
            output: [`log: ${x.log}`, allowed].filter(Boolean).join("\n"),
        },
        ...x.errors.map((e, i) => ({ name: `restore error ${i + 1}`, classname: "drill.restore", outcome: failed(e, e) })),
    ];
}

function validationCases(r: DrillReport): DrillCase[] {
    const v = r.validation!;
    const cases: DrillCase[] = v.checks.map((c) => {
        const name = `${c.check} ${c.object}`;
        const classname = `drill.validation.${c.check}`;
        if (c.status === "pass") return { name, classname, outcome: passed };
        if (c.status === "skip") return { name, classname, outcome: skipped(c.detail ?? "not compared") };
        const sides = VALUES_SHOWN.has(c.check) ? `source: ${show(c.source)}\ntarget: ${show(c.target)}` : "values not shown (see the validation report)";
        return { name, classname, outcome: failed(`${name}: ${c.detail ?? "source and target differ"}`, `${c.detail ?? "source and target differ"}\n${sides}`) };
    });
    const basis = `table data compared with the source (${v.compared_with})`;
    if (v.compared_with === "none" || v.data_compared === false) {
        const why = v.note ?? "no table data was compared with the source";
        cases.push({
            name: basis,
            classname: "drill.validation.basis",
            outcome: v.no_data_allowed ? skipped(`${why} (accepted: allowNoData)`) : failed(why),
        });
    } else {
        cases.push({ name: basis, classname: "drill.validation.basis", outcome: passed });
    }
    return cases;
}

function show(value: unknown): string {
    if (value === undefined) return "(absent)";
    return typeof value === "string" ? value : JSON.stringify(value);
}

function maskingCases(r: DrillReport): DrillCase[] {
    const m = r.masking!;
    const cases: DrillCase[] = m.columns.map((c) => ({
        name: `${columnLabel(c)} (${c.strategy})`,
        classname: "drill.masking",
        outcome: c.status === "pass" ? passed : failed(`${c.survivors} of ${c.rowsMasked} masked value(s) still match an original`),
    }));
    const scan = m.survivorScan;
    const where = scan.survivors.map((s) => `${s.table}.${s.column}: ${s.rows} row(s)`).join("\n");
    cases.push({
        name: "survivor scan",
        classname: "drill.masking",
        outcome: scan.status === "pass" ? passed : failed(`original values survived in ${scan.survivors.length} column(s)`, where),
        output: [
            `${scan.searched} original value(s) searched for in ${scan.columnsScanned} column(s) of ${scan.tablesScanned} table(s)`,
            ...scan.notSearched.map((n) => `not searched: ${withoutRowValues(n)}`),
        ].join("\n"),
    });
    for (const col of m.unmaskedPii) cases.push({ name: col, classname: "drill.masking", outcome: failed("PII-looking column without a masking rule") });
    for (const col of m.allowedUnmasked) cases.push({ name: col, classname: "drill.masking", outcome: skipped("left unmasked on purpose (allowUnmasked)") });
    return cases;
}

function smokeCases(r: DrillReport): DrillCase[] {
    const s = r.smoke!;
    if (s.status === "skipped") {
        const why = s.total === 0 ? "no smoke check is configured" : `none of the ${s.total} check(s) could run: the restored environment's API URL is not set`;
        // Configured smoke that could not run fails the drill: the JUnit result says so too.
        return [{ name: "smoke", classname: "drill.smoke", outcome: r.configured.smoke ? failed(`smoke tests could not run: ${why}`) : skipped(why) }];
    }
    return s.checks.map((c) => ({
        name: c.name,
        classname: "drill.smoke",
        timeSeconds: c.latencyMs === undefined ? undefined : c.latencyMs / 1000,
        outcome: c.outcome === "PASS" ? passed : failed(`${c.method} ${c.url}: ${smokeReason(c.reason ?? "failed")}`),
    }));
}

function rehearses(r: DrillReport): boolean {
    return (r.configured.rehearse_recover ?? []).length > 0 || (r.rehearse_recover ?? []).length > 0;
}

/** One case per rehearsed table: its verdict, and what differed (counts and key hashes) when it failed. */
function rehearsalCases(r: DrillReport, notRun: (step: DrillStepName) => CaseOutcome): DrillCase[] {
    const ran = r.rehearse_recover ?? [];
    const tables = [...new Set([...(r.configured.rehearse_recover ?? []), ...ran.map((x) => x.table)])];
    return tables.map((table) => {
        const x = ran.find((y) => y.table === table);
        const name = `rows ${table}`;
        const classname = "drill.rehearse-recover";
        if (!x) return { name, classname, outcome: notRun(REHEARSAL_STEP) };
        const output = [describeRehearsal(x), ...x.notes.map((n) => `note: ${n}`)].join("\n");
        return {
            name,
            classname,
            timeSeconds: x.durationsMs.total / 1000,
            outcome: x.status === "pass" ? passed : failed(`recovery rehearsal of ${table} failed: ${x.failures[0] ?? "see the report"}`, x.failures.join("\n")),
            output,
        };
    });
}

function storageCases(r: DrillReport): DrillCase[] {
    const restored = new Map((r.storage ?? []).map((s) => [s.sourceBucket, s]));
    const buckets = [...new Set([...r.configured.storage_buckets, ...restored.keys()])].sort();
    if (buckets.length === 0) return [{ name: "storage", classname: "drill.storage", outcome: skipped("no storage bucket is configured for this drill") }];
    return buckets.map((bucket) => {
        const s = restored.get(bucket);
        return s
            ? { name: bucket, classname: "drill.storage", outcome: passed, output: `restored to ${s.restoredBucket}: ${s.objects} object(s), ${s.bytes} byte(s) verified at ${s.verifiedAt}` }
            : { name: bucket, classname: "drill.storage", outcome: failed(`bucket ${bucket} was not restored and verified`, r.failure) };
    });
}

function targetCase(name: string, measured: number | undefined, target: number, met: boolean, notMeasured: string): DrillCase {
    const label = `${name} within target (${target}s)`;
    if (measured === undefined) return { name: label, classname: "drill.report", outcome: skipped(`${name} not measured: ${notMeasured}`) };
    return { name: label, classname: "drill.report", outcome: met ? passed : failed(`${name} ${measured}s exceeds the target of ${target}s`) };
}

function reportCases(r: DrillReport): DrillCase[] {
    return [
        targetCase("RTO", r.rto_seconds, r.targets.rto_seconds, r.targets.rto_met, "the validation did not pass"),
        targetCase("RPO", r.rpo_seconds, r.targets.rpo_seconds, r.targets.rpo_met, r.pitr ? "the point-in-time restore replayed no transaction or did not complete" : "no backup was taken or adopted"),
        // Failed exactly when the drill failed, whatever the reason: the file's verdict is the drill's.
        {
            name: "drill verdict",
            classname: "drill.report",
            outcome: r.status === "PASS" ? passed : failed(`drill ${r.drill_id} FAILED with ${r.issues.length} issue(s)`, r.issues.map((i) => `- ${i}`).join("\n")),
            output: r.recommendations.join("\n"),
        },
    ];
}

function reportProperties(r: DrillReport): Record<string, string> {
    return {
        drill_id: r.drill_id,
        environment: r.environment,
        stack: r.stack,
        status: r.status,
        started_at: r.timestamps.drill_started_at,
        next_drill_date: r.next_drill_date,
    };
}

// XML 1.0 allows these characters only; anything else (NUL, lone surrogates) becomes U+FFFD.
const NOT_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function xmlText(s: string): string {
    return s.replace(NOT_XML, "\uFFFD").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Attribute values keep their line breaks and tabs as character references (parsers fold raw ones). */
export function xmlAttr(s: string): string {
    return xmlText(s).replace(/"/g, "&quot;").replace(/'/g, "&apos;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;").replace(/\t/g, "&#9;");
}

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const secondsAttr = (t: number | undefined) => String(Math.round((t ?? 0) * 1000) / 1000);
const countOf = (cases: DrillCase[], status: CaseOutcome["status"]) => cases.filter((c) => c.outcome.status === status).length;

function caseXml(c: DrillCase): string {
    const head = `    <testcase name="${xmlAttr(c.name)}" classname="${xmlAttr(c.classname)}" time="${secondsAttr(c.timeSeconds)}"`;
    const body: string[] = [];
    const o = c.outcome;
    if (o.status === "failed") {
        const message = xmlAttr(clip(o.message.split("\n")[0], MESSAGE_CHARS));
        body.push(`      <failure message="${message}" type="${xmlAttr(c.classname)}">${xmlText(clip(o.detail ?? o.message, DETAIL_CHARS))}</failure>`);
    } else if (o.status === "skipped") {
        body.push(`      <skipped message="${xmlAttr(clip(o.message.split("\n")[0], MESSAGE_CHARS))}"/>`);
    }
    if (c.output) body.push(`      <system-out>${xmlText(clip(c.output, DETAIL_CHARS))}</system-out>`);
    return body.length === 0 ? `${head}/>` : `${head}>\n${body.join("\n")}\n    </testcase>`;
}

function suiteXml(s: DrillSuite, timestamp: string): string[] {
    const attrs = [
        `name="${s.step}"`,
        `tests="${s.cases.length}"`,
        `failures="${countOf(s.cases, "failed")}"`,
        `errors="0"`,
        `skipped="${countOf(s.cases, "skipped")}"`,
        `time="${secondsAttr(s.timeSeconds)}"`,
        `timestamp="${xmlAttr(timestamp)}"`,
    ];
    const props = Object.entries(s.properties ?? {}).map(([k, v]) => `      <property name="${xmlAttr(k)}" value="${xmlAttr(v)}"/>`);
    return [
        `  <testsuite ${attrs.join(" ")}>`,
        ...(props.length > 0 ? ["    <properties>", ...props, "    </properties>"] : []),
        ...s.cases.map(caseXml),
        "  </testsuite>",
    ];
}

/** drill_<id>.junit.xml's content. */
export function formatJUnit(report: DrillReport): string {
    const suites = drillSuites(report);
    const all = suites.flatMap((s) => s.cases);
    // The schema's timestamp is a local date-time without a zone; the drill's start is in UTC.
    const timestamp = report.timestamps.drill_started_at.replace(/(\.\d+)?Z$/, "");
    const root = [
        `name="${xmlAttr(`supabase-dr drill ${report.drill_id} (${report.environment})`)}"`,
        `tests="${all.length}"`,
        `failures="${countOf(all, "failed")}"`,
        `errors="0"`,
        `skipped="${countOf(all, "skipped")}"`,
        `time="${secondsAttr(report.durations_seconds.total)}"`,
        `timestamp="${xmlAttr(timestamp)}"`,
    ];
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<testsuites ${root.join(" ")}>`,
        ...suites.flatMap((s) => suiteXml(s, timestamp)),
        "</testsuites>",
        "",
    ].join("\n");
}
