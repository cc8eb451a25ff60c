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

/**
 * A copy of an Error with its message, stack, string fields and causes redacted. The copy keeps the
 * original's class, name and fields (a code, an HTTP status): callers and the CLI tell errors apart
 * by class (lib/errors.ts), and a redacted error must still say what kind it is.
 */
export function redactError(err: unknown, secrets: Iterable<string | undefined> = [], depth = 0): Error {
    const list = [...secrets];
    const source = err instanceof Error ? err : new Error(String(err));
    const clean = Object.create(Object.getPrototypeOf(source) as object) as Error;
    const fields = source as unknown as Record<string, unknown>;
    for (const key of Object.keys(source)) {
        const value = fields[key];
        // Child-process errors carry their stdout/stderr, an AWS error its request: strings are redacted.
        (clean as unknown as Record<string, unknown>)[key] = typeof value === "string" ? redact(value, list) : value;
    }
    const hidden = (key: string, value: unknown) => Object.defineProperty(clean, key, { value, writable: true, configurable: true, enumerable: false });
    hidden("message", redact(source.message, list));
    if (!Object.keys(source).includes("name")) hidden("name", source.name);
    if (source.stack) hidden("stack", redact(source.stack, list));
    if (source.cause !== undefined) hidden("cause", depth < 10 ? redactError(source.cause, list, depth + 1) : undefined);
    return clean;
}

// ---------------------------------------------------------------------------------------------------
// Row values in PostgreSQL messages.
//
// A server error quotes the data that broke it: `DETAIL:  Key (email)=(alice@x.com) already exists.`,
// `Failing row contains (…)`, `CONTEXT:  COPY users, line 3, column email: "alice@x.com"`, an input
// value in the message itself (`invalid input syntax for type integer: "…"`), psql's `LINE 1:` echo
// of the statement and pg_restore's `Command was: INSERT …`. Restore and backup logs are uploaded as
// CI artifacts, so every such value is replaced by REDACTED_VALUE before a line is written anywhere.
// What an operator needs stays: the message, the SQLSTATE, constraint/table/column names, line numbers.
//
// A value can hold newlines, so its message spans several output lines: after a line that carried a
// value, following lines are dropped until one starts a new message (a tool prefix or a field label).

export const REDACTED_VALUE = "…";

// Where a message field starts inside a line: at its beginning, or after "psql:file:12: ",
// "pg_restore: error: COPY failed for table "t": ", "pg_dump: detail: ".
const FIELD = /(^|: )(ERROR|FATAL|PANIC|WARNING|DETAIL|CONTEXT|QUERY|STATEMENT|LINE \d+|Command was|Query was):(\s*)/;
// A line that begins a new message: a client tool's prefix or a field label of libpq's message format.
const NEW_MESSAGE =
    /^(?:(?:pg_restore|pg_dump|pg_dumpall|psql)(?::|\s)|(?:ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|LOG|DEBUG\d?|DETAIL|HINT|CONTEXT|QUERY|STATEMENT|LOCATION|LINE \d+|Command was):)/;

// A leading run of keywords and (qualified, possibly quoted) identifiers: the part of a statement
// that names what it does and to which object, before any literal, list or expression.
const IDENT = `(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*")`;
const STATEMENT_HEAD = new RegExp(`^\\s*${IDENT}(?:\\.${IDENT})*(?:\\s+${IDENT}(?:\\.${IDENT})*)*`);

/** A statement's leading keywords and object names; everything from its first literal or list on is dropped. */
export function redactStatement(sql: string): string {
    const matched = STATEMENT_HEAD.exec(sql)?.[0] ?? "";
    const head = matched.trim();
    const rest = sql.slice(matched.length).trim();
    if (!rest) return head;
    return head ? `${head} ${REDACTED_VALUE}` : REDACTED_VALUE;
}

/** The primary message of a server error (ERROR/FATAL/WARNING text, or a driver error's `message`). */
export function redactPgPrimary(message: string): string {
    return message
        .replace(/^(.*?\bvalue )"(.*)"( is out of range for type .*)$/, `$1"${REDACTED_VALUE}"$3`)
        .replace(/^(invalid byte sequence for encoding "[^"]*": ).*$/, `$1${REDACTED_VALUE}`)
        .replace(/^(character with byte sequence ).*?( in encoding ".*)$/, `$1${REDACTED_VALUE}$2`)
        // `invalid input syntax for type integer: "…"`, `malformed array literal: "…"`,
        // `date/time field value out of range: "…"`, `invalid input value for enum mood: "…"`.
        .replace(/^(.*?: )"(?!…").*$/, `$1"${REDACTED_VALUE}"`);
}

function redactKeyDetail(body: string): string | undefined {
    const m = /^Key \((.*?)\)=\((.*)$/s.exec(body);
    if (!m) return undefined;
    const [, columns, rest] = m;
    const head = `Key (${columns})=(${REDACTED_VALUE})`;
    for (const tail of [" already exists.", " is duplicated."]) {
        if (rest.endsWith(`)${tail}`)) return head + tail;
    }
    const table = /\) (is not present in table|is still referenced from table) ("(?:[^"]|"")*")\.$/.exec(rest);
    if (table) return `${head} ${table[1]} ${table[2]}.`;
    // Exclusion constraints: both keys list the same index columns.
    for (const which of ["existing key", "key"]) {
        if (rest.lastIndexOf(`) conflicts with ${which} (${columns})=(`) >= 0 && rest.endsWith(").")) {
            return `${head} conflicts with ${which} (${columns})=(${REDACTED_VALUE}).`;
        }
    }
    return `${head} ${REDACTED_VALUE}`;
}

/** DETAIL text: key values, failing rows, partition keys, JSON tokens. */
export function redactPgDetail(detail: string): string {
    const key = redactKeyDetail(detail);
    if (key !== undefined) return key;
    return detail
        .replace(/^(Failing row contains )\(.*$/s, `$1(${REDACTED_VALUE}).`)
        .replace(/^(Partition key of the failing row contains \((.*?)\) = )\(.*$/s, `$1(${REDACTED_VALUE}).`)
        .replace(/^(Token |Expected .*?, but found |Escape sequence )"(.*)"( is invalid\.|\.)$/s, `$1"${REDACTED_VALUE}"$3`)
        .replace(/^(Token |Expected .*?, but found |Escape sequence )"(?!…").*$/s, `$1"${REDACTED_VALUE}"`)
        .replace(/^(parameters: ).*$/s, `$1${REDACTED_VALUE}`);
}

/** CONTEXT text: the COPY line or column value, JSON input, a statement's literals, bind parameters. */
export function redactPgContext(context: string): string {
    return context
        .replace(/^(COPY .*?, line \d+(?:, column .*?)?): ".*$/s, `$1: "${REDACTED_VALUE}"`)
        .replace(/^(JSON data, line \d+: ).*$/s, `$1${REDACTED_VALUE}`)
        .replace(/^(SQL statement )"(.*)$/s, (_, label: string, sql: string) => `${label}"${redactStatement(sql.replace(/"$/, ""))}"`)
        .replace(/(portal parameter \$\d+ = ).*$/s, `$1${REDACTED_VALUE}`);
}

/** One line of tool output or server message text, without row values; carriesData: a value was (or may be) on it. */
export function redactPgLine(line: string): { text: string; carriesData: boolean } {
    const m = FIELD.exec(line);
    if (!m) return { text: line, carriesData: false };
    const [whole, , label] = m;
    const start = m.index + whole.length;
    const prefix = line.slice(0, start);
    const body = line.slice(start);
    let redacted: string;
    let statement = false;
    if (label === "DETAIL") redacted = redactPgDetail(body);
    else if (label === "CONTEXT") {
        redacted = redactPgContext(body);
        statement = body.startsWith('SQL statement "');
    } else if (/^LINE \d+$/.test(label)) {
        redacted = body ? REDACTED_VALUE : body;
        statement = true;
    } else if (["QUERY", "STATEMENT", "Command was", "Query was"].includes(label)) {
        redacted = redactStatement(body);
        statement = true;
    } else {
        redacted = redactPgPrimary(body);
    }
    // A data-loading statement's continuation lines are statement text too (values included).
    return { text: prefix + redacted, carriesData: statement || redacted !== body };
}

/**
 * Redacts tool output line by line (one instance per output stream): drops the continuation lines of a
 * value that spans lines, up to the next line that starts a message.
 */
export class PgOutputRedactor {
    private dropping = false;

    /** The line to write, or undefined when it continues a redacted value. */
    line(raw: string): string | undefined {
        if (this.dropping && !NEW_MESSAGE.test(raw)) return undefined;
        const r = redactPgLine(raw);
        this.dropping = r.carriesData;
        return r.text;
    }
}

/** Multi-line PostgreSQL message text (tool output, an error built from it) without row values. */
export function redactPgMessage(text: string): string {
    const redactor = new PgOutputRedactor();
    return text
        .split("\n")
        .map((l) => redactor.line(l))
        .filter((l): l is string => l !== undefined)
        .join("\n");
}

/**
 * A database error as text without row values or secrets: a server error's primary message (its DETAIL
 * and CONTEXT quote rows, so they are left out) with its SQLSTATE. Any other error's message is kept
 * as it is (secrets masked): ours are built from output that was redacted when it was read.
 */
export function pgErrorText(err: unknown, secrets: Iterable<string | undefined> = []): string {
    const message = err instanceof Error ? err.message : String(err);
    const fields = typeof err === "object" && err !== null ? (err as { code?: unknown; severity?: unknown }) : {};
    // node-postgres' DatabaseError carries the primary message alone, with its severity and SQLSTATE.
    const isServerError = fields.severity !== undefined && typeof fields.code === "string";
    const text = isServerError ? `${redactPgPrimary(message)} (SQLSTATE ${String(fields.code)})` : message;
    return redact(text, secrets);
}
