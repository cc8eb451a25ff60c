// A plain-SQL backup is a script: psql runs whatever it holds. A dump made with `pg_dump --create` (or a
// hand-edited one) can `\connect` to another database — the source, when the scratch database lives on the
// source's own server — create, drop or alter databases, rewrite cluster-wide roles, or run shell commands.
// The --dbname guard cannot see any of that, so SQL backups are checked before psql gets them.
//
// Why not line regexes (the first version): psql does not read a script line by line. It runs a
// backslash command wherever one appears outside quotes and comments (`select 1; \c postgres`, or
// after leading blanks), a statement may span lines and hold comments (`DROP /* */\n DATABASE x`), and
// the same text inside a string, a dollar-quoted function body or COPY data is harmless. So the check
// walks the script as psql does (psqlLexer.ts), refuses meta-commands outside a small allow-list
// (psqlMetaRules.ts), and judges each statement on PostgreSQL's own parse tree (sqlStatementRules.ts).
// Files are streamed; COPY data is skipped without being kept or parsed, and never quoted in errors.
import * as fs from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { redactConnectionSecrets } from "../redact";
import { PsqlLexer, type PsqlMetaCommand, type PsqlStatement } from "./psqlLexer";
import { metaCommandProblem } from "./psqlMetaRules";
import { readPsqlScript } from "./psqlScriptReader";
import { EXCERPT_CHARS } from "./sqlExcerpt";
import { checkStatement } from "./sqlStatementRules";
import { RefusedError } from "../errors";

export interface SqlSafetyProblem {
    file: string;
    line: number;
    /** Why psql must not run it, e.g. "\connect leaves the target database". */
    reason: string;
    /** The command, or the statement with its literal values masked; never COPY data. At most 120 chars. */
    text: string;
}

export interface SqlScanOptions {
    gzipped: boolean;
    /** The file is the roles file of a `supabase db dump` trio (roles.sql): role statements are allowed. */
    allowRoleStatements?: boolean;
}

/** Scanning stops after this many problems: enough to act on, and a hostile file cannot flood the log. */
export const MAX_PROBLEMS = 20;

function clip(text: string): string {
    return text.length > EXCERPT_CHARS ? text.slice(0, EXCERPT_CHARS - 1) + "…" : text;
}

function openText(file: string, gzipped: boolean): Readable {
    const input = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    if (!gzipped) {
        input.setEncoding("utf8");
        return input;
    }
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    input.on("error", (err) => gunzip.destroy(err));
    gunzip.on("close", () => input.destroy());
    input.pipe(gunzip);
    gunzip.setEncoding("utf8");
    return gunzip;
}

/** What makes a SQL backup unsafe to hand to psql (at most `limit`); empty when it is safe. */
export async function scanSqlBackup(file: string, opts: SqlScanOptions, limit = MAX_PROBLEMS): Promise<SqlSafetyProblem[]> {
    const problems: SqlSafetyProblem[] = [];
    const add = (line: number, reason: string, text: string) => {
        if (problems.length < limit) problems.push({ file, line, reason, text: clip(text) });
    };
    const allowRoleStatements = opts.allowRoleStatements ?? false;
    const source = openText(file, opts.gzipped);
    try {
        await readPsqlScript(source, {
            get done() {
                return problems.length >= limit;
            },
            metaCommand(cmd: PsqlMetaCommand) {
                const reason = metaCommandProblem(cmd);
                if (reason) add(cmd.line, reason, redactConnectionSecrets(cmd.text));
            },
            variable(use) {
                add(use.line, `psql substitutes the variable :${use.name} set by the script itself: the scan cannot see what runs`, `:${use.name}`);
            },
            overlongLine(line) {
                add(line, "line longer than the longest statement the scan keeps: too long to check", "");
            },
            async statement(stmt: PsqlStatement, lexer: PsqlLexer) {
                const verdict = await checkStatement(stmt, {
                    allowRoleStatements,
                    standardConformingStrings: lexer.standardConformingStrings,
                });
                for (const f of verdict.findings) add(f.line, f.reason, f.excerpt);
                // psql lexes the following lines with the server's new setting.
                if (verdict.standardConformingStrings !== undefined) lexer.standardConformingStrings = verdict.standardConformingStrings;
                return verdict.copyFromStdin;
            },
        });
    } catch (err) {
        throw new Error(`cannot read SQL backup ${file}${opts.gzipped ? " (gzip)" : ""}: ${(err as Error).message}`);
    } finally {
        source.destroy();
    }
    return problems;
}

/**
 * Throws, naming file, line and reason of each problem, unless every file is safe to hand to psql.
 * Mark the roles file (roles.sql of a trio) with allowRoleStatements.
 */
export async function assertSafeSqlBackup(
    files: { path: string; allowRoleStatements?: boolean }[],
    gzipped: boolean,
): Promise<void> {
    const problems: SqlSafetyProblem[] = [];
    for (const f of files) {
        if (problems.length >= MAX_PROBLEMS) break;
        const found = await scanSqlBackup(f.path, { gzipped, allowRoleStatements: f.allowRoleStatements }, MAX_PROBLEMS - problems.length);
        problems.push(...found);
    }
    if (problems.length === 0) return;
    const more = problems.length >= MAX_PROBLEMS ? `\n  (stopped after ${MAX_PROBLEMS} problems)` : "";
    throw new RefusedError(
        `refusing to run this SQL backup: psql would act outside the target database or run something the check ` +
            `cannot read (restore a dump made without --create, without psql meta-commands; roles only in roles.sql):\n` +
            problems.map((p) => `  ${p.file}:${p.line}: ${p.reason}${p.text ? `: ${p.text}` : ""}`).join("\n") +
            more,
    );
}
