// Fingerprints against a real PostgreSQL: an exact copy compares clean, and every kind of damage a
// restore can suffer (lost row, changed value, missing policy/extension/function, RLS that behaves
// differently) is caught by exactly the checks that should catch it, with either checksum method (the
// row hash and the text form give the same verdicts).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findPgTool } from "../../lib/postgres/binaries";
import { connect, withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { compareFingerprints } from "../../lib/validate/compare";
import { takeFingerprint } from "../../lib/validate/fingerprint";
import { formatValidationReport } from "../../lib/validate/format";
import type { ChecksumBasis } from "../../lib/validate/rowHash";
import type { CheckResult, Fingerprint, FingerprintOptions, FingerprintV3, TableFingerprint } from "../../lib/validate/types";

const execFileAsync = promisify(execFile);

const ALICE = "11111111-1111-1111-1111-111111111111";
const BOB = "22222222-2222-2222-2222-222222222222";
const CAROL = "33333333-3333-3333-3333-333333333333";
const ALICE_PROBE = `authenticated {"role":"authenticated","sub":"${ALICE}"}`;

// Roles are cluster-wide and other tests may share a cluster: create them only when absent.
const ROLES_SQL = ["anon", "authenticated", "dr_no_grants"]
    .map(
        (role) => `do $$ begin
            if not exists (select 1 from pg_roles where rolname = '${role}') then create role ${role} nologin; end if;
        exception when duplicate_object or unique_violation then null; end $$;`,
    )
    .join("\n");

const SCHEMA_SQL = `
${ROLES_SQL}
create schema auth;
-- Supabase's auth.uid(): newer PostgREST sets request.jwt.claims, older request.jwt.claim.sub.
create function auth.uid() returns uuid language sql stable as $$
    select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
grant usage on schema auth to anon, authenticated;
create extension pgcrypto;

create table public.profiles (id uuid primary key, legacy int, display_name text not null, updated_at timestamptz not null);
-- A dropped column must not leak into the row checksum (pg_dump does not restore it).
alter table public.profiles drop column legacy;
create table public.tasks (
    id serial primary key, owner uuid not null references public.profiles(id), title text not null,
    done boolean not null default false, amount numeric(10, 2), score double precision, due date,
    updated_at timestamptz not null
);
create table public.lms_subsection_progress (
    id bigint generated always as identity primary key, owner uuid not null, progress_percent int not null
);

insert into public.profiles values
    ('${ALICE}', 'Alice', '2024-01-01 10:00:00+00'),
    ('${BOB}', 'Bob', '2024-01-02 10:00:00+00'),
    ('${CAROL}', 'Carol', '2024-01-03 10:00:00+00');
insert into public.tasks (owner, title, done, amount, score, due, updated_at) values
    ('${ALICE}', 'Alice one', false, 10.50, 0.1, '2024-02-01', '2024-03-01 08:00:00+00'),
    ('${ALICE}', 'Alice two', true, 20.00, 1e-7, '2024-02-02', '2024-03-02 08:00:00+00'),
    ('${BOB}', 'Bob one', false, null, 3.14159, null, '2024-03-03 08:00:00+00'),
    ('${BOB}', 'Bob two', false, 5.25, 2.5, '2024-02-04', '2024-03-09 08:00:00+00'),
    ('${CAROL}', 'Carol one', true, 1.00, -1, '2024-02-05', '2024-03-05 08:00:00+00');
insert into public.lms_subsection_progress (owner, progress_percent) values
    ('${ALICE}', 10), ('${ALICE}', 100), ('${BOB}', 55);

alter table public.profiles enable row level security;
create policy profiles_read on public.profiles for select to anon, authenticated using (true);
alter table public.tasks enable row level security;
create policy tasks_owner on public.tasks for select to authenticated using (owner = auth.uid());
alter table public.lms_subsection_progress enable row level security;
create policy progress_owner on public.lms_subsection_progress for all to authenticated
    using (owner = auth.uid()) with check (owner = auth.uid());
grant usage on schema public to anon, authenticated;
grant select on all tables in schema public to anon, authenticated;

create function public.touch_updated_at() returns trigger language plpgsql as $$
begin new.updated_at := now(); return new; end $$;
create trigger tasks_touch before update on public.tasks for each row execute function public.touch_updated_at();
create view public.open_tasks as select id, title from public.tasks where not done;

-- No primary key: rows may repeat, and a pair of repeated rows must not cancel out of the checksum.
create table public.audit_log (kind text not null, note text, payload json);
insert into public.audit_log values
    ('login', 'x', '{"ip": "10.0.0.1"}'), ('login', 'x', '{"ip": "10.0.0.1"}'), ('logout', '', null), ('logout', null, '[]');
grant select on public.audit_log to anon, authenticated;

create schema supabase_migrations;
create table supabase_migrations.schema_migrations (version text primary key, name text);
insert into supabase_migrations.schema_migrations values ('20240101000000', 'init'), ('20240301000000', 'tasks');
`;

const OPTIONS: FingerprintOptions = {
    rlsProbes: [{ role: "anon" }, { role: "authenticated", claims: { sub: ALICE, role: "authenticated" } }],
};

let pg: LocalCluster;
let source: Fingerprint;
let cloneCounter = 0;

async function fingerprintOf(database: string, opts: FingerprintOptions = OPTIONS, sessionSql?: string, basis?: ChecksumBasis): Promise<Fingerprint> {
    return withClient(pg.url(database), database, async (c) => {
        if (sessionSql) await c.query(sessionSql);
        return takeFingerprint(c, opts, undefined, basis);
    });
}

/** A table's entry as a format-3 fingerprint stored it: no checksum method (it was always the text form). */
function withoutMethod(t: TableFingerprint): TableFingerprint {
    const { checksumMethod, checksumSeed, textColumns, ...rest } = t;
    void [checksumMethod, checksumSeed, textColumns];
    return rest;
}

/** A basis that asks for the text form for every table of the source (what formats 2 and 3 recorded). */
const textBasis = (): ChecksumBasis => ({ tables: source.tables.map(withoutMethod) });

/** A copy of the source database (CREATE DATABASE ... TEMPLATE), then damaged by `sql`. */
async function cloneOfSource(sql?: string): Promise<string> {
    const name = `clone_${++cloneCounter}`;
    await withClient(pg.url(), "admin", (c) => c.query(`create database ${name} template src`));
    if (sql) await withClient(pg.url(name), name, (c) => c.query(sql));
    return name;
}

function failures(results: CheckResult[]): string[] {
    return results.filter((r) => r.status === "fail").map((r) => `${r.check} ${r.object}`).sort();
}

function find(results: CheckResult[], check: string, object: string): CheckResult {
    const r = results.find((x) => x.check === check && x.object === object);
    if (!r) throw new Error(`no ${check} result for ${object} in:\n${results.map((x) => `${x.check} ${x.object}`).join("\n")}`);
    return r;
}

beforeAll(async () => {
    pg = await startLocalCluster();
    await withClient(pg.url(), "admin", (c) => c.query("create database src"));
    await withClient(pg.url("src"), "src", (c) => c.query(SCHEMA_SQL));
    source = await fingerprintOf("src");
});
afterAll(async () => {
    await pg?.stop();
});

describe("takeFingerprint", () => {
    it("records data, definitions and RLS behaviour of the source", () => {
        const tasks = source.tables.find((t) => t.table === "public.tasks");
        expect(tasks).toMatchObject({ rowCount: 5, hasUpdatedAt: true, maxUpdatedAt: "2024-03-09T08:00:00+00:00" });
        expect(tasks?.checksum).toMatch(/^[0-9a-f]{32}$/);
        expect(source.tables.find((t) => t.table === "public.lms_subsection_progress")).toMatchObject({
            rowCount: 3,
            hasUpdatedAt: false,
            maxUpdatedAt: null,
        });
        expect(source.tables.map((t) => t.table)).toContain("supabase_migrations.schema_migrations");
        expect(source.rls).toContainEqual({ table: "public.tasks", enabled: true, forced: false });
        expect(source.policies.map((p) => `${p.table}.${p.name}`)).toEqual([
            "public.lms_subsection_progress.progress_owner",
            "public.profiles.profiles_read",
            "public.tasks.tasks_owner",
        ]);
        expect(source.policies.find((p) => p.name === "profiles_read")?.roles).toEqual(["anon", "authenticated"]);
        expect(source.extensions.map((e) => e.name)).toEqual(["pgcrypto", "plpgsql"]);
        // pgcrypto's own functions belong to the extension and are covered by its version.
        expect(source.functions.map((f) => f.signature)).toEqual(["auth.uid()", "public.touch_updated_at()"]);
        expect(source.triggers.map((t) => t.trigger)).toEqual(["public.tasks.tasks_touch"]);
        expect(source.views.map((v) => v.view)).toEqual(["public.open_tasks"]);
        expect(source.latestMigration).toBe("20240301000000");
        expect(source.serverVersionNum).toBeGreaterThanOrEqual(150000);

        const visible = (label: string, table: string) => {
            const probe = source.rlsProbes.find((p) => (p.claims ? `${p.role} ${JSON.stringify(p.claims)}` : p.role) === label);
            return probe?.tables.find((t) => t.table === table)?.rowCount;
        };
        expect(source.rlsProbes.map((p) => p.status)).toEqual(["ok", "ok"]);
        expect(visible("anon", "public.profiles")).toBe(3);
        expect(visible("anon", "public.tasks")).toBe(0);
        expect(visible(`authenticated {"sub":"${ALICE}","role":"authenticated"}`, "public.tasks")).toBe(2);
        expect(visible(`authenticated {"sub":"${ALICE}","role":"authenticated"}`, "public.lms_subsection_progress")).toBe(2);
    });

    it("records per table how its checksum was computed: the row hash, with the columns it hashes as text", () => {
        const method = (name: string) => {
            const t = source.tables.find((x) => x.table === name);
            return [t?.checksumMethod, t?.checksumSeed, t?.textColumns];
        };
        // numeric and double precision print values their equality merges (1.0 and 1.00, 0 and -0).
        expect(method("public.tasks")).toEqual(["row-hash", "5381", ["amount", "score"]]);
        expect(method("public.profiles")).toEqual(["row-hash", "5381", []]);
        // json has no hash function at all.
        expect(method("public.audit_log")).toEqual(["row-hash", "5381", ["payload"]]);
        expect(source.formatVersion).toBe(4);
    });

    it("is stable across calls and survives a JSON round trip unchanged", async () => {
        const again = await fingerprintOf("src");
        expect(again).toStrictEqual(source);
        expect(JSON.parse(JSON.stringify(source))).toStrictEqual(source);
    });

    it("leaves an idle session idle: its own transaction is rolled back", async () => {
        await withClient(pg.url("src"), "src", async (c) => {
            await takeFingerprint(c, OPTIONS);
            await expect(c.query("savepoint still_idle")).rejects.toThrow(/can only be used in transaction blocks/);
            expect((await c.query("select current_user::text as u")).rows[0].u).toBe("postgres");
        });
    });

    it("refuses an aborted caller transaction with a readable error", async () => {
        await withClient(pg.url("src"), "src", async (c) => {
            await c.query("begin");
            await c.query("select 1/0").catch(() => undefined);
            await expect(takeFingerprint(c)).rejects.toThrow(/cannot start validation inside the caller's transaction: .*aborted/);
            await c.query("rollback");
        });
    });

    it("records missing roles, permission errors, bypassing roles and missing critical tables without throwing", async () => {
        const fp = await fingerprintOf("src", {
            tables: ["public.tasks", "public.no_such_table"],
            rlsProbes: [{ role: "dr_missing_role" }, { role: "dr_no_grants" }, { role: "postgres" }],
        });
        expect(fp.tables.map((t) => [t.table, t.rowCount, t.error ?? null])).toEqual([
            ["public.no_such_table", null, "table does not exist"],
            ["public.tasks", 5, null],
        ]);
        const [missing, noGrants, superuser] = fp.rlsProbes;
        expect(missing).toEqual({ role: "dr_missing_role", claims: null, status: "role-missing", tables: [] });
        expect(noGrants.status).toBe("ok");
        expect(noGrants.tables[0].error).toMatch(/permission denied for table tasks/);
        expect(superuser).toMatchObject({ status: "ok", bypassesRls: true });
        expect(superuser.tables[0].rowCount).toBe(5);

        const results = compareFingerprints(fp, fp);
        expect(failures(results)).toEqual(["rls_probe dr_missing_role", "table public.no_such_table"]);
        // Same permission error on both sides is the same behaviour.
        expect(find(results, "rls_visibility", "dr_no_grants: public.tasks").status).toBe("pass");
        expect(find(results, "rls_probe", "postgres").detail).toMatch(/bypasses RLS/);
    });
});

describe("compareFingerprints on a copy of the source", () => {
    it("passes every check when the copy is identical, whatever the target session's settings", async () => {
        const db = await cloneOfSource();
        const target = await fingerprintOf(
            db,
            OPTIONS,
            "set timezone = 'Asia/Tokyo'; set datestyle = 'German, DMY'; set extra_float_digits = 0; set search_path = auth, public",
        );
        const results = compareFingerprints(source, target);
        expect(failures(results)).toEqual([]);
        const checked = new Set(results.map((r) => `${r.check} ${r.object}`));
        for (const expected of [
            "row_count public.tasks",
            "checksum public.tasks",
            "updated_at public.tasks",
            "rls public.tasks",
            "policy public.tasks.tasks_owner",
            "extension pgcrypto",
            "function auth.uid()",
            "trigger public.tasks.tasks_touch",
            "view public.open_tasks",
            "migration supabase_migrations.schema_migrations",
            `rls_visibility ${ALICE_PROBE}: public.tasks`,
            "rls_visibility anon: public.profiles",
            "index public.tasks_pkey",
            "constraint public.tasks.tasks_owner_fkey",
            "column public.tasks.done",
            "grant table public.tasks",
            "grant schema auth",
            "grant function auth.uid()",
            "sequence_value public.tasks_id_seq",
            "sequence_value public.lms_subsection_progress_id_seq",
        ]) {
            expect(checked).toContain(expected);
        }
        expect(formatValidationReport(results)).toMatch(/^Restore validation: PASS — all \d+ checks passed\n/);
    });

    const damage: [string, string, string[]][] = [
        ["a deleted row", "delete from public.tasks where id = 5", ["checksum public.tasks", "row_count public.tasks"]],
        [
            "one changed value with the same row count (trigger suppressed, updated_at unchanged)",
            "set session_replication_role = replica; update public.tasks set title = 'Bob one!' where id = 3",
            ["checksum public.tasks"],
        ],
        [
            "a changed value in a table without updated_at",
            "update public.lms_subsection_progress set progress_percent = 11 where progress_percent = 10",
            ["checksum public.lms_subsection_progress", `rls_visibility ${ALICE_PROBE}: public.lms_subsection_progress`],
        ],
        [
            "a dropped policy",
            "drop policy profiles_read on public.profiles",
            [
                `rls_visibility ${ALICE_PROBE}: public.profiles`,
                "policy public.profiles.profiles_read",
                "rls_visibility anon: public.profiles",
            ],
        ],
        [
            "RLS disabled on a table",
            "alter table public.tasks disable row level security",
            [`rls_visibility ${ALICE_PROBE}: public.tasks`, "rls public.tasks", "rls_visibility anon: public.tasks"],
        ],
        ["a missing extension", "drop extension pgcrypto", ["extension pgcrypto"]],
        [
            "a changed function body",
            "create or replace function public.touch_updated_at() returns trigger language plpgsql as $$ " +
                "begin new.updated_at := clock_timestamp(); return new; end $$",
            ["function public.touch_updated_at()"],
        ],
        ["a disabled trigger", "alter table public.tasks disable trigger tasks_touch", ["trigger public.tasks.tasks_touch"]],
        // The view's grants go with it.
        ["a missing view", "drop view public.open_tasks", ["grant view public.open_tasks", "view public.open_tasks"]],
        [
            "a newer migration",
            "insert into supabase_migrations.schema_migrations values ('20240401000000', 'extra')",
            [
                "checksum supabase_migrations.schema_migrations",
                "migration supabase_migrations.schema_migrations",
                "row_count supabase_migrations.schema_migrations",
            ],
        ],
        [
            "a table only on the target",
            "create table public.extra (id int)",
            ["column public.extra.id", "grant table public.extra", "rls public.extra", "table public.extra"],
        ],
    ];

    // Data damage a checksum alone must catch, with rows kept in the same number.
    const dataDamage: [string, string, string[]][] = [
        [
            "two rows' values swapped within one column (each column keeps its values, rows do not)",
            "set session_replication_role = replica; update public.tasks set title = case id when 1 then 'Alice two' else 'Alice one' end where id in (1, 2)",
            // Alice sees both rows: what she sees changed the same way.
            ["checksum public.tasks", `rls_visibility ${ALICE_PROBE}: public.tasks`],
        ],
        [
            "a repeated pair of rows replaced by another repeated pair (XOR of row hashes would not see it)",
            "update public.audit_log set note = 'y' where note = 'x'",
            ["checksum public.audit_log"],
        ],
        ["an empty string become NULL", "update public.audit_log set note = null where note = ''", ["checksum public.audit_log"]],
        ["a NULL become an empty string", "update public.audit_log set note = '' where note is null", ["checksum public.audit_log"]],
        [
            "a changed value in a column hashed through its text form (json)",
            "update public.audit_log set payload = '[ ]' where payload::text = '[]'",
            ["checksum public.audit_log"],
        ],
        [
            "columns in another order, every value kept",
            `create table public.audit_log_reordered as select note, kind, payload from public.audit_log;
             drop table public.audit_log;
             alter table public.audit_log_reordered rename to audit_log;
             alter table public.audit_log alter column kind set not null;
             grant select on public.audit_log to anon, authenticated;`,
            ["checksum public.audit_log"],
        ],
    ];

    // Each case runs with the row hash (the default) and with the text form (a text-form source makes
    // the target repeat it): both must fail exactly the expected checks.
    it.each([...damage, ...dataDamage])("catches %s, with either checksum method", async (_label, sql, expected) => {
        const db = await cloneOfSource(sql);
        const textSource = await fingerprintOf("src", OPTIONS, undefined, textBasis());
        expect(new Set(textSource.tables.map((t) => t.checksumMethod))).toEqual(new Set(["text"]));
        const byRowHash = failures(compareFingerprints(source, await fingerprintOf(db, OPTIONS, undefined, source)));
        const byText = failures(compareFingerprints(textSource, await fingerprintOf(db, OPTIONS, undefined, textSource)));
        expect(byRowHash).toEqual([...expected].sort());
        expect(byText).toEqual(byRowHash);
    });

    it("reports a changed value readably, with both checksums", async () => {
        const db = await cloneOfSource("set session_replication_role = replica; update public.tasks set amount = 5.26 where id = 4");
        const results = compareFingerprints(source, await fingerprintOf(db));
        const checksum = find(results, "checksum", "public.tasks");
        expect(checksum).toMatchObject({ status: "fail", detail: "content differs with the same row count" });
        expect(checksum.source).not.toEqual(checksum.target);
        expect(find(results, "row_count", "public.tasks")).toMatchObject({ status: "pass", source: 5, target: 5 });
        expect(find(results, "updated_at", "public.tasks").status).toBe("pass");
        const report = formatValidationReport(results);
        expect(report).toMatch(/^Restore validation: FAIL — 1 of \d+ checks failed/);
        expect(report).toContain(
            `FAIL checksum public.tasks: source ${String(checksum.source)} | target ${String(checksum.target)} — content differs with the same row count`,
        );
        expect(report).toContain("public.tasks|5|5");
    });

    it("sees RLS behave differently when a policy's qual changes although superuser counts match", async () => {
        const db = await cloneOfSource("alter policy tasks_owner on public.tasks using (true)");
        const results = compareFingerprints(source, await fingerprintOf(db));
        expect(failures(results)).toEqual([`rls_visibility ${ALICE_PROBE}: public.tasks`, "policy public.tasks.tasks_owner"].sort());
        expect(find(results, "row_count", "public.tasks").status).toBe("pass");
        expect(find(results, "checksum", "public.tasks").status).toBe("pass");
        const visibility = find(results, "rls_visibility", `${ALICE_PROBE}: public.tasks`);
        expect(visibility).toMatchObject({ detail: "visible row count differs" });
        expect((visibility.source as { rows: number }).rows).toBe(2);
        expect((visibility.target as { rows: number }).rows).toBe(5);
        expect(formatValidationReport(results)).toMatch(
            /FAIL rls_visibility authenticated .*: public\.tasks: source \{"checksum":"[0-9a-f]+","rows":2\} \| target \{"checksum":"[0-9a-f]+","rows":5\}/,
        );
    });
});

describe("a source fingerprint that recorded another checksum method", () => {
    it("of format 3 (text form, no method recorded): the target repeats the text form, and damage still shows", async () => {
        const textSource = await fingerprintOf("src", OPTIONS, undefined, textBasis());
        const older: FingerprintV3 = { ...textSource, formatVersion: 3, tables: textSource.tables.map(withoutMethod) };
        const clean = await fingerprintOf(await cloneOfSource(), OPTIONS, undefined, older);
        expect(new Set(clean.tables.map((t) => t.checksumMethod))).toEqual(new Set(["text"]));
        expect(failures(compareFingerprints(older, clean))).toEqual([]);

        const damaged = await cloneOfSource("set session_replication_role = replica; update public.tasks set score = 2.75 where id = 4");
        expect(failures(compareFingerprints(older, await fingerprintOf(damaged, OPTIONS, undefined, older)))).toEqual(["checksum public.tasks"]);
    });

    it("is reported as not comparable, not as changed content, when the target did not repeat the source's method", async () => {
        const textSource = await fingerprintOf("src", OPTIONS, undefined, textBasis());
        const results = compareFingerprints(textSource, await fingerprintOf(await cloneOfSource()));
        const checksum = find(results, "checksum", "public.tasks");
        expect(checksum.status).toBe("fail");
        expect(checksum.detail).toBe(
            "not comparable: source text form, target row hash (seed 5381; as text: amount, score) " +
                "(fingerprint the target with the source's fingerprint as basis)",
        );
        expect(find(results, "row_count", "public.tasks").status).toBe("pass");
    });

    it("falls back to the text form, and says why, when the target cannot repeat the source's row hash", async () => {
        // display_name (text, hashed natively on the source) is json on the target: json has no hash.
        const db = await cloneOfSource("alter table public.profiles alter column display_name type json using to_json(display_name)");
        const target = await fingerprintOf(db, OPTIONS, undefined, source);
        const profiles = target.tables.find((t) => t.table === "public.profiles");
        expect(profiles).toMatchObject({
            checksumMethod: "text",
            checksumNote: "the source's row hash cannot be repeated: column(s) display_name cannot be hashed natively here",
        });
        const results = compareFingerprints(source, target);
        expect(find(results, "checksum", "public.profiles").detail).toBe(
            "not comparable: source row hash (seed 5381), target text form " +
                "(the source's row hash cannot be repeated: column(s) display_name cannot be hashed natively here)",
        );
        expect(failures(results)).toContain("column public.profiles.display_name");
    });
});

describe("fingerprint inside pg_dump's snapshot", () => {
    it("matches a pg_dump --snapshot restore although the source changed meanwhile, and leaves the caller's transaction intact", async () => {
        const live = await cloneOfSource();
        const caller: Client = await connect(pg.url(live), "live");
        try {
            await caller.query("set timezone = 'America/New_York'");
            await caller.query("begin isolation level repeatable read read only");
            const snapshot = (await caller.query<{ s: string }>("select pg_export_snapshot() as s")).rows[0].s;
            // The source moves on after the snapshot was taken.
            await withClient(pg.url(live), "writer", (c) =>
                c.query(`insert into public.tasks (owner, title, updated_at) values ('${BOB}', 'late', '2025-01-01')`),
            );

            const inSnapshot = await takeFingerprint(caller, OPTIONS);
            expect(compareFingerprints(source, inSnapshot).filter((r) => r.status === "fail")).toEqual([]);
            // The caller's settings and role are untouched and its transaction is still open.
            const state = await caller.query<{ tz: string; who: string; sp: string }>(
                "select current_setting('TimeZone') as tz, current_user::text as who, current_setting('search_path') as sp",
            );
            expect(state.rows[0]).toEqual({ tz: "America/New_York", who: "postgres", sp: '"$user", public' });

            await withClient(pg.url(), "admin", (c) => c.query("create database restored"));
            const env = { ...process.env, PGPASSWORD: pg.password };
            const url = (db: string) => `postgresql://postgres@127.0.0.1:${pg.port}/${db}`;
            await execFileAsync(
                "bash",
                [
                    "-c",
                    'set -o pipefail; "$0" --no-owner --snapshot="$1" --dbname="$2" | "$3" -q -v ON_ERROR_STOP=1 --dbname="$4" >/dev/null',
                    findPgTool("pg_dump"),
                    snapshot,
                    url(live),
                    findPgTool("psql"),
                    url("restored"),
                ],
                { env },
            );
            await caller.query("commit");

            const restored = await fingerprintOf("restored");
            expect(failures(compareFingerprints(inSnapshot, restored))).toEqual([]);
            // The live source has the late row: comparing against it instead would fail.
            expect(failures(compareFingerprints(await fingerprintOf(live), restored))).toEqual([
                "checksum public.tasks",
                "row_count public.tasks",
                "updated_at public.tasks",
            ]);
        } finally {
            await caller.end();
        }
    });
});
