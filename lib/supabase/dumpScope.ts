// What a `supabase db dump` trio carries, so a drill compares exactly that. The CLI leaves the
// platform's and the extensions' schemas out of schema.sql and data.sql, and data.sql also leaves out
// the platform's own migration tables (supabase/cli, apps/cli-go/pkg/migration/dump.go excludedSchemas,
// scripts/dump_data.sh --exclude-table). auth and storage data stay in; supabase_migrations does not,
// so a trio never carries the project's migration history.
import type { FingerprintOptions } from "../validate/types";

export const TRIO_EXCLUDED_SCHEMAS: readonly string[] = Object.freeze([
    "graphql", "graphql_public", "pgsodium", "pgsodium_masks", "pgtle", "repack", "tiger", "tiger_data", "topology",
    "vault", "etl", "extensions", "pgbouncer", "realtime", "supabase_migrations", "_analytics", "_realtime", "_supavisor",
]);

export const TRIO_EXCLUDED_TABLES: readonly string[] = Object.freeze([
    "auth.schema_migrations", "storage.migrations", "supabase_functions.migrations",
]);

/** The fingerprint options of a trio's validation: the user's, less what the trio does not carry. */
export function trioFingerprintOptions(options: FingerprintOptions): FingerprintOptions {
    return {
        ...options,
        excludeSchemas: [...new Set([...(options.excludeSchemas ?? []), ...TRIO_EXCLUDED_SCHEMAS])],
        excludeTables: [...new Set([...(options.excludeTables ?? []), ...TRIO_EXCLUDED_TABLES])],
    };
}
