// The smoke_<timestamp>.txt artifact (runbook 003): one line per check, then "passed N/M".
// Runbook 003 step 3 reads it as "smoke report has no FAIL", so FAIL appears only on failed checks.
import { redact } from "../redact";
import type { SmokeCheckResult, SmokeResult } from "./run";

/**
 * Results from runSmokeChecks are already redacted; `secrets` redacts again for results built or
 * edited elsewhere, so the report can never be the place a token leaks.
 */
export function formatSmokeReport(r: SmokeResult, secrets: Iterable<string | undefined> = []): string {
    if (r.status === "skipped") {
        const why = r.total === 0 ? "no smoke checks configured" : `no base URL (TARGET_API_URL unset), ${r.total} check(s) not run`;
        return `SKIPPED ${why}\n`;
    }
    const lines = r.checks.map(formatCheckLine);
    lines.push(`passed ${r.passed}/${r.total}`);
    return `${redact(lines.join("\n"), [...secrets])}\n`;
}

/** "PASS GET /api/health 200 35ms", or "FAIL <name> <status|-> <latency|-> : reason" on one line. */
export function formatCheckLine(c: SmokeCheckResult): string {
    const status = c.status === undefined ? "-" : String(c.status);
    const latency = c.latencyMs === undefined ? "-" : `${c.latencyMs}ms`;
    const line = `${c.outcome} ${oneLine(c.name)} ${status} ${latency}`;
    return c.reason ? `${line}: ${oneLine(c.reason)}` : line;
}

function oneLine(text: string): string {
    return text.replace(/\s*[\r\n]+\s*/g, " ");
}
