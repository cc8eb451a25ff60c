// recover schema's pieces without a database: the migrations directory and statement splitting as the
// Supabase CLI does them, the migration plan (the CLI's pending rule, --to), COPY text decoding of the
// backup's history, the catalogue comparison, the environment switch, and the command line.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { copyText, readBackupHistory } from "../../lib/recover/backupHistory";
import { compareCatalogue, type Catalogue } from "../../lib/recover/catalogue";
import { parseRecoverArgs, UsageError } from "../../lib/recover/cliArgs";
import { environmentSwitch, supabaseProjectRef } from "../../lib/recover/envSwitch";
import { helpFor } from "../../lib/recover/help";
import { prepareMigrations } from "../../lib/recover/migrationApply";
import { MigrationPlanRefused, planMigrations } from "../../lib/recover/migrationPlan";
import { listMigrations, splitStatements, type MigrationFile } from "../../lib/recover/migrationsDir";
import { markerText, parseMarker } from "../../lib/recover/targetGuard";
import { parseVaultBackupArg } from "../../lib/recover/vaultBackup";

function tmpDir(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recover-schema-unit-"));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
}

const m = (version: string, name = `m${version}`): MigrationFile => ({ version, name, file: `/m/${version}_${name}.sql` });

describe("migrations directory (the CLI's rules)", () => {
    it("takes <digits>_<name>.sql in byte order, skips the rest and the deprecated first init file", () => {
        const dir = tmpDir({
            "20200101000000_init.sql": "",
            "20240101000000_b.sql": "",
            "20231231235959_a_b.sql": "",
            "notes.txt": "",
            "2024_x.SQL": "",
            "20240202000000_Z.sql": "",
        });
        const l = listMigrations(dir);
        expect(l.migrations.map((x) => [x.version, x.name])).toEqual([
            ["20231231235959", "a_b"],
            ["20240101000000", "b"],
            ["20240202000000", "Z"],
        ]);
        expect(l.skipped).toEqual(["20200101000000_init.sql (the CLI's deprecated initial schema file)", "2024_x.SQL (not <timestamp>_<name>.sql)", "notes.txt (not <timestamp>_<name>.sql)"]);
    });

    it("refuses two files for one version and a directory that is not there", () => {
        expect(() => listMigrations(tmpDir({ "1_a.sql": "", "1_b.sql": "" }))).toThrow(/two files for version 1: 1_a\.sql and 1_b\.sql/);
        expect(() => listMigrations("/nonexistent/migrations")).toThrow(/cannot read the migrations directory \/nonexistent\/migrations: ENOENT/);
    });
});

describe("splitStatements (the CLI's splitter)", () => {
    it("splits at ; outside quotes, dollar quotes, comments, parentheses and BEGIN ATOMIC bodies", () => {
        const sql = [
            "create table t (a text default ';', b text default 'it''s; fine');",
            "-- a comment; with a semicolon",
            'select 1 as "x;y";',
            "create function f() returns int language plpgsql as $body$ begin return 1; end; $body$;",
            "/* outer /* nested; */ still; */ select 2;",
            "create function g() returns int language sql begin atomic select 1; select 2; end;",
            "select $1;",
            ";;",
        ].join("\n");
        expect(splitStatements(sql)).toEqual([
            "create table t (a text default ';', b text default 'it''s; fine')",
            '-- a comment; with a semicolon\nselect 1 as "x;y"',
            "create function f() returns int language plpgsql as $body$ begin return 1; end; $body$",
            "/* outer /* nested; */ still; */ select 2",
            "create function g() returns int language sql begin atomic select 1; select 2; end",
            "select $1",
        ]);
    });

    it("like the CLI, does not know backslash escapes inside E'' strings (db push splits them the same way)", () => {
        expect(splitStatements("select E'a\\'; b';")).toEqual(["select E'a\\'", "b'"]);
    });

    it("keeps a trailing comment as a statement, as the CLI records it", () => {
        expect(splitStatements("select 1;\n-- done\n")).toEqual(["select 1", "-- done"]);
    });
});

describe("planMigrations (the CLI's pending rule)", () => {
    const local = ["100", "200", "300", "400"].map((v) => m(v));

    it("pending are the files after the history; --to cuts them", () => {
        const applied = [{ version: "200", name: "m200" }, { version: "100", name: "m100" }];
        expect(planMigrations(applied, local).pending.map((x) => x.version)).toEqual(["300", "400"]);
        expect(planMigrations(applied, local).lastApplied).toEqual({ version: "200", name: "m200" });
        const to = planMigrations(applied, local, "300");
        expect([to.pending.map((x) => x.version), to.notApplied.map((x) => x.version)]).toEqual([["300"], ["400"]]);
        expect(planMigrations(applied, local, "200").pending).toEqual([]);
        expect(planMigrations([], local).pending).toHaveLength(4);
    });

    it("refuses a history without its files, out-of-order files, and a --to that is not usable", () => {
        expect(() => planMigrations([{ version: "150", name: "" }], local)).toThrow(/history has version\(s\) with no file in the migrations directory: 150/);
        expect(() => planMigrations([{ version: "100", name: "" }, { version: "300", name: "" }], local)).toThrow(MigrationPlanRefused);
        expect(() => planMigrations([{ version: "100", name: "" }, { version: "300", name: "" }], local)).toThrow(/older than the backup's last applied version 300 were never applied to it: 200/);
        expect(() => planMigrations([{ version: "300", name: "" }, ...["100", "200"].map((version) => ({ version, name: "" }))], local, "250")).toThrow(/--to 250 is older/);
        expect(() => planMigrations([], local, "350")).toThrow(/--to 350 is not a version in the migrations directory/);
    });
});

describe("prepareMigrations", () => {
    it("refuses transaction control in a migration, naming file and statement", async () => {
        const dir = tmpDir({ "1_ok.sql": "create table a (id int);\n", "2_tx.sql": "create table b (id int);\ncommit;\n" });
        const files = listMigrations(dir).migrations;
        expect((await prepareMigrations(files.slice(0, 1)))[0].statements).toEqual(["create table a (id int)"]);
        await expect(prepareMigrations(files)).rejects.toThrow(/migration 2_tx\.sql statement 2 is transaction control \(COMMIT\)/);
    });
});

describe("backup history", () => {
    it("decodes COPY text fields", () => {
        expect(copyText("\\N")).toBeNull();
        expect(copyText("a\\tb\\\\c\\nd")).toBe("a\tb\\c\nd");
        expect(copyText("\\101\\x42")).toBe("AB");
    });

    it("reads version and name from a plain dump's COPY block, in any column order", async () => {
        const dir = tmpDir({
            "dump.sql": [
                'CREATE TABLE "supabase_migrations"."schema_migrations" ("version" text NOT NULL, "statements" text[], "name" text);',
                'COPY "supabase_migrations"."schema_migrations" ("version", "statements", "name") FROM stdin;',
                "20240101000000\t{\"create table a (x int)\"}\tfirst",
                "20240202000000\t\\N\t\\N",
                "\\.",
            ].join("\n"),
            "schema-only.sql": "CREATE TABLE supabase_migrations.schema_migrations (version text NOT NULL);\n",
            "none.sql": "select 1;\n",
        });
        expect(await readBackupHistory(path.join(dir, "dump.sql"), "plain", dir)).toEqual({
            present: true,
            applied: [{ version: "20240101000000", name: "first" }, { version: "20240202000000", name: "" }],
        });
        expect(await readBackupHistory(path.join(dir, "schema-only.sql"), "plain", dir)).toMatchObject({ present: false, why: expect.stringMatching(/schema-only/) });
        expect(await readBackupHistory(path.join(dir, "none.sql"), "plain", dir)).toMatchObject({ present: false, why: expect.stringMatching(/no supabase_migrations\.schema_migrations table/) });
        expect(await readBackupHistory(dir, "supabase-trio", dir)).toMatchObject({ present: false, why: expect.stringMatching(/never holds supabase_migrations/) });
    });
});

describe("compareCatalogue", () => {
    const backup: Catalogue = {
        extensions: { pgcrypto: "1.3", "uuid-ossp": "1.1" },
        rls: { "public.tasks": { forced: false }, "public.secrets": { forced: true }, "public.gone": { forced: false } },
        policies: { "public.tasks": { "Owners see tasks": { command: "SELECT", roles: ["authenticated"], using: "(owner = auth.uid())", check: null } }, "storage.objects": { "Avatars": { command: "SELECT", roles: ["public"], using: "true", check: null } } },
        functions: ["auth.uid()", "public.owns_task(task bigint)"],
    };

    it("passes when everything of the backup is still there (more is fine)", () => {
        const now: Catalogue = { ...backup, extensions: { ...backup.extensions, pg_trgm: "1.6" }, functions: [...backup.functions, "public.extra()"] };
        const checks = compareCatalogue(backup, now, new Set(["public.tasks", "public.secrets", "public.gone"]), ["pgcrypto"]);
        expect(checks.every((c) => c.ok)).toBe(true);
        expect(checks.map((c) => c.checked)).toEqual([2, 3, 2, 2]);
    });

    it("fails naming each missing or weakened object; a changed policy or extension version is a note", () => {
        const now: Catalogue = {
            extensions: { pgcrypto: "1.4" },
            rls: { "public.secrets": { forced: false } },
            policies: { "public.tasks": { "Owners see tasks": { command: "SELECT", roles: ["authenticated"], using: "true", check: null } } },
            functions: ["auth.uid()"],
        };
        const checks = compareCatalogue(backup, now, new Set(["public.tasks", "public.secrets"]), ["pgcrypto", "pg_graphql"]);
        expect(Object.fromEntries(checks.map((c) => [c.name, c.problems]))).toEqual({
            extensions: ["extension pg_graphql of the backup is not installed", "extension uuid-ossp of the backup is not installed"],
            "row level security": [
                "table public.gone had row level security in the backup and no longer exists",
                "table public.secrets had row level security FORCED in the backup and not now",
                "table public.tasks had row level security enabled in the backup and has it DISABLED now",
            ],
            policies: ['policy "Avatars" on storage.objects is missing'],
            functions: ["function public.owns_task(task bigint) is missing"],
        });
        expect(checks.flatMap((c) => c.notes)).toEqual(["extension pgcrypto: version 1.3 in the backup, 1.4 now", 'policy "Owners see tasks" on public.tasks differs from the backup\'s (changed by a migration?)']);
        expect(checks.every((c) => !c.ok)).toBe(true);
    });
});

describe("environment switch", () => {
    it("names the variables, never a password; Supabase projects get their API variables", () => {
        expect(supabaseProjectRef("postgresql://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres")).toBe("abcdefghijklmnopqrst");
        expect(supabaseProjectRef("postgresql://postgres.abcdefghijklmnopqrst:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres")).toBe("abcdefghijklmnopqrst");
        expect(supabaseProjectRef("postgresql://postgres:pw@10.0.0.5:5432/app")).toBeUndefined();
        const text = environmentSwitch("postgresql://postgres:s3cret-pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres", "postgresql://postgres:live-pw@db.zyxwvutsrqponmlkjihg.supabase.co:5432/postgres");
        expect(text).toContain("NOT applied");
        expect(text).toContain("NEXT_PUBLIC_SUPABASE_URL / SUPABASE_URL: https://zyxwvutsrqponmlkjihg.supabase.co → https://abcdefghijklmnopqrst.supabase.co");
        expect(text).toMatch(/SUPABASE_SERVICE_ROLE_KEY[\s\S]*SUPABASE_JWT_SECRET: rotate/);
        expect(text).not.toMatch(/s3cret-pw|live-pw/);
        expect(environmentSwitch("postgresql://u:pw@10.0.0.5:5432/app")).toMatch(/plain PostgreSQL database[\s\S]*PGRST_DB_URI/);
    });
});

describe("target marker", () => {
    it("round-trips and ignores other comments", () => {
        const mk = { backupSha256: "a".repeat(64), restoredAt: "2026-03-01T00:00:00.000Z", baseline: "/x/schema-baseline.json" };
        expect(parseMarker(markerText(mk))).toEqual(mk);
        expect(parseMarker("supabase-dr scratch database; owner token abc")).toBeUndefined();
        expect(parseMarker(null)).toBeUndefined();
    });
});

describe("recover schema command line", () => {
    it("parses the command, vault backups and versions", () => {
        expect(parseRecoverArgs(["schema", "--backup", "b.dump", "--migrations", "supabase/migrations", "--to", "20240410090000"])).toEqual({
            command: "schema",
            backup: "b.dump",
            vault: undefined,
            migrations: "supabase/migrations",
            to: "20240410090000",
            baseline: undefined,
            apply: false,
            artifactsDir: "recover-artifacts",
        });
        expect(parseRecoverArgs(["schema", "--backup", "vault", "--migrations", "m", "--apply"])).toMatchObject({ vault: {}, apply: true });
        expect(parseRecoverArgs(["schema", "--backup", "vault:backup_20260301020000", "--migrations", "m"])).toMatchObject({ vault: { key: "backup_20260301020000" } });
        expect(parseRecoverArgs(["rows", "--backup", "vault:db/prod/2026/03/01/backup_1.dump", "--table", "t", "--key", "id", "--where", "true"])).toMatchObject({
            vault: { key: "db/prod/2026/03/01/backup_1.dump" },
        });
    });

    it("refuses usage errors, and a target URL on the command line", () => {
        const bad = [
            ["schema", "--migrations", "m"],
            ["schema", "--backup", "b"],
            ["schema", "--backup", "b", "--migrations", "m", "--to", "latest"],
            ["schema", "--backup", "b", "--migrations", "m", "--baseline", "2024-01-01"],
            ["schema", "--backup", "vault:", "--migrations", "m"],
            ["schema", "--backup", "vault:db/../x", "--migrations", "m"],
            ["schema", "--backup", "b", "--migrations", "m", "--target-db-url=postgresql://u:pw@h/d"],
        ];
        for (const argv of bad) expect(() => parseRecoverArgs(argv), argv.join(" ")).toThrow(UsageError);
        expect(() => parseRecoverArgs(["schema", "--backup", "b", "--migrations", "m", "--target-db-url=postgresql://u:pw@h/d"])).toThrow(/TARGET_DB_URL, never from the command line/);
        expect(parseVaultBackupArg("./vault")).toBeUndefined();
    });

    it("--help documents schema", () => {
        expect(helpFor()).toMatch(/^ {2}schema +path B/m);
        expect(helpFor("schema")).toMatch(/--migrations[\s\S]*--to[\s\S]*--baseline[\s\S]*--apply[\s\S]*TARGET_DB_URL/);
        expect(helpFor("rows")).toMatch(/vault:<key>/);
    });
});
