// recover schema (runbook 001 path B) against real PostgreSQL: a Supabase-shaped live database
// (test/helpers/supabaseFixture.ts, whose migration history records three migrations), real backups
// of it (pg_dump -Fc, and the `supabase db dump` trio the CLI makes), a migrations directory with two
// migrations the backup lacks (test/helpers/migrationsFixture.ts), and new, empty target databases
// on a second cluster. The CLI is run as the operator runs it for the dry run and the exit codes.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dumpSource } from "../../lib/backup/dump";
import { applyBaselineFiles, BASELINE_DATABASE_FILES, ensurePlatformRoles } from "../../lib/supabase/platform/baseline";
import { quoteIdent, withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { runPgTool, uriWithoutPassword } from "../../lib/postgres/tools";
import { MigrationFailed } from "../../lib/recover/migrationApply";
import { splitStatements } from "../../lib/recover/migrationsDir";
import { recoverSchema, type RecoverSchemaOptions } from "../../lib/recover/schema";
import { supabaseDbDumpTrio } from "../helpers/supabaseCliDump";
import { createSupabaseFixture } from "../helpers/supabaseFixture";
import { IN_FIXTURE_HISTORY, NEW_MIGRATIONS, writeMigrations } from "../helpers/migrationsFixture";

const ROOT = path.resolve(__dirname, "../..");
let live: LocalCluster;
let targets: LocalCluster;
let liveUrl: string;
let work: string;
let backup: string;
let migrations: string;
let artifacts: string;

async function newTarget(name: string): Promise<string> {
    await withClient(targets.url(), "targets admin", (c) => c.query(`create database ${quoteIdent(name)}`));
    return targets.url(name);
}

async function q<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
    return withClient(url, "db", async (c) => (await c.query<T>(sql)).rows);
}

async function history(url: string): Promise<{ version: string; name: string; statements: string[] | null }[]> {
    return q(url, "select version, name, statements from supabase_migrations.schema_migrations order by version");
}

function options(extra: Partial<RecoverSchemaOptions> & { targetUrl: string }): RecoverSchemaOptions {
    return { backupPath: backup, migrationsDir: migrations, liveUrl, apply: false, artifactsDir: artifacts, ...extra };
}

async function cli(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "scripts/recover.ts"), ...args], { cwd: work, env: { ...process.env, ...env } });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-schema-test-"));
    fs.chmodSync(work, 0o755);
    artifacts = path.join(work, "artifacts");
    [live, targets] = await Promise.all([startLocalCluster(), startLocalCluster()]);
    liveUrl = (await createSupabaseFixture(live.url(), "app", { users: 4 })).url;
    backup = path.join(work, "app.dump");
    const r = await runPgTool("pg_dump", ["-Fc", "-f", backup, `--dbname=${uriWithoutPassword(liveUrl)}`], { connection: liveUrl });
    expect(r.exitCode).toBe(0);
    migrations = writeMigrations(path.join(work, "migrations"));
});

afterAll(async () => {
    await Promise.all([live?.stop(), targets?.stop()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("recover schema (custom-format backup missing the last two migrations)", () => {
    let target: string;

    it("the dry run reports the backup's last migration and the plan, and writes nothing", async () => {
        target = await newTarget("restored");
        const r = await recoverSchema(options({ targetUrl: target }));
        expect(r.historyFrom).toBe("backup");
        expect(r.lastApplied).toEqual({ version: "20240302180000", name: "storage_policies" });
        expect(r.pending).toEqual(["20240410090000_task_labels.sql", "20240422150000_task_priority.sql"]);
        expect(r.planText).toContain("last applied migration in the backup: 20240302180000 storage_policies");
        expect(r.planText).toMatch(/20240410090000_task_labels\.sql \(7 statement\(s\)\)/);
        expect(r.planText).toMatch(/checks after the migrations.*\(\d+ extension\(s\), \d+ table\(s\) with RLS, \d+ polic\(ies\), \d+ function\(s\)\).*pgcrypto/);
        expect(r.notes).toEqual(["migrations directory: skipped README.md (not <timestamp>_<name>.sql)"]);
        expect(r.envSwitch).toMatch(/NOT applied[\s\S]*127\.0\.0\.1:\d+\/app → 127\.0\.0\.1:\d+\/restored[\s\S]*plain PostgreSQL database/);
        expect(await q(target, "select count(*)::int as n from pg_catalog.pg_namespace where nspname in ('auth', 'supabase_migrations')")).toEqual([{ n: 0 }]);
        expect(fs.existsSync(artifacts)).toBe(false);
    });

    it("--apply restores, applies both migrations each with its history row as the CLI writes it, and verifies PASS", async () => {
        const r = await recoverSchema(options({ targetUrl: target, apply: true }));
        expect(r.applied).toEqual(NEW_MIGRATIONS);
        expect(r.verified).toBe(true);
        expect(r.checks!.map((c) => [c.name, c.ok])).toEqual([
            ["extensions", true], ["row level security", true], ["policies", true], ["functions", true], ["migration history", true],
        ]);
        expect(r.checks!.find((c) => c.name === "row level security")!.checked).toBeGreaterThanOrEqual(3);
        const rows = await history(target);
        expect(rows.map((h) => h.version)).toEqual([...IN_FIXTURE_HISTORY, ...NEW_MIGRATIONS]);
        const labels = rows.find((h) => h.version === "20240410090000")!;
        expect(labels.name).toBe("task_labels");
        expect(labels.statements).toEqual(splitStatements(fs.readFileSync(path.join(migrations, "20240410090000_task_labels.sql"), "utf8")));
        expect(labels.statements![2]).toMatch(/^\/\* The helper[\s\S]*semicolon inside the body;[\s\S]*\$\$$/);
        // The migrations' work is there, the backup's data too.
        expect(await q(target, "select relrowsecurity as rls from pg_class where oid = 'public.task_labels'::regclass")).toEqual([{ rls: true }]);
        expect(await q(target, "select count(*)::int as n from pg_policies where tablename = 'task_labels'")).toEqual([{ n: 2 }]);
        expect(await q(target, "select count(*)::int as n from public.tasks where priority = 0")).toEqual(await q(liveUrl, "select count(*)::int as n from public.tasks"));
        const audit = JSON.parse(fs.readFileSync(r.audit!, "utf8"));
        expect(audit).toMatchObject({ action: "recover schema", lastAppliedInBackup: "20240302180000", migrationsApplied: NEW_MIGRATIONS, verify: "PASS", outcome: "committed", restored: true });
        expect(Object.values(audit.backup.sha256)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
        expect(fs.existsSync(audit.restoreLog)).toBe(true);
        // Live was only read.
        expect(await q(liveUrl, "select count(*)::int as n from supabase_migrations.schema_migrations")).toEqual([{ n: 3 }]);
    });

    it("running it again resumes on the same target and finds nothing left to do", async () => {
        const r = await recoverSchema(options({ targetUrl: target, apply: true }));
        expect(r.resumed).toBe(true);
        expect(r.historyFrom).toBe("target");
        expect(r.applied).toEqual([]);
        expect(r.verified).toBe(true);
        expect((await history(target)).length).toBe(5);
    });

    it("--to stops in the middle; a failing migration is rolled back whole and named; a retry with the fixed file resumes", async () => {
        const t = await newTarget("restored_to");
        const r = await recoverSchema(options({ targetUrl: t, apply: true, to: "20240410090000" }));
        expect(r.applied).toEqual(["20240410090000"]);
        expect(r.notApplied).toEqual(["20240422150000_task_priority.sql"]);
        expect(r.verified).toBe(true);
        expect((await history(t)).map((h) => h.version)).toEqual([...IN_FIXTURE_HISTORY, "20240410090000"]);
        expect(await q(t, "select count(*)::int as n from information_schema.columns where table_name = 'tasks' and column_name = 'priority'")).toEqual([{ n: 0 }]);
        await expect(recoverSchema(options({ targetUrl: await newTarget("restored_to_old"), to: "20240101120000" }))).rejects.toThrow(
            /--to 20240101120000 is older than the backup's last applied migration 20240302180000/,
        );

        // The next migration fails at its second statement: its first (a new table) is rolled back too.
        const failing = writeMigrations(path.join(work, "migrations-failing"), "failing");
        const err = await recoverSchema(options({ targetUrl: t, migrationsDir: failing, apply: true })).catch((e: Error) => e);
        expect(err).toBeInstanceOf(MigrationFailed);
        expect((err as Error).message).toMatch(
            /^migration 20240422150000_task_priority\.sql failed at statement 2 of 2 and was rolled back \(nothing of it is applied\): relation "public\.no_such_table" does not exist \(SQLSTATE 42P01\)\. Fix the migration and run the same command again: it resumes on 127\.0\.0\.1:\d+\/restored_to/,
        );
        expect(await q(t, "select to_regclass('public.audit_trail') is null as gone")).toEqual([{ gone: true }]);
        expect((await history(t)).map((h) => h.version)).toEqual([...IN_FIXTURE_HISTORY, "20240410090000"]);
        const audits = fs.readdirSync(artifacts).filter((f) => f.startsWith("audit-recover-schema")).map((f) => JSON.parse(fs.readFileSync(path.join(artifacts, f), "utf8")));
        expect(audits.find((a) => a.outcome === "failed")).toMatchObject({ failedMigration: "20240422150000_task_priority.sql", migrationsApplied: [], restored: false });

        const fixed = await recoverSchema(options({ targetUrl: t, apply: true }));
        expect(fixed.resumed).toBe(true);
        expect(fixed.applied).toEqual(["20240422150000"]);
        expect(fixed.verified).toBe(true);
        expect((await history(t)).map((h) => h.version)).toEqual([...IN_FIXTURE_HISTORY, ...NEW_MIGRATIONS]);
    });

    it("refuses a migration with its own BEGIN/COMMIT before writing anything", async () => {
        const t = await newTarget("restored_tx");
        await expect(recoverSchema(options({ targetUrl: t, migrationsDir: writeMigrations(path.join(work, "migrations-tx"), "transaction"), apply: true }))).rejects.toThrow(
            /migration 20240422150000_task_priority\.sql statement 1 is transaction control \(BEGIN\)/,
        );
        expect(await q(t, "select count(*)::int as n from pg_catalog.pg_namespace where nspname = 'auth'")).toEqual([{ n: 0 }]);
    });
});

describe("recover schema refuses unsafe targets", () => {
    it("the live database under another host name (same system identifier and database oid)", async () => {
        const alias = liveUrl.replace("127.0.0.1", "localhost");
        await expect(recoverSchema(options({ targetUrl: alias, apply: true }))).rejects.toThrow(
            /refusing to restore into localhost:\d+\/app: it is the LIVE database \(same system identifier and database oid\)/,
        );
    });

    it("the backup's source as its manifest records it, when LIVE_DB_URL is not set", async () => {
        const job = await dumpSource({ sourceUrl: liveUrl, outDir: path.join(work, "job"), fingerprint: false });
        const alias = liveUrl.replace("127.0.0.1", "localhost");
        await expect(recoverSchema(options({ backupPath: job.dumpPath, liveUrl: undefined, targetUrl: alias }))).rejects.toThrow(
            /refusing to restore into localhost:\d+\/app: it is the backup's source database \(same server and database name\)/,
        );
        // A dump without a manifest and no LIVE_DB_URL: nothing to tell the target from its source.
        await expect(recoverSchema(options({ liveUrl: undefined, targetUrl: await newTarget("no_source") }))).rejects.toThrow(/neither LIVE_DB_URL nor the backup's manifest names the database/);
    });

    it("a target that is not empty, naming what it holds", async () => {
        const t = await newTarget("used");
        await q(t, "create table public.orders (id int)");
        await expect(recoverSchema(options({ targetUrl: t }))).rejects.toThrow(/refusing to restore into .*\/used: it is not empty \(table public\.orders\)/);
    });

    it("a backup and a directory that do not belong together", async () => {
        const partial = path.join(work, "migrations-partial");
        fs.mkdirSync(partial);
        fs.copyFileSync(path.join(migrations, "20240101120000_profiles.sql"), path.join(partial, "20240101120000_profiles.sql"));
        await expect(recoverSchema(options({ targetUrl: await newTarget("mismatch"), migrationsDir: partial }))).rejects.toThrow(
            /history has version\(s\) with no file in the migrations directory: 20240215093000, 20240302180000/,
        );
    });
});

describe("recover schema from a 'supabase db dump' trio into a new Supabase project", () => {
    it("needs --baseline, then records the contained versions and applies the rest", async () => {
        const trio = await supabaseDbDumpTrio(liveUrl, path.join(work, "trio"));
        // A fresh project: the platform's roles, schemas, auth and storage tables, nothing of the app.
        const t = await newTarget("from_trio");
        await withClient(t, "new project", async (c) => {
            await ensurePlatformRoles(c, true);
            await applyBaselineFiles(c, BASELINE_DATABASE_FILES);
        });
        await expect(recoverSchema(options({ backupPath: trio.dir, targetUrl: t }))).rejects.toThrow(/the backup's migration history is unknown: a 'supabase db dump' backup never holds supabase_migrations.*--baseline/);
        const r = await recoverSchema(options({ backupPath: trio.dir, targetUrl: t, baseline: "20240302180000", apply: true }));
        expect(r.historyFrom).toBe("baseline");
        expect(r.applied).toEqual(NEW_MIGRATIONS);
        expect(r.verified).toBe(true);
        const rows = await history(t);
        expect(rows.map((h) => h.version)).toEqual([...IN_FIXTURE_HISTORY, ...NEW_MIGRATIONS]);
        expect(rows[0]).toMatchObject({ name: "profiles", statements: splitStatements(fs.readFileSync(path.join(migrations, "20240101120000_profiles.sql"), "utf8")) });
        expect(await q(t, "select count(*)::int as n from auth.users")).toEqual([{ n: 4 }]);
        expect(r.notes.join("\n")).not.toMatch(/Supabase platform part/);
    });
});

describe("scripts/recover.ts schema", () => {
    it("TARGET_DB_URL comes from the environment only (exit 2 without it)", async () => {
        const r = await cli(["schema", "--backup", backup, "--migrations", migrations], { TARGET_DB_URL: "" });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/TARGET_DB_URL is not set/);
    });

    it("dry run exits 0 with the plan and the switch; a migration that disables RLS fails the verification (exit 1), naming the table", async () => {
        const t = await newTarget("cli_target");
        const env = { TARGET_DB_URL: t, LIVE_DB_URL: liveUrl };
        const dry = await cli(["schema", "--backup", backup, "--migrations", migrations], env);
        expect(dry.code).toBe(0);
        expect(dry.stdout).toContain("last applied migration in the backup: 20240302180000 storage_policies");
        expect(dry.stdout).toContain("environment switch (NOT applied");
        expect(dry.stderr).toContain("dry run: 2 migration(s) to apply after 20240302180000. Nothing was written");

        const bad = writeMigrations(path.join(work, "migrations-rls"), "rls-off");
        const rls = await cli(["schema", "--backup", backup, "--migrations", bad, "--apply", "--artifacts", artifacts], env);
        expect(rls.code).toBe(1);
        expect(rls.stdout).toContain("applied: 20240410090000, 20240422150000");
        expect(rls.stdout).toMatch(/verify \(.*\): FAIL/);
        const failed = rls.stdout.split("\n").filter((l) => /^ {2}(PASS|FAIL) /.test(l)).map((l) => l.trim().split(/ {2}| \(/).slice(0, 2).join(" "));
        expect(failed).toEqual(["PASS extensions", "FAIL row level security", "PASS policies", "PASS functions", "PASS migration history"]);
        expect(rls.stdout).toContain("        - table public.tasks had row level security enabled in the backup and has it DISABLED now");
        expect(rls.stderr).toContain("verify FAILED");
        for (const run of [dry, rls]) expect(run.stdout + run.stderr).not.toContain(targets.password);
    });
});
