// Makes a scratch database look like the Supabase project a `supabase db dump` trio expects:
// platform roles, the `extensions` schema and extensions, and the Supabase-managed schemas (auth,
// storage, …) whose tables data.sql loads into.
//
// Two sources for the managed schemas:
//   source   — the live source's own catalog, schema only (pg_dump of the managed schemas). Projects
//              run different versions of auth and storage, and data.sql's COPY lines name their
//              columns: only the source's own shape is sure to take them.
//   baseline — the project's own SQL modelled on a fresh Supabase project (baseline.ts, sql/).
// The source is only read (see sourceCatalog.ts; pg_dump runs in a read-only snapshot).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Client } from "pg";
import { connect, describe, parseConnectionString, quoteIdent } from "../../postgres/connection";
import { runPgTool, uriWithoutPassword, type ToolResult } from "../../postgres/tools";
import {
    applyBaselineFiles,
    assertSuperuser,
    BASELINE_DATABASE_FILES,
    BASELINE_SCHEMAS,
    ensurePlatformRoles,
    extensionsInSchema,
    missingRoles,
    PLATFORM_ROLES,
} from "./baseline";
import { shapeDifferences, tableShapes } from "./shape";
import { isReservedRole, readSourcePlatform, type CatalogObject, type SourcePlatform, type SourceRole } from "./sourceCatalog";

export { SUPABASE_ONLY_EXTENSIONS, unavailableExtensions } from "./extensions";

export interface PreparePlatformOptions {
    /** The scratch database (admin connection: a superuser). */
    targetUrl: string;
    /** The live source, when reachable. Only read. */
    sourceUrl?: string;
    /** auto: from the source's own catalog when reachable, else baseline. */
    mode: "auto" | "source" | "baseline";
    /** Roles are cluster-wide: the caller decides. When false, missing platform roles are an error naming them. */
    createRoles: boolean;
    /** pg_dump / pg_restore output is appended here (redacted). */
    logPath?: string;
    onProgress?: (m: string) => void;
}

export interface PlatformReport {
    used: "source" | "baseline";
    reason: string;
    rolesCreated: string[];
    /** The Supabase-managed schemas the target has after the prepare. */
    schemas: string[];
    /** Extensions in the target's `extensions` schema. */
    extensionsInstalled: string[];
    /** Source mode: managed schemas of the source not copied, and why. */
    skippedSchemas: { schema: string; why: string }[];
    /**
     * Source mode: triggers, policies and foreign keys on the copied tables that refer to the app's own
     * objects (e.g. on_auth_user_created calling public.handle_new_user()). They cannot exist before
     * the app's schema: run `deferredSql` after schema.sql. Empty when there are none.
     */
    deferredObjects: string[];
    deferredSql: string;
}

export async function prepareSupabaseTarget(opts: PreparePlatformOptions): Promise<PlatformReport> {
    const progress = opts.onProgress ?? (() => undefined);
    const target = await connect(opts.targetUrl, "target database");
    try {
        await assertSuperuser(target, "target database");
        if (opts.mode === "baseline") return await prepareFromBaseline(target, opts, "baseline mode requested", progress);

        if (!opts.sourceUrl) {
            if (opts.mode === "source") throw new Error("source mode needs sourceUrl (the live source database)");
            return await prepareFromBaseline(target, opts, "no source URL was given, so the project's own baseline was used", progress);
        }
        let source: Client;
        try {
            source = await connect(opts.sourceUrl, "source database");
        } catch (err) {
            if (opts.mode === "source") throw err;
            const why = `the source is unreachable (${(err as Error).message}), so the project's own baseline was used`;
            return await prepareFromBaseline(target, opts, why, progress);
        }
        let platform: SourcePlatform;
        try {
            const available = await availableExtensions(target);
            progress("reading the source's Supabase platform schemas (read only)");
            platform = await readSourcePlatform(source, (e) => available.has(e));
        } finally {
            await source.end().catch(() => undefined);
        }
        if (!platform.dumpable.includes("auth") || !platform.dumpable.includes("storage")) {
            const why = `the source has no usable auth and storage schemas (${describeSkips(platform, ["auth", "storage"])})`;
            if (opts.mode === "source") throw new Error(`cannot take the platform from the source: ${why}`);
            return await prepareFromBaseline(target, opts, `${why}, so the project's own baseline was used`, progress);
        }
        return await prepareFromSource(target, opts, platform, progress);
    } finally {
        await target.end().catch(() => undefined);
    }
}

async function prepareFromBaseline(
    target: Client,
    opts: PreparePlatformOptions,
    reason: string,
    progress: (m: string) => void,
): Promise<PlatformReport> {
    progress("creating missing Supabase platform roles");
    const rolesCreated = await ensurePlatformRoles(target, opts.createRoles);
    progress("applying the Supabase platform baseline");
    await applyBaselineFiles(target, BASELINE_DATABASE_FILES);
    return {
        used: "baseline",
        reason,
        rolesCreated,
        schemas: await existingSchemas(target, BASELINE_SCHEMAS),
        extensionsInstalled: await extensionsInSchema(target),
        skippedSchemas: [],
        deferredObjects: [],
        deferredSql: "",
    };
}

async function prepareFromSource(
    target: Client,
    opts: PreparePlatformOptions,
    platform: SourcePlatform,
    progress: (m: string) => void,
): Promise<PlatformReport> {
    const rolesCreated = await ensureRolesForSource(target, platform.roles, opts.createRoles);
    if (rolesCreated.length) progress(`created roles ${rolesCreated.join(", ")}`);
    await applyBaselineFiles(target, ["00_extensions.sql"]);

    // Running twice is fine: a schema already on the target is kept when its tables have the
    // source's shape, and refused otherwise (it was made from something else).
    const already = await existingSchemas(target, platform.dumpable);
    if (already.length) {
        const differences = shapeDifferences(filterShapes(platform.shapes, already), await tableShapes(target, already));
        if (differences.length) {
            throw new Error(
                `the target already has Supabase schema(s) ${already.join(", ")} with another shape than the source's ` +
                    `(${differences.join(" | ")}); prepare a fresh scratch database`,
            );
        }
    }
    const toCopy = platform.dumpable.filter((s) => !already.includes(s));
    let deferred: { objects: string[]; sql: string } = { objects: [], sql: "" };
    if (toCopy.length) {
        progress(`copying the source's ${toCopy.join(", ")} schema(s) (schema only)`);
        deferred = await copySchemas(opts, toCopy, platform.deferred);
        const differences = shapeDifferences(filterShapes(platform.shapes, toCopy), await tableShapes(target, toCopy));
        if (differences.length) {
            throw new Error(`after copying the source's platform schemas the target's tables still differ: ${differences.join(" | ")}`);
        }
    }
    const reason = toCopy.length
        ? `taken from the source's own catalog (${toCopy.join(", ")})`
        : `the target already has the source's platform schemas (${already.join(", ")}) with the source's shape`;
    return {
        used: "source",
        reason,
        rolesCreated,
        schemas: await existingSchemas(target, [...new Set([...platform.dumpable, "extensions"])]),
        extensionsInstalled: await extensionsInSchema(target),
        skippedSchemas: platform.skipped,
        deferredObjects: deferred.objects,
        deferredSql: deferred.sql,
    };
}

/**
 * The platform roles, plus every reserved role (supabase_*, pgsodium_*, …) the source's managed
 * schemas refer to, must exist before their dump is restored. Reserved roles outside the baseline's
 * list are created with the source's attributes (never superuser). Any other role they refer to is
 * the app's own: roles.sql of the trio creates it, so it is reported, not invented here.
 */
async function ensureRolesForSource(target: Client, roles: SourceRole[], createRoles: boolean): Promise<string[]> {
    const referenced = roles.map((r) => r.name);
    const missingPlatform = await missingRoles(target, PLATFORM_ROLES);
    const missingReferenced = await missingRoles(target, referenced.filter((n) => !PLATFORM_ROLES.includes(n)));
    const appRoles = missingReferenced.filter((n) => !isReservedRole(n));
    if (appRoles.length) {
        throw new Error(
            `the source's Supabase schemas refer to roles the target lacks and that are not platform roles: ${appRoles.join(", ")} ` +
                `(create them first, e.g. from the trio's roles.sql, then prepare again)`,
        );
    }
    const missing = [...new Set([...missingPlatform, ...missingReferenced])].sort();
    if (missing.length === 0) return [];
    if (!createRoles) {
        throw new Error(
            `the target cluster lacks the Supabase platform roles ${missing.join(", ")}; roles are cluster-wide, ` +
                `so they are created only when allowed (createRoles: true) or by the cluster's administrator`,
        );
    }
    const created = await ensurePlatformRoles(target, true);
    for (const name of missingReferenced) {
        const r = roles.find((x) => x.name === name)!;
        const attrs = [
            r.canLogin ? "login" : "nologin",
            r.inherit ? "inherit" : "noinherit",
            r.createRole ? "createrole" : "",
            r.createDb ? "createdb" : "",
            r.replication ? "replication" : "",
            r.bypassRls ? "bypassrls" : "",
        ].filter(Boolean);
        await target.query(
            `do $$ begin create role ${quoteIdent(name)} ${attrs.join(" ")}; ` +
                `exception when duplicate_object or unique_violation then null; end $$`,
        );
        created.push(name);
    }
    return created.sort();
}

/** pg_dump of the schemas (custom format), restored into the target minus the deferred objects. */
async function copySchemas(
    opts: PreparePlatformOptions,
    schemas: string[],
    deferredObjects: CatalogObject[],
): Promise<{ objects: string[]; sql: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-platform-"));
    try {
        const dumpFile = path.join(dir, "platform.dump");
        const source = opts.sourceUrl!;
        check(
            "pg_dump",
            await runPgTool(
                "pg_dump",
                [
                    `--dbname=${uriWithoutPassword(source)}`,
                    "--schema-only",
                    "--format=custom",
                    "--no-publications",
                    "--no-subscriptions",
                    "--no-security-labels",
                    ...schemas.map((s) => `--schema=${quoteIdent(s)}`),
                    `--file=${dumpFile}`,
                ],
                toolOpts(opts, source),
            ),
            `dumping the source's ${schemas.join(", ")} schema(s) from ${describe(parseConnectionString(source))}`,
        );
        const listFile = path.join(dir, "toc.list");
        check("pg_restore", await runPgTool("pg_restore", ["--list", `--file=${listFile}`, dumpFile], toolOpts(opts)), "listing the dump");
        const toc = fs.readFileSync(listFile, "utf8").split("\n");
        const isDeferred = (line: string) => {
            const m = /^\s*\d+;\s+(\d+)\s+(\d+)\s/.exec(line);
            return !!m && deferredObjects.some((o) => o.classOid === Number(m[1]) && o.oid === Number(m[2]));
        };
        const keptList = path.join(dir, "kept.list");
        const deferredList = path.join(dir, "deferred.list");
        fs.writeFileSync(keptList, toc.map((l) => (isDeferred(l) ? `;${l}` : l)).join("\n"));
        const deferredLines = toc.filter(isDeferred);
        fs.writeFileSync(deferredList, deferredLines.join("\n") + "\n");

        check(
            "pg_restore",
            await runPgTool(
                "pg_restore",
                [
                    `--dbname=${uriWithoutPassword(opts.targetUrl)}`,
                    "--single-transaction",
                    "--exit-on-error",
                    "--no-password",
                    `--use-list=${keptList}`,
                    dumpFile,
                ],
                toolOpts(opts, opts.targetUrl),
            ),
            `restoring the source's platform schemas into ${describe(parseConnectionString(opts.targetUrl))}`,
        );
        if (deferredLines.length === 0) return { objects: [], sql: "" };
        const deferredFile = path.join(dir, `deferred-${randomBytes(4).toString("hex")}.sql`);
        check(
            "pg_restore",
            await runPgTool("pg_restore", [`--use-list=${deferredList}`, `--file=${deferredFile}`, dumpFile], toolOpts(opts)),
            "writing the deferred platform objects",
        );
        const found = deferredObjects.filter((o) => deferredLines.some((l) => new RegExp(`^\\s*\\d+;\\s+${o.classOid}\\s+${o.oid}\\s`).test(l)));
        return { objects: found.map((o) => o.description), sql: fs.readFileSync(deferredFile, "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function toolOpts(opts: PreparePlatformOptions, connection?: string) {
    return { connection, logFile: opts.logPath, keep: /error|fatal/i, timeoutMs: 30 * 60_000 };
}

function check(tool: string, result: ToolResult, what: string): void {
    if (result.exitCode === 0) return;
    const detail = (result.matched.length ? result.matched : result.lines).slice(-5).join(" / ");
    throw new Error(`${what} failed (${tool} exit ${result.exitCode}): ${detail}`);
}

function filterShapes<T>(shapes: Record<string, T>, schemas: string[]): Record<string, T> {
    return Object.fromEntries(Object.entries(shapes).filter(([table]) => schemas.includes(table.split(".")[0])));
}

async function existingSchemas(client: Client, names: readonly string[]): Promise<string[]> {
    const r = await client.query<{ nspname: string }>(
        "select nspname from pg_catalog.pg_namespace where nspname = any($1::text[]) order by 1",
        [[...names]],
    );
    return r.rows.map((row) => row.nspname);
}

async function availableExtensions(client: Client): Promise<Set<string>> {
    const r = await client.query<{ name: string }>("select name from pg_catalog.pg_available_extensions");
    return new Set(r.rows.map((row) => row.name));
}

function describeSkips(platform: SourcePlatform, schemas: string[]): string {
    return schemas
        .map((s) => {
            if (platform.dumpable.includes(s)) return `${s}: usable`;
            const skip = platform.skipped.find((x) => x.schema === s);
            return skip ? `${s}: ${skip.why}` : `${s}: absent`;
        })
        .join("; ");
}
