// The demo seed against a real PostgreSQL: schema, roles, RLS behaviour, determinism, sizing.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoContentFingerprint } from "../../lib/demo/fingerprint";
import { DEMO_MIGRATIONS } from "../../lib/demo/migrations";
import { demoRowCounts, scaleForBytes, seedSupabaseLikeDatabase, type SeedResult } from "../../lib/demo/seed";
import { PUBLIC_TABLES } from "../../lib/demo/tables";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";

let pg: LocalCluster;
let seedA: SeedResult;
let seedB: SeedResult;
const progressA: string[] = [];

async function createDatabase(name: string): Promise<string> {
    await withClient(pg.url(), "admin", (c) => c.query(`create database ${name}`));
    return pg.url(name);
}

async function scalar<T>(c: Client, sql: string, params: unknown[] = []): Promise<T> {
    const r = await c.query(sql, params);
    return Object.values(r.rows[0] as Record<string, unknown>)[0] as T;
}

/** Runs fn inside a transaction that is always rolled back, so checks never change the data. */
async function inRolledBackTransaction<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
    return withClient(url, "demo", async (c) => {
        await c.query("begin");
        try {
            return await fn(c);
        } finally {
            await c.query("rollback");
        }
    });
}

async function actAs(c: Client, role: "anon" | "authenticated", sub?: string): Promise<void> {
    await c.query(`set local role ${role}`);
    const claims = JSON.stringify(sub ? { sub, role } : { role });
    await c.query("select set_config('request.jwt.claims', $1, true)", [claims]);
}

beforeAll(async () => {
    pg = await startLocalCluster();
    const [urlA, urlB] = [await createDatabase("demo_a"), await createDatabase("demo_b")];
    // Two databases of one cluster seeded at the same time: cluster-wide roles must not collide.
    [seedA, seedB] = await Promise.all([
        seedSupabaseLikeDatabase(urlA, { scale: 1, onProgress: (m) => progressA.push(m) }),
        seedSupabaseLikeDatabase(urlB, { scale: 1, workers: 1 }),
    ]);
});
afterAll(async () => {
    await pg?.stop();
});

describe("demo seed at scale 1", () => {
    it("creates over 100k rows with the planned counts, reporting progress per table", () => {
        const counts = demoRowCounts(1);
        const total = Object.values(seedA.tables).reduce((a, b) => a + b, 0);
        expect(total).toBeGreaterThanOrEqual(100_000);
        expect(seedA.tables).toEqual({
            "auth.users": counts.users,
            "public.profiles": counts.users,
            "public.tasks": counts.tasks,
            "public.documents": counts.documents,
            "public.notifications": counts.notifications,
            "public.lms_courses": counts.courses,
            "public.lms_subsections": counts.subsections,
            "public.lms_subsection_progress": counts.progress,
            "supabase_migrations.schema_migrations": DEMO_MIGRATIONS.length,
        });
        for (const table of Object.keys(seedA.tables).filter((t) => t !== "supabase_migrations.schema_migrations")) {
            expect(progressA.some((m) => m.startsWith(`${table}: ${seedA.tables[table]} rows in`))).toBe(true);
        }
        expect(seedB.tables).toEqual(seedA.tables);
    });

    it("answers runbook 003's validation SQL, with invalid_progress = 0", async () => {
        await withClient(pg.url("demo_a"), "demo", async (c) => {
            const r = await c.query<{ table_name: string; rows: string }>(`
                select 'profiles' as table_name, count(*) as rows from public.profiles
                union all select 'tasks', count(*) from public.tasks
                union all select 'documents', count(*) from public.documents
                union all select 'notifications', count(*) from public.notifications
                union all select 'lms_courses', count(*) from public.lms_courses
                union all select 'lms_subsections', count(*) from public.lms_subsections`);
            for (const row of r.rows) expect(Number(row.rows)).toBe(seedA.tables[`public.${row.table_name}`]);
            expect(Number(await scalar(c, `select count(*) as invalid_progress from public.lms_subsection_progress
                where progress_percent < 0 or progress_percent > 100`))).toBe(0);
            // The data spans the range rather than sitting at one value.
            expect(await scalar(c, "select array[min(progress_percent), max(progress_percent)] from public.lms_subsection_progress")).toEqual([0, 100]);
            // The CHECK is what keeps it at 0.
            await expect(c.query("update public.lms_subsection_progress set progress_percent = 101 where id = 1")).rejects.toThrow(
                /lms_subsection_progress_percent_range/,
            );
        });
    });

    it("has the Supabase roles, schemas, extensions, view, functions and migration history", async () => {
        await withClient(pg.url("demo_a"), "demo", async (c) => {
            const roles = await c.query<{ rolname: string; rolcanlogin: boolean; rolbypassrls: boolean }>(
                "select rolname, rolcanlogin, rolbypassrls from pg_roles where rolname in ('anon', 'authenticated', 'service_role') order by rolname",
            );
            expect(roles.rows).toEqual([
                { rolname: "anon", rolcanlogin: false, rolbypassrls: false },
                { rolname: "authenticated", rolcanlogin: false, rolbypassrls: false },
                { rolname: "service_role", rolcanlogin: false, rolbypassrls: true },
            ]);
            const ext = await c.query("select extname, extnamespace::regnamespace::text as schema from pg_extension where extname in ('pgcrypto', 'uuid-ossp') order by 1");
            expect(ext.rows).toEqual([
                { extname: "pgcrypto", schema: "extensions" },
                { extname: "uuid-ossp", schema: "extensions" },
            ]);
            for (const table of PUBLIC_TABLES) {
                expect(await scalar(c, "select to_regclass($1) is not null", [table.name]), table.name).toBe(true);
            }
            expect(await scalar(c, "select to_regclass('public.course_progress_summary')::text")).toBe("course_progress_summary");
            const fns = await c.query("select proname from pg_proc where pronamespace = 'public'::regnamespace order by 1");
            expect(fns.rows.map((r) => r.proname)).toEqual(["handle_new_user", "handle_updated_at", "record_subsection_progress", "search_documents"]);
            const migrations = await c.query("select version, name, cardinality(statements) as n from supabase_migrations.schema_migrations order by version");
            expect(migrations.rows.map((r) => r.version)).toEqual(DEMO_MIGRATIONS.map((m) => m.version));
            for (const m of migrations.rows) expect(m.n).toBeGreaterThan(0);
            // Every identity/serial sequence continues after the seeded ids (read without consuming one).
            for (const table of PUBLIC_TABLES.filter((t) => t.sequenceColumn)) {
                const seq = await scalar<string>(c, `select pg_get_serial_sequence('${table.name}', 'id')`);
                const state = (await c.query(`select last_value, is_called from ${seq}`)).rows[0];
                expect([Number(state.last_value), state.is_called], table.name).toEqual([seedA.tables[table.name] + 1, false]);
            }
        });
    });

    it("enables RLS with policies on every public table and grants the API roles", async () => {
        await withClient(pg.url("demo_a"), "demo", async (c) => {
            const r = await c.query<{ name: string; rls: boolean; policies: string }>(`
                select c.relname as name, c.relrowsecurity as rls,
                       (select count(*) from pg_policies p where p.schemaname = 'public' and p.tablename = c.relname) as policies
                from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by 1`);
            expect(r.rows.map((row) => `public.${row.name}`).sort()).toEqual(PUBLIC_TABLES.map((t) => t.name).sort());
            for (const row of r.rows) {
                expect(row.rls, row.name).toBe(true);
                expect(Number(row.policies), row.name).toBeGreaterThan(0);
            }
            expect(await scalar(c, "select has_table_privilege('authenticated', 'public.tasks', 'select, insert, update, delete')")).toBe(true);
            expect(await scalar(c, "select has_schema_privilege('anon', 'auth', 'usage')")).toBe(true);
        });
    });

    it("lets a signed-in user see and change only their own rows", async () => {
        const me = seedA.sampleUserId;
        const url = pg.url("demo_a");
        const mine = await withClient(url, "demo", (c) => scalar<string>(c, "select count(*) from public.tasks where user_id = $1", [me]));
        expect(Number(mine)).toBeGreaterThan(0);
        await inRolledBackTransaction(url, async (c) => {
            await actAs(c, "authenticated", me);
            expect(await scalar(c, "select auth.uid()::text")).toBe(me);
            const seen = await c.query<{ user_id: string; n: string }>("select user_id, count(*) as n from public.tasks group by user_id");
            expect(seen.rows).toEqual([{ user_id: me, n: mine }]);
            for (const table of ["public.documents", "public.notifications", "public.lms_subsection_progress"]) {
                const owners = await c.query(`select distinct ${table === "public.documents" ? "owner_id" : "user_id"} as u from ${table}`);
                expect(owners.rows, table).toEqual([{ u: me }]);
            }
            expect(await scalar(c, "select array_agg(id::text) from public.profiles")).toEqual([me]);
            // Courses and lessons are readable by every signed-in user.
            expect(Number(await scalar(c, "select count(*) from public.lms_courses"))).toBe(seedA.tables["public.lms_courses"]);
            expect(Number(await scalar(c, "select count(*) from public.lms_subsections"))).toBe(seedA.tables["public.lms_subsections"]);
            // The view applies the caller's RLS (security_invoker).
            expect((await c.query("select distinct user_id from public.course_progress_summary")).rows).toEqual([{ user_id: me }]);
            // Other users' rows are invisible to UPDATE, and cannot be created for someone else.
            expect((await c.query("update public.tasks set title = 'hijacked' where user_id <> $1", [me])).rowCount).toBe(0);
            await expect(
                c.query("insert into public.tasks (user_id, title) values ('00000000-0000-4000-8000-000000000000', 'not mine')"),
            ).rejects.toThrow(/row-level security/);
        });
    });

    it("shows anonymous visitors no private rows, only published courses", async () => {
        await inRolledBackTransaction(pg.url("demo_a"), async (c) => {
            const published = Number(await scalar(c, "select count(*) from public.lms_courses where is_published"));
            expect(published).toBeGreaterThan(0);
            expect(published).toBeLessThan(seedA.tables["public.lms_courses"]);
            await actAs(c, "anon");
            for (const table of ["tasks", "documents", "notifications", "profiles", "lms_subsections", "lms_subsection_progress"]) {
                expect(Number(await scalar(c, `select count(*) from public.${table}`)), table).toBe(0);
            }
            expect(Number(await scalar(c, "select count(*) from public.lms_courses"))).toBe(published);
        });
        // Signed in as nobody in particular (no sub claim): no tasks either.
        await inRolledBackTransaction(pg.url("demo_a"), async (c) => {
            await actAs(c, "authenticated");
            expect(Number(await scalar(c, "select count(*) from public.tasks"))).toBe(0);
        });
    });

    it("runs the triggers and functions as a Supabase app would", async () => {
        const me = seedA.sampleUserId;
        await inRolledBackTransaction(pg.url("demo_a"), async (c) => {
            // Sign-up hook: a new auth user gets a profile.
            const id = await scalar<string>(c, `insert into auth.users (email, raw_user_meta_data)
                values ('new.user@example.com', '{"full_name": "New User"}') returning id::text`);
            expect(await scalar(c, "select full_name from public.profiles where id = $1", [id])).toBe("New User");

            await actAs(c, "authenticated", me);
            const before = await scalar<Date>(c, "select updated_at from public.tasks where user_id = $1 order by id limit 1", [me]);
            const after = await scalar<Date>(c, `update public.tasks set title = 'Edited' where id =
                (select id from public.tasks order by id limit 1) returning updated_at`);
            expect(after.getTime()).toBeGreaterThan(before.getTime());
            expect(after.getTime()).toBe((await scalar<Date>(c, "select now()")).getTime());

            // A lesson the user has not started: a new row with the next sequence id.
            const fresh = await scalar<string>(c, `select s.id from public.lms_subsections s where not exists
                (select 1 from public.lms_subsection_progress p where p.subsection_id = s.id) order by s.id limit 1`);
            const row = (await c.query("select * from public.record_subsection_progress($1, 40)", [fresh])).rows[0];
            expect(row.user_id).toBe(me);
            expect(Number(row.id)).toBe(seedA.tables["public.lms_subsection_progress"] + 1);
            const again = (await c.query("select * from public.record_subsection_progress($1, 100)", [fresh])).rows[0];
            expect([again.id, again.progress_percent, again.completed_at !== null]).toEqual([row.id, 100, true]);
            await c.query("savepoint s");
            await expect(c.query("select public.record_subsection_progress($1, 150)", [fresh])).rejects.toThrow(/percent_range/);
            await c.query("rollback to savepoint s");
            const title = await scalar<string>(c, "select title from public.documents order by id limit 1");
            const found = await c.query("select owner_id from public.search_documents($1)", [title.split(": ")[1]]);
            expect(found.rows.length).toBeGreaterThan(0);
            expect(new Set(found.rows.map((r) => r.owner_id))).toEqual(new Set([me]));
        });
    });
});

describe("determinism and sizing", () => {
    it("gives identical content hashes for two databases seeded at the same scale", async () => {
        const [a, b] = await Promise.all([demoContentFingerprint(pg.url("demo_a")), demoContentFingerprint(pg.url("demo_b"))]);
        expect(Object.keys(a)).toHaveLength(9);
        expect(b).toEqual(a);
        expect(seedB.sampleUserId).toBe(seedA.sampleUserId);
    });

    it("detects a one-row change and a different scale", async () => {
        const urlC = await createDatabase("demo_c");
        await seedSupabaseLikeDatabase(urlC, { scale: 0.05 });
        const [a, c] = await Promise.all([demoContentFingerprint(pg.url("demo_a")), demoContentFingerprint(urlC)]);
        for (const table of Object.keys(a).filter((t) => t !== "supabase_migrations.schema_migrations")) {
            expect(c[table], table).not.toBe(a[table]);
        }
        await withClient(pg.url("demo_b"), "demo", (cl) => cl.query("update public.documents set body = body || '.' where id = 12345"));
        const b = await demoContentFingerprint(pg.url("demo_b"));
        const changed = Object.keys(a).filter((t) => a[t] !== b[t]);
        expect(changed).toEqual(["public.documents"]);
    });

    it("sizes databases predictably: scaleForBytes inverts the seeded size", () => {
        expect(seedA.bytes).toBeGreaterThan(40 * 2 ** 20);
        const estimate = scaleForBytes(seedA.bytes);
        expect(estimate).toBeGreaterThan(0.85);
        expect(estimate).toBeLessThan(1.15);
        const gib = scaleForBytes(2 ** 30);
        expect(gib).toBeGreaterThan(10);
        expect(gib).toBeLessThan(25);
        expect(scaleForBytes(1)).toBe(0.01);
        expect(() => scaleForBytes(0)).toThrow(/positive/);
        expect(() => scaleForBytes(Number.NaN)).toThrow(/positive/);
    });
});

describe("failure paths", () => {
    it("refuses to seed a database that is not empty, without touching it", async () => {
        const before = await demoContentFingerprint(pg.url("demo_a"));
        await expect(seedSupabaseLikeDatabase(pg.url("demo_a"))).rejects.toThrow(
            /refusing to seed database 127\.0\.0\.1:\d+\/demo_a: it already has schema auth/,
        );
        const other = await createDatabase("demo_d");
        await withClient(other, "demo", (c) => c.query("create table public.customer_data (id int)"));
        await expect(seedSupabaseLikeDatabase(other)).rejects.toThrow(/already has relation public\.customer_data/);
        expect(await demoContentFingerprint(pg.url("demo_a"))).toEqual(before);
    });

    it("rejects bad options before connecting", async () => {
        for (const scale of [0, -1, Number.NaN, 5000]) {
            await expect(seedSupabaseLikeDatabase(pg.url("nowhere"), { scale })).rejects.toThrow(/scale/);
        }
        await expect(seedSupabaseLikeDatabase(pg.url("nowhere"), { workers: 0 })).rejects.toThrow(/workers/);
    });

    it("names the server but never the password when it cannot connect", async () => {
        const url = `postgresql://postgres:${pg.password}@127.0.0.1:1/postgres`;
        const err = await seedSupabaseLikeDatabase(url).catch((e: Error) => e);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/cannot connect to demo database at 127\.0\.0\.1:1\/postgres/);
        expect((err as Error).message).not.toContain(pg.password);
    });
});
