// Table structure a restore can lose without losing a row: indexes, constraints and column definitions.
//
// One catalog query per kind. Definitions are PostgreSQL's own canonical text (pg_get_indexdef,
// pg_get_constraintdef, format_type, pg_get_expr) printed under the pinned empty search_path, so names
// are schema-qualified and two servers print the same object identically. Objects of extension-owned
// tables are left out, like every other catalog fact (see catalog.ts).
import { byText, NOT_EXTENSION_MEMBER } from "./catalog";
import type { Queryable } from "./session";
import type { ColumnFingerprint, ConstraintFingerprint, IndexFingerprint } from "./types";

/** Indexes of tables and materialized views, including each partition's own (pg_dump restores them by name). */
export async function listIndexes(client: Queryable, schemas: string[]): Promise<IndexFingerprint[]> {
    const r = await client.query<{
        nspname: string;
        index_name: string;
        table_name: string;
        definition: string;
        is_valid: boolean;
        is_unique: boolean;
        is_primary: boolean;
    }>(
        `select n.nspname::text, ic.relname::text as index_name, tc.relname::text as table_name,
                pg_catalog.pg_get_indexdef(i.indexrelid) as definition,
                i.indisvalid as is_valid, i.indisunique as is_unique, i.indisprimary as is_primary
         from pg_catalog.pg_index i
         join pg_catalog.pg_class ic on ic.oid = i.indexrelid
         join pg_catalog.pg_class tc on tc.oid = i.indrelid
         join pg_catalog.pg_namespace n on n.oid = ic.relnamespace
         where n.nspname = any($1::text[])
           and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "ic.oid")}
           and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "tc.oid")}`,
        [schemas],
    );
    return r.rows
        .map((x) => ({
            index: `${x.nspname}.${x.index_name}`,
            table: `${x.nspname}.${x.table_name}`,
            definition: x.definition,
            valid: x.is_valid,
            unique: x.is_unique,
            primary: x.is_primary,
        }))
        .sort((a, b) => byText(a.index, b.index));
}

const CONSTRAINT_TYPES: Record<string, string> = {
    c: "check",
    f: "foreign key",
    p: "primary key",
    u: "unique",
    t: "constraint trigger",
    x: "exclusion",
};

/**
 * Table and domain constraints. Left out: NOT NULL constraints (PostgreSQL 18 lists them here, older
 * servers do not; the column check compares nullability on every version) and constraints cloned from a
 * partitioned parent's (conparentid): the server recreates them, and names the clones itself.
 */
export async function listConstraints(client: Queryable, schemas: string[]): Promise<ConstraintFingerprint[]> {
    const r = await client.query<{
        nspname: string;
        parent: string;
        on_domain: boolean;
        conname: string;
        contype: string;
        definition: string;
        validated: boolean;
    }>(
        `select n.nspname::text, coalesce(c.relname, t.typname)::text as parent, con.contypid <> 0 as on_domain,
                con.conname::text, con.contype::text as contype,
                pg_catalog.pg_get_constraintdef(con.oid) as definition, con.convalidated as validated
         from pg_catalog.pg_constraint con
         join pg_catalog.pg_namespace n on n.oid = con.connamespace
         left join pg_catalog.pg_class c on c.oid = con.conrelid
         left join pg_catalog.pg_type t on t.oid = con.contypid
         where n.nspname = any($1::text[]) and con.contype <> 'n' and con.conparentid = 0
           and (con.conrelid <> 0 or con.contypid <> 0)
           and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "con.conrelid")}
           and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_type", "con.contypid")}`,
        [schemas],
    );
    return r.rows
        .map((x) => ({
            constraint: `${x.nspname}.${x.parent}.${x.conname}`,
            on: `${x.nspname}.${x.parent}`,
            onDomain: x.on_domain,
            type: CONSTRAINT_TYPES[x.contype] ?? x.contype,
            definition: x.definition,
            validated: x.validated,
        }))
        .sort((a, b) => byText(a.constraint, b.constraint));
}

const GENERATED_KINDS: Record<string, string> = { s: "stored", v: "virtual" };
const IDENTITY_KINDS: Record<string, string> = { a: "always", d: "by default" };

/** Columns of tables, partitions and foreign tables (views are covered by their definitions). */
export async function listColumns(client: Queryable, schemas: string[]): Promise<ColumnFingerprint[]> {
    const r = await client.query<{
        nspname: string;
        relname: string;
        attname: string;
        attnum: number;
        type: string;
        expression: string | null;
        not_null: boolean;
        generated: string;
        identity: string;
    }>(
        `select n.nspname::text, c.relname::text, a.attname::text, a.attnum::int as attnum,
                pg_catalog.format_type(a.atttypid, a.atttypmod) as type,
                pg_catalog.pg_get_expr(d.adbin, d.adrelid) as expression,
                a.attnotnull as not_null, a.attgenerated::text as generated, a.attidentity::text as identity
         from pg_catalog.pg_attribute a
         join pg_catalog.pg_class c on c.oid = a.attrelid
         join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
         where c.relkind in ('r', 'p', 'f') and a.attnum > 0 and not a.attisdropped and n.nspname = any($1::text[])
           and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "c.oid")}`,
        [schemas],
    );
    // Table by table, each in column order: a stable listing that reads like the table's definition.
    const rows = r.rows.sort((a, b) => byText(`${a.nspname}.${a.relname}`, `${b.nspname}.${b.relname}`) || a.attnum - b.attnum);
    return rows.map((x) => ({
        column: `${x.nspname}.${x.relname}.${x.attname}`,
        type: x.type,
        default: x.generated === "" ? x.expression : null,
        notNull: x.not_null,
        generated: x.generated === "" ? null : { kind: GENERATED_KINDS[x.generated] ?? x.generated, expression: x.expression ?? "" },
        identity: x.identity === "" ? null : (IDENTITY_KINDS[x.identity] ?? x.identity),
    }));
}
