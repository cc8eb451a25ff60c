// Redaction of secrets from any text that may reach a log, an error, a report or Pulumi state.
// Two layers: passwords inside connection URIs are always masked, and every secret value the caller
// registered (tokens, salts, passwords) is replaced wherever it appears.

const MASK = "****";

// postgres://user:password@host  — also postgresql://, and any scheme://user:pass@ form.
const URI_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s]*)(@)/gi;
// key=value connection strings (libpq keyword form) and PGPASSWORD-style assignments.
const KEYWORD_PASSWORD = /\b(password|pgpassword|passwd)(\s*=\s*)('[^']*'|"[^"]*"|[^\s'"]+)/gi;

export function redactConnectionSecrets(text: string): string {
    return text.replace(URI_PASSWORD, `$1${MASK}$3`).replace(KEYWORD_PASSWORD, `$1$2${MASK}`);
}

/** Replaces every occurrence of each secret (and its URI-encoded form) in text, then masks URI passwords. */
export function redact(text: string, secrets: Iterable<string | undefined> = []): string {
    let out = text;
    for (const secret of secrets) {
        if (!secret || secret.length < 4) continue; // too short to replace without mangling text
        for (const form of new Set([secret, encodeURIComponent(secret)])) {
            out = out.split(form).join(MASK);
        }
    }
    return redactConnectionSecrets(out);
}

/** An Error whose message has been redacted; keeps the original's name for readability. */
export function redactError(err: unknown, secrets: Iterable<string | undefined> = []): Error {
    const source = err instanceof Error ? err : new Error(String(err));
    const clean = new Error(redact(source.message, secrets));
    clean.name = source.name;
    if (source.stack) clean.stack = redact(source.stack, secrets);
    return clean;
}
