import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { assertSafeSqlBackup, scanSqlBackup } from "../../lib/restore/sqlSafety";

function file(name: string, content: string | Buffer): string {
    const p = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sdr-sql-")), name);
    fs.writeFileSync(p, content);
    return p;
}

describe("SQL backup safety scan", () => {
    it("accepts an ordinary pg_dump script, \\restrict included, and ignores COPY data", async () => {
        const sql = [
            "\\restrict abc123",
            "SET statement_timeout = 0;",
            "CREATE TABLE public.t (x text);",
            "COPY public.t (x) FROM stdin;",
            "\\connect-looking data is data",
            "\\.",
            "\\unrestrict abc123",
        ].join("\n");
        expect(await scanSqlBackup(file("ok.sql", sql), false)).toEqual([]);
    });

    it("refuses \\connect, shell escapes and database-level DDL, naming file and line", async () => {
        const sql = ["CREATE DATABASE prod_copy;", "\\connect prod", "select 1;", "\\! rm -rf /", "  drop database prod;"].join("\n");
        const f = file("bad.sql", sql);
        const problems = await scanSqlBackup(f, false);
        expect(problems.map((p) => p.line)).toEqual([1, 2, 4, 5]);
        await expect(assertSafeSqlBackup([f], false)).rejects.toThrow(/bad\.sql:2: \\connect prod/);
    });

    it("scans gzip'd scripts too", async () => {
        const f = file("bad.sql.gz", gzipSync("select 1;\n\\c other\n"));
        expect((await scanSqlBackup(f, true)).map((p) => p.text)).toEqual(["\\c other"]);
    });
});
