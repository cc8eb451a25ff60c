// Makes a local restore target look like a fresh Supabase project before a backup made for one is
// restored into it (a `supabase db dump` trio expects the platform's roles, managed schemas, auth and
// storage tables and extensions to exist). A scratch Supabase project needs none of this.
//
//   roles      the platform roles, then the backup's own (roles.sql, or the live source's custom roles
//              for a plain dump) — only where rolesGuard allows cluster-wide changes;
//   platform   "source": the managed schemas from the source's own catalog (its auth/storage version);
//              "baseline": the project's model of today's Supabase; "auto" (default): source when it is
//              reachable, else baseline, and the log says which (lib/supabase/platform does the work);
//              what needs the application's schema (a trigger on auth.users calling a public function)
//              is created after the data.
import * as fs from "node:fs";
import * as path from "node:path";
import { withClient } from "../postgres/connection";
import { runPgTool, uriWithoutPassword } from "../postgres/tools";
import { applyPlatformRoles, prepareSupabaseTarget } from "../supabase/platform";
import { rolesRefusal, type RolesDecision } from "./rolesGuard";
import { dumpSourceRoles } from "./sourceRoles";

export type PlatformMode = "auto" | "source" | "baseline" | "none";

export interface SupabaseTargetContext {
    targetUrl: string;
    /** The live source, for its catalog (read only). */
    sourceUrl?: string;
    rolesDecision: RolesDecision;
    platform: PlatformMode;
    /** Scratch files (platform archive, role scripts) go here; the caller removes it. */
    workDir: string;
    logPath: string;
    progress: (message: string) => void;
}

export interface PlatformPrepared {
    used: "source" | "baseline" | "none";
    reason: string;
    /** Objects on the platform's tables that need the application's schema first (source mode). */
    deferredSql: string;
    extensionsInstalled: string[];
}

const ROLE_ERRORS_ALLOWED = [/role ".*" already exists/];

async function sourceReachable(url: string | undefined): Promise<boolean> {
    if (!url) return false;
    return withClient(url, "source database", async (c) => (await c.query("select 1")).rowCount === 1).catch(() => false);
}

/**
 * Whether the live source has Supabase's auth schema: true or false, or undefined when it cannot be
 * read (no URL, unreachable). A catalog lookup that cannot fail, so it logs nothing on the source.
 */
export async function sourceHasAuthSchema(url: string | undefined): Promise<boolean | undefined> {
    if (!url) return undefined;
    return withClient(url, "source database", async (c) => (await c.query("select 1 from pg_catalog.pg_namespace where nspname = 'auth'")).rowCount === 1).catch(() => undefined);
}

/** Applies a role script (roles.sql, or the source's roles) with psql; "already exists" is expected. */
async function applyRoleScript(ctx: SupabaseTargetContext, file: string): Promise<string[]> {
    const r = await runPgTool("psql", ["-X", "-q", `--dbname=${uriWithoutPassword(ctx.targetUrl)}`, "-f", file], {
        connection: ctx.targetUrl,
        logFile: ctx.logPath,
        keep: /(^|: )(ERROR|FATAL):\s/,
    });
    const errors = r.matched.filter((l) => !ROLE_ERRORS_ALLOWED.some((re) => re.test(l)));
    if (errors.length > 0 || (r.exitCode !== 0 && r.matched.length === 0)) {
        throw new Error(`applying ${path.basename(file)} failed: ${errors.slice(0, 3).join("; ") || `psql exit ${r.exitCode}`}`);
    }
    return r.matched.filter((l) => ROLE_ERRORS_ALLOWED.some((re) => re.test(l)));
}

/**
 * Roles first: the platform's, then the backup's (`rolesFile`) or, for a dump without one, the live
 * source's custom roles. Returns what the log should say.
 */
export async function prepareRoles(ctx: SupabaseTargetContext, rolesFile: string | undefined): Promise<string[]> {
    const d = ctx.rolesDecision;
    if (!d.apply) {
        if (d.refuse) throw rolesRefusal(rolesFile ? "roles.sql" : "the Supabase platform roles", d);
        return [`roles not applied: ${d.reason}`];
    }
    const notes: string[] = [];
    ctx.progress("restore: platform roles");
    const created = await applyPlatformRoles(ctx.targetUrl);
    notes.push(`platform roles created: ${created.length > 0 ? created.join(", ") : "none missing"} (${d.reason})`);
    let script = rolesFile;
    if (!script && (await sourceReachable(ctx.sourceUrl))) {
        script = path.join(ctx.workDir, "source-roles.sql");
        await dumpSourceRoles(ctx.sourceUrl!, script, ctx.logPath);
        notes.push("custom roles read from the live source (pg_dumpall --roles-only, no passwords)");
    }
    if (script) {
        ctx.progress(`restore: ${path.basename(script)}`);
        const existing = await applyRoleScript(ctx, script);
        notes.push(`${path.basename(script)} applied${existing.length > 0 ? ` (${existing.length} role(s) existed already)` : ""}`);
    }
    return notes;
}

/** The platform schemas, before the backup's own schema (lib/supabase/platform does the work). */
export async function preparePlatform(ctx: SupabaseTargetContext): Promise<PlatformPrepared> {
    if (ctx.platform === "none") return { used: "none", reason: "restore.platform is none", deferredSql: "", extensionsInstalled: [] };
    if (ctx.platform === "auto" && (await sourceHasAuthSchema(ctx.sourceUrl)) === false) {
        return { used: "none", reason: "the source is not a Supabase project (it has no auth schema): no platform part is needed", deferredSql: "", extensionsInstalled: [] };
    }
    const report = await prepareSupabaseTarget({
        targetUrl: ctx.targetUrl,
        sourceUrl: ctx.sourceUrl,
        mode: ctx.platform,
        // Roles are cluster-wide: only where rolesGuard allowed them (elsewhere they must exist already).
        createRoles: ctx.rolesDecision.apply,
        logPath: ctx.logPath,
        onProgress: (m) => ctx.progress(`restore: ${m}`),
    });
    const skipped = report.skippedSchemas.map((s) => `${s.schema} (${s.why})`);
    return {
        used: report.used,
        reason: report.used === "source"
            ? `taken from the source's own catalog (${report.schemas.join(", ")})${skipped.length > 0 ? `; not copied: ${skipped.join("; ")}` : ""}`
            : report.reason,
        deferredSql: report.deferredSql,
        extensionsInstalled: report.extensionsInstalled,
    };
}

/** After the data: the platform's triggers, policies and keys that call the application's own objects. */
export async function finishPlatform(ctx: SupabaseTargetContext, prepared: PlatformPrepared): Promise<void> {
    if (!prepared.deferredSql.trim()) return;
    ctx.progress("restore: platform triggers and policies that use the application's objects");
    // pg_restore's script output (with its \restrict lines): psql runs it, in one transaction.
    const file = path.join(ctx.workDir, "platform-deferred.sql");
    fs.writeFileSync(file, prepared.deferredSql, { mode: 0o600 });
    const r = await runPgTool("psql", ["-X", "-q", "--single-transaction", "-v", "ON_ERROR_STOP=1", `--dbname=${uriWithoutPassword(ctx.targetUrl)}`, "-f", file], {
        connection: ctx.targetUrl,
        logFile: ctx.logPath,
        keep: /(^|: )(ERROR|FATAL):\s/,
    });
    if (r.exitCode !== 0) {
        throw new Error(`creating the platform's deferred triggers and policies failed: ${r.matched[0] ?? `psql exit ${r.exitCode}`}`);
    }
}
