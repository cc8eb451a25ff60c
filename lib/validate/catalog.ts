// Catalog facts for the fingerprint: what the schemas contain and how it is defined.
//
// Definitions are compared by md5 of PostgreSQL's own canonical text (pg_get_functiondef, ...), printed
// under an empty search_path so names are always schema-qualified and do not depend on the session.
// Objects that belong to an extension are left out: the extension's name and version cover them, and
// they differ legitimately when an extension is installed into a different schema.
import { readRefusal } from "./readability";
import { attempt, type Queryable } from "./session";
import { qualifiedName, type TableRef } from "./tableScan";
import type {
    ExtensionFingerprint,
    FunctionFingerprint,
    PolicyFingerprint,
    RlsSetting,
    TriggerFingerprint,
    ViewFingerprint,
} from "./types";

/** SQL condition: the object (catalog, oid) is not a member of an extension. */
export const NOT_EXTENSION_MEMBER = (catalog: string, oid: string) =>
    `not exists (select 1 from pg_catalog.pg_depend d where d.classid = '${catalog}'::regclass and d.objid = ${oid} and d.deptype = 'e')`;

/** Byte-order comparison: identical on every machine, unlike locale-aware sorting. */
export function byText(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}

export async function serverVersion(client: Queryable): Promise<{ version: string; num: number }> {
    const r = await client.query<{ version: string; num: string }>(
        "select current_setting('server_version') as version, current_setting('server_version_num') as num",
    );
    return { version: r.rows[0].version, num: Number(r.rows[0].num) };
}

/** The requested schemas that exist, or every non-system schema. */
export async function listSchemas(client: Queryable, requested?: string[]): Promise<string[]> {
    const r = await client.query<{ nspname: string }>(
        `select nspname from pg_catalog.pg_namespace
         where nspname not in ('pg_catalog', 'information_schema')
           and nspname !~ '^pg_toast' and nspname !~ '^pg_temp'
           and ($1::text[] is null or nspname = any($1::text[]))`,
        [requested ?? null],
    );
    return r.rows.map((row) => row.nspname).sort(byText);
}

interface TableRow {
    nspname: string;
    relname: string;
    relkind: string;
    relrowsecurity: boolean;
    relforcerowsecurity: boolean;
    has_updated_at: boolean;
}

const TABLE_COLUMNS = `n.nspname, c.relname, c.relkind::text as relkind, c.relrowsecurity, c.relforcerowsecurity,
    exists (select 1 from pg_catalog.pg_attribute a
            where a.attrelid = c.oid and a.attname = 'updated_at' and a.attnum > 0 and not a.attisdropped
              and a.atttypid in ('pg_catalog.timestamptz'::regtype, 'pg_catalog.timestamp'::regtype, 'pg_catalog.date'::regtype)
    ) as has_updated_at
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace`;

export interface CatalogTable extends TableRef {
    rlsEnabled: boolean;
    rlsForced: boolean;
}

function toCatalogTable(row: TableRow): CatalogTable {
    return {
        schema: row.nspname,
        name: row.relname,
        partitioned: row.relkind === "p",
        hasUpdatedAt: row.has_updated_at,
        rlsEnabled: row.relrowsecurity,
        rlsForced: row.relforcerowsecurity,
    };
}

/**
 * Ordinary and partitioned tables of the schemas. Partitions are left out: their rows are scanned
 * through the partitioned parent, and counting them twice would only slow the pass down.
 */
export async function listTables(client: Queryable, schemas: string[]): Promise<CatalogTable[]> {
    const r = await client.query<TableRow>(
        `select ${TABLE_COLUMNS}
         where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1::text[])
           and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "c.oid")}`,
        [schemas],
    );
    return r.rows.map(toCatalogTable).sort((a, b) => byText(qualifiedName(a.schema, a.name), qualifiedName(b.schema, b.name)));
}

/** Splits "schema.table" (a bare name means public) at the first dot. */
export function parseTableName(name: string): { schema: string; name: string } {
    const dot = name.indexOf(".");
    return dot < 0 ? { schema: "public", name } : { schema: name.slice(0, dot), name: name.slice(dot + 1) };
}

/** Looks up named tables; the ones that do not exist come back as undefined. */
export async function findTables(client: Queryable, names: string[]): Promise<Map<string, CatalogTable | undefined>> {
    const parsed = names.map(parseTableName);
    const r = await client.query<TableRow>(
        `select ${TABLE_COLUMNS}
         join unnest($1::text[], $2::text[]) as wanted(schema_name, table_name)
           on wanted.schema_name = n.nspname and wanted.table_name = c.relname
         where c.relkind in ('r', 'p')`,
        [parsed.map((p) => p.schema), parsed.map((p) => p.name)],
    );
    const found = new Map(r.rows.map((row) => [qualifiedName(row.nspname, row.relname), toCatalogTable(row)]));
    return new Map(parsed.map((p) => [qualifiedName(p.schema, p.name), found.get(qualifiedName(p.schema, p.name))]));
}

export function rlsSettings(tables: CatalogTable[]): RlsSetting[] {
    return tables.map((t) => ({ table: qualifiedName(t.schema, t.name), enabled: t.rlsEnabled, forced: t.rlsForced }));
}

export async function listPolicies(client: Queryable, schemas: string[]): Promise<PolicyFingerprint[]> {
    const r = await client.query<{
        schemaname: string;
        tablename: string;
        policyname: string;
        permissive: string;
        roles: string[];
        cmd: string;
        qual: string | null;
        with_check: string | null;
    }>(
        `select schemaname::text, tablename::text, policyname::text, permissive, roles::text[] as roles, cmd, qual, with_check
         from pg_catalog.pg_policies where schemaname = any($1::text[])`,
        [schemas],
    );
    return r.rows
        .map((p) => ({
            table: qualifiedName(p.schemaname, p.tablename),
            name: p.policyname,
            permissive: p.permissive,
            roles: [...p.roles].sort(byText),
            cmd: p.cmd,
            qual: p.qual,
            withCheck: p.with_check,
        }))
        .sort((a, b) => byText(`${a.table}.${a.name}`, `${b.table}.${b.name}`));
}

/**
 * Every installed extension, whatever schema it lives in: a missing one breaks the restored app. The
 * schemas an extension owns (created by its script) are recorded too: when the extension may be
 * missing on a target, so may they, with everything in them.
 */
export async function listExtensions(client: Queryable): Promise<ExtensionFingerprint[]> {
    const r = await client.query<{ extname: string; extversion: string; nspname: string; owned: string[] }>(
        `select e.extname::text, e.extversion, n.nspname::text,
                array(select s.nspname::text from pg_catalog.pg_depend d join pg_catalog.pg_namespace s on s.oid = d.objid
                      where d.classid = 'pg_catalog.pg_namespace'::regclass and d.refclassid = 'pg_catalog.pg_extension'::regclass
                        and d.refobjid = e.oid and d.deptype = 'e') as owned
         from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace`,
    );
    return r.rows
        .map((e) => ({
            name: e.extname,
            version: e.extversion,
            schema: e.nspname,
            ...(e.owned.length > 0 ? { ownedSchemas: [...e.owned].sort(byText) } : {}),
        }))
        .sort((a, b) => byText(a.name, b.name));
}

/** Functions, procedures and window functions (aggregates have no pg_get_functiondef). */
export async function listFunctions(client: Queryable, schemas: string[]): Promise<FunctionFingerprint[]> {
    const r = await client.query<{ nspname: string; proname: string; args: string; prokind: string; md5: string }>(
        `select n.nspname::text, p.proname::text, pg_catalog.pg_get_function_identity_arguments(p.oid) as args,
                p.prokind::text as prokind, pg_catalog.md5(pg_catalog.pg_get_functiondef(p.oid)) as md5
         from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
         where n.nspname = any($1::text[]) and p.prokind in ('f', 'p', 'w')
           and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_proc", "p.oid")}`,
        [schemas],
    );
    const kinds: Record<string, string> = { f: "function", p: "procedure", w: "window function" };
    return r.rows
        .map((f) => ({
            signature: `${f.nspname}.${f.proname}(${f.args})`,
            kind: kinds[f.prokind] ?? f.prokind,
            definitionMd5: f.md5,
        }))
        .sort((a, b) => byText(a.signature, b.signature));
}

export async function listTriggers(client: Queryable, schemas: string[]): Promise<TriggerFingerprint[]> {
    const r = await client.query<{ nspname: string; relname: string; tgname: string; tgenabled: string; md5: string }>(
        `select n.nspname::text, c.relname::text, t.tgname::text, t.tgenabled::text as tgenabled,
                pg_catalog.md5(pg_catalog.pg_get_triggerdef(t.oid)) as md5
         from pg_catalog.pg_trigger t
         join pg_catalog.pg_class c on c.oid = t.tgrelid
         join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where not t.tgisinternal and n.nspname = any($1::text[])
           and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_trigger", "t.oid")}`,
        [schemas],
    );
    return r.rows
        .map((t) => ({ trigger: `${t.nspname}.${t.relname}.${t.tgname}`, enabled: t.tgenabled, definitionMd5: t.md5 }))
        .sort((a, b) => byText(a.trigger, b.trigger));
}

export async function listViews(client: Queryable, schemas: string[]): Promise<ViewFingerprint[]> {
    const r = await client.query<{ nspname: string; relname: string; relkind: string; md5: string }>(
        `select n.nspname::text, c.relname::text, c.relkind::text as relkind,
                pg_catalog.md5(pg_catalog.pg_get_viewdef(c.oid)) as md5
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('v', 'm') and n.nspname = any($1::text[])
           and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "c.oid")}`,
        [schemas],
    );
    return r.rows
        .map((v) => ({
            view: qualifiedName(v.nspname, v.relname),
            kind: v.relkind === "m" ? ("materialized view" as const) : ("view" as const),
            definitionMd5: v.md5,
        }))
        .sort((a, b) => byText(a.view, b.view));
}

/** max(version) of Supabase's migration history; null when the project has no such table. */
export async function latestMigration(client: Queryable): Promise<{ version: string | null; error?: string }> {
    // From the catalog, not to_regclass(): that raises an ERROR without USAGE on the schema.
    const exists = await client.query<{ present: boolean }>(
        `select exists (select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                        where n.nspname = 'supabase_migrations' and c.relname = 'schema_migrations') as present`,
    );
    if (!exists.rows[0].present) return { version: null };
    const refusal = await readRefusal(client, { schema: "supabase_migrations", name: "schema_migrations" });
    if (refusal) return { version: null, error: refusal };
    const r = await attempt(client, async () => {
        const q = await client.query<{ version: string | null }>(
            `select max(version::text collate "C") as version from supabase_migrations.schema_migrations`,
        );
        return q.rows[0].version;
    });
    return r.ok ? { version: r.value } : { version: null, error: r.error };
}
