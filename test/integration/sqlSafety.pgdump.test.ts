// The SQL backup check against what the real tools write and what real psql does: pg_dump and
// pg_dumpall output from a throw-away cluster, and psql itself as the referee for which backslash
// commands a tricky script really runs.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findPgTool } from "../../lib/postgres/binaries";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { readPsqlScript } from "../../lib/restore/psqlScriptReader";
import { scanSqlBackup } from "../../lib/restore/sqlSafety";
import { isLiteralInsert } from "../../lib/restore/sqlLiteralInsert";
import { checkStatement } from "../../lib/restore/sqlStatementRules";

let pg: LocalCluster;
let dir: string;

function tool(name: "pg_dump" | "pg_dumpall" | "psql", args: string[]): string {
    return execFileSync(findPgTool(name), args, {
        encoding: "utf8",
        env: { ...process.env, PGPASSWORD: pg.password },
        stdio: ["ignore", "pipe", "pipe"], // server warnings stay out of the test output
    });
}
function psql(db: string, sql: string): void {
    tool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg.url(db), "-c", sql]);
}
function dump(name: string, args: string[]): string {
    const out = path.join(dir, name);
    tool("pg_dump", [...args, "-f", out, "-d", pg.url("shop")]);
    return out;
}

beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-sqlsafety-"));
    pg = await startLocalCluster();
    psql("postgres", "CREATE DATABASE shop");
    psql("postgres", "CREATE ROLE app_user LOGIN PASSWORD 'app-password'; CREATE ROLE readers; GRANT readers TO app_user;");
    psql("postgres", "ALTER ROLE app_user SET search_path = public");
    psql("shop", `
        CREATE TABLE notes (id serial PRIMARY KEY, body text, raw bytea, flags bit(4), tags text[], doc jsonb, amount numeric);
        INSERT INTO notes (body, raw, flags, tags, doc, amount) VALUES
            (E'\\\\connect postgres\\nDROP DATABASE shop;\\n\\\\.\\n', '\\x00ff5c', B'1010', '{a,"b c"}', '{"k": "\\\\c x"}', -1.5e3),
            ('it''s $$ /* -- ', NULL, NULL, NULL, NULL, 0),
            (E'tab\\there\\r\\nCRLF', '\\x', B'0000', '{}', 'null', 12345678901234567890.5);
        INSERT INTO notes (body, amount) SELECT 'row ' || g || ' \\c postgres', g FROM generate_series(1, 20000) g;
        CREATE FUNCTION shout(t text) RETURNS text LANGUAGE plpgsql AS $fn$
        BEGIN
            -- \\c postgres and DROP DATABASE shop; are just text here
            RETURN upper(t) || ' \\connect postgres; DROP DATABASE shop;';
        END $fn$;
        CREATE FUNCTION answer() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 41; SELECT 42; END;
        CREATE VIEW loud AS SELECT shout(body) FROM notes;
        GRANT SELECT ON notes TO readers;
        COMMENT ON DATABASE shop IS 'the shop';
    `);
});
afterAll(async () => {
    await pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("real pg_dump output", () => {
    it("accepts a plain dump, its COPY data and function bodies included, as-is and gzip'd", async () => {
        const plain = dump("shop.sql", []);
        expect(fs.readFileSync(plain, "utf8")).toContain("\\restrict ");
        expect(await scanSqlBackup(plain, { gzipped: false })).toEqual([]);
        const gz = dump("shop.sql.gz", ["-Z", "6"]);
        expect(await scanSqlBackup(gz, { gzipped: true })).toEqual([]);
    });

    it("accepts a data-only dump of multi-row INSERTs as `supabase db dump --data-only` makes it", async () => {
        const data = dump("data.sql", ["--data-only", "--column-inserts", "--rows-per-insert", "100000"]);
        const text = fs.readFileSync(data, "utf8");
        const insert = /^INSERT INTO public\.notes \(id, body, raw, flags, tags, doc, amount\) VALUES\n[\s\S]*?\);$/m.exec(text);
        // The 20,003 rows take the literal-row path, not a 20,003-node parse tree.
        expect(insert && (await isLiteralInsert(insert[0]))).toBe(true);
        expect(await scanSqlBackup(data, { gzipped: false })).toEqual([]);
    });

    it("refuses a dump made with --create: CREATE DATABASE, database-level statements and \\connect", async () => {
        const created = dump("created.sql", ["--create"]);
        const reasons = (await scanSqlBackup(created, { gzipped: false })).map((p) => p.reason);
        expect(reasons).toContain("CREATE DATABASE creates another database");
        expect(reasons).toContain("\\connect leaves the target database");
        expect(reasons).toContain("ALTER … OWNER DATABASE changes a database as a whole, not objects inside the target database");
        expect(reasons).toContain("COMMENT ON DATABASE changes a database as a whole, not objects inside the target database");
    });
});

describe("real pg_dumpall --roles-only output", () => {
    it("is accepted as the roles file and refused as any other file, without printing password hashes", async () => {
        const roles = path.join(dir, "roles.sql");
        tool("pg_dumpall", ["--roles-only", "-f", roles, "-d", pg.url()]);
        expect(fs.readFileSync(roles, "utf8")).toContain("SCRAM-SHA-256$");
        expect(await scanSqlBackup(roles, { gzipped: false, allowRoleStatements: true })).toEqual([]);
        const problems = await scanSqlBackup(roles, { gzipped: false });
        const reasons = problems.map((p) => p.reason);
        expect(reasons).toContain("CREATE ROLE changes a cluster-wide role (only roles.sql may)");
        expect(reasons).toContain("ALTER ROLE … SET changes a cluster-wide role (only roles.sql may)");
        expect(reasons).toContain("GRANT role TO role changes a cluster-wide role (only roles.sql may)");
        expect(JSON.stringify(problems)).not.toContain("SCRAM-SHA-256$");
    });
});

describe("agreement with psql", () => {
    // Each \echo marks a place: psql prints HIT-n, never NO-n. The lexer must find exactly the HITs.
    const script = [
        "\\echo HIT-1",
        "   \\echo HIT-2",
        "select 1; \\echo HIT-3",
        "select 'x \\echo NO-1';",
        "select E'\\' \\echo NO-2';",
        "select E'\\\\' \\echo HIT-4",
        ";",
        'select "a\\echo NO-3" from (select 1 as "a\\echo NO-3") s;',
        "-- \\echo NO-4",
        "/* \\echo NO-5 /* nested */ \\echo NO-6 */ select 1;",
        "select $$ \\echo NO-7 $$, $t$ $$ \\echo NO-8 $t$;",
        "select 'multi",
        "\\echo NO-9",
        "line';",
        "\\echo HIT-5 \\echo HIT-6",
        "\\echo HIT-7 \\\\ select 1;",
        "select 1 \\; select 2 \\echo HIT-8",
        ";",
        "CREATE TEMP TABLE t (x text);",
        "COPY t FROM stdin; \\echo HIT-9",
        "\\echo NO-10",
        "\\.",
        "SET standard_conforming_strings = off;",
        "select 'a\\' ; \\echo NO-11';",
        "SET standard_conforming_strings = on;",
        "select 'b\\' ; \\echo HIT-10",
        "CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; \\echo HIT-11",
        "select U&'\\0041' \\echo HIT-12",
        ";",
        "select b'1', x'1f' \\echo HIT-13",
        ";",
        "select 1 -- \\echo NO-12",
        ";",
        "select 1e5, 2.5e-3, e'\\'' \\echo HIT-14",
        ";",
        "select 1 as a$b \\echo HIT-15",
        ";",
    ].join("\n");

    it("finds the backslash commands psql runs, and only those", async () => {
        const file = path.join(dir, "parity.sql");
        fs.writeFileSync(file, script);
        const printed = tool("psql", ["-X", "-q", "-d", pg.url("shop"), "-f", file])
            .split("\n")
            .filter((l) => /^(HIT|NO)-\d+$/.test(l))
            .sort();

        const echoed: string[] = [];
        async function* source() {
            yield script;
        }
        await readPsqlScript(source(), {
            done: false,
            metaCommand: (c) => void (c.name === "echo" && echoed.push(...c.args)),
            variable: () => undefined,
            overlongLine: () => undefined,
            async statement(stmt, lexer) {
                const v = await checkStatement(stmt, { allowRoleStatements: false, standardConformingStrings: lexer.standardConformingStrings });
                if (v.standardConformingStrings !== undefined) lexer.standardConformingStrings = v.standardConformingStrings;
                return v.copyFromStdin;
            },
        });
        const expected = Array.from({ length: 15 }, (_, i) => `HIT-${i + 1}`).sort();
        expect(printed).toEqual(expected);
        expect(echoed.sort()).toEqual(expected);
    });
});
