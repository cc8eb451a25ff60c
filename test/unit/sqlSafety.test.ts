import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { assertSafeSqlBackup, MAX_PROBLEMS, scanSqlBackup, type SqlSafetyProblem } from "../../lib/restore/sqlSafety";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-sql-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string | Buffer, name = `f${++n}.sql`): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
}

async function scan(sql: string, allowRoleStatements = false): Promise<SqlSafetyProblem[]> {
    return scanSqlBackup(file(sql), { gzipped: false, allowRoleStatements });
}
/** [line, reason] pairs, the shape most tests compare. */
async function found(sql: string, allowRoleStatements = false): Promise<[number, string][]> {
    return (await scan(sql, allowRoleStatements)).map((p) => [p.line, p.reason]);
}

describe("psql meta-commands", () => {
    it("finds \\c and \\connect wherever psql would run them: after blanks, after a semicolon, mid-statement, after another command", async () => {
        const sql = [
            "   \\c postgres",
            "\t\\connect other",
            "select 1; \\c postgres",
            "select 1 \\c postgres",
            "\\echo hello \\c postgres",
            ";", // ends the statement line 4 started: "select 1 " (its \\c ran when psql read it)
        ].join("\n");
        expect(await found(sql)).toEqual([
            [1, "\\c leaves the target database"],
            [2, "\\connect leaves the target database"],
            [3, "\\c leaves the target database"],
            [4, "\\c leaves the target database"],
            [5, "\\c leaves the target database"],
        ]);
    });

    it("refuses every meta-command outside the allow-list, known or not", async () => {
        const refused = ["\\! rm -rf /", "\\o /tmp/out", "\\out |cat", "\\w /tmp/q", "\\i other.sql", "\\ir other.sql",
            "\\include x", "\\copy t from '/etc/passwd'", "\\setenv PGHOST x", "\\cd /", "\\g", "\\gx", "\\gexec",
            "\\gset", "\\lo_import /etc/passwd", "\\if true", "\\getenv x HOME", "\\qecho x", "\\frobnicate", "\\"];
        const problems = await scan(refused.join("\n"));
        expect(problems.map((p) => p.line)).toEqual(refused.map((_, i) => i + 1));
        expect(problems[0].reason).toBe("\\! runs a shell command");
        expect(problems[12].reason).toBe("\\gexec runs query results as SQL");
        expect(problems[18].reason).toMatch(/^\\frobnicate is not a meta-command a backup needs/);
    });

    it("allows pg_dump's \\restrict / \\unrestrict and harmless \\set, \\unset, \\echo, \\encoding, \\pset", async () => {
        const sql = ["\\restrict k3y", "\\set myvar 'x y'", "\\unset myvar", "\\echo restoring", "\\encoding UTF8",
            "\\pset format unaligned", "select 1;", "\\unrestrict k3y"].join("\n");
        expect(await scan(sql)).toEqual([]);
    });

    it("refuses allowed commands used dangerously: backquotes, psql's own variables, unsafe encodings, interpolation", async () => {
        const sql = ["\\echo `id`", "\\set ON_ERROR_STOP 0", "\\unset SINGLELINE", "\\encoding SJIS", "\\set a :b"].join("\n");
        expect(await found(sql)).toEqual([
            [1, "\\echo with a backquote: psql runs the quoted text as a shell command"],
            [2, "\\set ON_ERROR_STOP changes how psql runs the script (psql's own upper-case variables are refused)"],
            [3, "\\unset SINGLELINE changes how psql runs the script (psql's own upper-case variables are refused)"],
            [4, "\\encoding SJIS makes psql read the rest of the script differently (not an ASCII-safe encoding)"],
            [5, "\\set substitutes a psql variable into its arguments: the scan cannot see the value"],
        ]);
    });

    it("refuses SQL that interpolates a variable the script set (psql re-reads its value as script text)", async () => {
        const sql = ["\\set cmd '\\\\c postgres'", "select :cmd;", "select 1::int, (array[1,2,3])[1:2];"].join("\n");
        const problems = await found(sql);
        expect(problems[0]).toEqual([2, "psql substitutes the variable :cmd set by the script itself: the scan cannot see what runs"]);
        expect(problems.filter(([line]) => line === 3)).toEqual([]);
    });

    it("ignores backslashes inside strings, quoted identifiers, dollar quotes and comments", async () => {
        const sql = [
            "select '\\c a', 'it''s \\c b';",
            "select E'\\'; \\c c';", // \' escapes the quote inside E'…'
            "select \"\\c d\" from t;",
            "-- \\c e",
            "/* \\c f /* nested */ \\c g */ select 1;",
            "select $$ \\c h $$, $fn$ $$ \\c i $fn$;",
            "select 'multi",
            "\\c j",
            "line';",
        ].join("\n");
        const problems = await found(sql);
        // The only problems are the parser's (no table t is fine; the SQL is valid): nothing for \c.
        expect(problems.filter(([, reason]) => reason.includes("\\c"))).toEqual([]);
    });

    it("sees the backslash that ends an E'' string before a real \\c, and a standard string's backslash as plain", async () => {
        expect(await found("select E'\\\\'; \\c x")).toEqual([[1, "\\c leaves the target database"]]);
        expect(await found("select '\\'; \\c x")).toEqual([[1, "\\c leaves the target database"]]);
    });

    it("does not print a password from a \\connect string", async () => {
        const [p] = await scan("\\c postgresql://u:hunter2secret@db.example/prod");
        expect(p.text).not.toContain("hunter2secret");
    });
});

describe("SQL statements (judged on PostgreSQL's parse tree)", () => {
    it("refuses DROP DATABASE however it is written: split, commented, lower case, IF EXISTS, joined with \\;", async () => {
        const sql = [
            "DROP",
            "  DATABASE foo;",
            "drop /* sneaky */ database -- comment",
            "  bar;",
            "DrOp DaTaBaSe IF EXISTS baz;",
            "select 1 \\; drop database qux;",
        ].join("\n");
        expect(await found(sql)).toEqual([
            [1, "DROP DATABASE drops a whole database"],
            [3, "DROP DATABASE drops a whole database"],
            [5, "DROP DATABASE drops a whole database"],
            [6, "DROP DATABASE drops a whole database"],
        ]);
    });

    it("refuses database-level, server-level and server-file statements", async () => {
        const sql = [
            "CREATE DATABASE copy_of_prod;",
            "ALTER DATABASE prod SET statement_timeout = 0;",
            "ALTER DATABASE prod OWNER TO someone;",
            "ALTER SYSTEM SET shared_preload_libraries = 'x';",
            "LOAD 'plugin';",
            "COPY t FROM PROGRAM 'curl evil';",
            "COPY t TO '/var/lib/postgresql/x';",
            "CREATE TABLESPACE ts LOCATION '/tmp/ts';",
        ].join("\n");
        expect(await found(sql)).toEqual([
            [1, "CREATE DATABASE creates another database"],
            [2, "ALTER DATABASE … SET changes a database as a whole, not objects inside the target database"],
            [3, "ALTER … OWNER DATABASE changes a database as a whole, not objects inside the target database"],
            [4, "ALTER SYSTEM rewrites the server's configuration"],
            [5, "LOAD loads a shared library into the server"],
            [6, "COPY … PROGRAM runs a shell command on the database server"],
            [7, "COPY with a file name reads or writes the database server's files"],
            [8, "CREATE TABLESPACE creates a cluster-wide tablespace in the server's file system"],
        ]);
    });

    const roleStatements = [
        "CREATE ROLE app;",
        "ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$secretkey';",
        "ALTER ROLE app SET search_path TO public;",
        "DROP ROLE app;",
        "GRANT readers TO app;",
        "REASSIGN OWNED BY app TO postgres;",
    ].join("\n");

    it("refuses role changes outside the roles file, without printing the password", async () => {
        const problems = await scan(roleStatements);
        expect(problems.map((p) => [p.line, p.reason])).toEqual([
            [1, "CREATE ROLE changes a cluster-wide role (only roles.sql may)"],
            [2, "ALTER ROLE changes a cluster-wide role (only roles.sql may)"],
            [3, "ALTER ROLE … SET changes a cluster-wide role (only roles.sql may)"],
            [4, "DROP ROLE changes a cluster-wide role (only roles.sql may)"],
            [5, "GRANT role TO role changes a cluster-wide role (only roles.sql may)"],
            [6, "REASSIGN OWNED changes a cluster-wide role (only roles.sql may)"],
        ]);
        expect(problems[1].text).toBe("ALTER ROLE app WITH LOGIN PASSWORD '…';");
        expect(JSON.stringify(problems)).not.toContain("secretkey");
    });

    it("accepts role changes in the roles file, and object privileges anywhere", async () => {
        expect(await scan(roleStatements, true)).toEqual([]);
        expect(await scan("GRANT SELECT ON TABLE public.t TO readers;\nREVOKE ALL ON SCHEMA public FROM PUBLIC;")).toEqual([]);
    });

    it("refuses ALTER SYSTEM even in the roles file", async () => {
        expect(await found("ALTER SYSTEM SET wal_level = minimal;", true)).toEqual([[1, "ALTER SYSTEM rewrites the server's configuration"]]);
    });

    it("reports a statement the parser rejects, at the line of the error, without row values", async () => {
        const sql = ["select 1;", "INSERT INTO public.users (id, email) VALUES", "  (1, 'alice@example.com'),", "  (2 'bob@example.com');"].join("\n");
        const problems = await scan(sql);
        expect(problems.map((p) => [p.line, p.reason])).toEqual([[4, "cannot be parsed as PostgreSQL 17 SQL: syntax error"]]);
        expect(problems[0].text).toBe("INSERT INTO public.users (id, email) VALUES (…, '…'), (… '…');");
        expect(JSON.stringify(problems)).not.toContain("example.com");
    });

    it("reports an unterminated statement at the end of the file (psql sends it anyway)", async () => {
        expect(await found("select 1;\nselect 'never closed")).toEqual([[2, "cannot be parsed as PostgreSQL 17 SQL: unterminated quoted string"]]);
    });

    it("accepts what pg_dump writes around the objects", async () => {
        const sql = [
            "SET statement_timeout = 0;",
            "SET client_encoding = 'UTF8';",
            "SET standard_conforming_strings = on;",
            "SELECT pg_catalog.set_config('search_path', '', false);",
            "SET default_table_access_method = heap;",
            "CREATE FUNCTION public.f() RETURNS integer",
            "    LANGUAGE sql",
            "    BEGIN ATOMIC",
            " SELECT 1;",
            " SELECT CASE WHEN true THEN 2 END;",
            "END;",
            "SELECT pg_catalog.setval('public.t_id_seq', 5, true);",
        ].join("\n");
        expect(await scan(sql)).toEqual([]);
    });

    it("refuses settings that change how psql reads the script, and follows psql after standard_conforming_strings = off", async () => {
        const sql = [
            "SET standard_conforming_strings = off;",
            "select 'a\\' ; \\c hidden-by-the-escaped-quote';",
            "SET client_encoding = 'SJIS';",
            "SELECT set_config('standard_conforming_strings', 'off', false);",
        ].join("\n");
        expect(await found(sql)).toEqual([
            [1, "SET standard_conforming_strings = off makes psql read backslashes in strings differently (pg_dump sets it on)"],
            // The lexer follows psql (no \\c inside the string), the parser cannot follow the setting.
            [2, "cannot be parsed as PostgreSQL 17 SQL: syntax error at or near \"\\\" (parsed with standard_conforming_strings on; the script turned it off)"],
            [3, "SET client_encoding = SJIS makes psql read the rest of the script differently (not an ASCII-safe encoding)"],
            [4, "set_config('standard_conforming_strings', …) changes how psql reads the rest of the script"],
        ]);
    });

    it("does not flag DROP DATABASE or \\c text inside dollar-quoted function bodies", async () => {
        const sql = [
            "CREATE FUNCTION public.g() RETURNS text",
            "    LANGUAGE plpgsql",
            "    AS $body$",
            "BEGIN",
            "  -- DROP DATABASE prod;",
            "\\c postgres",
            "  RETURN 'DROP DATABASE prod; \\connect postgres';",
            "END $body$;",
        ].join("\n");
        expect(await scan(sql)).toEqual([]);
    });
});

describe("COPY … FROM stdin data", () => {
    it("is data: \\c-looking lines, DROP DATABASE text and broken quoting are neither commands nor parsed", async () => {
        const sql = [
            "COPY public.t (id, note) FROM stdin;",
            "1\t\\\\connect prod",
            "\\c postgres",
            "DROP DATABASE prod;",
            "2\tunbalanced ' quote and $$ and /* comment",
            "\\.x is not the end marker",
            "\\.",
            "\\c after_the_data",
        ].join("\n");
        expect(await found(sql)).toEqual([[8, "\\c leaves the target database"]]);
    });

    it("starts after the line of the COPY statement and ends at \\. with CRLF; two COPY blocks in a row", async () => {
        const sql = [
            "COPY a FROM stdin; COPY b FROM stdin;",
            "DROP DATABASE in_a;",
            "\\.\r",
            "DROP DATABASE in_b;",
            "\\.",
            "drop database real_one;",
        ].join("\n");
        expect(await found(sql)).toEqual([[6, "DROP DATABASE drops a whole database"]]);
    });

    it("runs to the end of the file when \\. is missing", async () => {
        expect(await scan("COPY a FROM stdin;\nDROP DATABASE x;\n")).toEqual([]);
    });

    it("does not start after COPY … TO STDOUT", async () => {
        expect(await found("COPY a TO stdout;\nDROP DATABASE x;")).toEqual([[2, "DROP DATABASE drops a whole database"]]);
    });
});

describe("large literal INSERTs (supabase db dump --data-only)", () => {
    function insert(rows: number, row: (i: number) => string): string {
        return `INSERT INTO public.t (id, note, amount, ok, bits, d) VALUES\n${Array.from({ length: rows }, (_, i) => `\t${row(i)}`).join(",\n")};\n`;
    }

    it("accepts literal rows, including text that looks like commands, and counts their lines", async () => {
        const sql = insert(5000, (i) => `(${i}, 'DROP DATABASE x; \\c postgres ''quoted''\nsecond line', -${i}.5e3, true, B'1010', NULL)`) + "\\c postgres\n";
        expect(await found(sql)).toEqual([[10002, "\\c leaves the target database"]]);
    });

    it("still parses rows that are not plain literals, and finds a broken row deep inside", async () => {
        expect(await scan(insert(100, (i) => `(${i}, 'x'::text, now(), false, DEFAULT, NULL)`))).toEqual([]);
        const broken = insert(3000, (i) => (i === 2500 ? `(${i}, 'a' 'b', 1, true, NULL, NULL)` : `(${i}, 'a', 1, true, NULL, NULL)`));
        const problems = await scan(broken);
        expect(problems.map((p) => [p.line, p.reason])).toEqual([[2502, "cannot be parsed as PostgreSQL 17 SQL: syntax error"]]);
    });

    it("refuses an INSERT head that is not SQL even when every row is a literal", async () => {
        const problems = await found("INSERT INTO select (a) VALUES (1), (2);");
        expect(problems).toEqual([[1, 'cannot be parsed as PostgreSQL 17 SQL: syntax error at or near "select"']]);
    });
});

describe("files", () => {
    it("scans gzip'd scripts", async () => {
        const bad = file(gzipSync("select 1;\n\\c other\n"), "bad.sql.gz");
        expect(await scanSqlBackup(bad, { gzipped: true })).toEqual([
            { file: bad, line: 2, reason: "\\c leaves the target database", text: "\\c other" },
        ]);
        const good = file(gzipSync("COPY t FROM stdin;\n\\c data\n\\.\nselect 1;\n"), "good.sql.gz");
        expect(await scanSqlBackup(good, { gzipped: true })).toEqual([]);
    });

    it("names the file when it cannot be read", async () => {
        const notGzip = file("select 1;\n", "plain.sql.gz");
        await expect(scanSqlBackup(notGzip, { gzipped: true })).rejects.toThrow(`cannot read SQL backup ${notGzip} (gzip): incorrect header check`);
        await expect(scanSqlBackup(path.join(dir, "missing.sql"), { gzipped: false })).rejects.toThrow(/cannot read SQL backup .*missing\.sql: ENOENT/);
    });

    it(`stops after ${MAX_PROBLEMS} problems`, async () => {
        const problems = await scan(Array.from({ length: 100 }, () => "\\! echo hi").join("\n"));
        expect(problems).toHaveLength(MAX_PROBLEMS);
    });

    it("names file, line, reason and excerpt in the refusal, and checks the roles file with role statements allowed", async () => {
        const schema = file("CREATE TABLE t (x int);\nDROP DATABASE prod;\n", "schema.sql");
        const roles = file("CREATE ROLE app;\nGRANT readers TO app;\n", "roles.sql");
        await expect(assertSafeSqlBackup([{ path: roles, allowRoleStatements: true }], false)).resolves.toBeUndefined();
        await expect(assertSafeSqlBackup([{ path: schema }, { path: roles, allowRoleStatements: true }], false)).rejects.toThrow(
            `${schema}:2: DROP DATABASE drops a whole database: DROP DATABASE prod;`,
        );
        await expect(assertSafeSqlBackup([{ path: roles }], false)).rejects.toThrow(`${roles}:1: CREATE ROLE changes a cluster-wide role`);
    });
});
