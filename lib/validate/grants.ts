// Privileges granted on schemas, tables (and their columns), views, sequences and functions, read from
// the ACLs with aclexplode in one query. A GRANT that failed during the restore (its role missing on
// the target, say) and was allow-listed leaves the data intact but the application broken; this finds it.
//
// A NULL ACL means the built-in defaults (acldefault), which for functions include EXECUTE for PUBLIC.
// Roles are recorded by name: the comparison is between role names, never OIDs. The grantor is left
// out, and so are the owner's own privileges: both follow the owner, which a --no-owner restore changes.
import { byText, NOT_EXTENSION_MEMBER } from "./catalog";
import type { Queryable } from "./session";
import type { GrantFingerprint } from "./types";

const RELATION_KINDS = `case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view'
                                     when 'f' then 'foreign table' else 'table' end`;

export async function listGrants(client: Queryable, schemas: string[]): Promise<GrantFingerprint[]> {
    const r = await client.query<{ kind: string; name: string; owner: string; privileges: string[] }>(
        `with objects as (
            select 'schema'::text as kind, n.nspname::text as name, n.nspowner as owner,
                   coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner)) as acl
            from pg_catalog.pg_namespace n
            where n.nspname = any($1::text[]) and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_namespace", "n.oid")}
          union all
            select ${RELATION_KINDS}, n.nspname || '.' || c.relname, c.relowner,
                   coalesce(c.relacl, pg_catalog.acldefault(case c.relkind when 'S' then 's' else 'r' end::"char", c.relowner))
            from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and n.nspname = any($1::text[])
              and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "c.oid")}
          union all
            -- Column privileges exist only where granted: attacl is NULL otherwise.
            select 'column', n.nspname || '.' || c.relname || '.' || a.attname, c.relowner, a.attacl
            from pg_catalog.pg_attribute a
            join pg_catalog.pg_class c on c.oid = a.attrelid
            join pg_catalog.pg_namespace n on n.oid = c.relnamespace
            where a.attacl is not null and a.attnum > 0 and not a.attisdropped
              and c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname = any($1::text[])
              and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "c.oid")}
          union all
            select case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
                   n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
                   p.proowner, coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))
            from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
            where n.nspname = any($1::text[]) and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_proc", "p.oid")}
        )
        select o.kind, o.name, pg_catalog.pg_get_userbyid(o.owner)::text as owner,
               coalesce(array_agg(
                   case when x.grantee = 0 then 'PUBLIC' else pg_catalog.pg_get_userbyid(x.grantee)::text end
                   || ':' || x.privilege_type || case when x.is_grantable then '*' else '' end
               ) filter (where x.grantee is not null and x.grantee <> o.owner), '{}') as privileges
        from objects o left join lateral pg_catalog.aclexplode(o.acl) x on true
        group by o.kind, o.name, o.owner`,
        [schemas],
    );
    return r.rows
        .map((g) => ({
            object: `${g.kind} ${g.name}`,
            name: g.name,
            owner: g.owner,
            privileges: [...new Set(g.privileges)].sort(byText),
        }))
        .sort((a, b) => byText(a.object, b.object));
}
