// Data-only dumps are mostly INSERTs: `supabase db dump --data-only` runs pg_dump with --column-inserts
// --rows-per-insert 100000, so one statement can carry 100,000 rows. libpg-query builds a JSON tree
// node for every value: an 8 MB INSERT takes seconds and hundreds of MB. Such a statement is proven
// harmless here instead, without trusting text patterns for anything but literals:
// - its head (`INSERT INTO name [(columns)] [OVERRIDING … VALUE] VALUES`) is parsed by libpg-query, once
//   per distinct head and row width, followed by one row of NULLs, and must be a plain InsertStmt;
// - every row must be a parenthesised list of plain literals ('…' strings, B'…' bit strings, numbers,
//   NULL, TRUE, FALSE, DEFAULT) of that width, rows separated by commas, then an optional semicolon.
// Anything else (comments, casts, function calls, E'…' strings, ON CONFLICT, RETURNING …) returns false
// and the caller parses the whole statement.
import { parse } from "libpg-query";

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][A-Za-z_0-9$\u0080-\uffff]*)`;
const HEAD = new RegExp(
    String.raw`^INSERT\s+INTO\s+${IDENT}(?:\s*\.\s*${IDENT}){0,2}\s*` +
        String.raw`(?:\(\s*${IDENT}(?:\s*,\s*${IDENT})*\s*\)\s*)?(?:OVERRIDING\s+(?:SYSTEM|USER)\s+VALUE\s+)?VALUES`,
    "i",
);
const HEAD_CACHE_LIMIT = 1000;
const verifiedHeads = new Map<string, boolean>();

// The server's whitespace: space, tab, newline, carriage return, form feed, vertical tab.
function isSpace(c: number): boolean {
    return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}
function isDigit(c: number): boolean {
    return c >= 48 && c <= 57;
}
function isIdentChar(c: number): boolean {
    return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36 || c >= 128 || isDigit(c);
}

class LiteralRows {
    pos: number;
    constructor(private readonly s: string, start: number) {
        this.pos = start;
    }

    private skipSpace(): void {
        while (this.pos < this.s.length && isSpace(this.s.charCodeAt(this.pos))) this.pos++;
    }

    /** Reads `(literal, …)`; returns the number of values, or -1 if it is not such a row. */
    row(): number {
        this.skipSpace();
        if (this.s.charCodeAt(this.pos) !== 40 /* ( */) return -1;
        this.pos++;
        let count = 0;
        for (;;) {
            this.skipSpace();
            if (!this.literal()) return -1;
            count++;
            this.skipSpace();
            const c = this.s.charCodeAt(this.pos++);
            if (c === 41 /* ) */) return count;
            if (c !== 44 /* , */) return -1;
        }
    }

    private literal(): boolean {
        const s = this.s;
        const c = s.charCodeAt(this.pos);
        if (c === 39 /* ' */) return this.quoted();
        if ((c | 0x20) === 98 /* b */ && s.charCodeAt(this.pos + 1) === 39) {
            let j = this.pos + 2;
            while (s.charCodeAt(j) === 48 || s.charCodeAt(j) === 49) j++;
            if (s.charCodeAt(j) !== 39 || s.charCodeAt(j + 1) === 39) return false;
            this.pos = j + 1;
            return true;
        }
        if (c === 45 /* - */ || c === 46 /* . */ || isDigit(c)) return this.number();
        let j = this.pos;
        while (j < s.length && isIdentChar(s.charCodeAt(j))) j++;
        const word = s.slice(this.pos, j).toLowerCase();
        if (word !== "null" && word !== "true" && word !== "false" && word !== "default") return false;
        this.pos = j;
        return true;
    }

    /** A '…' string (standard_conforming_strings on: backslashes are plain characters). */
    private quoted(): boolean {
        let i = this.pos + 1;
        for (;;) {
            const q = this.s.indexOf("'", i);
            if (q < 0) return false;
            if (this.s.charCodeAt(q + 1) === 39) {
                i = q + 2;
                continue;
            }
            this.pos = q + 1;
            return true;
        }
    }

    private number(): boolean {
        const s = this.s;
        let j = this.pos;
        if (s.charCodeAt(j) === 45) j++;
        const digitsStart = j;
        while (isDigit(s.charCodeAt(j))) j++;
        let digits = j - digitsStart;
        if (s.charCodeAt(j) === 46) {
            j++;
            const fraction = j;
            while (isDigit(s.charCodeAt(j))) j++;
            digits += j - fraction;
        }
        if (digits === 0) return false;
        if ((s.charCodeAt(j) | 0x20) === 101 /* e */) {
            j++;
            if (s.charCodeAt(j) === 43 || s.charCodeAt(j) === 45) j++;
            if (!isDigit(s.charCodeAt(j))) return false;
            while (isDigit(s.charCodeAt(j))) j++;
        }
        // `1abc`, `1.2.3`, `1'x'` are not one literal.
        const after = s.charCodeAt(j);
        if (isIdentChar(after) || after === 46 || after === 39) return false;
        this.pos = j;
        return true;
    }

    /** After the last row: an optional semicolon and nothing else. */
    atEnd(): boolean {
        const start = this.pos;
        this.skipSpace();
        if (this.s.charCodeAt(this.pos) === 59 /* ; */) this.pos++;
        this.skipSpace();
        if (this.pos === this.s.length) return true;
        this.pos = start;
        return false;
    }

    /** A comma before another row. */
    comma(): boolean {
        this.skipSpace();
        if (this.s.charCodeAt(this.pos) !== 44) return false;
        this.pos++;
        return true;
    }
}

async function headIsPlainInsert(head: string, width: number): Promise<boolean> {
    const key = `${width}\u0000${head}`;
    const known = verifiedHeads.get(key);
    if (known !== undefined) return known;
    let ok = false;
    try {
        const tree = await parse(`${head} (${new Array(width).fill("NULL").join(", ")})`);
        const stmts = tree.stmts ?? [];
        const insert = stmts.length === 1 ? stmts[0].stmt?.InsertStmt : undefined;
        const values = insert?.selectStmt?.SelectStmt?.valuesLists;
        ok = Boolean(insert && !insert.returningList && !insert.onConflictClause && !insert.withClause && values?.length === 1);
    } catch {
        ok = false;
    }
    if (verifiedHeads.size >= HEAD_CACHE_LIMIT) verifiedHeads.clear();
    verifiedHeads.set(key, ok);
    return ok;
}

/**
 * True when `text` is an INSERT of literal rows only (see above), which needs no parse tree.
 * Only valid while standard_conforming_strings is on (backslashes inside '…' are plain characters).
 */
export async function isLiteralInsert(text: string): Promise<boolean> {
    const head = HEAD.exec(text);
    if (!head || text.includes("\u0000")) return false;
    const rows = new LiteralRows(text, head[0].length);
    const width = rows.row();
    if (width < 0) return false;
    for (;;) {
        if (rows.atEnd()) break;
        if (!rows.comma() || rows.row() !== width) return false;
    }
    return headIsPlainInsert(head[0], width);
}
