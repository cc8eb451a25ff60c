// The statements that write live, shared by apply and undo: an upsert on the key (INSERT … ON CONFLICT
// (key) DO UPDATE) fed with text values cast to the columns' types, a delete by key, and the deferred
// constraint check before COMMIT. Errors are translated into messages that name the constraint and
// table, never the values (a server error's DETAIL quotes the failing key).
import type { Client } from "pg";
import { quoteIdent } from "../postgres/connection";
import { pgErrorText } from "../redact";
import { displayTable, type TableName } from "./identifiers";
import { keyId, keyParams, keyTuple, keyValuesRelation, qualified, textSelectList, type RowText } from "./rowText";
import type { ColumnInfo } from "./tableShape";

export interface WriteTarget {
    table: TableName;
    /** Writable columns (all but generated ones), in table order. */
    columns: ColumnInfo[];
    key: string[];
}

const BATCH = 500;

/**
 * Upserts rows; `update` are the columns an existing row gets from `rows` (an identity column that is
 * GENERATED ALWAYS cannot be updated and is left out). Returns, by key (keyId), whether each row was
 * inserted (true) or updated (false); a row left alone by DO NOTHING is absent.
 */
export async function upsertRows(client: Client, t: WriteTarget, rows: RowText[], update: string[]): Promise<Map<string, boolean>> {
    const names = t.columns.map((c) => c.name);
    const settable = update.filter((c) => !t.key.includes(c) && t.columns.find((x) => x.name === c)?.identity !== "a");
    const overriding = t.columns.some((c) => c.identity !== "") ? " overriding system value" : "";
    const casts = t.columns.map((c, i) => `v.c${i}::${c.type}`).join(", ");
    const arrays = t.columns.map((_, i) => `$${i + 1}::text[]`).join(", ");
    const aliases = t.columns.map((_, i) => `c${i}`).join(", ");
    const onConflict =
        settable.length > 0
            ? `do update set ${settable.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(", ")}`
            : "do nothing";
    const sql =
        `insert into ${qualified(t.table)} as target (${names.map(quoteIdent).join(", ")})${overriding} ` +
        `select ${casts} from unnest(${arrays}) as v(${aliases}) ` +
        `on conflict ${keyTuple(t.key)} ${onConflict} returning (target.xmax = 0) as recover_inserted__, ${textSelectList(t.key, "target")}`;
    const inserted = new Map<string, boolean>();
    for (let i = 0; i < rows.length; i += BATCH) {
        const part = rows.slice(i, i + BATCH);
        const params = names.map((n) => part.map((r) => r[n] ?? null));
        const r = await client.query<Record<string, string | boolean | null>>(sql, params);
        // xmax is 0 on a freshly inserted row version and set on one ON CONFLICT updated.
        for (const { recover_inserted__: flag, ...key } of r.rows) inserted.set(keyId(key as RowText, t.key), flag === true);
    }
    return inserted;
}

export async function deleteRows(client: Client, t: WriteTarget, keyColumns: ColumnInfo[], keys: (string | null)[][]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += BATCH) {
        const part = keys.slice(i, i + BATCH);
        const r = await client.query(
            `delete from ${qualified(t.table)} where ${keyTuple(t.key)} in ${keyValuesRelation(keyColumns)}`,
            keyParams(part, keyColumns.length),
        );
        deleted += r.rowCount ?? 0;
    }
    return deleted;
}

/** Checks deferred constraints now, so a violation fails here (and rolls back) rather than at COMMIT. */
export async function checkConstraintsNow(client: Client): Promise<void> {
    await client.query("set constraints all immediate");
}

/** A write error as text naming the constraint and table, without row values. */
export function describeWriteError(err: unknown, table: TableName): string {
    const e = err as { code?: string; constraint?: string; table?: string; schema?: string };
    const where = e.table ? `${e.schema ? e.schema + "." : ""}${e.table}` : displayTable(table);
    const kinds: Record<string, string> = {
        "23503": "foreign key",
        "23505": "unique",
        "23514": "check",
        "23502": "not-null",
        "23P01": "exclusion",
    };
    if (e.code && kinds[e.code]) {
        const name = e.constraint ? ` "${e.constraint}"` : "";
        return `${kinds[e.code]} constraint${name} on ${where} would break (SQLSTATE ${e.code})`;
    }
    return pgErrorText(err);
}
