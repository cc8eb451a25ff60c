// Restores a backup (by its manifest) into a target database.
//
// Order matters: the backup's sha256 is verified BEFORE anything touches the target, so a corrupt or
// tampered backup leaves the target untouched; so are the SQL safety scan and the extension plan. The
// target must not be a protected source. Custom format goes through `pg_restore -j <n> --no-owner`; SQL
// through `psql --single-transaction -v ON_ERROR_STOP=1`. A `supabase db dump` trio is restored the way
// Supabase documents it — roles, schema, then data with `session_replication_role = replica` — into a
// target made Supabase-shaped first (supabaseTarget.ts). Roles are cluster-wide: rolesGuard.ts decides
// by server identity whether they may be applied. The full tool output is kept in the restore log, and
// any error fails the restore unless it matches the user's allow-list.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { verifyChecksums } from "../backup/checksum";
import { readManifest, resolveFile, type BackupManifest } from "../backup/manifest";
import { describe } from "../postgres/connection";
import { runPgTool, uriWithoutPassword, type ToolResult } from "../postgres/tools";
import { assertScratchDatabase } from "../postgres/scratchDatabase";
import { assertNotSource, identify, identityFromEndpoint, type DatabaseIdentity } from "../postgres/sourceGuard";
import { SUPABASE_ONLY_EXTENSIONS } from "../supabase/platform";
import { planExtensions, sqlExtensions, unavailableOn, writeWithoutExtensions } from "./extensions";
import { decideRoles, type DrillServer } from "./rolesGuard";
import { assertSafeSqlBackup } from "./sqlSafety";
import { finishPlatform, prepareRoles, preparePlatform, sourceHasAuthSchema, type PlatformMode, type PlatformPrepared, type SupabaseTargetContext } from "./supabaseTarget";
import { belongsToExtension, readToc, tocExtensions, writeTocList } from "./tocList";
import { CheckFailedError, UsageError } from "../errors";

export interface RestoreOptions {
    manifestPath: string;
    targetUrl: string;
    /** pg_restore parallel jobs. Default: number of CPUs, at most 4. */
    jobs?: number;
    /** Regular expressions; an error line matching one of them does not fail the restore. */
    allowErrors?: string[];
    /** Where the full restore log goes (restore_<ts>.log). */
    logPath: string;
    /**
     * Source databases that must never be the target (besides the manifest's own source). The first is
     * also the live source whose catalog a Supabase-shaped target is prepared from (read only).
     */
    protectedSources?: string[];
    /** Refuse a target without a supabase-dr scratch marker (true for ScratchDatabase targets). */
    requireScratchMarker?: boolean;
    /** The target's server was created by the drill (its own cluster, or a scratch Supabase project). */
    drillServer?: DrillServer;
    /** How a backup made for a Supabase project is restored (see RestoreSettings in the drill). */
    supabase?: { platform?: PlatformMode; allowMissingExtensions?: string[] };
    onProgress?: (message: string) => void;
}

export interface RestoreResult {
    format: BackupManifest["format"];
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    checksumMs: number;
    target: string;
    errors: string[];
    allowedErrors: string[];
    logPath: string;
    /** Extensions the backup creates that the target lacks, left out because they are allow-listed. */
    extensionsSkipped: string[];
    /** Where the Supabase platform part came from, when one was prepared. */
    platform?: { used: PlatformPrepared["used"]; reason: string };
    /** What the restore decided along the way (roles applied or not, and why). */
    notes: string[];
}

const ERROR_LINE = { pg_restore: /^pg_restore: error: /, psql: /(^|: )(ERROR|FATAL|PANIC):\s/ } as const;

function compileAllowList(patterns: string[] = []): RegExp[] {
    return patterns.map((p) => {
        try {
            return new RegExp(p);
        } catch (err) {
            throw new UsageError(`allowErrors pattern /${p}/ is not a valid regular expression: ${(err as Error).message}`, { cause: err });
        }
    });
}

export async function verifyBackup(manifestPath: string): Promise<BackupManifest> {
    const manifest = readManifest(manifestPath);
    const mismatches = await verifyChecksums(
        path.dirname(manifestPath),
        manifest.files.map((f) => ({ name: resolveFile(manifestPath, f), sha256: f.sha256 })),
    );
    if (mismatches.length > 0) {
        const detail = mismatches
            .map((m) => `${path.basename(m.name)}: expected ${m.expected}, got ${m.actual}`)
            .join("; ");
        throw new CheckFailedError(`backup ${manifest.id} failed its checksum check (${detail}); the target was not touched`);
    }
    return manifest;
}

/** Identities of the protected sources; an unreachable one still guards by its endpoint. */
async function sourceIdentities(urls: string[], manifest: BackupManifest): Promise<DatabaseIdentity[]> {
    const sources: DatabaseIdentity[] = [];
    for (const url of urls) {
        sources.push(
            await identify(url, "source database").catch(() => {
                const u = new URL(url);
                return { host: u.hostname, port: Number(u.port || 5432), database: decodeURIComponent(u.pathname.slice(1)) || "postgres" };
            }),
        );
    }
    if (manifest.source) sources.push(identityFromEndpoint(manifest.source.endpoint, manifest.source.systemIdentifier));
    return sources;
}

/** A dump of a Supabase project: it has the platform's auth schema (or its live source has). */
async function isSupabaseDump(tocHasAuth: boolean | undefined, sourceUrl: string | undefined): Promise<boolean> {
    return tocHasAuth === true || (await sourceHasAuthSchema(sourceUrl)) === true;
}

export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
    const progress = opts.onProgress ?? (() => undefined);
    const started = Date.now();
    progress("verifying backup checksum");
    const manifest = await verifyBackup(opts.manifestPath);
    const checksumMs = Date.now() - started;

    const protectedUrls = opts.protectedSources ?? [];
    const target = await identify(opts.targetUrl, "target database");
    const sources = await sourceIdentities(protectedUrls, manifest);
    assertNotSource(target, sources);
    if (opts.requireScratchMarker) await assertScratchDatabase(opts.targetUrl, "restore into");

    const files = manifest.files.map((f) => resolveFile(opts.manifestPath, f));
    const allow = compileAllowList(opts.allowErrors);
    const allowMissing = opts.supabase?.allowMissingExtensions ?? SUPABASE_ONLY_EXTENSIONS;
    const platformMode = opts.supabase?.platform ?? "auto";
    const sourceUrl = protectedUrls[0];
    const isProject = opts.drillServer?.supabaseProject === true;
    const notes: string[] = [];
    let extensionsSkipped: string[] = [];
    let platform: PlatformPrepared | undefined;

    fs.mkdirSync(path.dirname(opts.logPath), { recursive: true });
    const workDir = fs.mkdtempSync(path.join(path.dirname(opts.logPath), ".restore-work-"));
    const ctx: SupabaseTargetContext = {
        targetUrl: opts.targetUrl,
        sourceUrl,
        rolesDecision: decideRoles(target, sources, opts.drillServer),
        platform: platformMode,
        workDir,
        logPath: opts.logPath,
        progress,
    };
    const dbArg = `--dbname=${uriWithoutPassword(opts.targetUrl)}`;
    const jobs = Math.max(1, opts.jobs ?? Math.min(4, os.cpus().length));
    const run = (tool: keyof typeof ERROR_LINE) => ({
        connection: opts.targetUrl,
        logFile: opts.logPath,
        onLine: restoreProgress(progress),
        keep: ERROR_LINE[tool],
    });
    const errors: string[] = [];
    // SQL always stops at the first error, in one transaction: after a failed COPY psql would run the
    // COPY's data lines as commands, so an allow-list cannot apply to SQL backups (pg_restore only).
    const sqlArgs = (files: string[]) => ["-X", "-q", dbArg, "--single-transaction", "-v", "ON_ERROR_STOP=1", ...files.flatMap((f) => ["-f", f])];
    if (allow.length > 0 && manifest.format !== "custom" && manifest.format !== "custom-gzip") {
        notes.push("restore.allowErrors applies to custom-format backups only: a SQL backup stops at its first error");
    }
    const log = (line: string) => fs.appendFileSync(opts.logPath, `# ${line}\n`);

    // Everything that can refuse the backup runs before the first write to the target.
    async function checkSql(paths: { path: string; allowRoleStatements?: boolean }[], gzipped: boolean): Promise<void> {
        await assertSafeSqlBackup(paths, gzipped);
    }
    async function planSqlExtensions(file: string): Promise<void> {
        extensionsSkipped = planExtensions(await unavailableOn(opts.targetUrl, await sqlExtensions(file)), allowMissing).skipped;
    }
    /** The SQL file to run: the original, or a copy without the extensions the target cannot have. */
    async function withoutSkippedExtensions(file: string): Promise<string> {
        if (extensionsSkipped.length === 0) return file;
        const out = path.join(workDir, path.basename(file));
        await writeWithoutExtensions(file, out, extensionsSkipped);
        return out;
    }
    async function restoreArchive(archive: string): Promise<ToolResult> {
        const toc = await readToc(archive);
        extensionsSkipped = planExtensions(await unavailableOn(opts.targetUrl, tocExtensions(toc)), allowMissing).skipped;
        if (await isSupabaseDump(toc.some((e) => e.type === "SCHEMA" && e.tag === "auth"), sourceUrl)) {
            notes.push(...(await prepareRoles(ctx, undefined)));
        }
        const listArgs: string[] = [];
        if (extensionsSkipped.length > 0) {
            const skip = new Set(extensionsSkipped);
            listArgs.push("-L", writeTocList(path.join(workDir, "restore.list"), toc.filter((e) => !belongsToExtension(e, skip))));
        }
        return runPgTool("pg_restore", ["-j", String(jobs), "--no-owner", "-v", ...listArgs, dbArg, archive], run("pg_restore"));
    }

    fs.writeFileSync(opts.logPath, `# restore of ${manifest.id} (${manifest.format}) into ${describe(target)} at ${new Date().toISOString()}\n`);
    const restoreStarted = new Date();
    let exit: ToolResult;
    try {
        switch (manifest.format) {
            case "custom":
                exit = await restoreArchive(files[0]);
                break;
            case "custom-gzip": {
                // pg_restore -j needs a seekable file: unpack into the work dir (removed below).
                const unpacked = path.join(workDir, "unpacked.dump");
                await pipeline(fs.createReadStream(files[0]), createGunzip(), fs.createWriteStream(unpacked));
                exit = await restoreArchive(unpacked);
                break;
            }
            case "plain": {
                await checkSql([{ path: files[0] }], false);
                await planSqlExtensions(files[0]);
                if (await isSupabaseDump(undefined, sourceUrl)) notes.push(...(await prepareRoles(ctx, undefined)));
                exit = await runPgTool("psql", sqlArgs([await withoutSkippedExtensions(files[0])]), run("psql"));
                break;
            }
            case "plain-gzip": {
                await checkSql([{ path: files[0] }], true);
                const unpacked = path.join(workDir, "unpacked.sql");
                await pipeline(fs.createReadStream(files[0]), createGunzip(), fs.createWriteStream(unpacked));
                await planSqlExtensions(unpacked);
                if (await isSupabaseDump(undefined, sourceUrl)) notes.push(...(await prepareRoles(ctx, undefined)));
                const sql = await withoutSkippedExtensions(unpacked);
                // pipeline() passes a read error on to psql's stdin (pipe() would leave psql waiting).
                const stream = new PassThrough();
                pipeline(fs.createReadStream(sql), stream).catch((err) => stream.destroy(err));
                exit = await runPgTool("psql", sqlArgs(["-"]), { ...run("psql"), stdin: stream });
                break;
            }
            case "supabase-trio": {
                const roles = files.find((f) => path.basename(f) === "roles.sql");
                const schema = files.find((f) => path.basename(f) === "schema.sql")!;
                const data = files.find((f) => path.basename(f) === "data.sql")!;
                await checkSql([{ path: schema }, { path: data }, ...(roles ? [{ path: roles, allowRoleStatements: true }] : [])], false);
                await planSqlExtensions(schema);
                notes.push(...(await prepareRoles(ctx, roles)));
                if (!isProject) {
                    platform = await preparePlatform(ctx);
                    notes.push(`Supabase platform part: ${platform.reason}`);
                }
                // As Supabase documents it: schema, then data with triggers off, in one transaction.
                const args = sqlArgs([await withoutSkippedExtensions(schema)]);
                args.push("-c", "SET session_replication_role = replica", "-f", data);
                exit = await runPgTool("psql", args, run("psql"));
                if (exit.exitCode === 0 && platform) await finishPlatform(ctx, platform);
                break;
            }
        }
    } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
    }
    errors.push(...exit.matched);
    for (const n of notes) log(n);
    if (extensionsSkipped.length > 0) log(`extensions not available on the target, left out (allow-listed): ${extensionsSkipped.join(", ")}`);
    const finished = new Date();
    const allowable = manifest.format === "custom" || manifest.format === "custom-gzip";
    const allowedErrors = allowable ? errors.filter((e) => allow.some((re) => re.test(e))) : [];
    const failing = errors.filter((e) => !allowedErrors.includes(e));
    log(`finished ${finished.toISOString()}: exit ${exit.exitCode}, ${failing.length} error(s), ${allowedErrors.length} allowed`);

    if (failing.length > 0 || (exit.exitCode !== 0 && errors.length === 0)) {
        // Each error with the DETAIL/CONTEXT lines printed with it: they name the constraint, table,
        // column and COPY line (the tool output is redacted: no row value reaches the message).
        const withContext = (line: string) => [line, ...(exit.matchedContext[exit.matched.indexOf(line)] ?? []).map((c) => `  ${c}`)];
        const shown = failing.length > 0 ? failing.slice(0, 5).flatMap(withContext) : exit.lines.slice(-5);
        throw new Error(
            `restore of ${manifest.id} into ${describe(target)} failed (exit ${exit.exitCode}, ${failing.length} error(s)):\n` +
                shown.map((l) => `  ${l}`).join("\n") +
                `\nfull log: ${opts.logPath}`,
        );
    }
    return {
        format: manifest.format,
        startedAt: restoreStarted.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: finished.getTime() - restoreStarted.getTime(),
        checksumMs,
        target: describe(target),
        errors: failing,
        allowedErrors,
        logPath: opts.logPath,
        extensionsSkipped,
        platform: platform && { used: platform.used, reason: platform.reason },
        notes,
    };
}

function restoreProgress(progress: (m: string) => void): (line: string) => void {
    return (line) => {
        const m = /(?:processing data for table|restoring data for table|finished item \d+ TABLE DATA) "?([^"]+)"?/.exec(line);
        if (m) progress(`restore: ${m[1]}`);
    };
}
