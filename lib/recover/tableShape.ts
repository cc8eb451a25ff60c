// A table's columns as the recovery sees them, read the same way from the backup copy and from live so
// the two can be compared: names, types (schema-qualified: format_type under search_path=pg_catalog),
// generated and identity columns. Also the unique constraints/indexes ON CONFLICT can use.
import type { Client } from "pg";
import { displayTable, type TableName } from "./identifiers";
import { RefusedError, UsageError } from "../errors";

export interface ColumnInfo {
    name: string;
    /** format_type() with every non-catalog type schema-qualified, e.g. "public.mood", "timestamp with time zone". */
    type: string;
    /** GENERATED ALWAYS AS (…) STORED: computed by the server, never written or compared. */
    generated: boolean;
    /** "a" GENERATED ALWAYS AS IDENTITY, "d" BY DEFAULT, "" none. */
    identity: "" | "a" | "d";
}

export interface TableShape {
    table: TableName;
    columns: ColumnInfo[];
}

/**
 * The table's live columns, or undefined when there is no such table. Runs in its own transaction
 * with SET LOCAL search_path, so the session's search_path (which live triggers may rely on) is left
 * as it was.
 */
export async function readTableShape(client: Client, table: TableName): Promise<TableShape | undefined> {
    await client.query("begin read only");
    try {
        await client.query("set local search_path to pg_catalog");
        const r = await client.query<{ name: string; type: string; generated: string; identity: string }>(
            `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
                    a.attgenerated as generated, a.attidentity as identity
               from pg_attribute a
               join pg_class c on c.oid = a.attrelid
               join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')
                and a.attnum > 0 and not a.attisdropped
              order by a.attnum`,
            [table.schema, table.name],
        );
        await client.query("commit");
        if (r.rowCount === 0) return undefined;
        return {
            table,
            columns: r.rows.map((c) => ({
                name: c.name,
                type: c.type,
                generated: c.generated !== "",
                identity: (c.identity || "") as ColumnInfo["identity"],
            })),
        };
    } catch (err) {
        await client.query("rollback").catch(() => undefined);
        throw err;
    }
}

/** Names every column that differs between the backup's table and live's; empty when they match. */
export function shapeDifferences(backup: TableShape, live: TableShape): string[] {
    const problems: string[] = [];
    const liveByName = new Map(live.columns.map((c) => [c.name, c]));
    const backupNames = new Set(backup.columns.map((c) => c.name));
    const onlyBackup = backup.columns.filter((c) => !liveByName.has(c.name)).map((c) => c.name);
    const onlyLive = live.columns.filter((c) => !backupNames.has(c.name)).map((c) => c.name);
    if (onlyBackup.length > 0) problems.push(`only in the backup: ${onlyBackup.join(", ")}`);
    if (onlyLive.length > 0) problems.push(`only in live: ${onlyLive.join(", ")}`);
    for (const b of backup.columns) {
        const l = liveByName.get(b.name);
        if (!l) continue;
        if (l.type !== b.type) problems.push(`${b.name}: ${b.type} in the backup, ${l.type} in live`);
        else if (l.generated !== b.generated) problems.push(`${b.name}: generated in ${l.generated ? "live" : "the backup"} only`);
    }
    return problems;
}

export function assertSameShape(backup: TableShape, live: TableShape): void {
    const problems = shapeDifferences(backup, live);
    if (problems.length > 0) {
        throw new RefusedError(
            `refusing: the columns of ${displayTable(live.table)} differ between the backup and live (${problems.join("; ")}). ` +
                `Recover into a table of the backup's shape (path B), or migrate live first.`,
        );
    }
}

/** Throws unless every named column exists (and is not generated: it cannot be a key or be written). */
export function assertColumns(shape: TableShape, names: string[], option: string): void {
    const byName = new Map(shape.columns.map((c) => [c.name, c]));
    const missing = names.filter((n) => !byName.has(n));
    if (missing.length > 0) {
        throw new UsageError(`${option}: ${displayTable(shape.table)} has no column ${missing.join(", ")} (columns: ${shape.columns.map((c) => c.name).join(", ")})`);
    }
    const generated = names.filter((n) => byName.get(n)!.generated);
    if (generated.length > 0) throw new UsageError(`${option}: ${generated.join(", ")} is a generated column; the server computes it`);
}

/**
 * Throws unless live has a unique constraint or unique index on exactly the key columns (in any order),
 * valid, not partial and not on expressions: `ON CONFLICT (key)` needs one to infer.
 */
export async function assertConflictTarget(client: Client, table: TableName, key: string[]): Promise<void> {
    const r = await client.query<{ name: string; columns: string[] }>(
        `select i.relname as name,
                array(select a.attname from unnest(x.indkey) with ordinality k(attnum, ord)
                        join pg_catalog.pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
                       order by k.ord)::text[] as columns
           from pg_catalog.pg_index x
           join pg_catalog.pg_class i on i.oid = x.indexrelid
           join pg_catalog.pg_class c on c.oid = x.indrelid
           join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          where n.nspname = $1 and c.relname = $2 and x.indisunique and x.indisvalid
            and x.indpred is null and x.indexprs is null`,
        [table.schema, table.name],
    );
    const wanted = [...key].sort().join("\u0000");
    if (r.rows.some((row) => [...row.columns].sort().join("\u0000") === wanted)) return;
    const have = r.rows.map((row) => `${row.name} (${row.columns.join(", ")})`);
    throw new RefusedError(
        `refusing: live ${displayTable(table)} has no unique constraint or unique index on exactly (${key.join(", ")}), ` +
            `which INSERT … ON CONFLICT needs` + (have.length > 0 ? `; unique on: ${have.join("; ")}` : "; it has no unique index at all"),
    );
}
