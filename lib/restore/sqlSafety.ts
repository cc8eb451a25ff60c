// A plain-SQL backup is a script: psql runs whatever it holds. A dump made with `pg_dump --create`
// (or a hand-edited one) can `\connect` to another database — the source, when the scratch database
// lives on the source's own server — or create, drop and alter databases, or run shell commands.
// The --dbname guard cannot see that, so SQL backups are scanned before psql gets them.
import * as fs from "node:fs";
import * as readline from "node:readline";
import { createGunzip } from "node:zlib";

// psql meta-commands that leave the target database, touch the local machine, or pull in other files.
// pg_dump's own \restrict / \unrestrict (added in 15.14) and harmless \set / \echo are allowed.
const FORBIDDEN_META = /^\\(c|connect|!|o|out|w|write|i|include|ir|include_relative|copy|setenv|cd|g|gexec)(\s|$)/i;
const FORBIDDEN_SQL = /^\s*(CREATE|DROP|ALTER)\s+DATABASE\b/i;
const COPY_START = /^COPY\s.+\sFROM\s+stdin;\s*$/i;

export interface SqlSafetyProblem {
    file: string;
    line: number;
    text: string;
}

/** Lines that make a SQL backup unsafe to hand to psql; empty when it is safe. */
export async function scanSqlBackup(file: string, gzipped: boolean): Promise<SqlSafetyProblem[]> {
    const input = fs.createReadStream(file);
    const source = gzipped ? input.pipe(createGunzip()) : input;
    input.on("error", (err) => source.destroy(err));
    const lines = readline.createInterface({ input: source, crlfDelay: Infinity });
    const problems: SqlSafetyProblem[] = [];
    let inCopy = false;
    let n = 0;
    for await (const line of lines) {
        n++;
        if (inCopy) {
            if (line === "\\.") inCopy = false; // COPY data lines are data, never commands
            continue;
        }
        if (COPY_START.test(line)) inCopy = true;
        else if (FORBIDDEN_META.test(line) || FORBIDDEN_SQL.test(line)) {
            problems.push({ file, line: n, text: line.slice(0, 120) });
            if (problems.length >= 10) break;
        }
    }
    return problems;
}

export async function assertSafeSqlBackup(files: string[], gzipped: boolean): Promise<void> {
    const problems: SqlSafetyProblem[] = [];
    for (const f of files) problems.push(...(await scanSqlBackup(f, gzipped)));
    if (problems.length > 0) {
        throw new Error(
            `refusing to run this SQL backup: it switches databases or runs commands outside the target ` +
                `(dump without --create and without psql meta-commands):\n` +
                problems.map((p) => `  ${p.file}:${p.line}: ${p.text}`).join("\n"),
        );
    }
}
