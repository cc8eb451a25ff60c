// Where path B may restore: a NEW, empty database that is neither the live database nor the backup's
// source. Sameness is decided by server identity: the cluster's system identifier plus the database's
// oid when both sides can be read (a host alias, a pooler port or an IP reach the same database under
// other names); else the identity lib/postgres/sourceGuard.ts uses (system identifier and database
// name, or host, port and database). The backup's source is known from its manifest (endpoint and
// system identifier; the backup job records them), live from LIVE_DB_URL.
//
// "Empty": no table, view, sequence or function outside PostgreSQL's and Supabase's managed schemas,
// and no rows in auth.users, storage.objects or the migration history — what a fresh database or a
// fresh Supabase project looks like. A database this command restored earlier carries a marker (its
// COMMENT) naming the backup's sha256: a retry with the same backup resumes there instead of refusing.
import type { Client } from "pg";
import { describe, quoteIdent, quoteLiteral } from "../postgres/connection";
import { sameDatabase, sameServer, systemIdentifier, type DatabaseIdentity } from "../postgres/sourceGuard";
import { MANAGED_SCHEMA_PATTERNS, matchesSchemaPattern } from "../supabase/platform/sourceCatalog";

export interface TargetIdentity extends DatabaseIdentity {
    databaseOid: number;
}

export async function identifyTarget(client: Client, host: string, port: number): Promise<TargetIdentity> {
    const r = await client.query<{ db: string; oid: number }>("select current_database() as db, oid::int as oid from pg_catalog.pg_database where datname = current_database()");
    return { host, port, database: r.rows[0].db, databaseOid: r.rows[0].oid, systemIdentifier: await systemIdentifier(client) };
}

/** Same database: same cluster and oid when both are known, else sourceGuard's rule. */
export function sameTargetDatabase(a: DatabaseIdentity & { databaseOid?: number }, b: DatabaseIdentity & { databaseOid?: number }): boolean {
    if (a.systemIdentifier && b.systemIdentifier && a.databaseOid !== undefined && b.databaseOid !== undefined) {
        return a.systemIdentifier === b.systemIdentifier && a.databaseOid === b.databaseOid;
    }
    return sameDatabase(a, b);
}

export interface GuardSources {
    live?: DatabaseIdentity & { databaseOid?: number };
    /** From the backup's manifest. */
    backupSource?: DatabaseIdentity;
}

export function assertNotLiveOrSource(target: TargetIdentity, sources: GuardSources): void {
    if (!sources.live && !sources.backupSource) {
        throw new Error(
            "refusing: neither LIVE_DB_URL nor the backup's manifest names the database the backup came from, so the target " +
                "cannot be told apart from it; export LIVE_DB_URL (it is only read, to compare server identities)",
        );
    }
    const how = (other: DatabaseIdentity & { databaseOid?: number }) =>
        target.systemIdentifier && other.systemIdentifier && other.databaseOid !== undefined ? "same system identifier and database oid" : sameServer(target, other) ? "same server and database name" : "same host, port and database";
    if (sources.live && sameTargetDatabase(target, sources.live)) {
        throw new Error(`refusing to restore into ${describe(target)}: it is the LIVE database (${how(sources.live)}). TARGET_DB_URL must name a new, empty database`);
    }
    if (sources.backupSource && sameTargetDatabase(target, sources.backupSource)) {
        throw new Error(`refusing to restore into ${describe(target)}: it is the backup's source database (${how(sources.backupSource)}). TARGET_DB_URL must name a new, empty database`);
    }
}

export const MARKER_PREFIX = "supabase-dr recover schema target; ";

export interface TargetMarker {
    backupSha256: string;
    restoredAt: string;
    /** The backup's catalogue as restored (JSON file in the artifacts directory). */
    baseline: string;
}

export function markerText(m: TargetMarker): string {
    return MARKER_PREFIX + JSON.stringify(m);
}

export function parseMarker(comment: string | null | undefined): TargetMarker | undefined {
    if (!comment?.startsWith(MARKER_PREFIX)) return undefined;
    try {
        const m = JSON.parse(comment.slice(MARKER_PREFIX.length)) as Partial<TargetMarker>;
        return typeof m.backupSha256 === "string" && typeof m.restoredAt === "string" && typeof m.baseline === "string" ? (m as TargetMarker) : undefined;
    } catch {
        return undefined;
    }
}

export async function readMarker(client: Client): Promise<TargetMarker | undefined> {
    const r = await client.query<{ c: string | null }>("select pg_catalog.shobj_description(oid, 'pg_database') as c from pg_catalog.pg_database where datname = current_database()");
    return parseMarker(r.rows[0]?.c);
}

export async function writeMarker(client: Client, m: TargetMarker): Promise<void> {
    const db = (await client.query<{ db: string }>("select current_database() as db")).rows[0].db;
    await client.query(`comment on database ${quoteIdent(db)} is ${quoteLiteral(markerText(m))}`);
}

/** Up to `limit` objects or rows that make the target not empty ("table public.x", "rows in auth.users"). */
export async function nonEmptyReasons(client: Client, limit = 5): Promise<string[]> {
    const schemas = await client.query<{ nspname: string }>(
        "select nspname from pg_catalog.pg_namespace where nspname not in ('pg_catalog', 'information_schema') and nspname not like 'pg\\_%'",
    );
    const own = schemas.rows.map((r) => r.nspname).filter((s) => !MANAGED_SCHEMA_PATTERNS.some((p) => matchesSchemaPattern(s, p)));
    const reasons: string[] = [];
    if (own.length > 0) {
        const objects = await client.query<{ what: string }>(
            `select kind || ' ' || nspname || '.' || name as what from (
               select case c.relkind when 'r' then 'table' when 'p' then 'table' when 'v' then 'view' when 'm' then 'materialized view'
                                     when 'S' then 'sequence' when 'f' then 'foreign table' end as kind, n.nspname, c.relname::text as name, c.oid, 'pg_class'::regclass as cls
                 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                where c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and n.nspname = any ($1)
               union all
               select 'function', n.nspname, p.proname::text, p.oid, 'pg_proc'::regclass
                 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                where n.nspname = any ($1)
             ) o
             where not exists (select 1 from pg_catalog.pg_depend d where d.classid = o.cls and d.objid = o.oid and d.deptype = 'e')
             order by 1 limit $2`,
            [own, limit],
        );
        reasons.push(...objects.rows.map((r) => r.what));
    }
    for (const table of ["auth.users", "storage.objects", "supabase_migrations.schema_migrations"]) {
        if (reasons.length >= limit) break;
        const exists = await client.query("select pg_catalog.to_regclass($1) is not null as ok", [table]);
        if (!exists.rows[0].ok) continue;
        const rows = await client.query(`select 1 from ${table} limit 1`);
        if ((rows.rowCount ?? 0) > 0) reasons.push(`rows in ${table}`);
    }
    return reasons.slice(0, limit);
}
