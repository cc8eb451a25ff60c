// The cheaper per-table checksum (PostgreSQL 14+): each row is hashed by hash_record_extended over
// its columns' own hash functions instead of being printed as text, which is what made the text form
// slow (every timestamp, uuid and number formatted, the row quoted, the string hashed).
//
// A column is hashed natively only when that hash is at least as strict as its text form:
// - its type's default btree opclass declares "equalimage" (btequalimage, or btvarstrequalimage under
//   a deterministic collation): equality then means identical stored bytes, so two values that print
//   differently never compare, and so never hash, alike. numeric (1.0 = 1.00), float8 (0 = -0),
//   interval ('1 day' = '24 hours'), jsonb, arrays, ranges and text under a case-insensitive
//   collation fail this test;
// - its default hash opclass has an extended hash function (support function 2), which is what
//   hash_record_extended calls (and what fails with an ERROR on json, xml, point, ...);
// - its hash depends on the value only: enum and reg* hashes are of OIDs, which a restore renumbers,
//   so only the plain built-in types below qualify (domains count as their base type; extension
//   types such as citext never do).
// Every other column is hashed through its text form: each run of adjacent such columns as one nested
// record printed by record_out, the very output functions (and quoting) the text form uses.
//
// hash_record_extended combines its columns linearly (h = 31·h + column hash) and a sum over rows is
// linear too: the table's sum would then only depend on each column's multiset of values, blind to
// values swapped between rows. Each row hash is therefore mixed again (hashtextextended of its decimal
// text) before the sums, two of them with different seeds, as the text form does.
//
// Collisions: a row hash has 64 bits (the columns of bigint, timestamp, timestamptz and time go through
// hashint8extended, which folds their 64 bits to 32 first), so a damaged row escapes with odds of about
// 2^-64 (2^-32 for a change confined to such a column). That is ample for catching a damaged restore;
// it is no defence against someone crafting rows to collide.
import { quoteIdent } from "../postgres/connection";
import type { Queryable } from "./session";
import type { TableFingerprint } from "./types";

/** How one table's checksum is computed; recorded in the fingerprint so the target can repeat it. */
export type ChecksumPlan =
    | { method: "text" }
    | {
          method: "row-hash";
          /** Seed of hash_record_extended, decimal text (a bigint). */
          seed: string;
          /** Columns in column order; those with native: false are hashed through their text form. */
          columns: { name: string; native: boolean }[];
      };

export const TEXT_PLAN: ChecksumPlan = { method: "text" };

/** The seed this version records. Fixed: two fingerprints of the same data must be equal. */
export const ROW_HASH_SEED = "5381";

/** hash_record_extended exists from PostgreSQL 14 on. */
export const ROW_HASH_MIN_SERVER = 140000;

/**
 * Built-in types whose hash is of the value itself (not of an OID) and whose equality PostgreSQL
 * declares image equality. Listed by name; the catalog query also checks what the server says.
 */
const NATIVE_TYPES = [
    "bool", "char", "int2", "int4", "int8", "text", "varchar", "bpchar", "name", "uuid", "date", "time", "timetz",
    "timestamp", "timestamptz", "bytea", "inet", "cidr", "macaddr", "macaddr8",
];

export interface HashColumn {
    name: string;
    /** Safe to hash natively (see the top of this file). */
    native: boolean;
}

interface ColumnRow {
    nspname: string;
    relname: string;
    attname: string;
    native: boolean;
}

/**
 * Columns (in column order, dropped ones left out) of each table, keyed "schema.table", with whether
 * each may be hashed natively. One catalog query for all tables; it reads catalogs only.
 */
export async function hashColumns(client: Queryable, tables: { schema: string; name: string }[]): Promise<Map<string, HashColumn[]>> {
    const r = await client.query<ColumnRow>(
        `with recursive cols as (
            select n.nspname, c.relname, a.attnum, a.attname, a.atttypid, a.attcollation
            from unnest($1::text[], $2::text[]) as wanted(schema_name, table_name)
            join pg_catalog.pg_namespace n on n.nspname = wanted.schema_name
            join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relname = wanted.table_name
            join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        ),
        -- A domain is hashed (and printed) as its base type, through any depth of domains.
        base(typ, cur) as (
            select distinct atttypid, atttypid from cols
            union all
            select b.typ, t.typbasetype from base b join pg_catalog.pg_type t on t.oid = b.cur where t.typtype = 'd'
        ),
        resolved as (
            select b.typ, b.cur as base_type
            from base b join pg_catalog.pg_type t on t.oid = b.cur
            where t.typtype <> 'd'
        ),
        -- The default opclass of a type for an access method: for the type itself or, as PostgreSQL
        -- picks it, for a type it converts to without a function (varchar uses text's, cidr inet's).
        opclass_of as (
            select r.base_type, am.amname, oc.opcfamily, oc.opcintype
            from resolved r
            join pg_catalog.pg_opclass oc on oc.opcdefault
            join pg_catalog.pg_am am on am.oid = oc.opcmethod and am.amname in ('btree', 'hash')
            where oc.opcintype = r.base_type
               or exists (select 1 from pg_catalog.pg_cast k
                          where k.castsource = r.base_type and k.casttarget = oc.opcintype
                            and k.castmethod = 'b' and k.castcontext = 'i')
        ),
        support as (
            select o.base_type, o.amname, p.amprocnum, f.proname
            from opclass_of o
            join pg_catalog.pg_amproc p on p.amprocfamily = o.opcfamily and p.amproclefttype = o.opcintype
                 and p.amprocrighttype = o.opcintype
                 and p.amprocnum = case o.amname when 'hash' then 2 else 4 end
            join pg_catalog.pg_proc f on f.oid = p.amproc
        )
        select c.nspname, c.relname, c.attname,
            (bt.typnamespace = 'pg_catalog'::regnamespace and bt.typname = any($3::text[])
             and exists (select 1 from support s where s.base_type = r.base_type and s.amname = 'hash')
             and exists (select 1 from support s where s.base_type = r.base_type and s.amname = 'btree'
                         and (s.proname = 'btequalimage'
                              or (s.proname = 'btvarstrequalimage'
                                  and coalesce((select coll.collisdeterministic from pg_catalog.pg_collation coll
                                                where coll.oid = c.attcollation), true))))
            ) as native
        from cols c
        join resolved r on r.typ = c.atttypid
        join pg_catalog.pg_type bt on bt.oid = r.base_type
        order by c.nspname, c.relname, c.attnum`,
        [tables.map((t) => t.schema), tables.map((t) => t.name), NATIVE_TYPES],
    );
    const out = new Map<string, HashColumn[]>();
    for (const t of tables) out.set(`${t.schema}.${t.name}`, []);
    for (const row of r.rows) out.get(`${row.nspname}.${row.relname}`)?.push({ name: row.attname, native: row.native });
    return out;
}

/**
 * The plan for a table the source side fingerprints: the row hash when the server has it and at
 * least one column hashes natively; otherwise the text form (no gain, and formats before 4 used it).
 */
export function choosePlan(serverVersionNum: number, columns: HashColumn[]): ChecksumPlan {
    if (serverVersionNum < ROW_HASH_MIN_SERVER || !columns.some((c) => c.native)) return TEXT_PLAN;
    return { method: "row-hash", seed: ROW_HASH_SEED, columns };
}

/** What a fingerprint recorded for a table: the seed and the text-form columns, not the native ones. */
export type RecordedPlan = { method: "text" } | { method: "row-hash"; seed: string; textColumns: string[] };

/** The plan a fingerprint recorded for a table: absent (formats 2 and 3, or no checksum) means the text form. */
export function recordedPlan(table: Pick<TableFingerprint, "checksumMethod" | "checksumSeed" | "textColumns">): RecordedPlan {
    if (table.checksumMethod !== "row-hash") return { method: "text" };
    return { method: "row-hash", seed: table.checksumSeed ?? "", textColumns: table.textColumns ?? [] };
}

function isBigint(text: string): boolean {
    if (!/^-?\d{1,19}$/.test(text)) return false;
    const value = BigInt(text);
    return value >= -(2n ** 63n) && value < 2n ** 63n;
}

/**
 * The source's plan applied to this side's columns, or why it cannot be: every column the source
 * hashed through its text form must exist, and every other column must be natively hashable here.
 */
export function followPlan(serverVersionNum: number, recorded: RecordedPlan, columns: HashColumn[]): { plan: ChecksumPlan } | { unusable: string } {
    if (recorded.method === "text") return { plan: TEXT_PLAN };
    if (serverVersionNum < ROW_HASH_MIN_SERVER) return { unusable: "the server predates PostgreSQL 14 (no hash_record_extended)" };
    if (!isBigint(recorded.seed)) return { unusable: "the recorded seed is not a bigint" };
    const asText = new Set(recorded.textColumns);
    const names = new Set(columns.map((c) => c.name));
    const missing = recorded.textColumns.filter((name) => !names.has(name));
    if (missing.length > 0) return { unusable: `column(s) ${missing.join(", ")} do not exist here` };
    const notHashable = columns.filter((c) => !asText.has(c.name) && !c.native).map((c) => c.name);
    if (notHashable.length > 0) return { unusable: `column(s) ${notHashable.join(", ")} cannot be hashed natively here` };
    return { plan: { method: "row-hash", seed: recorded.seed, columns: columns.map((c) => ({ name: c.name, native: !asText.has(c.name) })) } };
}

/** The fields a fingerprint records for a plan (format 4). */
export function planFields(plan: ChecksumPlan): Pick<TableFingerprint, "checksumMethod" | "checksumSeed" | "textColumns"> {
    if (plan.method === "text") return { checksumMethod: "text" };
    return { checksumMethod: "row-hash", checksumSeed: plan.seed, textColumns: plan.columns.filter((c) => !c.native).map((c) => c.name) };
}

/**
 * SQL for one row's hash as decimal text, over the alias's columns in column order: a native column
 * is a field of its own, each run of adjacent text-form columns one field printed by record_out. Order
 * is kept so that columns swapped on the target change the hash, as they change the text form.
 */
export function rowHashSql(plan: Extract<ChecksumPlan, { method: "row-hash" }>, alias: string): string {
    const fields: string[] = [];
    let run: string[] = [];
    const closeRun = () => {
        if (run.length > 0) fields.push(`row(${run.join(", ")})::text`);
        run = [];
    };
    for (const c of plan.columns) {
        const column = `${alias}.${quoteIdent(c.name)}`;
        if (c.native) {
            closeRun();
            fields.push(column);
        } else {
            run.push(column);
        }
    }
    closeRun();
    // A seed is checked to be a bigint before it gets here (followPlan; ours is a constant).
    return `pg_catalog.hash_record_extended(row(${fields.join(", ")}), ${plan.seed}::bigint)::text`;
}

/** The fingerprint whose per-table methods this side must repeat: the source's, when fingerprinting a target. */
export interface ChecksumBasis {
    tables: Pick<TableFingerprint, "table" | "checksumMethod" | "checksumSeed" | "textColumns">[];
}

export interface PlanChoice {
    plan: ChecksumPlan;
    /** Set when the basis asked for a row hash this side cannot repeat (the text form is used instead). */
    note?: string;
}

/**
 * Each table's checksum plan, keyed "schema.table": the basis's recorded method for the tables it
 * lists (the text form when it recorded none: formats 2 and 3), this side's own choice for the rest.
 */
export async function planChecksums(
    client: Queryable,
    serverVersionNum: number,
    tables: { schema: string; name: string }[],
    basis?: ChecksumBasis,
): Promise<Map<string, PlanChoice>> {
    const recorded = new Map((basis?.tables ?? []).map((t) => [t.table, recordedPlan(t)]));
    const key = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
    // Columns are read unless every table is to use the text form anyway.
    const needsColumns = tables.some((t) => recorded.get(key(t))?.method !== "text");
    // Before 14 there is no row hash to plan (and a basis asking for one is refused below, by table).
    const columns = needsColumns && serverVersionNum >= ROW_HASH_MIN_SERVER ? await hashColumns(client, tables) : new Map<string, HashColumn[]>();
    const out = new Map<string, PlanChoice>();
    for (const t of tables) {
        const own = columns.get(key(t)) ?? [];
        const wanted = recorded.get(key(t));
        if (wanted === undefined) {
            out.set(key(t), { plan: choosePlan(serverVersionNum, own) });
            continue;
        }
        const followed = followPlan(serverVersionNum, wanted, own);
        out.set(key(t), "plan" in followed ? { plan: followed.plan } : { plan: TEXT_PLAN, note: `the source's row hash cannot be repeated: ${followed.unusable}` });
    }
    return out;
}
