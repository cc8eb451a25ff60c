// Rows travel as text: every value is read as its type's text output (`col::text`) and written back
// through the type's input function (`$n::text::<type>`). That works for every type PostgreSQL can dump
// (the same round trip COPY does), across servers and versions. Two values are equal when their text
// forms are equal under the same output settings, which every connection of ours pins first.
import type { Client } from "pg";
import { quoteIdent } from "../postgres/connection";
import type { ColumnInfo } from "./tableShape";
import type { TableName } from "./identifiers";

/** A row: each column's text output, or null. */
export type RowText = Record<string, string | null>;

/** Output settings that make text forms exact and comparable (dates ISO in UTC, floats round-trip). */
export const OUTPUT_SETTINGS: Record<string, string> = {
    DateStyle: "ISO, YMD",
    IntervalStyle: "postgres",
    TimeZone: "UTC",
    extra_float_digits: "3",
    bytea_output: "hex",
};

export async function pinOutputSettings(client: Client): Promise<void> {
    for (const [name, value] of Object.entries(OUTPUT_SETTINGS)) {
        await client.query("select pg_catalog.set_config($1, $2, false)", [name, value]);
    }
}

export function qualified(t: TableName): string {
    return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

/** `"a"::text as "a", …` for a select list. */
export function textSelectList(columns: string[], alias?: string): string {
    const prefix = alias ? `${alias}.` : "";
    return columns.map((c) => `${prefix}${quoteIdent(c)}::text as ${quoteIdent(c)}`).join(", ");
}

/**
 * `(select $1::text[]… )`: a relation `k(<key columns>)` of the given key values cast to the columns'
 * types, for `where (key) in (…)`. Parameters: one text[] per key column, starting at $first.
 */
export function keyValuesRelation(keyColumns: ColumnInfo[], first = 1): string {
    const arrays = keyColumns.map((_, i) => `$${first + i}::text[]`).join(", ");
    const names = keyColumns.map((_, i) => `k${i}`).join(", ");
    const casts = keyColumns.map((c, i) => `k.k${i}::${c.type}`).join(", ");
    return `(select ${casts} from unnest(${arrays}) as k(${names}))`;
}

/** Key values as column-wise arrays, the parameters keyValuesRelation expects. */
export function keyParams(keys: (string | null)[][], width: number): (string | null)[][] {
    return Array.from({ length: width }, (_, i) => keys.map((k) => k[i]));
}

export function keyTuple(key: string[]): string {
    return `(${key.map(quoteIdent).join(", ")})`;
}

/** The identity of a row by its key values, for maps (JSON keeps null apart from "null"). */
export function keyId(row: RowText, key: string[]): string {
    return JSON.stringify(key.map((k) => row[k]));
}

export function keyValues(row: RowText, key: string[]): (string | null)[] {
    return key.map((k) => row[k]);
}

export function sameValues(a: RowText, b: RowText, columns: string[]): boolean {
    return columns.every((c) => a[c] === b[c]);
}

/** Fetches the rows whose key is among `keys`, in batches; FOR UPDATE when lock is set. */
export async function fetchRowsByKey(
    client: Client,
    table: TableName,
    columns: string[],
    keyColumns: ColumnInfo[],
    keys: (string | null)[][],
    opts: { lock?: boolean; batch?: number } = {},
): Promise<RowText[]> {
    const batch = opts.batch ?? 1000;
    const rows: RowText[] = [];
    const tuple = keyTuple(keyColumns.map((c) => c.name));
    for (let i = 0; i < keys.length; i += batch) {
        const part = keys.slice(i, i + batch);
        const r = await client.query<RowText>(
            `select ${textSelectList(columns)} from ${qualified(table)} where ${tuple} in ${keyValuesRelation(keyColumns)}` +
                (opts.lock ? " for update" : ""),
            keyParams(part, keyColumns.length),
        );
        rows.push(...r.rows);
    }
    return rows;
}
