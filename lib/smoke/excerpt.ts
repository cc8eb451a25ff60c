// Short, single-line, redacted views of response bodies for smoke-report reasons.
import { redact } from "../redact";

export const EXCERPT_CHARS = 200;

/**
 * Redacts before truncating: cutting first could leave the head of a token that redaction no
 * longer recognises. Whitespace is collapsed so every check stays on one report line.
 */
export function excerpt(text: string, secrets: readonly string[]): string {
    const clean = redact(text.replace(/\s+/g, " ").trim(), secrets);
    return clean.length > EXCERPT_CHARS ? `${clean.slice(0, EXCERPT_CHARS)}...` : clean;
}
