// A drill leaves the source server's log clean: nothing it runs on the source (the dump with its
// fingerprint, RLS probes, the live-source fingerprint of an adopted backup, the restore's source
// identity reads) may log an ERROR or FATAL line there, because teams alert on those in production.
//
// The source runs on its own cluster with the default log_min_messages / log_min_error_statement, and
// the drill connects as a NON-superuser that owns the database (like Supabase's `postgres`), with
// pg_control_system() revoked from PUBLIC as a managed platform may do: probes that a superuser would
// pass but a project's role is refused are caught too. The restore target is a second cluster.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrill } from "../../lib/drill/run";
import { findPgTool } from "../../lib/postgres/binaries";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { localBackend, type LocalBackend } from "../../lib/pulumi/engine";
import { takeFingerprint } from "../../lib/validate";
import { drillProgram } from "../../programs/drill";

const OWNER = "app_owner";
const OWNER_PASSWORD = "app-owner-pw-5150";

let source: LocalCluster;
let target: LocalCluster;
let backend: LocalBackend;
let backupDir: string;
let sourceUrl: string;

/** The role Supabase gives projects: no superuser, owns the database, member of the API roles. */
const PLATFORM_ROLES_SQL = `
    create role anon nologin;
    create role authenticated nologin;
`;

// An app with RLS: customers and orders visible to their customer (JWT sub); customers readable by
// authenticated only (anon has no grant: its probe's refusal is predicted, not run).
const APP_SQL = `
    create table public.customers (id bigint primary key, email text not null unique, updated_at timestamptz not null default now());
    create table public.orders (id bigint primary key, customer_id bigint not null references public.customers(id), total numeric(10,2));
    insert into public.customers (id, email) select i, 'user' || i || '@example.com' from generate_series(1, 200) i;
    insert into public.orders select i, 1 + i % 200, i % 97 from generate_series(1, 600) i;
    alter table public.orders enable row level security;
    create policy own_orders on public.orders for select to authenticated
        using (customer_id = nullif(pg_catalog.current_setting('request.jwt.claims', true)::json ->> 'sub', '')::bigint);
    alter table public.customers enable row level security;
    create policy own_customer on public.customers for select to authenticated
        using (id = nullif(pg_catalog.current_setting('request.jwt.claims', true)::json ->> 'sub', '')::bigint);
    grant usage on schema public to anon, authenticated;
    grant select on public.orders to anon, authenticated;
    grant select on public.customers to authenticated;
`;

beforeAll(async () => {
    [source, target] = await Promise.all([startLocalCluster(), startLocalCluster()]);
    backend = localBackend();
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-sourcelog-"));
    await withClient(source.url(), "source admin", async (c) => {
        await c.query(PLATFORM_ROLES_SQL);
        await c.query(`create role ${OWNER} login nosuperuser nocreaterole password '${OWNER_PASSWORD}'`);
        await c.query(`grant anon, authenticated to ${OWNER}`);
        await c.query(`create database app owner ${OWNER}`);
    });
    // The schema belongs to the owner role, as a project's public schema does. Function privileges are
    // per database: revoked in the drill's.
    await withClient(source.url("app"), "source admin", (c) =>
        c.query(`alter schema public owner to ${OWNER}; revoke execute on function pg_catalog.pg_control_system() from public`),
    );
    sourceUrl = `postgresql://${OWNER}:${OWNER_PASSWORD}@${source.host}:${source.port}/app`;
    await withClient(sourceUrl, "source app", (c) => c.query(APP_SQL));
    // The restore target has the same cluster-wide roles (GRANTs and probes name them).
    await withClient(target.url(), "target admin", (c) => c.query(PLATFORM_ROLES_SQL));
});
afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    backend?.cleanup();
    if (backupDir) fs.rmSync(backupDir, { recursive: true, force: true });
});

/** Where the source's log ends now: lines after it were written by what runs next. */
function logMark(): number {
    return fs.statSync(path.join(source.rootDir, "server.log")).size;
}

/** ERROR/FATAL/PANIC lines the source logged since the mark, with the statement lines that follow them. */
function problemsSince(mark: number): string[] {
    const text = fs.readFileSync(path.join(source.rootDir, "server.log")).subarray(mark).toString("utf8");
    return text.split("\n").filter((l) => /\b(ERROR|FATAL|PANIC|STATEMENT):/.test(l));
}

const PROBES = [
    { role: "anon" },
    { role: "authenticated", claims: { sub: "7", role: "authenticated" } },
];

describe("a drill leaves the source server's log clean", () => {
    it("the source role really is a non-superuser that may not call pg_control_system()", async () => {
        const r = await withClient(sourceUrl, "source app", (c) =>
            c.query<{ su: boolean; ctl: boolean }>(
                "select rolsuper as su, has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') as ctl from pg_roles where rolname = current_user",
            ),
        );
        expect(r.rows[0]).toEqual({ su: false, ctl: false });
        // And an ERROR is logged where one happens (the assertions below can fail).
        const mark = logMark();
        await withClient(sourceUrl, "source app", (c) => c.query("savepoint probe").catch(() => undefined));
        expect(problemsSince(mark).join("\n")).toMatch(/ERROR: {2}SAVEPOINT can only be used in transaction blocks/);
    });

    it("a drill that dumps the source now, with RLS probes and assertions, logs no ERROR there", async () => {
        const mark = logMark();
        const result = await runDrill({
            program: drillProgram,
            env: "srclog",
            backend,
            backupDir,
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: target.url() },
            settings: {
                validation: {
                    fingerprint: { rlsProbes: PROBES },
                    assertions: [{ name: "no_negative_totals", sql: "select count(*) from public.orders where total < 0", expected: 0 }],
                },
            },
        });
        expect(result.error).toBeUndefined();
        expect(result.status).toBe("PASS");
        const probes = result.report.validation?.checks.filter((c) => c.check === "rls_probe" || c.check === "rls_visibility") ?? [];
        expect(probes.length).toBeGreaterThan(0);
        // anon's refusal on customers is a predicted result, the same on both sides.
        const manifest = JSON.parse(fs.readFileSync(path.join(result.artifactsDir, `backup_${result.report.drill_id}.manifest.json`), "utf8"));
        const anon = manifest.fingerprint.rlsProbes.find((p: { role: string }) => p.role === "anon");
        expect(anon.tables.find((t: { table: string }) => t.table === "public.customers").error).toMatch(/permission denied for table customers/);
        const user7 = manifest.fingerprint.rlsProbes.find((p: { role: string }) => p.role === "authenticated");
        expect(user7.tables.map((t: { table: string; rowCount: number }) => [t.table, t.rowCount])).toEqual([["public.customers", 1], ["public.orders", 3]]);
        expect(manifest.source.systemIdentifier).toBeUndefined(); // not readable by this role, and not attempted
        expect(problemsSince(mark)).toEqual([]);
    });

    it("a drill adopting a backup, validated against the live source, logs no ERROR there", async () => {
        const file = path.join(backupDir, "adopted", "app.dump");
        fs.mkdirSync(path.dirname(file), { recursive: true });
        execFileSync(findPgTool("pg_dump"), ["-Fc", "-f", file, `--dbname=${source.url("app")}`]);
        const mark = logMark();
        const result = await runDrill({
            program: drillProgram,
            env: "srclog-adopt",
            backend,
            backupDir,
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: target.url() },
            settings: { backupPath: file, validation: { fingerprint: { rlsProbes: PROBES } } },
        });
        expect(result.error).toBeUndefined();
        expect(result.status).toBe("PASS");
        expect(result.report.validation?.compared_with).toBe("live-source");
        expect(problemsSince(mark)).toEqual([]);
    });

    it("a fingerprint of tables the role may not read records PostgreSQL's refusals without running them", async () => {
        await withClient(source.url("app"), "source admin", (c) =>
            c.query(`
                create schema hidden;
                create table hidden.secrets (id int);
                create table public.admin_only (id int);
                insert into public.admin_only values (1);
                create table public.forced (id int);
                alter table public.forced owner to ${OWNER};
                alter table public.forced enable row level security;
                alter table public.forced force row level security;
            `),
        );
        const mark = logMark();
        const fp = await withClient(sourceUrl, "source app", (c) => takeFingerprint(c, { rlsProbes: [{ role: "authenticated", claims: { sub: "1" } }] }));
        const error = (name: string) => fp.tables.find((t) => t.table === name)?.error;
        expect(error("hidden.secrets")).toBe("permission denied for schema hidden (SQLSTATE 42501)");
        expect(error("public.admin_only")).toBe("permission denied for table admin_only (SQLSTATE 42501)");
        expect(error("public.forced")).toBe('query would be affected by row-level security policy for table "forced" (SQLSTATE 42501)');
        expect(error("public.orders")).toBeUndefined();
        const probe = fp.rlsProbes.find((p) => p.role === "authenticated");
        expect(probe?.tables.find((t) => t.table === "public.orders")).toMatchObject({ rowCount: 3 });
        expect(problemsSince(mark)).toEqual([]);

        // What was predicted is what PostgreSQL says when the reads are run.
        const real = await withClient(sourceUrl, "source app", async (c) => {
            const out: string[] = [];
            for (const sql of ["select * from hidden.secrets", "select * from public.admin_only", "set row_security = off; select * from public.forced"]) {
                out.push(await c.query(sql).then(() => "ok", (e: Error) => e.message));
            }
            return out;
        });
        expect(real).toEqual([
            "permission denied for schema hidden",
            "permission denied for table admin_only",
            'query would be affected by row-level security policy for table "forced"',
        ]);
    });
});
