// The row hash (rowHash.ts) against a real PostgreSQL: which column types it hashes natively and why
// the others go through their text form, that the server really refuses extended hashing where it
// lacks it, that its checksums see exactly what the text form's see (NULL vs empty string, repeated
// rows, column order, values swapped between rows), and that a real dump and restore (new OIDs for
// enums and every referenced relation) compares clean.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findPgTool } from "../../lib/postgres/binaries";
import { connect, withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { compareFingerprints } from "../../lib/validate/compare";
import { takeFingerprint } from "../../lib/validate/fingerprint";
import {
    choosePlan,
    followPlan,
    hashColumns,
    recordedPlan,
    ROW_HASH_SEED,
    type ChecksumBasis,
    type ChecksumPlan,
    type HashColumn,
} from "../../lib/validate/rowHash";
import { pinOutputSettings } from "../../lib/validate/session";
import { blockRanges, combineScans, scanTable, scanTablePart } from "../../lib/validate/tableScan";
import type { Fingerprint, TableFingerprint } from "../../lib/validate/types";

const execFileAsync = promisify(execFile);

let pg: LocalCluster;

async function sql(database: string, text: string): Promise<void> {
    await withClient(pg.url(database), database, (c) => c.query(text));
}

async function createDatabase(name: string, setup?: string): Promise<void> {
    await sql("postgres", `create database ${name}`);
    if (setup) await sql(name, setup);
}

// Case-insensitive: equal values that print differently, as citext or a nondeterministic column has.
const CI_COLLATION = "create collation ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);";

beforeAll(async () => {
    pg = await startLocalCluster();
});
afterAll(async () => {
    await pg?.stop();
});

describe("which columns are hashed natively", () => {
    const native: [string, string][] = [
        ["b", "boolean"], ["ch", '"char"'], ["i2", "smallint"], ["i4", "integer"], ["i8", "bigint"], ["t", "text"],
        ["vc", "varchar(10)"], ["bp", "char(3)"], ["nm", "name"], ["u", "uuid"], ["d", "date"], ["tm", "time"],
        ["ttz", "timetz"], ["ts", "timestamp"], ["tstz", "timestamptz"], ["by", "bytea"], ["ip", "inet"], ["net", "cidr"],
        ["mac", "macaddr"], ["mac8", "macaddr8"], ["dom", "app.positive"], ["dom2", "app.short_label"], ["tc", 'text collate "C"'],
    ];
    const asText: [string, string][] = [
        // Equality merges values that print differently.
        ["num", "numeric"], ["f8", "double precision"], ["f4", "real"], ["iv", "interval"], ["jb", "jsonb"], ["cit", "text collate ci"],
        // No extended hash function at all.
        ["js", "json"], ["x", "xml"], ["pt", "point"], ["bits", "bit(3)"], ["mny", "money"],
        // Hashes of OIDs, which a restore renumbers.
        ["en", "app.mood"], ["rc", "regclass"], ["o", "oid"],
        // Containers: PostgreSQL declares no image equality for them (an array's hash ignores its bounds).
        ["arr", "integer[]"], ["rng", "int4range"], ["comp", "app.pair"], ["domtxt", "app.ci_label"],
    ];

    beforeAll(async () => {
        await createDatabase(
            "kinds",
            `${CI_COLLATION}
            create schema app;
            create domain app.positive as integer check (value > 0);
            create domain app.label as text;
            create domain app.short_label as app.label check (length(value) < 20);
            create domain app.ci_label as text collate ci;
            create type app.mood as enum ('calm', 'angry');
            create type app.pair as (a integer, b text);
            create table app.kinds (gone integer, ${[...native, ...asText].map(([n, t]) => `${n} ${t}`).join(", ")});
            -- A dropped column is not part of the row (pg_dump does not restore it).
            alter table app.kinds drop column gone;
            -- One row of NULLs: the server looks a column's hash function up per row, null or not.
            insert into app.kinds default values;
            create table app.empty ();`,
        );
    });

    it("are the plain built-in types whose equality is image equality; domains count as their base type", async () => {
        const columns = await withClient(pg.url("kinds"), "kinds", (c) => hashColumns(c, [{ schema: "app", name: "kinds" }, { schema: "app", name: "empty" }]));
        expect(columns.get("app.kinds")).toEqual([
            ...native.map(([name]) => ({ name, native: true })),
            ...asText.map(([name]) => ({ name, native: false })),
        ]);
        expect(columns.get("app.empty")).toEqual([]);
    });

    it("match what the server can hash: json, xml, point, bit and money have no extended hash function", async () => {
        const lacking: string[] = [];
        await withClient(pg.url("kinds"), "kinds", async (c) => {
            await c.query("begin");
            for (const [name] of [...native, ...asText]) {
                await c.query("savepoint probe");
                try {
                    await c.query(`select pg_catalog.hash_record_extended(row(k.${name}), 0) from app.kinds k`);
                } catch (err) {
                    expect((err as Error).message).toMatch(/could not identify an extended hash function for type/);
                    lacking.push(name);
                }
                await c.query("rollback to savepoint probe");
            }
            await c.query("rollback");
        });
        expect(lacking).toEqual(["js", "x", "pt", "bits", "mny"]);
    });

    it("leave out types whose native hash merges values that print differently", async () => {
        const r = await withClient(pg.url("kinds"), "kinds", (c) =>
            c.query<Record<string, boolean>>(
                `select pg_catalog.hash_numeric_extended(1.0, 7) = pg_catalog.hash_numeric_extended(1.00, 7) as numeric_scale,
                        pg_catalog.hashfloat8extended(0, 7) = pg_catalog.hashfloat8extended('-0', 7) as float_sign,
                        pg_catalog.interval_hash_extended('1 day', 7) = pg_catalog.interval_hash_extended('24 hours', 7) as interval_units,
                        pg_catalog.jsonb_hash_extended('{"a": 1.0}', 7) = pg_catalog.jsonb_hash_extended('{"a": 1.00}', 7) as jsonb_scale,
                        pg_catalog.hash_record_extended(row('A'::text collate ci), 7) = pg_catalog.hash_record_extended(row('a'::text collate ci), 7) as case_insensitive,
                        pg_catalog.hash_array_extended('{1,2}'::int[], 7) = pg_catalog.hash_array_extended('[0:1]={1,2}'::int[], 7) as array_bounds`,
            ),
        );
        expect(r.rows[0]).toEqual({
            numeric_scale: true,
            float_sign: true,
            interval_units: true,
            jsonb_scale: true,
            case_insensitive: true,
            array_bounds: true,
        });
    });
});

describe("plans", () => {
    const cols = (...spec: [string, boolean][]): HashColumn[] => spec.map(([name, native]) => ({ name, native }));

    it("use the text form before PostgreSQL 14, for a table with no natively hashable column, and for a table with no column", () => {
        expect(choosePlan(130012, cols(["id", true]))).toEqual({ method: "text" });
        expect(choosePlan(150008, cols(["doc", false], ["at", false]))).toEqual({ method: "text" });
        expect(choosePlan(150008, [])).toEqual({ method: "text" });
        expect(choosePlan(140000, cols(["id", true], ["doc", false]))).toEqual({
            method: "row-hash",
            seed: ROW_HASH_SEED,
            columns: cols(["id", true], ["doc", false]),
        });
    });

    it("repeat a recorded row hash only where every column can be hashed the recorded way", () => {
        const recorded = recordedPlan({ checksumMethod: "row-hash", checksumSeed: "5381", textColumns: ["doc"] });
        expect(followPlan(150008, recorded, cols(["id", true], ["doc", false]))).toEqual({
            plan: { method: "row-hash", seed: "5381", columns: cols(["id", true], ["doc", false]) },
        });
        // A column natively hashable here but hashed as text by the source is hashed as text here too.
        expect(followPlan(150008, recorded, cols(["doc", true], ["id", true]))).toEqual({
            plan: { method: "row-hash", seed: "5381", columns: cols(["doc", false], ["id", true]) },
        });
        expect(followPlan(130000, recorded, cols(["id", true], ["doc", false]))).toEqual({
            unusable: "the server predates PostgreSQL 14 (no hash_record_extended)",
        });
        expect(followPlan(150008, recorded, cols(["id", true]))).toEqual({ unusable: "column(s) doc do not exist here" });
        expect(followPlan(150008, recorded, cols(["id", false], ["doc", false]))).toEqual({ unusable: "column(s) id cannot be hashed natively here" });
        // The seed goes into SQL: anything but a bigint is refused.
        for (const seed of ["1); drop table x; --", "9223372036854775808", "", "1.5"]) {
            expect(followPlan(150008, { ...recorded, seed } as typeof recorded, cols(["id", true], ["doc", false]))).toEqual({
                unusable: "the recorded seed is not a bigint",
            });
        }
        expect(recordedPlan({})).toEqual({ method: "text" });
        expect(recordedPlan({ checksumMethod: "text" })).toEqual({ method: "text" });
    });
});

/**
 * Pairs of table contents: the same table name in database a and database b, filled differently.
 * `differs` is what the text form says; the row hash must say the same.
 */
const CASES: { table: string; ddl: string; a: string; b: string; differs: boolean }[] = [
    {
        table: "same_rows_other_order",
        ddl: "id integer, label text, amount numeric",
        a: "(1, 'one', 1.5), (2, 'two', null), (3, 'three', 0)",
        b: "(3, 'three', 0), (1, 'one', 1.5), (2, 'two', null)",
        differs: false,
    },
    { table: "null_vs_empty_native", ddl: "id integer, label text", a: "(1, ''), (2, null)", b: "(1, null), (2, null)", differs: true },
    { table: "empty_vs_null_native", ddl: "id integer, label text", a: "(1, null)", b: "(1, '')", differs: true },
    { table: "null_vs_empty_as_text", ddl: "id integer, code text collate ci", a: "(1, '')", b: "(1, null)", differs: true },
    { table: "null_vs_zero", ddl: "id integer, n integer", a: "(1, 0)", b: "(1, null)", differs: true },
    { table: "null_vs_false", ddl: "id integer, ok boolean", a: "(1, false)", b: "(1, null)", differs: true },
    {
        table: "repeated_pair_replaced",
        ddl: "kind text, note text",
        a: "('login', 'x'), ('login', 'x'), ('logout', 'z')",
        b: "('login', 'y'), ('login', 'y'), ('logout', 'z')",
        differs: true,
    },
    { table: "one_row_twice", ddl: "kind text, note text", a: "('a', 'x'), ('b', 'y')", b: "('a', 'x'), ('a', 'x')", differs: true },
    {
        table: "swapped_between_rows",
        ddl: "id integer, owner uuid, title text",
        a: "(1, '11111111-1111-1111-1111-111111111111', 'one'), (2, '22222222-2222-2222-2222-222222222222', 'two')",
        b: "(1, '22222222-2222-2222-2222-222222222222', 'one'), (2, '11111111-1111-1111-1111-111111111111', 'two')",
        differs: true,
    },
    {
        table: "swapped_within_row",
        ddl: "id integer, first_name text, last_name text",
        a: "(1, 'Ada', 'Lovelace')",
        b: "(1, 'Lovelace', 'Ada')",
        differs: true,
    },
    { table: "numeric_scale", ddl: "id integer, amount numeric", a: "(1, 1.0)", b: "(1, 1.00)", differs: true },
    { table: "case_only", ddl: "id integer, code text collate ci", a: "(1, 'Abc')", b: "(1, 'abc')", differs: true },
    { table: "json_spacing", ddl: "id integer, doc json", a: `(1, '{"a": 1}')`, b: `(1, '{"a":1}')`, differs: true },
    { table: "timestamp_microsecond", ddl: "id integer, at timestamptz", a: "(1, '2024-01-01 10:00:00.000001+00')", b: "(1, '2024-01-01 10:00:00+00')", differs: true },
    { table: "text_run_boundary", ddl: "id integer, a numeric, b numeric", a: "(1, 12, 3)", b: "(1, 1, 23)", differs: true },
];

/** Same values, columns in another order: created in b with its columns reversed. */
const REORDERED = { table: "columns_reordered", a: "id integer, label text, doc json", b: "doc json, label text, id integer", rows: [`1, 'x', '{}'`, `2, 'y', '[]'`] };

function casesSql(side: "a" | "b"): string {
    const cases = CASES.map((k) => `create table public.${k.table} (${k.ddl}); insert into public.${k.table} values ${k[side]};`);
    const reordered = side === "a" ? REORDERED.a : REORDERED.b;
    const values = REORDERED.rows.map((r) => (side === "a" ? r : r.split(", ").reverse().join(", "))).map((r) => `(${r})`);
    return [CI_COLLATION, ...cases, `create table public.${REORDERED.table} (${reordered}); insert into public.${REORDERED.table} values ${values.join(", ")};`].join("\n");
}

const fingerprintOf = (database: string, basis?: ChecksumBasis): Promise<Fingerprint> =>
    withClient(pg.url(database), database, (c) => takeFingerprint(c, { schemas: ["public"] }, undefined, basis));

const textBasis = (fp: Fingerprint): ChecksumBasis => ({ tables: fp.tables.map((t): Pick<TableFingerprint, "table"> => ({ table: t.table })) });

function checksumVerdicts(source: Fingerprint, target: Fingerprint): Record<string, boolean> {
    const results = compareFingerprints(source, target).filter((r) => r.check === "checksum");
    return Object.fromEntries(results.map((r) => [r.object.replace(/^public\./, ""), r.status === "fail"]));
}

describe("checksums see what the text form sees", () => {
    let rowHash: Record<string, boolean>;
    let text: Record<string, boolean>;
    let source: Fingerprint;

    beforeAll(async () => {
        await createDatabase("a", casesSql("a"));
        await createDatabase("b", casesSql("b"));
        source = await fingerprintOf("a");
        rowHash = checksumVerdicts(source, await fingerprintOf("b", source));
        const textSource = await fingerprintOf("a", textBasis(source));
        expect(new Set(textSource.tables.map((t) => t.checksumMethod))).toEqual(new Set(["text"]));
        text = checksumVerdicts(textSource, await fingerprintOf("b", textSource));
    });

    it("with the row hash on every table, as planned", () => {
        expect(source.tables.filter((t) => t.checksumMethod !== "row-hash").map((t) => t.table)).toEqual([]);
        expect(source.tables.find((t) => t.table === "public.text_run_boundary")?.textColumns).toEqual(["a", "b"]);
    });

    it("on every case: the same verdict from both methods, and the expected one", () => {
        const expected = Object.fromEntries([...CASES.map((k) => [k.table, k.differs]), [REORDERED.table, true]]);
        expect(text).toEqual(expected);
        expect(rowHash).toEqual(text);
    });

    it("although the plain sum of hash_record_extended cannot see values swapped between rows (why each row hash is mixed again)", async () => {
        const plainSum = (db: string) =>
            withClient(pg.url(db), db, async (c) => (await c.query<{ s: string }>("select sum(pg_catalog.hash_record_extended(t, 5381))::text as s from public.swapped_between_rows t")).rows[0].s);
        expect(await plainSum("a")).toBe(await plainSum("b"));
        expect(rowHash.swapped_between_rows).toBe(true);
    });
});

describe("split scans", () => {
    it("add up to the single pass with the row hash", async () => {
        await createDatabase(
            "split",
            `create table public.big (id bigint, label text, amount numeric, at timestamptz);
             insert into public.big select g, 'row ' || g, g / 7.0, '2024-01-01'::timestamptz + g * interval '1 minute' from generate_series(1, 20000) g;`,
        );
        const client: Client = await connect(pg.url("split"), "split");
        try {
            await client.query("begin isolation level repeatable read read only");
            await pinOutputSettings(client);
            const table = { schema: "public", name: "big", partitioned: false, hasUpdatedAt: false };
            const plan: ChecksumPlan = choosePlan(150000, (await hashColumns(client, [table])).get("public.big") ?? []);
            expect(plan.method).toBe("row-hash");
            const blocks = Number((await client.query<{ b: string }>("select pg_relation_size('public.big') / 8192 as b")).rows[0].b);
            const ranges = blockRanges(blocks, 3);
            expect(ranges).toHaveLength(3);
            const parts = [];
            for (const range of ranges) parts.push(await scanTablePart(client, table, false, range, plan));
            const whole = await scanTable(client, table, false, plan);
            expect(combineScans(parts)).toEqual(whole);
            expect(whole.rowCount).toBe(20000);
            // The text form of the same table is a different checksum: methods never mix.
            expect((await scanTable(client, table, false)).checksum).not.toBe(whole.checksum);
            await client.query("rollback");
        } finally {
            await client.end();
        }
    });
});

describe("a real dump and restore", () => {
    it("compares clean although enum and regclass OIDs changed (those columns are hashed as text)", async () => {
        await createDatabase(
            "orig",
            `create type public.mood as enum ('calm', 'angry');
             create table public.moods (id integer primary key, mood public.mood, rel regclass, at timestamptz, doc jsonb);
             insert into public.moods values (1, 'calm', 'public.moods', '2024-01-01 00:00:00+00', '{"a": 1.0}'), (2, 'angry', null, null, null);`,
        );
        await createDatabase("copy");
        const env = { ...process.env, PGPASSWORD: pg.password };
        const url = (db: string) => `postgresql://postgres@127.0.0.1:${pg.port}/${db}`;
        await execFileAsync(
            "bash",
            ["-c", 'set -o pipefail; "$0" --no-owner --dbname="$1" | "$2" -q -v ON_ERROR_STOP=1 --dbname="$3" >/dev/null', findPgTool("pg_dump"), url("orig"), findPgTool("psql"), url("copy")],
            { env },
        );
        const enumHash = (db: string) =>
            withClient(pg.url(db), db, async (c) => (await c.query<{ h: string }>("select pg_catalog.hashenumextended('calm'::public.mood, 0)::text as h")).rows[0].h);
        // What a native hash of the enum column would have compared: its OIDs, renumbered by the restore.
        expect(await enumHash("orig")).not.toBe(await enumHash("copy"));

        const source = await fingerprintOf("orig");
        expect(source.tables.find((t) => t.table === "public.moods")).toMatchObject({ checksumMethod: "row-hash", textColumns: ["mood", "rel", "doc"] });
        const results = compareFingerprints(source, await fingerprintOf("copy", source));
        expect(results.filter((r) => r.status === "fail")).toEqual([]);
        expect(results.find((r) => r.check === "checksum" && r.object === "public.moods")?.status).toBe("pass");
    });
});
