// Restores whose errors quote row values, against real PostgreSQL 15 clusters: the restore log (an
// artifact CI uploads) and the thrown error carry no row value, and still name the constraint, table,
// column and COPY line. Plus live PostgreSQL messages through the same redaction.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adoptBackup } from "../../lib/backup/adopt";
import { dumpSource } from "../../lib/backup/dump";
import { findPgTool } from "../../lib/postgres/binaries";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { uriWithoutPassword } from "../../lib/postgres/tools";
import { pgErrorText, redactPgMessage } from "../../lib/redact";
import { restoreBackup } from "../../lib/restore/restore";

// Values that must never show: emails, and a note whose value spans two lines.
const ROW_VALUES = ["alice@x.com", "bob@x.com", "carol@x.com", "first-secret-line", "second-secret-line"];

let source: LocalCluster;
let target: LocalCluster;
let work: string;
let sourceUrl: string;

beforeAll(async () => {
    [source, target] = await Promise.all([startLocalCluster(), startLocalCluster()]);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-redact-"));
    await withClient(source.url(), "admin", (c) => c.query("create database app"));
    sourceUrl = source.url("app");
    await withClient(sourceUrl, "app", (c) =>
        c.query(`
            create table public.users (id int primary key, email text not null constraint users_email_key unique, age int);
            insert into public.users values (1, 'alice@x.com', 31), (2, 'bob@x.com', 42);
            create table public.notes (id int primary key, body text);
            insert into public.notes values (1, E'first-secret-line\\nsecond-secret-line');
        `),
    );
});
afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function freshTarget(name: string, setupSql?: string): Promise<string> {
    await withClient(target.url(), "admin", (c) => c.query(`create database ${name}`));
    const url = target.url(name);
    if (setupSql) await withClient(url, name, (c) => c.query(setupSql));
    return url;
}

/** The restore's error and log, asserted free of row values. */
async function failedRestore(manifestPath: string, targetUrl: string, logName: string): Promise<{ message: string; log: string }> {
    const logPath = path.join(work, logName);
    const err = await restoreBackup({ manifestPath, targetUrl, logPath, jobs: 1 }).then(
        () => undefined,
        (e: Error) => e,
    );
    expect(err, "the restore must fail").toBeInstanceOf(Error);
    const message = (err as Error).message;
    const log = fs.readFileSync(logPath, "utf8");
    for (const v of ROW_VALUES) {
        expect(message, `error quotes ${v}`).not.toContain(v);
        expect(log, `log quotes ${v}`).not.toContain(v);
    }
    return { message, log };
}

/** pg_dump's plain output of the source, with `edit` applied to its text. */
function editedPlainDump(name: string, edit: (sql: string) => string): string {
    const file = path.join(work, `${name}.sql`);
    const sql = execFileSync(findPgTool("pg_dump"), ["--no-owner", `--dbname=${sourceUrl}`], { encoding: "utf8" });
    const edited = edit(sql);
    expect(edited, "the edit must change the dump").not.toBe(sql);
    fs.writeFileSync(file, edited);
    return file;
}

describe("restore errors that quote rows", () => {
    it("pg_restore into a target that already holds the email: the key and the failing row are redacted", async () => {
        const dump = await dumpSource({ sourceUrl, outDir: path.join(work, "custom"), fingerprint: false });
        const url = await freshTarget("nonempty", `
            create table public.users (id int primary key, email text not null constraint users_email_key unique, age int);
            insert into public.users values (7, 'alice@x.com', 20);
            create table public.notes (id int primary key, body text constraint notes_single_line check (position(E'\\n' in body) = 0));
        `);
        const { message, log } = await failedRestore(dump.manifestPath, url, "custom.log");
        expect(log).toContain('ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=(…) already exists.\nCONTEXT:  COPY users, line 1');
        expect(log).toContain('violates check constraint "notes_single_line"\nDETAIL:  Failing row contains (…).\nCONTEXT:  COPY notes, line 1: "…"');
        expect(message).toMatch(/COPY failed for table "users": ERROR: {2}duplicate key value violates unique constraint "users_email_key"\n\s+DETAIL: {2}Key \(email\)=\(…\) already exists\.\n\s+CONTEXT: {2}COPY users, line 1/);
        expect(message).toMatch(/check constraint "notes_single_line"\n\s+DETAIL: {2}Failing row contains \(…\)\.\n\s+CONTEXT: {2}COPY notes, line 1: "…"/);
    });

    it("a SQL dump with a bad value in a COPY line: the table, line and column stay, the value goes", async () => {
        const file = editedPlainDump("badcopy", (sql) => sql.replace("2\tbob@x.com\t42", "2\tbob@x.com\tcarol@x.com"));
        const adopted = await adoptBackup({ backupPath: file, outDir: path.join(work, "badcopy-out") });
        const { message, log } = await failedRestore(adopted.manifestPath, await freshTarget("badcopy"), "badcopy.log");
        for (const text of [message, log]) {
            expect(text).toMatch(/ERROR: {2}invalid input syntax for type integer: "…"/);
            expect(text).toMatch(/CONTEXT: {2}COPY users, line 2, column age: "…"/);
        }
    });

    it("a SQL dump whose rows break the unique constraint built after the data: the constraint and column stay", async () => {
        const file = editedPlainDump("dupkey", (sql) => sql.replace("2\tbob@x.com\t42\n", "2\tbob@x.com\t42\n3\talice@x.com\t50\n"));
        const adopted = await adoptBackup({ backupPath: file, outDir: path.join(work, "dupkey-out") });
        const { message, log } = await failedRestore(adopted.manifestPath, await freshTarget("dupkey"), "dupkey.log");
        for (const text of [message, log]) {
            expect(text).toMatch(/ERROR: {2}could not create unique index "users_email_key"/);
            expect(text).toMatch(/DETAIL: {2}Key \(email\)=\(…\) is duplicated\./);
        }
    });
});

describe("live PostgreSQL 15 messages", () => {
    it("psql's errors, with LINE echoes and multi-line failing rows, lose every value", async () => {
        const url = await freshTarget("live", "create table public.t (id int primary key, email text unique, age int check (age > 0), born date)");
        const script = [
            "insert into public.t values (1, 'alice@x.com', 3, null);",
            "insert into public.t values (2, 'alice@x.com', 3, null);",
            "insert into public.t values (3, 'bob@x.com', -1, null);",
            "insert into public.t values (4, E'first-secret-line\\nsecond-secret-line', -2, null);",
            "insert into public.t values (5, 'carol@x.com', 'carol@x.com', null);",
            "copy public.t (id, email, age) from stdin;\n6\tbob@x.com\tcarol@x.com\n\\.",
        ].join("\n");
        const file = path.join(work, "live.sql");
        fs.writeFileSync(file, script + "\n");
        const run = spawnSync(findPgTool("psql"), ["-X", "-q", `--dbname=${uriWithoutPassword(url)}`, "-f", file], {
            env: { ...process.env, PGPASSWORD: target.password },
            encoding: "utf8",
        });
        // The server really quoted the values: the redaction has something to do.
        expect(run.stderr).toContain("alice@x.com");
        expect(run.stderr).toContain("second-secret-line");
        const out = redactPgMessage(run.stderr);
        for (const v of ROW_VALUES) expect(out, v).not.toContain(v);
        expect(out).toContain('duplicate key value violates unique constraint "t_email_key"\nDETAIL:  Key (email)=(…) already exists.');
        expect(out).toContain('violates check constraint "t_age_check"\nDETAIL:  Failing row contains (…).');
        expect(out).toMatch(/ERROR: {2}invalid input syntax for type integer: "…"\nLINE 1: …/);
        expect(out).toContain('CONTEXT:  COPY t, line 1, column age: "…"');
    });

    it("node-postgres errors become their message and SQLSTATE without the value", async () => {
        const url = target.url("live");
        const errors = await withClient(url, "live", async (c) => {
            const caught: unknown[] = [];
            for (const [sql, params] of [
                ["insert into public.t values (10, $1, 1, null)", ["alice@x.com"]],
                ["select $1::int", ["carol@x.com"]],
                ["select $1::date", ["bob@x.com"]],
            ] as const) {
                caught.push(await c.query(sql, [...params]).then(() => undefined, (e: unknown) => e));
            }
            return caught;
        });
        const texts = errors.map((e) => pgErrorText(e));
        expect(texts).toEqual([
            'duplicate key value violates unique constraint "t_email_key" (SQLSTATE 23505)',
            'invalid input syntax for type integer: "…" (SQLSTATE 22P02)',
            'invalid input syntax for type date: "…" (SQLSTATE 22007)',
        ]);
        // What was redacted was really there.
        expect((errors[0] as { detail?: string }).detail).toContain("alice@x.com");
        expect((errors[1] as Error).message).toContain("carol@x.com");
    });
});
