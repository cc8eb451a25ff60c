// A Supabase migrations directory (supabase/migrations) read the way the Supabase CLI reads it
// (supabase/cli apps/cli-go/pkg/migration/list.go, file.go): files named `<digits>_<name>.sql`, in
// file-name order; other files are skipped (and reported); a first file `<14 digits>_init.sql` older
// than 2021-12-09 is the CLI's deprecated initial schema and skipped too. The version is the digits,
// the name the rest. Each file is split into statements as the CLI splits it (pkg/parser): at `;`
// outside quotes, dollar quotes, comments, parentheses and BEGIN ATOMIC … END bodies, each statement
// trimmed of its `;` and white space — that array is what `db push` records in
// supabase_migrations.schema_migrations.statements, so a history written here reads like the CLI's.
import * as fs from "node:fs";
import * as path from "node:path";

const FILE_PATTERN = /^([0-9]+)_(.*)\.sql$/;
const INIT_PATTERN = /^([0-9]{14})_init\.sql$/;
const INIT_DEPRECATED_BEFORE = 20211209000000;

export interface MigrationFile {
    version: string;
    name: string;
    file: string;
}

export interface MigrationsListing {
    migrations: MigrationFile[];
    /** File names left out, each with the reason. */
    skipped: string[];
}

export function listMigrations(dir: string): MigrationsListing {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
        throw new Error(`cannot read the migrations directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const files = entries.filter((e) => !e.isDirectory()).map((e) => e.name).sort(byBytes);
    const migrations: MigrationFile[] = [];
    const skipped: string[] = [];
    files.forEach((name, i) => {
        const init = INIT_PATTERN.exec(name);
        if (i === 0 && init && Number(init[1]) < INIT_DEPRECATED_BEFORE) {
            skipped.push(`${name} (the CLI's deprecated initial schema file)`);
            return;
        }
        const m = FILE_PATTERN.exec(name);
        if (!m) {
            skipped.push(`${name} (not <timestamp>_<name>.sql)`);
            return;
        }
        migrations.push({ version: m[1], name: m[2], file: path.join(dir, name) });
    });
    const seen = new Map<string, string>();
    for (const m of migrations) {
        const other = seen.get(m.version);
        if (other) throw new Error(`the migrations directory ${dir} has two files for version ${m.version}: ${other} and ${path.basename(m.file)}`);
        seen.set(m.version, path.basename(m.file));
    }
    return { migrations, skipped };
}

/** Go's fs.ReadDir order: by bytes, not by locale. */
function byBytes(a: string, b: string): number {
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Versions compare as the CLI compares them: as strings (they are fixed-width timestamps in practice). */
export function compareVersions(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

type State =
    | { kind: "ready" }
    | { kind: "quote"; delimiter: string; closing: boolean }
    | { kind: "until"; delimiter: string }
    | { kind: "block"; depth: number };

/**
 * Splits SQL into statements as the Supabase CLI does: a `;` ends a statement unless it is inside
 * '…' or "…", a $tag$ … $tag$ body, a -- comment (to the end of the line), a /* … *\/ comment (nested),
 * parentheses, or a BEGIN ATOMIC … END function body. Comments stay in the statement they are in;
 * empty statements are dropped.
 */
export function splitStatements(sql: string): string[] {
    const out: string[] = [];
    let start = 0;
    // Open parentheses and BEGIN ATOMIC bodies, innermost last: a `;` inside them does not end a statement.
    const nesting: string[] = [];
    let state: State = { kind: "ready" };
    const emit = (end: number) => {
        const text = sql.slice(start, end).replace(/;+$/, "").trim();
        if (text) out.push(text);
        start = end;
    };
    for (let i = 0; i < sql.length; i++) {
        const c = sql[i];
        switch (state.kind) {
            case "quote":
                if (state.closing) {
                    // A doubled quote is an escaped one; anything else ends the literal.
                    if (c === state.delimiter) {
                        state.closing = false;
                        continue;
                    }
                    state = { kind: "ready" };
                    i--;
                    continue;
                }
                if (c === state.delimiter) state.closing = true;
                continue;
            case "until":
                if (sql.startsWith(state.delimiter, i)) {
                    i += state.delimiter.length - 1;
                    state = { kind: "ready" };
                }
                continue;
            case "block":
                if (sql.startsWith("/*", i)) {
                    state.depth++;
                    i++;
                } else if (sql.startsWith("*/", i)) {
                    state.depth--;
                    i++;
                    if (state.depth === 0) state = { kind: "ready" };
                }
                continue;
            case "ready":
                break;
        }
        if (c === "'" || c === '"') state = { kind: "quote", delimiter: c, closing: false };
        else if (c === "-" && sql[i + 1] === "-") state = { kind: "until", delimiter: "\n" };
        else if (c === "/" && sql[i + 1] === "*") {
            state = { kind: "block", depth: 1 };
            i++;
        } else if (c === "$") {
            const tag = /^\$[\p{L}\p{N}_]*\$/u.exec(sql.slice(i, i + 256));
            if (tag && !/^\$\d/.test(tag[0])) {
                state = { kind: "until", delimiter: tag[0] };
                i += tag[0].length - 1;
            }
        } else if (c === "\\") i++;
        else if (c === "(") nesting.push(")");
        else if (c === ")" && nesting[nesting.length - 1] === ")") nesting.pop();
        else if (nesting.length === 0 && c === ";") emit(i + 1);
        else if (isKeywordAt(sql, i, "ATOMIC") && precededByBegin(sql, i)) {
            nesting.push("END");
            i += "ATOMIC".length - 1;
        } else if (nesting[nesting.length - 1] === "END" && isKeywordAt(sql, i, "END")) {
            nesting.pop();
            i += "END".length - 1;
        }
    }
    emit(sql.length);
    return out;
}

const IDENT = /[\p{L}\p{N}_$]/u;

function isKeywordAt(sql: string, i: number, word: string): boolean {
    if (sql.slice(i, i + word.length).toUpperCase() !== word) return false;
    if (i > 0 && IDENT.test(sql[i - 1])) return false;
    const after = sql[i + word.length];
    return after === undefined || !IDENT.test(after);
}

function precededByBegin(sql: string, i: number): boolean {
    const before = sql.slice(Math.max(0, i - 64), i).trimEnd();
    return /(^|[^\p{L}\p{N}_$])BEGIN$/iu.test(before);
}
