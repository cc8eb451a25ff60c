// The literal-row shortcut may only ever say "yes" to statements PostgreSQL's parser reads as a single
// plain INSERT: every case is checked against libpg-query as well.
import { parse } from "libpg-query";
import { describe, expect, it } from "vitest";
import { isLiteralInsert } from "../../lib/restore/sqlLiteralInsert";

async function parsesAsOneInsert(sql: string): Promise<boolean> {
    try {
        const tree = await parse(sql);
        return tree.stmts.length === 1 && "InsertStmt" in tree.stmts[0].stmt;
    } catch {
        return false;
    }
}

const ACCEPTED = [
    "INSERT INTO public.t (id, note) VALUES (1, 'a'), (2, 'b');",
    "insert into t values (1, 'it''s'), (-2.5e-3, NULL), (.5, DEFAULT), (3., true), (4, FALSE)",
    'INSERT INTO "My Schema"."T" ("a""b", c) VALUES (1, \'\\c postgres; DROP DATABASE x\')',
    "INSERT INTO t (b) VALUES (B'1010'), (B'')",
    "INSERT INTO t (x) OVERRIDING SYSTEM VALUE VALUES (1)",
    "INSERT INTO t (x) VALUES\n\t('multi\nline'),\n\t('x');\n",
];

const DECLINED = [
    "INSERT INTO t (x) VALUES (1);, (2);", // `\;` can put a semicolon into the query buffer
    "INSERT INTO t (x) VALUES (1), (2, 3);", // rows of different widths
    "INSERT INTO t (x) VALUES ('a' 'b');", // adjacent literals on one line: a syntax error
    "INSERT INTO t (x) VALUES ('a'\n'b');", // string continuation: valid, but not a plain literal
    "INSERT INTO t (x) VALUES (E'\\n');",
    "INSERT INTO t (x) VALUES ('a'::text);",
    "INSERT INTO t (x) VALUES (now());",
    "INSERT INTO t (x) VALUES (1) RETURNING x;",
    "INSERT INTO t (x) VALUES (1) ON CONFLICT DO NOTHING;",
    "INSERT INTO t (x) VALUES (1 /* c */);",
    "INSERT INTO t (x) VALUES (--1\n);",
    "INSERT INTO t (x) VALUES (1abc);",
    "INSERT INTO t (x) VALUES (1.2.3);",
    "INSERT INTO t (x) VALUES (B'102');",
    "INSERT INTO t (x) VALUES ('unterminated);",
    "INSERT INTO select (x) VALUES (1);",
    "INSERT INTO t (x) VALUES (1); DROP DATABASE prod;",
    "WITH d AS (DELETE FROM t) INSERT INTO t (x) VALUES (1);",
    "INSERT INTO t (x) VALUES (1) \u0000",
];

describe("literal INSERT shortcut", () => {
    it("accepts plain literal rows, which PostgreSQL's parser reads as one INSERT", async () => {
        for (const sql of ACCEPTED) {
            expect(await isLiteralInsert(sql), sql).toBe(true);
            expect(await parsesAsOneInsert(sql), sql).toBe(true);
        }
    });

    it("declines everything else, leaving it to the full parser", async () => {
        for (const sql of DECLINED) expect(await isLiteralInsert(sql), sql).toBe(false);
    });
});
