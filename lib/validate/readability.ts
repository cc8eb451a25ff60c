// Whether the current role can read a table, decided from the catalog before the table is read.
//
// On the source every statement that fails is an ERROR line in production's server log (and a page
// for teams that alert on them). So a read that PostgreSQL would refuse is not run and caught: the
// refusal is predicted from privileges and recorded with the text PostgreSQL would have given, so a
// source and a target that refuse the same read still compare equal. The checks follow the order the
// server applies them: USAGE on the schema (name lookup), SELECT on the table or every column of it
// (executor), row security that may not be turned off (row_security = off), then what the role's
// applicable policies need: SELECT on the relations and EXECUTE on the functions they reference.
// These functions (has_*_privilege, pg_has_role on oids) cannot fail themselves.
import type { Queryable } from "./session";
import type { TableRef } from "./tableScan";

const DENIED = "SQLSTATE 42501";

const RELKIND_WORD: Record<string, string> = { r: "table", p: "table", v: "view", m: "materialized view", f: "foreign table" };

interface ReadabilityRow {
    nspname: string;
    relname: string;
    relkind: string;
    schema_usage: boolean;
    can_select: boolean;
    rls_blocks: boolean;
    denied_relation: string | null;
    denied_relkind: string | null;
    denied_function: string | null;
}

// $1 schema, $2 table. "RLS applies" as check_enable_rls decides it: enabled on the table, the role
// neither superuser nor BYPASSRLS, and not the owner (or FORCE ROW LEVEL SECURITY is set).
const READABILITY_SQL = `
with t as (
    select c.oid, c.relkind, c.relname, n.nspname, n.oid as nsp, c.relrowsecurity, c.relforcerowsecurity, c.relowner
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = $1 and c.relname = $2
), me as (
    select coalesce((select r.rolsuper or r.rolbypassrls from pg_catalog.pg_roles r where r.rolname = current_user), false) as bypass
), rls as (
    select t.oid, t.relrowsecurity and not me.bypass
               and (t.relforcerowsecurity or not pg_catalog.pg_has_role(current_user, t.relowner, 'USAGE')) as applies
    from t, me
), policy_deps as (
    select d.refclassid, d.refobjid, d.refobjsubid
    from t join rls on rls.oid = t.oid
    join pg_catalog.pg_policy p on p.polrelid = t.oid
    join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_policy'::regclass and d.objid = p.oid
    where rls.applies and pg_catalog.current_setting('row_security') <> 'off'
      and p.polcmd in ('r', '*')
      and (p.polroles = '{0}' or exists (select 1 from pg_catalog.unnest(p.polroles) pr(role)
                                          where pr.role <> 0 and pg_catalog.pg_has_role(current_user, pr.role, 'USAGE')))
)
select t.nspname::text, t.relname::text, t.relkind::text,
       pg_catalog.has_schema_privilege(t.nsp, 'USAGE') as schema_usage,
       pg_catalog.has_table_privilege(t.oid, 'SELECT')
         or not exists (select 1 from pg_catalog.pg_attribute a
                        where a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
                          and not pg_catalog.has_column_privilege(t.oid, a.attnum, 'SELECT')) as can_select,
       rls.applies and pg_catalog.current_setting('row_security') = 'off' as rls_blocks,
       (select c.relname::text from policy_deps pd join pg_catalog.pg_class c on c.oid = pd.refobjid
        where pd.refclassid = 'pg_catalog.pg_class'::regclass and pd.refobjid <> t.oid
          and not (case when pd.refobjsubid = 0 then pg_catalog.has_table_privilege(pd.refobjid, 'SELECT')
                        else pg_catalog.has_column_privilege(pd.refobjid, pd.refobjsubid::int2, 'SELECT') end)
        order by c.relname limit 1) as denied_relation,
       (select c.relkind::text from policy_deps pd join pg_catalog.pg_class c on c.oid = pd.refobjid
        where pd.refclassid = 'pg_catalog.pg_class'::regclass and pd.refobjid <> t.oid
          and not (case when pd.refobjsubid = 0 then pg_catalog.has_table_privilege(pd.refobjid, 'SELECT')
                        else pg_catalog.has_column_privilege(pd.refobjid, pd.refobjsubid::int2, 'SELECT') end)
        order by c.relname limit 1) as denied_relkind,
       (select p.proname::text from policy_deps pd join pg_catalog.pg_proc p on p.oid = pd.refobjid
        where pd.refclassid = 'pg_catalog.pg_proc'::regclass and not pg_catalog.has_function_privilege(pd.refobjid, 'EXECUTE')
        order by p.proname limit 1) as denied_function
from t join rls on rls.oid = t.oid`;

function relationWord(relkind: string | null): string {
    return RELKIND_WORD[relkind ?? "r"] ?? "relation";
}

/**
 * Why the current role cannot read the table (PostgreSQL's own wording with its SQLSTATE), or
 * undefined when reading it will not be refused. A table that no longer exists is reported as such.
 */
export async function readRefusal(client: Queryable, table: Pick<TableRef, "schema" | "name">): Promise<string | undefined> {
    const r = await client.query<ReadabilityRow>(READABILITY_SQL, [table.schema, table.name]);
    const row = r.rows[0];
    if (!row) return `relation "${table.schema}.${table.name}" does not exist (SQLSTATE 42P01)`;
    if (!row.schema_usage) return `permission denied for schema ${row.nspname} (${DENIED})`;
    if (!row.can_select) return `permission denied for ${relationWord(row.relkind)} ${row.relname} (${DENIED})`;
    if (row.rls_blocks) return `query would be affected by row-level security policy for table "${row.relname}" (${DENIED})`;
    if (row.denied_relation) return `permission denied for ${relationWord(row.denied_relkind)} ${row.denied_relation} (${DENIED})`;
    if (row.denied_function) return `permission denied for function ${row.denied_function} (${DENIED})`;
    return undefined;
}

/** Why SET ROLE to `role` would be refused to this session (not a member of it), or undefined. */
export async function setRoleRefusal(client: Queryable, role: string): Promise<string | undefined> {
    const r = await client.query<{ member: boolean }>(
        "select pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER') as member from pg_catalog.pg_roles r where r.rolname = $1",
        [role],
    );
    if (r.rows[0]?.member) return undefined;
    return `permission denied to set role "${role}" (${DENIED})`;
}
