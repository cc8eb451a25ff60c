// Extensions a Supabase project may have that plain PostgreSQL (server + contrib) does not ship.
// Decided from supabase/postgres: the extensions it builds itself (nix/ext/*.nix) and the list of
// extensions a project may enable (ansible/files/postgresql_config/supautils.conf.j2,
// supautils.privileged_extensions), minus what PostgreSQL's contrib provides. Libraries without an
// extension (supautils, safeupdate, pg_plan_filter, wal2json) are not listed: no dump names them.
import { withClient } from "../../postgres/connection";

/** Why each extension is Supabase-only (for messages and the report). */
export const SUPABASE_ONLY_EXTENSION_NOTES: Readonly<Record<string, string>> = {
    pg_graphql: "GraphQL API (schema graphql); built by Supabase",
    pgsodium: "libsodium cryptography; older Vault key backend",
    supabase_vault: "Vault secrets (schema vault); built by Supabase",
    pg_net: "asynchronous HTTP from SQL (schema net); built by Supabase",
    pg_cron: "job scheduler (schema cron)",
    pgjwt: "JWT sign/verify in SQL",
    pg_jsonschema: "JSON Schema validation; built by Supabase",
    wrappers: "foreign data wrappers (Stripe, S3, …); built by Supabase",
    pgmq: "message queues (schema pgmq)",
    pg_tle: "Trusted Language Extensions (schema pgtle)",
    plpgsql_check: "PL/pgSQL linter",
    pgaudit: "audit logging",
    pg_hashids: "short ids from numbers",
    index_advisor: "index suggestions; built by Supabase",
    hypopg: "hypothetical indexes",
    pgroonga: "full-text search for all languages",
    pgroonga_database: "PGroonga database-wide objects",
    postgis: "geospatial types and functions",
    postgis_raster: "PostGIS raster types",
    postgis_sfcgal: "PostGIS 3D functions",
    postgis_topology: "PostGIS topology (schema topology)",
    postgis_tiger_geocoder: "PostGIS US geocoder (schemas tiger, tiger_data)",
    address_standardizer: "PostGIS address parsing",
    address_standardizer_data_us: "PostGIS US address data",
    pgrouting: "routing on PostGIS graphs",
    timescaledb: "time-series hypertables",
    vector: "pgvector embeddings",
    rum: "RUM full-text index access method",
    http: "synchronous HTTP client (pgsql-http)",
    pgtap: "unit testing",
    pg_repack: "online table repacking (schema repack)",
    pg_stat_monitor: "query statistics (Percona)",
    pg_partman: "partition management",
    plv8: "JavaScript procedural language",
    plls: "LiveScript procedural language (plv8)",
    plcoffee: "CoffeeScript procedural language (plv8)",
    pljava: "Java procedural language",
    orioledb: "OrioleDB table access method",
};

/** Extensions a Supabase project may have that plain PostgreSQL does not ship; the drill's default allow-list. */
export const SUPABASE_ONLY_EXTENSIONS: readonly string[] = Object.freeze(Object.keys(SUPABASE_ONLY_EXTENSION_NOTES));

/** The names among `names` that the target server cannot install (not in pg_available_extensions). */
export async function unavailableExtensions(targetUrl: string, names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const available = await withClient(targetUrl, "target database", async (c) => {
        const r = await c.query<{ name: string }>(
            "select name from pg_catalog.pg_available_extensions where name = any($1::text[])",
            [names],
        );
        return new Set(r.rows.map((row) => row.name));
    });
    return [...new Set(names)].filter((n) => !available.has(n)).sort();
}
