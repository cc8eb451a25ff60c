// The shape of platform tables as a data load sees it: per table, its columns in order with their
// types and whether they are generated. data.sql's COPY lines name columns, so two databases whose
// shapes are equal take the same COPY; a difference here is a load that fails (or silently drops
// or defaults a column).
import type { Client } from "pg";

export interface ColumnShape {
    name: string;
    type: string;
    notNull: boolean;
    /** "" (plain) or "s" (generated always … stored). */
    generated: string;
}

/** schema.table → its columns in order. Tables and partitioned tables only. */
export type TableShapes = Record<string, ColumnShape[]>;

export async function tableShapes(client: Client, schemas: readonly string[]): Promise<TableShapes> {
    const r = await client.query<{ tbl: string; name: string; type: string; not_null: boolean; generated: string }>(
        `select n.nspname || '.' || c.relname as tbl, a.attname as name,
                pg_catalog.format_type(a.atttypid, a.atttypmod) as type,
                a.attnotnull as not_null, a.attgenerated::text as generated
           from pg_catalog.pg_attribute a
           join pg_catalog.pg_class c on c.oid = a.attrelid
           join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          where n.nspname = any($1::text[]) and c.relkind in ('r', 'p')
            and a.attnum > 0 and not a.attisdropped
          order by n.nspname, c.relname, a.attnum`,
        [[...schemas]],
    );
    const shapes: TableShapes = {};
    for (const row of r.rows) {
        (shapes[row.tbl] ??= []).push({ name: row.name, type: row.type, notNull: row.not_null, generated: row.generated });
    }
    return shapes;
}

/** Human-readable differences (empty when equal), for errors and reports. Names, never values. */
export function shapeDifferences(expected: TableShapes, actual: TableShapes, limit = 20): string[] {
    const out: string[] = [];
    const render = (c: ColumnShape) => `${c.name} ${c.type}${c.notNull ? " not null" : ""}${c.generated ? " generated" : ""}`;
    for (const table of [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort()) {
        const want = expected[table];
        const have = actual[table];
        if (!want) out.push(`${table}: not expected`);
        else if (!have) out.push(`${table}: missing`);
        else {
            const a = want.map(render);
            const b = have.map(render);
            if (a.join(",") !== b.join(",")) {
                const missing = a.filter((x) => !b.includes(x));
                const extra = b.filter((x) => !a.includes(x));
                const detail = [
                    missing.length ? `missing ${missing.join("; ")}` : "",
                    extra.length ? `unexpected ${extra.join("; ")}` : "",
                ]
                    .filter(Boolean)
                    .join(", ");
                out.push(`${table}: ${detail || "column order differs"}`);
            }
        }
        if (out.length >= limit) {
            out.push("…");
            break;
        }
    }
    return out;
}
