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

export interface ReportOptions {
    /** Values to mask wherever they appear (passwords, tokens); URI passwords are always masked. */
    secrets?: Iterable<string | undefined>;
    title?: string;
}

export function formatValidationReport(results: CheckResult[], opts: ReportOptions = {}): string {
    const failed = results.filter((r) => r.status === "fail");
    const passed = results.filter((r) => r.status === "pass");
    const title = opts.title ?? "Restore validation";
    const lines: string[] = [
        results.length === 0
            ? `${title}: FAIL — no checks were run`
            : failed.length === 0
              ? `${title}: PASS — all ${results.length} checks passed`
              : `${title}: FAIL — ${failed.length} of ${results.length} checks failed, ${passed.length} passed`,
    ];

    if (failed.length > 0) lines.push("", `Failures (${failed.length}):`, ...failed.map(failLine));

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
