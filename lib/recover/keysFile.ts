// The --keys file: CSV whose header names the key columns, one row per key to recover. Values are
// data: errors name the file, line and column, never the value.
import * as fs from "node:fs";
import { UsageError } from "../errors";

export interface KeysFile {
    columns: string[];
    /** Each row's values in header order, as text (cast to the column's type by the database). */
    rows: string[][];
}

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string, label: string): string[][] {
    const records: string[][] = [];
    let record: string[] = [];
    let field = "";
    let quoted = false;
    let wasQuoted = false;
    let line = 1;
    const endField = () => {
        record.push(field);
        field = "";
        wasQuoted = false;
    };
    for (let i = 0; i < text.length; i++) {
        const ch = text[i];
        if (quoted) {
            if (ch === '"') {
                if (text[i + 1] === '"') {
                    field += '"';
                    i++;
                } else quoted = false;
            } else {
                if (ch === "\n") line++;
                field += ch;
            }
            continue;
        }
        if (ch === '"') {
            if (field !== "" || wasQuoted) throw new UsageError(`${label}, line ${line}: a quote inside an unquoted field`);
            quoted = true;
            wasQuoted = true;
        } else if (ch === ",") {
            endField();
        } else if (ch === "\n" || ch === "\r") {
            if (ch === "\r" && text[i + 1] === "\n") i++;
            endField();
            records.push(record);
            record = [];
            line++;
        } else {
            if (wasQuoted) throw new UsageError(`${label}, line ${line}: text after a closing quote`);
            field += ch;
        }
    }
    if (quoted) throw new UsageError(`${label}: a quoted field is not closed before the end of the file`);
    if (field !== "" || wasQuoted || record.length > 0) {
        endField();
        records.push(record);
    }
    // A blank line is no key (a trailing newline is common).
    return records.filter((r) => !(r.length === 1 && r[0] === ""));
}

export function readKeysFile(file: string): KeysFile {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new UsageError(`cannot read --keys file ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // spreadsheet exports start with a BOM
    const records = parseCsv(text, `--keys file ${file}`);
    if (records.length === 0) throw new UsageError(`--keys file ${file} is empty: its first line must name the key columns`);
    const [header, ...rows] = records;
    const columns = header.map((h) => h.trim());
    if (columns.some((c) => c === "")) throw new UsageError(`--keys file ${file}: the header has an empty column name`);
    if (new Set(columns).size !== columns.length) throw new UsageError(`--keys file ${file}: the header names a column twice`);
    rows.forEach((r, i) => {
        if (r.length !== columns.length) {
            throw new UsageError(`--keys file ${file}, record ${i + 2}: ${r.length} field(s), the header has ${columns.length}`);
        }
    });
    if (rows.length === 0) throw new UsageError(`--keys file ${file} has a header but no keys`);
    return { columns, rows };
}
