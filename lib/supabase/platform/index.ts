// The Supabase platform part of a restore target: the project's own baseline of a fresh Supabase
// project (sql/, baseline.ts), a prepare that takes the platform from the live source's catalog
// when it can (prepare.ts), and the catalogue of Supabase-only extensions (extensions.ts).
import { connect } from "../../postgres/connection";
import {
    applyBaselineFiles,
    assertSuperuser,
    BASELINE_DATABASE_FILES,
    BASELINE_SCHEMAS,
    ensurePlatformRoles,
    extensionsInSchema,
} from "./baseline";

export { BASELINE_SCHEMAS, PLATFORM_ROLES } from "./baseline";
export { SUPABASE_ONLY_EXTENSIONS, SUPABASE_ONLY_EXTENSION_NOTES, unavailableExtensions } from "./extensions";
export { prepareSupabaseTarget, type PlatformReport, type PreparePlatformOptions } from "./prepare";
export { shapeDifferences, tableShapes, type TableShapes } from "./shape";

/**
 * Creates the Supabase platform roles missing on the target's cluster (an existing role is never
 * altered) and returns the names created. Roles are cluster-wide: call it only where the caller
 * has decided that the cluster may be changed.
 */
export async function applyPlatformRoles(targetUrl: string): Promise<string[]> {
    const c = await connect(targetUrl, "target database");
    try {
        await assertSuperuser(c, "target database");
        return await ensurePlatformRoles(c, true);
    } finally {
        await c.end().catch(() => undefined);
    }
}

/**
 * Applies the per-database baseline (extensions schema and extensions, managed schemas, auth and
 * storage at today's shape, privileges, the supabase_realtime publication) in one transaction.
 * The platform roles must exist (applyPlatformRoles). Idempotent.
 */
export async function applyPlatformSchemas(targetUrl: string): Promise<{ schemas: string[]; extensionsInstalled: string[] }> {
    const c = await connect(targetUrl, "target database");
    try {
        await assertSuperuser(c, "target database");
        await ensurePlatformRoles(c, false);
        await applyBaselineFiles(c, BASELINE_DATABASE_FILES);
        const r = await c.query<{ nspname: string }>(
            "select nspname from pg_catalog.pg_namespace where nspname = any($1::text[]) order by 1",
            [[...BASELINE_SCHEMAS]],
        );
        return { schemas: r.rows.map((row) => row.nspname), extensionsInstalled: await extensionsInSchema(c) };
    } finally {
        await c.end().catch(() => undefined);
    }
}
