// Names the user gives on the command line: a table as schema.table and key columns. They become SQL
// identifiers (always quoted), never SQL text, so only their shape is checked here; whether they exist
// is checked against the catalogs of the backup copy and of live.
import { UsageError } from "../errors";

export interface TableName {
    schema: string;
    name: string;
}

/** "schema.table" (or "table" for public); double quotes allow dots or capitals inside a part. */
export function parseTableName(text: string): TableName {
    const parts = splitQualified(text.trim(), "--table");
    if (parts.length === 1) return { schema: "public", name: parts[0] };
    if (parts.length === 2) return { schema: parts[0], name: parts[1] };
    throw new UsageError(`--table '${text}' must be <schema>.<table> (got ${parts.length} dot-separated parts)`);
}

/** "a,b" → ["a", "b"]; each a column name, quoted when it holds a comma or a dot. */
export function parseColumnList(text: string, option: string): string[] {
    const names = splitQuoted(text, ",", option).map((n) => n.trim());
    if (names.some((n) => n === "")) throw new UsageError(`${option} '${text}' has an empty column name`);
    const seen = new Set<string>();
    for (const n of names) {
        if (seen.has(n)) throw new UsageError(`${option} names column '${n}' twice`);
        seen.add(n);
    }
    return names;
}

export function displayTable(t: TableName): string {
    return `${t.schema}.${t.name}`;
}

function splitQualified(text: string, option: string): string[] {
    const parts = splitQuoted(text, ".", option);
    if (parts.some((p) => p === "")) throw new UsageError(`${option} '${text}' has an empty name part`);
    return parts;
}

/** Splits on `separator` outside double quotes; a doubled quote inside quotes is one quote character. */
function splitQuoted(text: string, separator: string, option: string): string[] {
    const parts: string[] = [];
    let current = "";
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
        const ch = text[i];
        if (ch === '"') {
            if (quoted && text[i + 1] === '"') {
                current += '"';
                i++;
            } else quoted = !quoted;
        } else if (ch === separator && !quoted) {
            parts.push(current);
            current = "";
        } else current += ch;
    }
    if (quoted) throw new UsageError(`${option} '${text}' has an unterminated double quote`);
    parts.push(current);
    return parts;
}
