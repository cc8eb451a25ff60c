// The Supabase CLI's migration history (supabase_migrations.schema_migrations: version, name,
// statements — supabase/cli apps/cli-go/pkg/migration/history.go) as a backup holds it, read from the
// backup file itself so a dry run needs no database:
//   - custom format: the table's data entry alone, extracted with `pg_restore -a -L` into a SQL file;
//   - plain SQL (gzip'd or not): the COPY block of that table, streamed;
//   - a `supabase db dump` trio: never (the CLI leaves supabase_migrations out of schema.sql and
//     data.sql), so the history is "absent" and the operator names the backup's last migration.
// Only version and name are read: statements are the migration's SQL, not needed to plan.
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { runPgTool } from "../postgres/tools";
import { readToc, writeTocList } from "../restore/tocList";
import type { BackupFormat } from "../backup/formats";
import type { AppliedMigration } from "./migrationPlan";

export type BackupHistory =
    | { present: true; applied: AppliedMigration[] }
    | { present: false; why: string };

const HISTORY = { schema: "supabase_migrations", table: "schema_migrations" };
const COPY_LINE = /^COPY "?supabase_migrations"?\."?schema_migrations"? \((.*)\) FROM stdin;$/;
const INSERT_LINE = /^INSERT INTO "?supabase_migrations"?\."?schema_migrations"?[ (]/;
const CREATE_LINE = /^CREATE TABLE (IF NOT EXISTS )?"?supabase_migrations"?\."?schema_migrations"? \(/;

export async function readBackupHistory(backupFile: string, format: BackupFormat, workDir: string): Promise<BackupHistory> {
    switch (format) {
        case "supabase-trio":
            return { present: false, why: "a 'supabase db dump' backup never holds supabase_migrations (the CLI excludes that schema)" };
        case "custom":
        case "custom-gzip": {
            let archive = backupFile;
            if (format === "custom-gzip") {
                archive = path.join(workDir, "history-source.dump");
                await pipeline(fs.createReadStream(backupFile), createGunzip(), fs.createWriteStream(archive));
            }
            try {
                return await fromArchive(archive, workDir);
            } finally {
                if (archive !== backupFile) fs.rmSync(archive, { force: true });
            }
        }
        case "plain":
        case "plain-gzip":
            return fromSql(backupFile, format === "plain-gzip");
    }
}

async function fromArchive(archive: string, workDir: string): Promise<BackupHistory> {
    const toc = await readToc(archive);
    const is = (type: string) => (e: { type: string; schema: string; tag: string }) => e.type === type && e.schema === HISTORY.schema && e.tag === HISTORY.table;
    if (!toc.some(is("TABLE"))) return { present: false, why: "the backup has no supabase_migrations.schema_migrations table" };
    const data = toc.find(is("TABLE DATA"));
    if (!data) return { present: false, why: "the backup has supabase_migrations.schema_migrations but no data for it (a schema-only dump)" };
    const list = writeTocList(path.join(workDir, "history.list"), [data]);
    const out = path.join(workDir, "history.sql");
    const r = await runPgTool("pg_restore", ["-a", "-L", list, "-f", out, archive], { keep: /error/i });
    if (r.exitCode !== 0) throw new Error(`reading the migration history from the backup failed: ${r.matched.slice(0, 2).join("; ") || `pg_restore exit ${r.exitCode}`}`);
    try {
        return await fromSql(out, false);
    } finally {
        fs.rmSync(out, { force: true });
    }
}

async function fromSql(file: string, gzipped: boolean): Promise<BackupHistory> {
    const input = fs.createReadStream(file);
    const lines = readline.createInterface({ input: gzipped ? input.pipe(createGunzip()) : input, crlfDelay: Infinity });
    let created = false;
    // Inside the COPY block: where version and name are among its columns.
    let columns: { version: number; name: number } | undefined;
    let applied: AppliedMigration[] | undefined;
    try {
        for await (const line of lines) {
            if (columns) {
                if (line === "\\.") {
                    columns = undefined;
                    continue;
                }
                applied!.push(historyRow(line, columns));
                continue;
            }
            if (CREATE_LINE.test(line)) created = true;
            else if (INSERT_LINE.test(line)) {
                throw new Error("the backup holds the migration history as INSERT statements (pg_dump --inserts), which this reader does not parse; give --baseline <version>");
            } else {
                const m = COPY_LINE.exec(line);
                if (m) {
                    const names = m[1].split(",").map((c) => c.trim().replace(/^"|"$/g, ""));
                    columns = { version: names.indexOf("version"), name: names.indexOf("name") };
                    if (columns.version < 0) throw new Error(`the backup's COPY of supabase_migrations.schema_migrations has no version column (${m[1]})`);
                    applied = applied ?? [];
                }
            }
        }
    } finally {
        lines.close();
        input.destroy();
    }
    if (applied) return { present: true, applied };
    // pg_dump writes a COPY block even for an empty table: a table without one is a schema-only dump.
    return created
        ? { present: false, why: "the backup creates supabase_migrations.schema_migrations but holds no data for it (a schema-only dump)" }
        : { present: false, why: "the backup has no supabase_migrations.schema_migrations table" };
}

function historyRow(line: string, idx: { version: number; name: number }): AppliedMigration {
    const fields = line.split("\t");
    const version = copyText(fields[idx.version]);
    if (version === null || !/^[0-9]+$/.test(version)) {
        throw new Error("the backup's supabase_migrations.schema_migrations has a version that is not digits: the history cannot be planned against");
    }
    const name = idx.name >= 0 ? copyText(fields[idx.name]) : null;
    return { version, name: name ?? "" };
}

/** One field of COPY's text format: \N is NULL; backslash escapes as PostgreSQL writes them. */
export function copyText(field: string | undefined): string | null {
    if (field === undefined || field === "\\N") return null;
    return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
        if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
        if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
        return ({ b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" } as Record<string, string>)[e] ?? e;
    });
}
