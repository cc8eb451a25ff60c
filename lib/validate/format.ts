// The validation report (validation_<timestamp>.txt): what an operator reads after a drill.
// Failures come first with both sides' values, then the runbook-003 style `name|value` lines, then
// the passes, so the evidence for a PASS is in the file too. Every line goes through redaction.
import { redact } from "../redact";
import { canonicalJson } from "./compare";
import type { CheckResult } from "./types";

function show(value: unknown): string {
    if (value === undefined) return "(absent)";
    if (value === null) return "null";
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
    return canonicalJson(value);
}

function failLine(r: CheckResult): string {
    const detail = r.detail ? ` — ${r.detail}` : "";
    const sides = r.source === undefined && r.target === undefined ? "" : `: source ${show(r.source)} | target ${show(r.target)}`;
    return `FAIL ${r.check} ${r.object}${sides}${detail}`;
}

function passLine(r: CheckResult): string {
    const value = r.target ?? r.source;
    const scalar = typeof value === "string" || typeof value === "number" || typeof value === "boolean";
    const shown = scalar && String(value).length <= 80 ? ` = ${String(value)}` : "";
    return `pass ${r.check} ${r.object}${shown}${r.detail ? ` (${r.detail})` : ""}`;
}

function skipLine(r: CheckResult): string {
    return `not compared ${r.check} ${r.object}${r.detail ? ` — ${r.detail}` : ""}`;
}

export interface ReportOptions {
    /** Values to mask wherever they appear (passwords, tokens); URI passwords are always masked. */
    secrets?: Iterable<string | undefined>;
    title?: string;
    /** Plain statements printed right under the verdict (e.g. that no data was compared). */
    notes?: string[];
}

function verdict(title: string, failed: number, passed: number, skipped: number): string {
    const compared = failed + passed;
    // Checks that could not be compared are counted apart: they are neither passes nor failures.
    const notCompared = skipped > 0 ? `; ${skipped} not compared (see "Not compared")` : "";
    if (compared === 0) return `${title}: FAIL — no checks were run${notCompared}`;
    if (failed === 0) return `${title}: PASS — all ${compared}${skipped > 0 ? " compared" : ""} checks passed${notCompared}`;
    return `${title}: FAIL — ${failed} of ${compared} checks failed, ${passed} passed${notCompared}`;
}

export function formatValidationReport(results: CheckResult[], opts: ReportOptions = {}): string {
    const failed = results.filter((r) => r.status === "fail");
    const passed = results.filter((r) => r.status === "pass");
    const skipped = results.filter((r) => r.status === "skip");
    const lines: string[] = [verdict(opts.title ?? "Restore validation", failed.length, passed.length, skipped.length)];
    if (opts.notes && opts.notes.length > 0) lines.push(...opts.notes);

    if (failed.length > 0) lines.push("", `Failures (${failed.length}):`, ...failed.map(failLine));
    if (skipped.length > 0) lines.push("", `Not compared (${skipped.length}):`, ...skipped.map(skipLine));

    const counts = results.filter((r) => r.check === "row_count");
    if (counts.length > 0) {
        lines.push("", "Row counts (table|target rows|source rows):");
        lines.push(...counts.map((r) => `${r.object}|${show(r.target)}|${show(r.source)}`));
    }
    const assertions = results.filter((r) => r.check === "assertion");
    if (assertions.length > 0) {
        lines.push("", "Assertions (name|value):");
        lines.push(...assertions.map((r) => `${r.object}|${r.target === undefined ? "ERROR" : show(r.target)}`));
    }

    if (passed.length > 0) lines.push("", `Passes (${passed.length}):`, ...passed.map(passLine));
    return redact(lines.join("\n") + "\n", opts.secrets ?? []);
}
