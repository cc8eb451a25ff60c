// Makes a `supabase db dump` trio the way the Supabase CLI makes it, so tests restore what users hold:
//   supabase db dump --role-only            > roles.sql
//   supabase db dump                        > schema.sql
//   supabase db dump --use-copy --data-only > data.sql
// The CLI runs pg_dumpall / pg_dump through shell pipelines with sed filters (supabase/cli,
// apps/cli-go/pkg/migration/dump.go and scripts/dump_{role,schema,data}.sh). The flags, schema and role
// lists and filter expressions below are those facts, restated; the pipelines run real pg_dump,
// pg_dumpall and sed. Connection settings travel in PG* variables, as the CLI passes them.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { findPgTool } from "../../lib/postgres/binaries";
import { parseConnectionString } from "../../lib/postgres/connection";

const exec = promisify(execFile);

/** dump.go InternalSchemas: left out of schema.sql. */
const INTERNAL_SCHEMAS = [
    "information_schema", "pg_*", "_analytics", "_realtime", "_supavisor", "auth", "etl", "extensions", "pgbouncer",
    "realtime", "storage", "supabase_functions", "supabase_migrations", "cron", "dbdev", "graphql", "graphql_public",
    "net", "pgmq", "pgsodium", "pgsodium_masks", "pgtle", "repack", "tiger", "tiger_data", "timescaledb_*",
    "_timescaledb_*", "topology", "vault",
];
/** dump.go excludedSchemas: left out of data.sql (auth and storage data stay in). */
const DATA_EXCLUDED_SCHEMAS = [
    "information_schema", "pg_*", "graphql", "graphql_public", "pgsodium", "pgsodium_masks", "pgtle", "repack", "tiger",
    "tiger_data", "timescaledb_*", "_timescaledb_*", "topology", "vault", "etl", "extensions", "pgbouncer", "realtime",
    "supabase_migrations", "_analytics", "_realtime", "_supavisor",
];
const RESERVED_ROLES = [
    "anon", "authenticated", "authenticator", "cli_login_.*", "dashboard_user", "pgbouncer", "postgres", "service_role",
    "supabase_.*", "pgsodium_keyholder", "pgsodium_keyiduser", "pgsodium_keymaker", "pgtle_admin",
];
const ALLOWED_CONFIGS = ["pgaudit.*", "pgrst.*", "session_replication_role", "statement_timeout", "track_io_timing"];

const ROLE_SCRIPT = String.raw`
pg_dumpall --roles-only --role "postgres" --quote-all-identifier --no-role-passwords --no-comments \
| sed -E 's/^\\(un)?restrict .*$/-- &/' \
| sed -E "s/^CREATE ROLE \"($RESERVED_ROLES)\"/-- &/" \
| sed -E "s/^ALTER ROLE \"($RESERVED_ROLES)\"/-- &/" \
| sed -E "s/ (NOSUPERUSER|NOREPLICATION)//g" \
| sed -E "s/^-- (.* SET \"($ALLOWED_CONFIGS)\" .*)/\1/" \
| sed -E "s/GRANT \".*\" TO \"($RESERVED_ROLES)\"/-- &/" \
| sed -E "$EXTRA_SED" \
| uniq
echo "RESET ALL;"`;

const SCHEMA_SCRIPT = String.raw`
pg_dump --schema-only --quote-all-identifier --role "postgres" --exclude-schema "$EXCLUDED_SCHEMAS" \
| sed -E 's/^\\(un)?restrict .*$/-- &/' \
| sed -E 's/^CREATE SCHEMA "/CREATE SCHEMA IF NOT EXISTS "/' \
| sed -E 's/^CREATE TABLE "/CREATE TABLE IF NOT EXISTS "/' \
| sed -E 's/^CREATE SEQUENCE "/CREATE SEQUENCE IF NOT EXISTS "/' \
| sed -E 's/^CREATE VIEW "/CREATE OR REPLACE VIEW "/' \
| sed -E 's/^CREATE FUNCTION "/CREATE OR REPLACE FUNCTION "/' \
| sed -E 's/^CREATE TRIGGER "/CREATE OR REPLACE TRIGGER "/' \
| sed -E 's/^CREATE PUBLICATION "supabase_realtime/-- &/' \
| sed -E 's/^CREATE EVENT TRIGGER /-- &/' \
| sed -E 's/^         WHEN TAG IN /-- &/' \
| sed -E 's/^   EXECUTE FUNCTION /-- &/' \
| sed -E 's/^ALTER EVENT TRIGGER /-- &/' \
| sed -E 's/^ALTER PUBLICATION "supabase_realtime_/-- &/' \
| sed -E 's/^ALTER FOREIGN DATA WRAPPER (.+) OWNER TO /-- &/' \
| sed -E 's/^ALTER DEFAULT PRIVILEGES FOR ROLE "supabase_admin"/-- &/' \
| sed -E 's/^GRANT ALL ON FOREIGN DATA WRAPPER (.+) TO "postgres" WITH GRANT OPTION/-- &/' \
| sed -E "s/^GRANT (.+) ON (.+) \"($EXCLUDED_SCHEMAS)\"/-- &/" \
| sed -E "s/^REVOKE (.+) ON (.+) \"($EXCLUDED_SCHEMAS)\"/-- &/" \
| sed -E 's/^(CREATE EXTENSION IF NOT EXISTS "pg_tle").+/\1;/' \
| sed -E 's/^(CREATE EXTENSION IF NOT EXISTS "pgsodium").+/\1;/' \
| sed -E 's/^(CREATE EXTENSION IF NOT EXISTS "pgmq").+/\1;/' \
| sed -E 's/^COMMENT ON EXTENSION (.+)/-- &/' \
| sed -E 's/^CREATE POLICY "cron_job_/-- &/' \
| sed -E 's/^ALTER TABLE "cron"/-- &/' \
| sed -E 's/^SET transaction_timeout = 0;/-- &/' \
| sed -E "$EXTRA_SED"`;

const DATA_SCRIPT = String.raw`
echo "SET session_replication_role = replica;
"
pg_dump --data-only --quote-all-identifier --role "postgres" --exclude-schema "$EXCLUDED_SCHEMAS" \
    --exclude-table "auth.schema_migrations" --exclude-table "storage.migrations" \
    --exclude-table "supabase_functions.migrations" --schema "$INCLUDED_SCHEMAS" \
| sed -E 's/^\\(un)?restrict .*$/-- &/'
echo "RESET ALL;"`;

async function runScript(script: string, dbUrl: string, vars: Record<string, string>, outFile: string): Promise<void> {
    const info = parseConnectionString(dbUrl, "fixture database");
    const binDir = path.dirname(findPgTool("pg_dump"));
    const env = {
        ...process.env,
        PATH: `${binDir}:${process.env.PATH ?? ""}`,
        PGHOST: info.host,
        PGPORT: String(info.port),
        PGUSER: info.user ?? "postgres",
        PGPASSWORD: info.password ?? "",
        PGDATABASE: info.database,
        ...vars,
    };
    const { stdout } = await exec("bash", ["-c", `set -euo pipefail\n${script}`], { env, maxBuffer: 512 * 1024 * 1024 });
    fs.writeFileSync(outFile, stdout);
}

export interface CliTrio {
    dir: string;
    roles: string;
    schema: string;
    data: string;
}

/** Writes roles.sql, schema.sql and data.sql of the database at `dbUrl` into `dir`. */
export async function supabaseDbDumpTrio(dbUrl: string, dir: string): Promise<CliTrio> {
    fs.mkdirSync(dir, { recursive: true });
    const trio = { dir, roles: path.join(dir, "roles.sql"), schema: path.join(dir, "schema.sql"), data: path.join(dir, "data.sql") };
    // Without --keep-comments the CLI deletes comment lines from roles.sql and schema.sql.
    await runScript(ROLE_SCRIPT, dbUrl, { RESERVED_ROLES: RESERVED_ROLES.join("|"), ALLOWED_CONFIGS: ALLOWED_CONFIGS.join("|"), EXTRA_SED: "/^--/d" }, trio.roles);
    await runScript(SCHEMA_SCRIPT, dbUrl, { EXCLUDED_SCHEMAS: INTERNAL_SCHEMAS.join("|"), EXTRA_SED: "/^--/d" }, trio.schema);
    await runScript(DATA_SCRIPT, dbUrl, { EXCLUDED_SCHEMAS: DATA_EXCLUDED_SCHEMAS.join("|"), INCLUDED_SCHEMAS: "*" }, trio.data);
    return trio;
}
