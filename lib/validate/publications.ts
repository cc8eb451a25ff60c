// Logical replication publications: their flags and members. A restore that loses a member (or a whole
// publication) silently stops realtime / replication for that table.
import { byText } from "./catalog";
import type { Queryable } from "./session";
import type { PublicationFingerprint } from "./types";

/** Member columns, row filters and FOR TABLES IN SCHEMA exist from PostgreSQL 15 on. */
function publicationSql(serverVersionNum: number): string {
    const pg15 = serverVersionNum >= 150000;
    const columns = pg15
        ? ` || coalesce(' (' || (select pg_catalog.string_agg(a.attname::text, ', ' order by a.attnum) from pg_catalog.pg_attribute a
                               where a.attrelid = pr.prrelid and a.attnum = any(pr.prattrs::int2[])) || ')', '')
            || coalesce(' WHERE ' || pg_catalog.pg_get_expr(pr.prqual, pr.prrelid), '')`
        : "";
    const schemas = pg15
        ? `array(select n.nspname::text from pg_catalog.pg_publication_namespace pn join pg_catalog.pg_namespace n on n.oid = pn.pnnspid
                 where pn.pnpubid = p.oid and n.nspname = any($1::text[]))`
        : "'{}'::text[]";
    const anySchemaMember = pg15 ? "or exists (select 1 from pg_catalog.pg_publication_namespace pn where pn.pnpubid = p.oid)" : "";
    return `select p.pubname::text as name, p.puballtables as all_tables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate,
                   p.pubviaroot as via_root,
                   array(select n.nspname || '.' || c.relname${columns}
                         from pg_catalog.pg_publication_rel pr
                         join pg_catalog.pg_class c on c.oid = pr.prrelid
                         join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                         where pr.prpubid = p.oid and n.nspname = any($1::text[])) as tables,
                   ${schemas} as schemas,
                   (exists (select 1 from pg_catalog.pg_publication_rel pr where pr.prpubid = p.oid) ${anySchemaMember}) as has_members
            from pg_catalog.pg_publication p`;
}

/**
 * Publications, with members limited to the fingerprinted schemas. A publication whose every member
 * lies outside them is left out (it is another schema's business), unless it is FOR ALL TABLES or empty.
 */
export async function listPublications(client: Queryable, schemas: string[], serverVersionNum: number): Promise<PublicationFingerprint[]> {
    const r = await client.query<{
        name: string;
        all_tables: boolean;
        pubinsert: boolean;
        pubupdate: boolean;
        pubdelete: boolean;
        pubtruncate: boolean;
        via_root: boolean;
        tables: string[];
        schemas: string[];
        has_members: boolean;
    }>(publicationSql(serverVersionNum), [schemas]);
    return r.rows
        .filter((p) => p.all_tables || !p.has_members || p.tables.length > 0 || p.schemas.length > 0)
        .map((p) => ({
            name: p.name,
            allTables: p.all_tables,
            operations: (["insert", "update", "delete", "truncate"] as const).filter((op) => p[`pub${op}`]),
            viaRoot: p.via_root,
            tables: [...p.tables].sort(byText),
            schemas: [...p.schemas].sort(byText),
        }))
        .sort((a, b) => byText(a.name, b.name));
}
