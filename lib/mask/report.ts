// The masking result and its human-readable form for the drill report. Holds counts and names only:
// no original value and no salt can end up here.
import { redact } from "../redact";
import { pathLabel } from "./rules";
import type { SurvivorScanResult } from "./survivorScan";

export type { SurvivorLocation, SurvivorScanResult } from "./survivorScan";

export interface MaskedColumnResult {
    table: string;
    column: string;
    /** For json-path rules: the key path inside the column. */
    path?: string[];
    strategy: string;
    /** Non-null values before masking, all of which were replaced (or nulled). */
    rowsMasked: number;
    /** Masked values whose fingerprint equals an original of the same rule (null strategy: non-null values left). */
    survivors: number;
    status: "pass" | "fail";
}

export interface MaskingResult {
    /** "fail" when any rule left originals or the survivor scan found an original anywhere. */
    status: "pass" | "fail";
    columns: MaskedColumnResult[];
    /** Every text and json column of the database searched for every masked original. */
    survivorScan: SurvivorScanResult;
    /** PII-looking columns without a rule; always empty in a returned result (the guard throws first). */
    unmaskedPii: string[];
    /** PII-looking columns left unmasked on purpose via allowUnmasked, so the report shows the decision. */
    allowedUnmasked: string[];
    durationMs: number;
}

/** "schema.table.column" or "schema.table.column.key.sub". */
export function columnLabel(c: Pick<MaskedColumnResult, "table" | "column" | "path">): string {
    return c.path && c.path.length > 0 ? `${c.table}.${c.column}.${pathLabel(c.path)}` : `${c.table}.${c.column}`;
}

function survivorScanLines(s: SurvivorScanResult): string[] {
    const lines = [
        `  Survivor scan: ${s.status.toUpperCase()} (${s.searched} original values searched for in ${s.columnsScanned} ` +
            `text/json columns of ${s.tablesScanned} tables)`,
    ];
    const width = Math.max(0, ...s.survivors.map((v) => `${v.table}.${v.column}`.length));
    for (const v of s.survivors) {
        lines.push(`    FAIL  ${`${v.table}.${v.column}`.padEnd(width)}  rows=${v.rows}  <- original values survived here`);
    }
    if (s.tooShort > 0) {
        lines.push(
            `    ${s.tooShort} original values shorter than ${s.minChars} characters were checked only in their own ` +
                `column (searching for them everywhere would match unrelated data)`,
        );
    }
    for (const n of s.notSearched) lines.push(`    not searched: ${n}`);
    return lines;
}

export function formatMaskingReport(r: MaskingResult): string {
    const rows = r.columns.reduce((sum, c) => sum + c.rowsMasked, 0);
    const lines = [
        `Data masking: ${r.status.toUpperCase()} (${r.columns.length} columns, ${rows} values masked, ${r.durationMs} ms)`,
    ];
    const width = Math.max(0, ...r.columns.map((c) => columnLabel(c).length));
    for (const c of r.columns) {
        const name = columnLabel(c).padEnd(width);
        const note = c.status === "fail" ? "  <- masked values still match originals" : "";
        lines.push(
            `  ${c.status.toUpperCase()}  ${name}  ${c.strategy.padEnd(5)}  masked=${c.rowsMasked} survivors=${c.survivors}${note}`,
        );
    }
    lines.push(...survivorScanLines(r.survivorScan));
    for (const key of r.unmaskedPii) lines.push(`  FAIL  ${key}: column looks like PII but has no masking rule`);
    if (r.allowedUnmasked.length > 0) {
        lines.push(`  left unmasked by allowUnmasked: ${r.allowedUnmasked.join(", ")}`);
    }
    // Names come from the target's catalog; redact anyway in case a connection string slipped into one.
    return redact(lines.join("\n"));
}
