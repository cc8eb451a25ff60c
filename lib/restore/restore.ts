// Restores a backup (by its manifest) into a target database.
//
// Order matters: the backup's sha256 is verified BEFORE anything touches the target, so a corrupt or
// tampered backup leaves the target untouched. The target must not be a protected source. Custom
// format goes through `pg_restore -j <n> --no-owner`; SQL through `psql --single-transaction
// -v ON_ERROR_STOP=1`. The full tool output is kept in the restore log, and any error fails the restore
// unless it matches the user's allow-list.
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
import { assertNotSource, assertTargetIsNotSource, identityFromEndpoint, sameServer, type DatabaseIdentity } from "../postgres/sourceGuard";
import { assertSafeSqlBackup } from "./sqlSafety";

export interface RestoreOptions {
    manifestPath: string;
    targetUrl: string;
    /** pg_restore parallel jobs. Default: number of CPUs, at most 4. */
    jobs?: number;
    /** Regular expressions; an error line matching one of them does not fail the restore. */
    allowErrors?: string[];
    /** Where the full restore log goes (restore_<ts>.log). */
    logPath: string;
    /** Source databases that must never be the target (besides the manifest's own source). */
    protectedSources?: string[];
    /** Refuse a target without a supabase-dr scratch marker (true for ScratchDatabase targets). */
    requireScratchMarker?: boolean;
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
}

// `supabase db dump` roles.sql recreates cluster-wide roles; on a server that already has them
// (a scratch database next to the source, or a Supabase project) that is expected.
const ROLES_FILE_ALLOWED = [/role ".*" already exists/];

const ERROR_LINE = { pg_restore: /^pg_restore: error: /, psql: /(^|: )(ERROR|FATAL|PANIC):\s/ } as const;

function compileAllowList(patterns: string[] = []): RegExp[] {
    return patterns.map((p) => {
        try {
            return new RegExp(p);
        } catch (err) {
            throw new Error(`allowErrors pattern /${p}/ is not a valid regular expression: ${(err as Error).message}`);
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
        throw new Error(`backup ${manifest.id} failed its checksum check (${detail}); the target was not touched`);
    }
    return manifest;
}

export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
    const progress = opts.onProgress ?? (() => undefined);
    const started = Date.now();
    progress("verifying backup checksum");
    const manifest = await verifyBackup(opts.manifestPath);
    const checksumMs = Date.now() - started;

    const target = await assertTargetIsNotSource(opts.targetUrl, opts.protectedSources ?? []);
    const sources: DatabaseIdentity[] = [];
    if (manifest.source) sources.push(identityFromEndpoint(manifest.source.endpoint, manifest.source.systemIdentifier));
    assertNotSource(target, sources);
    if (opts.requireScratchMarker) await assertScratchDatabase(opts.targetUrl, "restore into");

    fs.mkdirSync(path.dirname(opts.logPath), { recursive: true });
    fs.writeFileSync(opts.logPath, `# restore of ${manifest.id} (${manifest.format}) into ${describe(target)} at ${new Date().toISOString()}\n`);
    const allow = compileAllowList(opts.allowErrors);
    const files = manifest.files.map((f) => resolveFile(opts.manifestPath, f));
    const dbArg = `--dbname=${uriWithoutPassword(opts.targetUrl)}`;
    const jobs = Math.max(1, opts.jobs ?? Math.min(4, os.cpus().length));
    const run = (tool: keyof typeof ERROR_LINE) => ({
        connection: opts.targetUrl,
        logFile: opts.logPath,
        onLine: restoreProgress(progress),
        keep: ERROR_LINE[tool],
    });
    const errors: string[] = [];
    const allowedByDefault: string[] = [];
    // With an allow-list, SQL must not stop at the first error (the list could never apply).
    const strictSql = allow.length === 0;
    const sqlArgs = (files: string[]) => [
        "-X", "-q", dbArg,
        ...(strictSql ? ["--single-transaction", "-v", "ON_ERROR_STOP=1"] : []),
        ...files.flatMap((f) => ["-f", f]),
    ];

    const restoreStarted = new Date();
    let exit: ToolResult;
    switch (manifest.format) {
        case "custom":
            exit = await runPgTool("pg_restore", ["-j", String(jobs), "--no-owner", "-v", dbArg, files[0]], run("pg_restore"));
            errors.push(...exit.matched);
            break;
        case "custom-gzip": {
            // pg_restore -j needs a seekable file: unpack next to the log, then remove it.
            const unpacked = `${opts.logPath}.unpacked.dump`;
            try {
                await pipeline(fs.createReadStream(files[0]), createGunzip(), fs.createWriteStream(unpacked));
                exit = await runPgTool("pg_restore", ["-j", String(jobs), "--no-owner", "-v", dbArg, unpacked], run("pg_restore"));
                errors.push(...exit.matched);
            } finally {
                fs.rmSync(unpacked, { force: true });
            }
            break;
        }
        case "plain":
            await assertSafeSqlBackup(files, false);
            exit = await runPgTool("psql", sqlArgs(files), run("psql"));
            errors.push(...exit.matched);
            break;
        case "plain-gzip": {
            await assertSafeSqlBackup(files, true);
            // pipeline() passes a read or gunzip error on to psql's stdin (pipe() would leave psql waiting).
            const stream = new PassThrough();
            pipeline(fs.createReadStream(files[0]), createGunzip(), stream).catch((err) => stream.destroy(err));
            exit = await runPgTool("psql", sqlArgs(["-"]), { ...run("psql"), stdin: stream });
            errors.push(...exit.matched);
            break;
        }
        case "supabase-trio": {
            const roles = files.find((f) => path.basename(f) === "roles.sql");
            const schema = files.find((f) => path.basename(f) === "schema.sql")!;
            const data = files.find((f) => path.basename(f) === "data.sql")!;
            await assertSafeSqlBackup(files, false);
            // Roles are cluster-wide: on the source's own server roles.sql would rewrite the source's roles.
            if (roles && sources.some((s) => sameServer(target, s))) {
                fs.appendFileSync(opts.logPath, "# roles.sql skipped: the target server is the source's server, whose roles exist already\n");
            } else if (roles) {
                const r = await runPgTool("psql", ["-X", "-q", dbArg, "-f", roles], run("psql"));
                for (const line of r.matched) {
                    if (ROLES_FILE_ALLOWED.some((re) => re.test(line))) allowedByDefault.push(line);
                    else errors.push(line);
                }
            }
            // As `supabase db dump` documents: data loads with triggers off (session_replication_role).
            const args = sqlArgs([schema]);
            args.push("-c", "SET session_replication_role = replica", "-f", data);
            exit = await runPgTool("psql", args, run("psql"));
            errors.push(...exit.matched);
            break;
        }
    }
    const finished = new Date();
    const allowedErrors = [...allowedByDefault, ...errors.filter((e) => allow.some((re) => re.test(e)))];
    const failing = errors.filter((e) => !allow.some((re) => re.test(e)));
    fs.appendFileSync(opts.logPath, `# finished ${finished.toISOString()}: exit ${exit.exitCode}, ${failing.length} error(s), ${allowedErrors.length} allowed\n`);

    if (failing.length > 0 || (exit.exitCode !== 0 && errors.length === 0)) {
        const shown = failing.length > 0 ? failing.slice(0, 5) : exit.lines.slice(-5);
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
    };
}

function restoreProgress(progress: (m: string) => void): (line: string) => void {
    return (line) => {
        const m = /(?:processing data for table|restoring data for table|finished item \d+ TABLE DATA) "?([^"]+)"?/.exec(line);
        if (m) progress(`restore: ${m[1]}`);
    };
}
