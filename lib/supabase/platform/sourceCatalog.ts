// Reads, from a live Supabase source, what its platform part consists of: which Supabase-managed
// schemas it has, which of them can be taken to a plain PostgreSQL target, which roles they refer
// to, and which triggers/policies on them refer to objects outside them (an app's function called
// by a trigger on auth.users, say) and so can only be created after the app's own schema.
//
// The source is only read: one READ ONLY transaction of catalog queries that cannot fail on valid
// catalog rows (no casts of user data, no functions that look objects up by oid), so nothing is
// written and nothing is logged as an ERROR on the source server.
import type { Client } from "pg";
import { tableShapes, type TableShapes } from "./shape";

/** Schemas Supabase manages (supabase/cli apps/cli-go/pkg/migration/dump.go InternalSchemas, less information_schema and pg_*). */
export const MANAGED_SCHEMA_PATTERNS: readonly string[] = Object.freeze([
    "_analytics", "_realtime", "_supavisor", "auth", "etl", "extensions", "pgbouncer", "realtime", "storage",
    "supabase_functions", "supabase_migrations", "cron", "dbdev", "graphql", "graphql_public", "net", "pgmq",
    "pgsodium", "pgsodium_masks", "pgtle", "repack", "tiger", "tiger_data", "timescaledb_*", "_timescaledb_*",
    "topology", "vault",
]);

/**
 * Managed schemas that an extension fills (same source, "Owned by extensions"): a dump of them holds
 * nothing without the extension, and the app's schema.sql creates the extension itself.
 * graphql_public is not one of them although the CLI lists it there: supabase/postgres creates it
 * with a plain SQL function.
 */
export const EXTENSION_SCHEMA_PATTERNS: readonly string[] = Object.freeze([
    "cron", "dbdev", "graphql", "net", "pgmq", "pgsodium", "pgsodium_masks", "pgtle", "repack", "tiger",
    "tiger_data", "timescaledb_*", "_timescaledb_*", "topology", "vault",
]);

/** Roles the platform owns (dump.go reservedRoles; dump_role.sh never creates them): regular expressions. */
export const RESERVED_ROLE_PATTERNS: readonly string[] = Object.freeze([
    "anon", "authenticated", "authenticator", "cli_login_.*", "dashboard_user", "pgbouncer", "postgres",
    "service_role", "supabase_.*", "pgsodium_keyholder", "pgsodium_keyiduser", "pgsodium_keymaker", "pgtle_admin",
]);

export function isReservedRole(name: string): boolean {
    return name.startsWith("pg_") || RESERVED_ROLE_PATTERNS.some((p) => new RegExp(`^(?:${p})$`).test(name));
}

/** pg_dump's schema pattern with only `*` as a wildcard. */
export function matchesSchemaPattern(name: string, pattern: string): boolean {
    const re = new RegExp("^" + pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
    return re.test(name);
}

export interface SourceRole {
    name: string;
    superuser: boolean;
    inherit: boolean;
    createRole: boolean;
    createDb: boolean;
    canLogin: boolean;
    replication: boolean;
    bypassRls: boolean;
}

/** A catalog object pg_dump emits as one TOC entry: (catalog table oid, object oid). */
export interface CatalogObject {
    classOid: number;
    oid: number;
    description: string;
}

export interface SourcePlatform {
    serverVersionNum: number;
    /** Managed schemas the source has. */
    present: string[];
    /** Those to take from the source (schema only). */
    dumpable: string[];
    skipped: { schema: string; why: string }[];
    /** Table shapes of the dumpable schemas. */
    shapes: TableShapes;
    /** Roles the dumpable schemas refer to (owners, grantees, grantors, policy roles). */
    roles: SourceRole[];
    /** Triggers, policies and foreign keys on dumpable tables that refer to objects outside them. */
    deferred: CatalogObject[];
}

/** Reads the source's platform part. `availableOnTarget` decides which extension dependencies are fatal. */
export async function readSourcePlatform(
    source: Client,
    availableOnTarget: (extension: string) => boolean,
): Promise<SourcePlatform> {
    await source.query("begin transaction isolation level repeatable read read only");
    try {
        const result = await readInTransaction(source, availableOnTarget);
        await source.query("commit");
        return result;
    } catch (err) {
        await source.query("rollback").catch(() => undefined);
        throw err;
    }
}

async function readInTransaction(source: Client, availableOnTarget: (extension: string) => boolean): Promise<SourcePlatform> {
    const version = await source.query<{ v: string }>("select current_setting('server_version_num') as v");
    const schemas = await source.query<{ nspname: string; usable: boolean }>(
        `select nspname, has_schema_privilege(oid, 'USAGE') as usable
           from pg_catalog.pg_namespace order by nspname`,
    );
    const present = schemas.rows
        .map((r) => r.nspname)
        .filter((n) => MANAGED_SCHEMA_PATTERNS.some((p) => matchesSchemaPattern(n, p)));

    const extensions = await source.query<{ extname: string; nspname: string }>(
        `select e.extname, n.nspname from pg_catalog.pg_extension e
           join pg_catalog.pg_namespace n on n.oid = e.extnamespace`,
    );

    const skipped: { schema: string; why: string }[] = [];
    const candidates: string[] = [];
    for (const schema of present) {
        if (schema === "extensions") {
            skipped.push({ schema, why: "made on the target with the extensions it ships (not copied)" });
            continue;
        }
        const owningExt = extensions.rows.find((e) => e.nspname === schema);
        if (EXTENSION_SCHEMA_PATTERNS.some((p) => matchesSchemaPattern(schema, p))) {
            skipped.push({ schema, why: `filled by an extension${owningExt ? ` (${owningExt.extname})` : ""}; the app's schema.sql creates it` });
            continue;
        }
        if (owningExt && !availableOnTarget(owningExt.extname)) {
            skipped.push({ schema, why: `holds extension ${owningExt.extname}, which the target cannot install` });
            continue;
        }
        if (!schemas.rows.find((r) => r.nspname === schema)?.usable) {
            skipped.push({ schema, why: "the source connection may not use it (no USAGE)" });
            continue;
        }
        candidates.push(schema);
    }

    // pg_dump takes an ACCESS SHARE lock on each table it dumps; without SELECT that is an ERROR on the
    // source server, so such a schema is left out (and reported) instead.
    const unreadable = await source.query<{ nspname: string; relname: string }>(
        `select n.nspname, c.relname from pg_catalog.pg_class c
           join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          where n.nspname = any($1::text[]) and c.relkind in ('r', 'p')
            and not has_table_privilege(c.oid, 'SELECT')
          order by 1, 2`,
        [candidates],
    );
    // Objects of a candidate schema depending on a member of an extension the target cannot install.
    const extDeps = await source.query<{ nspname: string; extname: string }>(
        `${OBJECTS_CTE},
         ext_member as (
            select d.classid, d.objid, e.extname
              from pg_catalog.pg_depend d join pg_catalog.pg_extension e on e.oid = d.refobjid
             where d.refclassid = 'pg_catalog.pg_extension'::regclass and d.deptype = 'e')
         select distinct n.nspname, m.extname
           from pg_catalog.pg_depend d
           join objs o on o.cls = d.classid and o.oid = d.objid
           join pg_catalog.pg_namespace n on n.oid = o.ns
           join ext_member m on m.classid = d.refclassid and m.objid = d.refobjid
          where n.nspname = any($1::text[]) and d.deptype in ('n', 'a')`,
        [candidates],
    );
    const dumpable: string[] = [];
    for (const schema of candidates) {
        const tables = unreadable.rows.filter((r) => r.nspname === schema).map((r) => r.relname);
        if (tables.length > 0) {
            skipped.push({ schema, why: `the source connection cannot read ${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", …" : ""}` });
            continue;
        }
        const missingExts = [...new Set(extDeps.rows.filter((r) => r.nspname === schema).map((r) => r.extname))].filter(
            (e) => !availableOnTarget(e),
        );
        if (missingExts.length > 0) {
            skipped.push({ schema, why: `depends on extension ${missingExts.join(", ")}, which the target cannot install` });
            continue;
        }
        dumpable.push(schema);
    }

    const roles = await source.query<{
        rolname: string; rolsuper: boolean; rolinherit: boolean; rolcreaterole: boolean; rolcreatedb: boolean;
        rolcanlogin: boolean; rolreplication: boolean; rolbypassrls: boolean;
    }>(
        `with s as (select oid from pg_catalog.pg_namespace where nspname = any($1::text[])),
         acls as (
            select nspowner as owner, nspacl as acl from pg_catalog.pg_namespace where oid in (select oid from s)
            union all select relowner, relacl from pg_catalog.pg_class where relnamespace in (select oid from s)
            union all select proowner, proacl from pg_catalog.pg_proc where pronamespace in (select oid from s)
            union all select typowner, typacl from pg_catalog.pg_type where typnamespace in (select oid from s)
            union all select c.relowner, a.attacl from pg_catalog.pg_attribute a
                        join pg_catalog.pg_class c on c.oid = a.attrelid
                       where c.relnamespace in (select oid from s) and a.attacl is not null
            union all select defaclrole, defaclacl from pg_catalog.pg_default_acl where defaclnamespace in (select oid from s)),
         ids as (
            select owner as id from acls
            union select x.grantee from acls, lateral aclexplode(acl) x
            union select x.grantor from acls, lateral aclexplode(acl) x
            union select unnest(p.polroles) from pg_catalog.pg_policy p
                    join pg_catalog.pg_class c on c.oid = p.polrelid
                   where c.relnamespace in (select oid from s))
         select r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
                r.rolreplication, r.rolbypassrls
           from pg_catalog.pg_roles r join ids on ids.id = r.oid
          order by r.rolname`,
        [dumpable],
    );

    // Triggers, policies and foreign keys on dumpable tables that refer to something outside the
    // dumpable schemas (other than pg_catalog): they can only be created once the app's schema exists.
    // oids may exceed int4: read them as int8 (text here) so no cast can fail on the source.
    const deferred = await source.query<{ cls: string; oid: string; kind: string; tbl: string; name: string }>(
        `${OBJECTS_CTE},
         own as (
            select 'pg_catalog.pg_trigger'::regclass::oid as cls, t.oid, 'trigger' as kind,
                   n.nspname || '.' || c.relname as tbl, t.tgname::text as name
              from pg_catalog.pg_trigger t
              join pg_catalog.pg_class c on c.oid = t.tgrelid
              join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where n.nspname = any($1::text[]) and not t.tgisinternal
            union all
            select 'pg_catalog.pg_policy'::regclass::oid, p.oid, 'policy', n.nspname || '.' || c.relname, p.polname::text
              from pg_catalog.pg_policy p
              join pg_catalog.pg_class c on c.oid = p.polrelid
              join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where n.nspname = any($1::text[])
            union all
            select 'pg_catalog.pg_constraint'::regclass::oid, k.oid, 'foreign key', n.nspname || '.' || c.relname, k.conname::text
              from pg_catalog.pg_constraint k
              join pg_catalog.pg_class c on c.oid = k.conrelid
              join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where n.nspname = any($1::text[]) and k.contype = 'f')
         select distinct own.cls::int8 as cls, own.oid::int8 as oid, own.kind, own.tbl, own.name
           from own
           join pg_catalog.pg_depend d on d.classid = own.cls and d.objid = own.oid
           join objs r on r.cls = d.refclassid and r.oid = d.refobjid
           join pg_catalog.pg_namespace rn on rn.oid = r.ns
          where rn.nspname <> 'pg_catalog' and not (rn.nspname = any($1::text[]))
          order by 4, 3, 5`,
        [dumpable],
    );

    return {
        serverVersionNum: Number(version.rows[0].v),
        present,
        dumpable,
        skipped,
        shapes: await tableShapes(source, dumpable),
        roles: roles.rows.map((r) => ({
            name: r.rolname,
            superuser: r.rolsuper,
            inherit: r.rolinherit,
            createRole: r.rolcreaterole,
            createDb: r.rolcreatedb,
            canLogin: r.rolcanlogin,
            replication: r.rolreplication,
            bypassRls: r.rolbypassrls,
        })),
        deferred: deferred.rows.map((r) => ({ classOid: Number(r.cls), oid: Number(r.oid), description: `${r.kind} ${r.name} on ${r.tbl}` })),
    };
}

// Catalog objects that can depend on something, with the schema each lives in.
const OBJECTS_CTE = `
with objs as (
    select 'pg_catalog.pg_class'::regclass::oid as cls, c.oid, c.relnamespace as ns from pg_catalog.pg_class c
    union all select 'pg_catalog.pg_proc'::regclass::oid, p.oid, p.pronamespace from pg_catalog.pg_proc p
    union all select 'pg_catalog.pg_type'::regclass::oid, t.oid, t.typnamespace from pg_catalog.pg_type t
    union all select 'pg_catalog.pg_attrdef'::regclass::oid, a.oid, c.relnamespace
                from pg_catalog.pg_attrdef a join pg_catalog.pg_class c on c.oid = a.adrelid
    union all select 'pg_catalog.pg_constraint'::regclass::oid, k.oid, k.connamespace from pg_catalog.pg_constraint k
    union all select 'pg_catalog.pg_trigger'::regclass::oid, t.oid, c.relnamespace
                from pg_catalog.pg_trigger t join pg_catalog.pg_class c on c.oid = t.tgrelid
    union all select 'pg_catalog.pg_policy'::regclass::oid, p.oid, c.relnamespace
                from pg_catalog.pg_policy p join pg_catalog.pg_class c on c.oid = p.polrelid
)`;
