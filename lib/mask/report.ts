// The masking result and its human-readable form for the drill report. Holds counts and names only:
// no original value and no salt can end up here.
import { redact } from "../redact";

export interface MaskedColumnResult {
    table: string;
    column: string;
    strategy: string;
    /** Non-null values before masking, all of which were replaced (or nulled). */
    rowsMasked: number;
    /** Masked values whose fingerprint equals an original of the same column (null strategy: non-null values left). */
    survivors: number;
    status: "pass" | "fail";
}

export interface MaskingResult {
    status: "pass" | "fail";
    columns: MaskedColumnResult[];
    /** PII-looking columns without a rule; always empty in a returned result (the guard throws first). */
    unmaskedPii: string[];
    /** PII-looking columns left unmasked on purpose via allowUnmasked, so the report shows the decision. */
    allowedUnmasked: string[];
    durationMs: number;
}

export function formatMaskingReport(r: MaskingResult): string {
    const rows = r.columns.reduce((sum, c) => sum + c.rowsMasked, 0);
    const lines = [
        `Data masking: ${r.status.toUpperCase()} (${r.columns.length} columns, ${rows} values masked, ${r.durationMs} ms)`,
    ];
    const width = Math.max(0, ...r.columns.map((c) => `${c.table}.${c.column}`.length));
    for (const c of r.columns) {
        const name = `${c.table}.${c.column}`.padEnd(width);
        const note = c.status === "fail" ? "  <- masked values still match originals" : "";
        lines.push(
            `  ${c.status.toUpperCase()}  ${name}  ${c.strategy.padEnd(5)}  masked=${c.rowsMasked} survivors=${c.survivors}${note}`,
        );
    }
    for (const key of r.unmaskedPii) lines.push(`  FAIL  ${key}: column looks like PII but has no masking rule`);
    if (r.allowedUnmasked.length > 0) {
        lines.push(`  left unmasked by allowUnmasked: ${r.allowedUnmasked.join(", ")}`);
    }
    // Names come from the target's catalog; redact anyway in case a connection string slipped into one.
    return redact(lines.join("\n"));
}
