// Body predicates of a smoke check. Each failure names what was missing or different, so the smoke
// report says why without anyone re-running the request. Values quoted from the body go through
// excerpt() (redacted, then truncated); the caller still redacts whole reasons.
import { isDeepStrictEqual } from "node:util";
import type { SmokeBodyPredicate } from "./checks";
import { excerpt } from "./excerpt";

/** Reasons the body fails the predicate; empty when it passes. `truncated`: only a prefix was read. */
export function bodyFailures(
    predicate: SmokeBodyPredicate | undefined,
    body: string,
    truncated: boolean,
    secrets: readonly string[] = [],
): string[] {
    if (!predicate) return [];
    const failures: string[] = [];
    const partial = truncated ? " (only the start of a large body was searched)" : "";
    if (predicate.contains !== undefined && !body.includes(predicate.contains)) {
        failures.push(`body does not contain ${JSON.stringify(predicate.contains)}${partial}`);
    }
    if (predicate.regex !== undefined && !new RegExp(predicate.regex).test(body)) {
        failures.push(`body does not match /${predicate.regex}/${partial}`);
    }
    if (predicate.json !== undefined) failures.push(...jsonFailures(predicate.json, body, truncated, secrets));
    if (predicate.csvHeader !== undefined) failures.push(...csvHeaderFailures(predicate.csvHeader, body, secrets));
    return failures;
}

function jsonFailures(expected: Record<string, unknown>, body: string, truncated: boolean, secrets: readonly string[]): string[] {
    if (truncated) return ["body is too large to check as JSON"];
    let document: unknown;
    try {
        document = JSON.parse(body);
    } catch {
        return ["body is not JSON"];
    }
    const failures: string[] = [];
    for (const [path, want] of Object.entries(expected)) {
        const found = lookup(document, path);
        if (!found.present) failures.push(`JSON ${JSON.stringify(path)} is missing`);
        else if (!isDeepStrictEqual(found.value, want)) {
            failures.push(`JSON ${JSON.stringify(path)}: expected ${excerpt(asJson(want), secrets)}, got ${excerpt(asJson(found.value), secrets)}`);
        }
    }
    return failures;
}

/** Follows a dotted path ("checks.db", "items.0.id"); `present` distinguishes missing from null. */
export function lookup(document: unknown, path: string): { present: boolean; value?: unknown } {
    let current: unknown = document;
    for (const segment of path.split(".")) {
        if (Array.isArray(current) && /^\d+$/.test(segment) && Number(segment) < current.length) {
            current = current[Number(segment)];
        } else if (typeof current === "object" && current !== null && !Array.isArray(current) && Object.hasOwn(current, segment)) {
            current = (current as Record<string, unknown>)[segment];
        } else {
            return { present: false };
        }
    }
    return { present: true, value: current };
}

function csvHeaderFailures(columns: string[], body: string, secrets: readonly string[]): string[] {
    const header = firstCsvLine(body);
    if (header === "") return [`body is empty, expected a CSV header with ${columns.map((c) => JSON.stringify(c)).join(", ")}`];
    const names = new Set(splitCsvLine(header).map((cell) => cell.trim().toLowerCase()));
    const missing = columns.filter((column) => !names.has(column.trim().toLowerCase()));
    if (missing.length === 0) return [];
    return [`CSV header lacks column(s) ${missing.map((c) => JSON.stringify(c)).join(", ")} (header: ${excerpt(header, secrets)})`];
}

function firstCsvLine(body: string): string {
    const text = body.startsWith("\uFEFF") ? body.slice(1) : body; // Excel-friendly exports start with a BOM
    const end = text.search(/\r?\n/);
    return end === -1 ? text : text.slice(0, end);
}

/** RFC 4180 cells of one line: commas inside double quotes do not split, "" is a literal quote. */
export function splitCsvLine(line: string): string[] {
    const cells: string[] = [];
    let cell = "";
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
        const char = line[i];
        if (quoted) {
            if (char === '"' && line[i + 1] === '"') {
                cell += '"';
                i++;
            } else if (char === '"') quoted = false;
            else cell += char;
        } else if (char === '"') quoted = true;
        else if (char === ",") {
            cells.push(cell);
            cell = "";
        } else cell += char;
    }
    cells.push(cell);
    return cells;
}

function asJson(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}
