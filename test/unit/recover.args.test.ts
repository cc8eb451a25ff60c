// recover's command line, --keys CSV, --where validation and the diff text, without a database.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseRecoverArgs, UsageError } from "../../lib/recover/cliArgs";
import { computeDiff, formatDiff, summarizeDiff } from "../../lib/recover/diff";
import { parseColumnList, parseTableName } from "../../lib/recover/identifiers";
import { parseCsv, readKeysFile } from "../../lib/recover/keysFile";
import { validatePredicate } from "../../lib/recover/predicate";
import { shapeDifferences } from "../../lib/recover/tableShape";

describe("recover command line", () => {
    it("parses rows with defaults", () => {
        expect(parseRecoverArgs(["rows", "--backup", "b.dump", "--table", "app.items", "--key", "a,b", "--keys", "k.csv"])).toEqual({
            command: "rows",
            backup: "b.dump",
            table: { schema: "app", name: "items" },
            key: ["a", "b"],
            keysFile: "k.csv",
            where: undefined,
            columns: undefined,
            apply: false,
            artifactsDir: "recover-artifacts",
            diffOut: undefined,
            lockTimeoutMs: 10_000,
        });
    });

    it("refuses usage errors with UsageError (exit 2)", () => {
        const bad = [
            ["rows", "--backup", "b", "--table", "t", "--key", "id"], // neither --keys nor --where
            ["rows", "--backup", "b", "--table", "t", "--key", "id", "--keys", "k", "--where", "true"],
            ["rows", "--backup", "b", "--table", "a.b.c", "--key", "id", "--where", "true"],
            ["rows", "--backup", "b", "--table", "t", "--key", "id,id", "--where", "true"],
            ["rows", "--backup", "b", "--table", "t", "--key", "id", "--where", "true", "--lock-timeout", "0"],
            ["undo"],
            ["freeze", "--roles", ""],
            ["freeze", "--db-url=postgresql://u:p@h/d"],
            ["undo", "postgresql://u:pw@host/db"],
            ["explode"],
        ];
        for (const argv of bad) expect(() => parseRecoverArgs(argv), argv.join(" ")).toThrow(UsageError);
    });

    it("--help anywhere asks for help on the command", () => {
        expect(parseRecoverArgs([])).toEqual({ command: "help", topic: undefined });
        expect(parseRecoverArgs(["undo", "--help"])).toEqual({ command: "help", topic: "undo" });
    });

    it("freeze defaults to Supabase's API roles", () => {
        expect(parseRecoverArgs(["freeze"])).toMatchObject({ roles: ["anon", "authenticated", "service_role", "authenticator"], apply: false });
    });

    it("quoted identifiers keep dots and commas", () => {
        expect(parseTableName('"my.schema"."T"')).toEqual({ schema: "my.schema", name: "T" });
        expect(parseTableName("items")).toEqual({ schema: "public", name: "items" });
        expect(parseColumnList('a,"b,c"', "--key")).toEqual(["a", "b,c"]);
    });
});

describe("--keys CSV", () => {
    it("reads quoted fields, CRLF and a BOM", () => {
        expect(parseCsv('id,name\r\n1,"a, ""b"""\r\n2,"multi\nline"\n', "f")).toEqual([["id", "name"], ["1", 'a, "b"'], ["2", "multi\nline"]]);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keys-")), "k.csv");
        fs.writeFileSync(file, "\ufeffuser_id\n42\n43\n");
        expect(readKeysFile(file)).toEqual({ columns: ["user_id"], rows: [["42"], ["43"]] });
    });

    it("names the record, never the value, on a malformed line", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keys-")), "k.csv");
        fs.writeFileSync(file, "id\nsecret-value-1,extra\n");
        expect(() => readKeysFile(file)).toThrow(/record 2: 2 field\(s\), the header has 1/);
        try {
            readKeysFile(file);
        } catch (err) {
            expect((err as Error).message).not.toContain("secret-value-1");
        }
        fs.writeFileSync(file, "id\n");
        expect(() => readKeysFile(file)).toThrow(/has a header but no keys/);
    });
});

describe("--where validation (libpg-query)", () => {
    it("accepts one predicate", async () => {
        await expect(validatePredicate("created_at > '2024-05-01' and (owner_id = 'x' or done)")).resolves.toBeUndefined();
        await expect(validatePredicate("id in (select id from other where x) -- trailing comment")).resolves.toBeUndefined();
    });

    it("refuses a second statement, a set operation, a limit or a changed FROM", async () => {
        await expect(validatePredicate("true); delete from t; select (1")).rejects.toThrow(/one expression; it makes 3 statements/);
        await expect(validatePredicate("true) union select * from pg_authid where (true")).rejects.toThrow(/predicate only/);
        await expect(validatePredicate("true) order by (1")).rejects.toThrow(/predicate only; it adds sortClause/);
        await expect(validatePredicate("true) limit (1")).rejects.toThrow(/predicate only/);
        await expect(validatePredicate("")).rejects.toThrow(/--where is empty/);
        await expect(validatePredicate("id = ")).rejects.toThrow(/not a valid SQL predicate/);
    });
});

describe("diff", () => {
    const table = { schema: "public", name: "t" };
    const backup = [
        { id: "1", a: "x", b: null },
        { id: "2", a: "y", b: "same" },
        { id: "3", a: "z", b: "new" },
    ];
    const live = [
        { id: "2", a: "y", b: "same" },
        { id: "3", a: "z", b: "old" },
    ];

    it("finds inserts, per-column updates and identical rows", () => {
        const d = computeDiff(table, ["id"], ["a", "b"], backup, live);
        expect(d.changes.map((c) => [c.kind, c.key, c.changed])).toEqual([
            ["insert", ["1"], []],
            ["update", ["3"], ["b"]],
        ]);
        expect(d.identical).toBe(1);
        expect(formatDiff(d)).toBe(
            [
                "# public.t on (id): 1 to insert, 1 to update, 1 identical (changed columns: b 1)",
                '+ insert (id)=("1")',
                '    a: "x"',
                "    b: NULL",
                '~ update (id)=("3")',
                '    b: "old" → "new"',
                "",
            ].join("\n"),
        );
        expect(summarizeDiff(d)).not.toMatch(/old|new"/);
    });

    it("--columns limits what an update compares", () => {
        expect(computeDiff(table, ["id"], ["a"], backup, live).identical).toBe(2);
    });
});

describe("column comparison", () => {
    it("names columns missing on either side and type changes", () => {
        const col = (name: string, type: string) => ({ name, type, generated: false, identity: "" as const });
        const t = { schema: "public", name: "t" };
        expect(
            shapeDifferences({ table: t, columns: [col("id", "integer"), col("a", "text"), col("gone", "text")] }, { table: t, columns: [col("id", "bigint"), col("a", "text"), col("added", "text")] }),
        ).toEqual(["only in the backup: gone", "only in live: added", "id: integer in the backup, bigint in live"]);
    });
});
