// The damage a recovery rehearsal does to the drill's scratch copy (never to the source: the caller
// guards that): a deterministic sample of rows deleted, another sample changed in one column. Both
// samples are the first rows by the md5 of their primary key's text, so the same table gives the
// same sample on every drill. Rows are chosen so that the damage itself cannot fail or spread:
//   - deleted rows are rows no other row references (a foreign key would refuse the delete, or an
//     ON DELETE CASCADE would damage other tables the rehearsal does not recover);
//   - the changed column is in no constraint or unique index (a changed value must not break one),
//     of a type with an obvious different value (text + "~", number + 1, not boolean, date + 1 day),
//     and only rows where it is not NULL are changed (NULL || "~" is NULL: no change).
import type { Client } from "pg";
import { quoteIdent } from "../postgres/connection";
import { displayTable, type TableName } from "./identifiers";
import { keyParams, keyTuple, keyValuesRelation, qualified, textSelectList } from "./rowText";
import type { ColumnInfo, TableShape } from "./tableShape";

export interface TableKey {
    /** The primary key's columns, in index order. */
    columns: ColumnInfo[];
    /** A partitioned table (its partitions are fingerprinted with it). */
    partitioned: boolean;
}

/** The table's primary key: the rehearsal samples, deletes and recovers rows by it. */
export async function primaryKeyOf(client: Client, shape: TableShape): Promise<TableKey> {
    const r = await client.query<{ columns: string[]; relkind: string }>(
        `select array(select a.attname from unnest(x.indkey) with ordinality k(attnum, ord)
                        join pg_catalog.pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
                       order by k.ord)::text[] as columns, c.relkind::text as relkind
           from pg_catalog.pg_class c
           join pg_catalog.pg_namespace n on n.oid = c.relnamespace
           left join pg_catalog.pg_index x on x.indrelid = c.oid and x.indisprimary
          where n.nspname = $1 and c.relname = $2`,
        [shape.table.schema, shape.table.name],
    );
    const row = r.rows[0];
    if (!row || row.columns.length === 0) {
        throw new Error(`${displayTable(shape.table)} has no primary key: the rehearsal samples, deletes and recovers rows by it`);
    }
    const byName = new Map(shape.columns.map((c) => [c.name, c]));
    return { columns: row.columns.map((n) => byName.get(n)!), partitioned: row.relkind === "p" };
}

/** How a column's value is changed, by its type (format_type's spelling); undefined: not changed by us. */
export function changeExpression(column: ColumnInfo): string | undefined {
    const c = quoteIdent(column.name);
    switch (column.type) {
        // Unbounded only: a suffix could overflow a length limit.
        case "text":
        case "character varying":
            return `${c} || '~'`;
        case "smallint":
        case "integer":
        case "bigint":
        case "numeric":
        case "real":
        case "double precision":
        case "date":
            return `${c} + 1`;
        case "boolean":
            return `not ${c}`;
        case "timestamp without time zone":
        case "timestamp with time zone":
            return `${c} + interval '1 second'`;
        default:
            return undefined;
    }
}

/** Columns named by a constraint of the table, a constraint referencing it, or an index of it. */
async function constrainedColumns(client: Client, table: TableName): Promise<Set<string>> {
    const r = await client.query<{ name: string }>(
        `with t as (select c.oid from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                     where n.nspname = $1 and c.relname = $2),
              nums as (select unnest(conkey) as attnum from pg_catalog.pg_constraint where conrelid = (select oid from t)
                       union select unnest(confkey) from pg_catalog.pg_constraint where confrelid = (select oid from t)
                       union select unnest(indkey::int2[]) from pg_catalog.pg_index where indrelid = (select oid from t))
         select a.attname as name from pg_catalog.pg_attribute a join nums on nums.attnum = a.attnum
          where a.attrelid = (select oid from t)`,
        [table.schema, table.name],
    );
    return new Set(r.rows.map((x) => x.name));
}

/** The column the rehearsal changes, or undefined when none can be changed safely (deletions only). */
export async function chooseChangeColumn(client: Client, shape: TableShape, key: TableKey): Promise<ColumnInfo | undefined> {
    const constrained = await constrainedColumns(client, shape.table);
    const keyNames = new Set(key.columns.map((c) => c.name));
    const candidates = shape.columns.filter(
        (c) => !c.generated && c.identity === "" && !keyNames.has(c.name) && !constrained.has(c.name) && changeExpression(c) !== undefined,
    );
    // Text first: a suffix is the least likely change to trip a trigger or an application rule.
    const rank = (c: ColumnInfo) => (c.type === "text" || c.type === "character varying" ? 0 : 1);
    return candidates.sort((a, b) => rank(a) - rank(b))[0];
}

/** `not exists (…)` for every foreign key that references the table: rows nobody points at. */
async function unreferencedFilter(client: Client, table: TableName, alias: string): Promise<string> {
    const r = await client.query<{ child: string; child_cols: string[]; parent_cols: string[] }>(
        `select format('%I.%I', cn.nspname, cc.relname) as child,
                array(select a.attname from unnest(f.conkey) with ordinality k(attnum, ord)
                        join pg_catalog.pg_attribute a on a.attrelid = f.conrelid and a.attnum = k.attnum order by k.ord)::text[] as child_cols,
                array(select a.attname from unnest(f.confkey) with ordinality k(attnum, ord)
                        join pg_catalog.pg_attribute a on a.attrelid = f.confrelid and a.attnum = k.attnum order by k.ord)::text[] as parent_cols
           from pg_catalog.pg_constraint f
           join pg_catalog.pg_class p on p.oid = f.confrelid
           join pg_catalog.pg_namespace pn on pn.oid = p.relnamespace
           join pg_catalog.pg_class cc on cc.oid = f.conrelid
           join pg_catalog.pg_namespace cn on cn.oid = cc.relnamespace
          where f.contype = 'f' and pn.nspname = $1 and p.relname = $2`,
        [table.schema, table.name],
    );
    return r.rows
        .map((fk) => {
            const on = fk.child_cols.map((c, i) => `r.${quoteIdent(c)} = ${alias}.${quoteIdent(fk.parent_cols[i])}`).join(" and ");
            return ` and not exists (select 1 from ${fk.child} r where ${on})`;
        })
        .join("");
}

export interface Samples {
    deleteKeys: string[][];
    changeKeys: string[][];
    changeColumn?: ColumnInfo;
}

const ALIAS = "supabase_dr_rehearsal";

/** Up to `size` rows to delete and up to `size` others to change, by the md5 of their key. */
export async function chooseSamples(client: Client, shape: TableShape, key: TableKey, size: number): Promise<Samples> {
    const table = qualified(shape.table);
    const keyNames = key.columns.map((c) => c.name);
    const order = `pg_catalog.md5(row(${keyNames.map((k) => `${ALIAS}.${quoteIdent(k)}`).join(", ")})::text)`;
    const select = textSelectList(keyNames, ALIAS);
    const toKeys = (rows: Record<string, string>[]) => rows.map((r) => keyNames.map((k) => r[k]));

    const unreferenced = await unreferencedFilter(client, shape.table, ALIAS);
    const del = await client.query<Record<string, string>>(
        `select ${select} from ${table} ${ALIAS} where true${unreferenced} order by ${order} limit $1`,
        [size],
    );
    const deleteKeys = toKeys(del.rows);
    const changeColumn = await chooseChangeColumn(client, shape, key);
    if (!changeColumn) return { deleteKeys, changeKeys: [] };
    const tuple = `(${keyNames.map((k) => `${ALIAS}.${quoteIdent(k)}`).join(", ")})`;
    const change = await client.query<Record<string, string>>(
        `select ${select} from ${table} ${ALIAS} where ${ALIAS}.${quoteIdent(changeColumn.name)} is not null` +
            (deleteKeys.length > 0 ? ` and ${tuple} not in ${keyValuesRelation(key.columns, 2)}` : "") +
            ` order by ${order} limit $1`,
        [size, ...(deleteKeys.length > 0 ? keyParams(deleteKeys, keyNames.length) : [])],
    );
    return { deleteKeys, changeKeys: toKeys(change.rows), changeColumn };
}

/** Deletes and changes the samples in one transaction; throws unless exactly those rows were hit. */
export async function damage(client: Client, shape: TableShape, key: TableKey, samples: Samples): Promise<void> {
    const table = qualified(shape.table);
    const tuple = keyTuple(key.columns.map((c) => c.name));
    const width = key.columns.length;
    await client.query("begin");
    try {
        if (samples.deleteKeys.length > 0) {
            const d = await client.query(`delete from ${table} where ${tuple} in ${keyValuesRelation(key.columns)}`, keyParams(samples.deleteKeys, width));
            if (d.rowCount !== samples.deleteKeys.length) throw new Error(`deleted ${d.rowCount} row(s) of ${displayTable(shape.table)}, expected ${samples.deleteKeys.length}`);
        }
        if (samples.changeColumn && samples.changeKeys.length > 0) {
            const col = quoteIdent(samples.changeColumn.name);
            const u = await client.query(
                `update ${table} set ${col} = ${changeExpression(samples.changeColumn)} where ${tuple} in ${keyValuesRelation(key.columns)}`,
                keyParams(samples.changeKeys, width),
            );
            if (u.rowCount !== samples.changeKeys.length) throw new Error(`changed ${u.rowCount} row(s) of ${displayTable(shape.table)}, expected ${samples.changeKeys.length}`);
        }
        await client.query("commit");
    } catch (err) {
        await client.query("rollback").catch(() => undefined);
        throw err;
    }
}
