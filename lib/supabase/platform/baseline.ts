// Loads and applies the project's own Supabase platform baseline (the .sql files beside this module).
// Two separate steps, because their scope differs: the platform roles are cluster-wide (the caller
// decides whether it may create them), everything else belongs to one database.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Client } from "pg";

const SQL_DIR = path.join(__dirname, "sql");

/** Per-database files, in the order they run (one transaction). */
export const BASELINE_DATABASE_FILES = ["00_extensions.sql", "10_schemas.sql", "20_auth.sql", "30_storage.sql"] as const;
export type BaselineFile = "roles.sql" | (typeof BASELINE_DATABASE_FILES)[number];

/** Roles a fresh Supabase project's cluster has (roles.sql creates the missing ones). */
export const PLATFORM_ROLES: readonly string[] = Object.freeze([
    "anon",
    "authenticated",
    "service_role",
    "authenticator",
    "supabase_admin",
    "supabase_auth_admin",
    "supabase_storage_admin",
    "supabase_realtime_admin",
    "supabase_replication_admin",
    "supabase_read_only_user",
    "dashboard_user",
    "pgbouncer",
    "postgres",
]);

/** Schemas the baseline makes (besides public). */
export const BASELINE_SCHEMAS: readonly string[] = Object.freeze([
    "extensions",
    "auth",
    "storage",
    "realtime",
    "graphql",
    "graphql_public",
    "vault",
    "pgbouncer",
    "supabase_migrations",
]);

/** The text of one baseline file. */
export function baselineSql(file: BaselineFile): string {
    const full = path.join(SQL_DIR, file);
    try {
        return fs.readFileSync(full, "utf8");
    } catch (err) {
        throw new Error(`the Supabase platform baseline file ${full} cannot be read: ${(err as Error).message}`);
    }
}

/** Throws unless the connection is a superuser: the baseline sets owners and creates a superuser role. */
export async function assertSuperuser(client: Client, label: string): Promise<void> {
    const r = await client.query<{ user: string; superuser: boolean }>(
        "select current_user as user, rolsuper as superuser from pg_catalog.pg_roles where rolname = current_user",
    );
    const row = r.rows[0];
    if (!row?.superuser) {
        throw new Error(
            `the ${label} connection (role ${row?.user ?? "?"}) is not a superuser: preparing a Supabase platform ` +
                `sets owners to the platform roles and creates supabase_admin, which needs one`,
        );
    }
}

/** The given roles that do not exist on the connection's cluster, sorted. */
export async function missingRoles(client: Client, names: readonly string[]): Promise<string[]> {
    const r = await client.query<{ rolname: string }>(
        "select rolname from pg_catalog.pg_roles where rolname = any($1::text[])",
        [[...names]],
    );
    const present = new Set(r.rows.map((row) => row.rolname));
    return [...new Set(names)].filter((n) => !present.has(n)).sort();
}

/**
 * Creates the platform roles that are missing (never alters an existing one) and returns the names
 * created. With createRoles false nothing is created: a missing role is an error naming them all.
 */
export async function ensurePlatformRoles(client: Client, createRoles: boolean): Promise<string[]> {
    const missing = await missingRoles(client, PLATFORM_ROLES);
    if (missing.length === 0) return [];
    if (!createRoles) {
        throw new Error(
            `the target cluster lacks the Supabase platform roles ${missing.join(", ")}; roles are cluster-wide, ` +
                `so they are created only when allowed (createRoles: true) or by the cluster's administrator`,
        );
    }
    await client.query(baselineSql("roles.sql"));
    const still = await missingRoles(client, missing);
    if (still.length > 0) throw new Error(`creating the Supabase platform roles left ${still.join(", ")} missing`);
    return missing;
}

/** Runs the given per-database baseline files in one transaction (all or nothing). */
export async function applyBaselineFiles(client: Client, files: readonly BaselineFile[]): Promise<void> {
    await client.query("begin");
    try {
        for (const file of files) {
            try {
                await client.query(baselineSql(file));
            } catch (err) {
                throw new Error(`applying the Supabase platform baseline ${file} failed: ${(err as Error).message}`);
            }
        }
        await client.query("commit");
    } catch (err) {
        await client.query("rollback").catch(() => undefined);
        throw err;
    }
}

/** Extensions installed in the `extensions` schema, sorted. */
export async function extensionsInSchema(client: Client): Promise<string[]> {
    const r = await client.query<{ extname: string }>(
        `select e.extname from pg_catalog.pg_extension e
           join pg_catalog.pg_namespace n on n.oid = e.extnamespace
          where n.nspname = 'extensions' order by 1`,
    );
    return r.rows.map((row) => row.extname);
}
