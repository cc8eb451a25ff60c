// The Supabase platform part of a restore target, against real PostgreSQL: the project's own
// baseline, a prepare that takes the platform from the source's catalog, the fallback, the roles
// rule, and that the source is never written to.
//
// Three clusters: the source (fixtures), the target (scratch databases), and a bare one that never
// gets platform roles (roles are cluster-wide, so "missing roles" needs a cluster of its own).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdent, withClient, withDatabase } from "../../lib/postgres/connection";
import { freePort, startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { runPgTool, uriWithoutPassword } from "../../lib/postgres/tools";
import { missingRoles, PLATFORM_ROLES } from "../../lib/supabase/platform/baseline";
import {
    prepareSupabaseTarget,
    SUPABASE_ONLY_EXTENSIONS,
    unavailableExtensions,
    type PreparePlatformOptions,
} from "../../lib/supabase/platform/prepare";
import { shapeDifferences, tableShapes } from "../../lib/supabase/platform/shape";
import { createSupabaseFixture, type SupabaseFixture } from "../helpers/supabaseFixture";

let source: LocalCluster;
let target: LocalCluster;
let bare: LocalCluster;
let older: SupabaseFixture;
let sourceBefore: SourceSnapshot;
let sourceErrorsBefore: number;
let workDir: string;

beforeAll(async () => {
    [source, target, bare] = await Promise.all([startLocalCluster(), startLocalCluster(), startLocalCluster()]);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-platform-test-"));
    older = await createSupabaseFixture(source.url(), "app_older", { authVariant: "older" });
    sourceBefore = await snapshot(source, older.url);
    sourceErrorsBefore = serverErrors(source).length;
});

afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop(), bare?.stop()]);
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

async function scratch(cluster: LocalCluster, name: string): Promise<string> {
    await withClient(cluster.url(), "admin", (c) => c.query(`create database ${quoteIdent(name)}`));
    return withDatabase(cluster.url(), name);
}

function prepare(opts: Omit<PreparePlatformOptions, "logPath">) {
    return prepareSupabaseTarget({ ...opts, logPath: path.join(workDir, "prepare.log") });
}

const PLATFORM_DATA_SCHEMAS = ["auth", "storage"];

describe("the Supabase platform baseline", () => {
    it("turns a blank database into a fresh Supabase project, and a second run changes nothing", async () => {
        const url = await scratch(target, "blank");
        const first = await prepare({ targetUrl: url, mode: "baseline", createRoles: true });
        expect(first.used).toBe("baseline");
        expect(first.rolesCreated).toEqual(expect.arrayContaining(["anon", "authenticated", "service_role", "authenticator", "supabase_admin"]));
        expect(first.extensionsInstalled).toEqual(expect.arrayContaining(["pgcrypto", "uuid-ossp"]));
        expect(first.schemas).toEqual(expect.arrayContaining(["auth", "storage", "extensions", "realtime", "graphql_public", "vault", "pgbouncer", "supabase_migrations"]));
        const shapesAfterFirst = await withClient(url, "t", (c) => tableShapes(c, PLATFORM_DATA_SCHEMAS));

        const second = await prepare({ targetUrl: url, mode: "baseline", createRoles: true });
        expect(second.rolesCreated).toEqual([]);
        expect(await withClient(url, "t", (c) => tableShapes(c, PLATFORM_DATA_SCHEMAS))).toEqual(shapesAfterFirst);

        await withClient(url, "t", async (c) => {
            const cols = (table: string) => shapesAfterFirst[table].map((col) => col.name);
            expect(cols("auth.users")).toEqual(expect.arrayContaining(["id", "email", "encrypted_password", "raw_user_meta_data", "raw_app_meta_data", "phone", "confirmed_at", "is_anonymous", "is_sso_user", "deleted_at"]));
            expect(cols("auth.identities")).toEqual(["provider_id", "user_id", "identity_data", "provider", "last_sign_in_at", "created_at", "updated_at", "email", "id"]);
            const generated = (table: string, column: string) => shapesAfterFirst[table].find((col) => col.name === column)?.generated;
            expect(generated("auth.identities", "email")).toBe("s");
            expect(generated("auth.users", "confirmed_at")).toBe("s");
            expect(generated("storage.objects", "path_tokens")).toBe("s");
            expect(cols("storage.buckets")).toEqual(expect.arrayContaining(["id", "name", "public", "file_size_limit", "allowed_mime_types", "type", "owner_id"]));
            expect(cols("storage.objects")).toEqual(expect.arrayContaining(["bucket_id", "name", "owner", "owner_id", "metadata", "user_metadata", "version"]));
            for (const t of ["auth.sessions", "auth.refresh_tokens", "auth.mfa_factors", "auth.mfa_challenges", "auth.mfa_amr_claims", "auth.audit_log_entries", "auth.instances", "auth.flow_state", "auth.one_time_tokens", "auth.sso_providers", "auth.saml_providers", "storage.migrations", "storage.s3_multipart_uploads", "storage.s3_multipart_uploads_parts"]) {
                expect(shapesAfterFirst[t], t).toBeDefined();
            }

            const fks = await c.query<{ fk: string }>(
                `select conrelid::regclass || ' -> ' || confrelid::regclass as fk from pg_constraint where contype = 'f' order by 1`,
            );
            expect(fks.rows.map((r) => r.fk)).toEqual(expect.arrayContaining(["storage.objects -> storage.buckets", "auth.identities -> auth.users", "auth.sessions -> auth.users"]));
            const rls = await c.query<{ relname: string; relrowsecurity: boolean }>(
                `select relname, relrowsecurity from pg_class where oid in ('storage.objects'::regclass, 'storage.buckets'::regclass, 'auth.users'::regclass)`,
            );
            expect(rls.rows.every((r) => r.relrowsecurity)).toBe(true);
            const pub = await c.query(`select (select count(*) from pg_publication_tables where pubname = 'supabase_realtime')::int as tables, pubowner::regrole::text as owner from pg_publication where pubname = 'supabase_realtime'`);
            expect(pub.rows).toEqual([{ tables: 0, owner: "postgres" }]);
            const owners = await c.query<{ what: string; owner: string }>(
                `select 'auth.users' as what, relowner::regrole::text as owner from pg_class where oid = 'auth.users'::regclass
                 union all select 'storage.objects', relowner::regrole::text from pg_class where oid = 'storage.objects'::regclass
                 union all select 'schema auth', nspowner::regrole::text from pg_namespace where nspname = 'auth'
                 union all select 'schema extensions', nspowner::regrole::text from pg_namespace where nspname = 'extensions' order by 1`,
            );
            expect(owners.rows).toEqual([
                { what: "auth.users", owner: "supabase_auth_admin" },
                { what: "schema auth", owner: "supabase_admin" },
                { what: "schema extensions", owner: "postgres" },
                { what: "storage.objects", owner: "supabase_storage_admin" },
            ]);
            // The helpers RLS policies call, as PostgREST feeds them.
            await c.query("begin");
            await c.query(`select set_config('request.jwt.claims', '{"sub":"6c1b3f3e-98c4-4e37-9a43-4c1a4d1f2a10","role":"authenticated","email":"a@example.test"}', true)`);
            const jwt = await c.query(`select auth.uid()::text as uid, auth.role() as role, auth.email() as email, auth.jwt() ->> 'role' as jwt_role`);
            await c.query("rollback");
            expect(jwt.rows[0]).toEqual({ uid: "6c1b3f3e-98c4-4e37-9a43-4c1a4d1f2a10", role: "authenticated", email: "a@example.test", jwt_role: "authenticated" });
            const paths = await c.query(`select storage.foldername('u1/docs/report.final.pdf') as folders, storage.filename('u1/docs/report.final.pdf') as file, storage.extension('u1/docs/report.final.pdf') as ext`);
            expect(paths.rows[0]).toEqual({ folders: ["u1", "docs"], file: "report.final.pdf", ext: "pdf" });
            // The API roles' default privileges on public, as on a fresh project.
            await c.query("create table public.fresh_table (id int)");
            const grants = await c.query<{ grantee: string }>(
                `select distinct grantee from information_schema.role_table_grants where table_name = 'fresh_table' order by 1`,
            );
            expect(grants.rows.map((r) => r.grantee)).toEqual(expect.arrayContaining(["anon", "authenticated", "service_role"]));
            const gotrue = await c.query(`select count(*)::int as n from auth.schema_migrations`);
            expect(gotrue.rows[0].n).toBeGreaterThan(70);
        });

        await withClient(target.url(), "admin", async (c) => {
            const roles = await c.query(
                `select rolname, rolcanlogin, rolinherit, rolbypassrls, rolsuper from pg_roles
                  where rolname in ('service_role', 'authenticator', 'anon', 'supabase_admin') order by 1`,
            );
            expect(roles.rows).toEqual([
                { rolname: "anon", rolcanlogin: false, rolinherit: true, rolbypassrls: false, rolsuper: false },
                { rolname: "authenticator", rolcanlogin: true, rolinherit: false, rolbypassrls: false, rolsuper: false },
                { rolname: "service_role", rolcanlogin: false, rolinherit: true, rolbypassrls: true, rolsuper: false },
                { rolname: "supabase_admin", rolcanlogin: true, rolinherit: true, rolbypassrls: true, rolsuper: true },
            ]);
            const members = await c.query<{ role: string }>(
                `select roleid::regrole::text as role from pg_auth_members where member = 'authenticator'::regrole order by 1`,
            );
            expect(members.rows.map((r) => r.role)).toEqual(["anon", "authenticated", "service_role"]);
        });
    });
});

describe("the Supabase fixture", () => {
    it("is an app the way Supabase users build one, on today's platform shape", async () => {
        const app = await createSupabaseFixture(target.url(), "app_current", { users: 12 });
        await withClient(app.url, "fixture", async (c) => {
            const counts = await c.query(
                `select (select count(*) from auth.users)::int as users, (select count(*) from auth.identities)::int as identities,
                        (select count(*) from public.profiles)::int as profiles, (select count(*) from public.tasks)::int as tasks,
                        (select count(*) from storage.objects)::int as objects, (select count(*) from storage.buckets)::int as buckets,
                        (select count(*) from supabase_migrations.schema_migrations)::int as migrations`,
            );
            // Profiles come from the on_auth_user_created trigger, not from the seed.
            expect(counts.rows[0]).toEqual({ users: 12, identities: 12, profiles: 12, tasks: 48, objects: 24, buckets: 2, migrations: 3 });
            const identity = await c.query(
                `select i.provider, i.email = u.email as email_matches, i.identity_data ->> 'sub' = u.id::text as sub_matches,
                        u.encrypted_password like '$2a$%' as bcrypt
                   from auth.identities i join auth.users u on u.id = i.user_id limit 1`,
            );
            expect(identity.rows[0]).toEqual({ provider: "email", email_matches: true, sub_matches: true, bcrypt: true });
            const policies = await c.query(`select count(*)::int as n from pg_policies where schemaname in ('public', 'storage')`);
            expect(policies.rows[0].n).toBe(9);
        });
        // The app's shape of auth and storage is the baseline's: a trio of it loads into a baseline target.
        const baselineUrl = await scratch(target, "current_baseline");
        await prepare({ targetUrl: baselineUrl, mode: "baseline", createRoles: true });
        const want = await withClient(app.url, "fixture", (c) => tableShapes(c, PLATFORM_DATA_SCHEMAS));
        expect(await withClient(baselineUrl, "target", (c) => tableShapes(c, PLATFORM_DATA_SCHEMAS))).toEqual(want);
        const load = await loadPlatformData(app.url, baselineUrl, "current_baseline");
        expect(load.exitCode, load.errors.join("\n")).toBe(0);
        const config = await withClient(target.url(), "admin", (c) =>
            c.query(`select rolcanlogin, rolconfig from pg_roles where rolname = $1`, [app.customRole]),
        );
        expect(config.rows).toEqual([{ rolcanlogin: true, rolconfig: ["statement_timeout=30s"] }]);
    });
});

describe("prepareSupabaseTarget", () => {
    it("source mode reproduces the source's own (older) auth and storage exactly, so its data loads", async () => {
        const url = await scratch(target, "from_source");
        const report = await prepare({ targetUrl: url, sourceUrl: older.url, mode: "source", createRoles: true });
        expect(report.used).toBe("source");
        expect(report.reason).toMatch(/source's own catalog/);
        const sourceShapes = await withClient(older.url, "source", (c) => tableShapes(c, PLATFORM_DATA_SCHEMAS));
        const targetShapes = await withClient(url, "target", (c) => tableShapes(c, PLATFORM_DATA_SCHEMAS));
        expect(targetShapes).toEqual(sourceShapes);
        expect(sourceShapes["auth.identities"].map((c) => c.name)).toContain("id");
        expect(sourceShapes["auth.identities"].map((c) => c.name)).not.toContain("provider_id");
        // The app's trigger on auth.users calls public.handle_new_user(): it waits for schema.sql.
        expect(report.deferredObjects).toContain("trigger on_auth_user_created on auth.users");
        expect(report.deferredSql).toMatch(/CREATE TRIGGER on_auth_user_created .*public\.handle_new_user\(\)/s);
        expect(report.skippedSchemas.map((s) => s.schema)).toEqual(expect.arrayContaining(["extensions", "graphql", "vault"]));
        expect(report.schemas).toEqual(expect.arrayContaining(["auth", "storage", "realtime", "supabase_migrations", "extensions"]));
        await withClient(url, "target", async (c) => {
            // Storage policies live on storage.objects: a trio leaves them out, the source's catalog has them.
            const policies = await c.query(`select count(*)::int as n from pg_policies where schemaname = 'storage' and tablename = 'objects'`);
            expect(policies.rows[0].n).toBe(3);
            const trigger = await c.query(`select count(*)::int as n from pg_trigger where tgname = 'on_auth_user_created'`);
            expect(trigger.rows[0].n).toBe(0);
        });

        const load = await loadPlatformData(older.url, url, "from_source");
        expect(load.exitCode, load.errors.join("\n")).toBe(0);
        const count = (u: string) =>
            withClient(u, "count", async (c) =>
                (await c.query(`select (select count(*) from auth.users)::int as users, (select count(*) from auth.identities)::int as identities,
                                       (select count(*) from storage.objects)::int as objects, (select count(*) from auth.sessions)::int as sessions`)).rows[0],
            );
        expect(await count(url)).toEqual(await count(older.url));

        // The deferred part applies once the app's own schema is there (here: the source's public
        // schema, standing in for schema.sql), and then the trigger works on the target.
        const appSchema = path.join(workDir, "app-public.sql");
        const appDump = await runPgTool(
            "pg_dump",
            ["--schema-only", "--schema=public", "--no-owner", "--no-privileges", `--dbname=${uriWithoutPassword(older.url)}`, `--file=${appSchema}`],
            { connection: older.url },
        );
        expect(appDump.exitCode, appDump.lines.join("\n")).toBe(0);
        // As the CLI's dump_schema.sh does: the target already has public.
        fs.writeFileSync(appSchema, fs.readFileSync(appSchema, "utf8").replace(/^CREATE SCHEMA public;$/m, "CREATE SCHEMA IF NOT EXISTS public;"));
        const deferredFile = path.join(workDir, "deferred.sql");
        fs.writeFileSync(deferredFile, report.deferredSql);
        for (const file of [appSchema, deferredFile]) {
            const run = await runPgTool("psql", ["-X", "-v", "ON_ERROR_STOP=1", "--single-transaction", `--dbname=${uriWithoutPassword(url)}`, "-f", file], {
                connection: url,
                keep: /ERROR/,
            });
            expect(run.exitCode, `${path.basename(file)}: ${run.matched.join("\n")}`).toBe(0);
        }
        await withClient(url, "target", async (c) => {
            await c.query(
                `insert into auth.users (id, email, raw_user_meta_data) values ('0e6f1c52-5d0b-4c86-8a55-3d5f7f0f0a01', 'new@example.test', '{"full_name":"New User"}')`,
            );
            const profile = await c.query(`select full_name from public.profiles where id = '0e6f1c52-5d0b-4c86-8a55-3d5f7f0f0a01'`);
            expect(profile.rows).toEqual([{ full_name: "New User" }]);
        });

        // Running again keeps what is there (same shape) instead of failing or duplicating.
        const again = await prepare({ targetUrl: url, sourceUrl: older.url, mode: "source", createRoles: true });
        expect(again.used).toBe("source");
        expect(again.reason).toMatch(/already has the source's platform schemas/);
        expect(again.rolesCreated).toEqual([]);
        expect(await withClient(url, "target", (c) => tableShapes(c, PLATFORM_DATA_SCHEMAS))).toEqual(sourceShapes);
    });

    it("baseline mode on the same older source differs from it, and the source's data does not load", async () => {
        const url = await scratch(target, "from_baseline");
        const report = await prepare({ targetUrl: url, sourceUrl: older.url, mode: "baseline", createRoles: true });
        expect(report.used).toBe("baseline");
        const sourceShapes = await withClient(older.url, "source", (c) => tableShapes(c, PLATFORM_DATA_SCHEMAS));
        const targetShapes = await withClient(url, "target", (c) => tableShapes(c, PLATFORM_DATA_SCHEMAS));
        const differences = shapeDifferences(sourceShapes, targetShapes, 1000);
        expect(differences.some((d) => d.startsWith("auth.identities:"))).toBe(true);
        expect(differences.some((d) => d.startsWith("storage.objects:"))).toBe(true);

        const load = await loadPlatformData(older.url, url, "from_baseline");
        expect(load.exitCode).not.toBe(0);
        expect(load.errors.join("\n")).toMatch(/provider_id.*identities|identities.*provider_id/);
    });

    it("auto takes the source when reachable and falls back to the baseline, saying why, when not", async () => {
        const reachable = await prepare({ targetUrl: await scratch(target, "auto_up"), sourceUrl: older.url, mode: "auto", createRoles: true });
        expect(reachable.used).toBe("source");

        const closedPort = await freePort();
        const downUrl = `postgresql://postgres:not-used@127.0.0.1:${closedPort}/postgres`;
        const fallback = await prepare({ targetUrl: await scratch(target, "auto_down"), sourceUrl: downUrl, mode: "auto", createRoles: true });
        expect(fallback.used).toBe("baseline");
        expect(fallback.reason).toMatch(/source is unreachable .*127\.0\.0\.1:\d+\/postgres/);
        expect(fallback.reason).not.toContain("not-used");

        await expect(
            prepare({ targetUrl: await scratch(target, "source_down"), sourceUrl: downUrl, mode: "source", createRoles: true }),
        ).rejects.toThrow(/cannot connect to source database/);
    });

    it("with createRoles false, missing platform roles are an error that names them, and none is created", async () => {
        const url = await scratch(bare, "no_roles");
        for (const mode of ["baseline", "source"] as const) {
            const error = await prepare({ targetUrl: url, sourceUrl: older.url, mode, createRoles: false }).then(
                () => undefined,
                (e: Error) => e,
            );
            expect(error?.message, mode).toMatch(/lacks the Supabase platform roles .*anon.*authenticated.*supabase_auth_admin/);
        }
        const stillMissing = await withClient(bare.url(), "bare", (c) => missingRoles(c, PLATFORM_ROLES));
        expect(stillMissing).toEqual(PLATFORM_ROLES.filter((r) => r !== "postgres").sort());
    });

    it("knows which Supabase extensions plain PostgreSQL lacks", async () => {
        expect(SUPABASE_ONLY_EXTENSIONS).toEqual(expect.arrayContaining(["pg_graphql", "supabase_vault", "pgsodium", "pg_net", "pg_cron", "pgjwt"]));
        const missing = await unavailableExtensions(target.url(), ["pgcrypto", "pg_graphql", "supabase_vault", "uuid-ossp"]);
        expect(missing).toEqual(["pg_graphql", "supabase_vault"]);
    });

    it("left the source database and its cluster's roles exactly as they were, and logged no error there", async () => {
        expect(await snapshot(source, older.url)).toEqual(sourceBefore);
        expect(serverErrors(source).slice(sourceErrorsBefore)).toEqual([]);
    });
});

interface SourceSnapshot {
    roles: unknown[];
    roleSettings: unknown[];
    memberships: unknown[];
    schema: string;
    data: unknown;
}

async function snapshot(cluster: LocalCluster, dbUrl: string): Promise<SourceSnapshot> {
    const cat = await withClient(cluster.url(), "source admin", async (c) => ({
        // Password hashes are compared through a digest, never shown.
        roles: (
            await c.query(
                `select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
                        rolconnlimit, rolvaliduntil, md5(coalesce(rolpassword, '')) as password_digest
                   from pg_authid order by rolname`,
            )
        ).rows,
        roleSettings: (
            await c.query(
                `select coalesce(d.datname, '') as db, coalesce(r.rolname, '') as role, s.setconfig
                   from pg_db_role_setting s left join pg_roles r on r.oid = s.setrole
                   left join pg_database d on d.oid = s.setdatabase order by 1, 2`,
            )
        ).rows,
        memberships: (
            await c.query(
                `select roleid::regrole::text as role, member::regrole::text as member, grantor::regrole::text as grantor, admin_option
                   from pg_auth_members order by 1, 2, 3`,
            )
        ).rows,
    }));
    const file = path.join(workDir, `schema-${Date.now()}-${Math.random().toString(36).slice(2)}.sql`);
    const dump = await runPgTool("pg_dump", ["--schema-only", `--dbname=${uriWithoutPassword(dbUrl)}`, `--file=${file}`], { connection: dbUrl });
    expect(dump.exitCode, dump.lines.join("\n")).toBe(0);
    // \restrict carries a random key per run: not part of the schema.
    const schema = fs.readFileSync(file, "utf8").split("\n").filter((l) => !/^\\(un)?restrict /.test(l)).join("\n");
    const data = await withClient(dbUrl, "source", async (c) =>
        (
            await c.query(
                `select (select md5(string_agg(id::text || email || encrypted_password, ',' order by id)) from auth.users) as users,
                        (select md5(string_agg(name || coalesce(metadata::text, ''), ',' order by name)) from storage.objects) as objects,
                        (select count(*)::int from auth.identities) as identities,
                        (select count(*)::int from public.tasks) as tasks`,
            )
        ).rows[0],
    );
    return { ...cat, schema, data };
}

function serverErrors(cluster: LocalCluster): string[] {
    const log = path.join(path.dirname(cluster.dataDir), "server.log");
    return fs.readFileSync(log, "utf8").split("\n").filter((l) => /\b(ERROR|FATAL|PANIC):/.test(l));
}

/**
 * Loads the source's auth and storage rows the way the trio's data.sql does: pg_dump --data-only
 * with the CLI's exclusions (auth.schema_migrations, storage.migrations), COPY lines naming their
 * columns, triggers off (session_replication_role = replica), one transaction, stop at the first error.
 */
async function loadPlatformData(sourceUrl: string, targetUrl: string, name: string): Promise<{ exitCode: number; errors: string[] }> {
    const dumpFile = path.join(workDir, `${name}-data.sql`);
    const dump = await runPgTool(
        "pg_dump",
        [
            "--data-only",
            "--quote-all-identifier",
            "--schema=auth",
            "--schema=storage",
            "--exclude-table=auth.schema_migrations",
            "--exclude-table=storage.migrations",
            `--dbname=${uriWithoutPassword(sourceUrl)}`,
            `--file=${dumpFile}`,
        ],
        { connection: sourceUrl },
    );
    expect(dump.exitCode, dump.lines.join("\n")).toBe(0);
    const loadFile = path.join(workDir, `${name}-load.sql`);
    fs.writeFileSync(loadFile, "SET session_replication_role = replica;\n" + fs.readFileSync(dumpFile, "utf8"));
    const load = await runPgTool(
        "psql",
        ["-X", "-v", "ON_ERROR_STOP=1", "--single-transaction", `--dbname=${uriWithoutPassword(targetUrl)}`, "-f", loadFile],
        { connection: targetUrl, keep: /ERROR|FATAL/ },
    );
    return { exitCode: load.exitCode, errors: load.matched };
}
