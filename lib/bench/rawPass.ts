// The baseline the drill is compared with: a bare `pg_dump -Fc` and `pg_restore -j N --no-owner` of the
// same source into a fresh database on the same server, timed, with nothing else around them.
import * as fs from "node:fs";
import { withClient, withDatabase, quoteIdent } from "../postgres/connection";
import { runPgTool, uriWithoutPassword, type ToolResult } from "../postgres/tools";

export interface RawPassOptions {
    sourceUrl: string;
    /** A role that may create and drop databases on the server. */
    adminUrl: string;
    /** Name of the database restored into; dropped before and after. */
    database: string;
    dumpPath: string;
    jobs: number;
    /** Appends both tools' output here. */
    logFile: string;
}

export interface RawPassResult {
    dumpSeconds: number;
    restoreSeconds: number;
    totalSeconds: number;
    dumpBytes: number;
}

function check(tool: string, r: ToolResult, logFile: string): void {
    if (r.exitCode === 0) return;
    const errors = r.lines.filter((l) => /error|fatal/i.test(l)).slice(0, 5);
    throw new Error(`${tool} failed (exit ${r.exitCode}):\n${errors.map((l) => `  ${l}`).join("\n")}\nfull log: ${logFile}`);
}

export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
    await withClient(adminUrl, "benchmark server", (c) => c.query(`drop database if exists ${quoteIdent(database)} with (force)`));
}

/** One timed dump + restore. Leaves the dump file (for diagnostics) but not the restored database. */
export async function runRawPass(opts: RawPassOptions): Promise<RawPassResult> {
    fs.rmSync(opts.dumpPath, { force: true });
    await dropDatabase(opts.adminUrl, opts.database);
    // Created outside the timing, like the drill's scratch database, whose creation the drill's
    // restore time does not include either.
    await withClient(opts.adminUrl, "benchmark server", (c) => c.query(`create database ${quoteIdent(opts.database)}`));
    try {
        const dumped = await runPgTool("pg_dump", ["-Fc", "-f", opts.dumpPath, `--dbname=${uriWithoutPassword(opts.sourceUrl)}`], {
            connection: opts.sourceUrl,
            logFile: opts.logFile,
        });
        check("pg_dump", dumped, opts.logFile);
        const targetUrl = withDatabase(opts.adminUrl, opts.database);
        const restored = await runPgTool(
            "pg_restore",
            ["-j", String(opts.jobs), "--no-owner", `--dbname=${uriWithoutPassword(targetUrl)}`, opts.dumpPath],
            { connection: targetUrl, logFile: opts.logFile },
        );
        check("pg_restore", restored, opts.logFile);
        const dumpSeconds = dumped.durationMs / 1000;
        const restoreSeconds = restored.durationMs / 1000;
        return { dumpSeconds, restoreSeconds, totalSeconds: dumpSeconds + restoreSeconds, dumpBytes: fs.statSync(opts.dumpPath).size };
    } finally {
        await dropDatabase(opts.adminUrl, opts.database);
    }
}
