// Structure checks against a real PostgreSQL: an exact copy of a source with partitions, a domain,
// generated and identity columns, column/function/schema grants, a free-standing sequence, publications
// and a Supabase-style storage.buckets compares clean, and each kind of structural loss a restore can
// suffer fails exactly the check that names the lost object.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { compareFingerprints, type CompareOptions } from "../../lib/validate/compare";
import { takeFingerprint } from "../../lib/validate/fingerprint";
import { formatValidationReport } from "../../lib/validate/format";
import type { CheckResult, Fingerprint } from "../../lib/validate/types";

// Roles are cluster-wide: create them only when absent.
const ROLES_SQL = ["anon", "reporting"]
    .map(
        (role) => `do $$ begin
            if not exists (select 1 from pg_roles where rolname = '${role}') then create role ${role} nologin; end if;
        exception when duplicate_object or unique_violation then null; end $$;`,
    )
    .join("\n");

const SCHEMA_SQL = `
${ROLES_SQL}
create extension citext;
-- An extension that owns a schema (as pg_graphql owns graphql), with a function of ours inside it.
create extension hstore;
create schema hstore_extras;
alter extension hstore add schema hstore_extras;
create function hstore_extras.pairs(h public.hstore) returns bigint language sql as 'select count(*) from public.each(h)';

create schema app;
create domain app.priority as int check (value between 1 and 5);
create table public.profiles (
    id bigint generated always as identity primary key,
    email public.citext not null unique,
    display_name text not null default 'anonymous'
);
create table public.tasks (
    id serial primary key,
    owner bigint not null references public.profiles(id) on delete cascade,
    title text not null,
    done boolean not null default false,
    priority int check (priority between 1 and 5),
    slug text generated always as (lower(title)) stored
);
create index tasks_open_idx on public.tasks (owner) where not done;
create table app.events (id bigserial, at timestamptz not null, kind text not null, level app.priority, primary key (id, at)) partition by range (at);
create table app.events_2024 partition of app.events for values from ('2024-01-01') to ('2025-01-01');
create index events_kind_idx on app.events (kind);
create sequence app.invoice_numbers start 1000;
create function app.next_invoice() returns bigint language sql as $$ select nextval('app.invoice_numbers') $$;

revoke execute on function app.next_invoice() from public;
grant execute on function app.next_invoice() to reporting;
grant usage on schema app to reporting;
grant select on all tables in schema public to anon;
grant select (id, display_name) on public.profiles to reporting;
grant usage on sequence app.invoice_numbers to reporting;

create publication realtime_demo for table public.tasks, public.profiles;
create publication task_inserts for table public.tasks with (publish = 'insert');

-- Supabase Storage's bucket table, reduced to the columns that matter here.
create schema storage;
create table storage.buckets (
    id text primary key, name text not null, owner uuid, public boolean default false,
    file_size_limit bigint, allowed_mime_types text[], created_at timestamptz default now()
);
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types, created_at) values
    ('avatars', 'avatars', false, 1048576, '{image/png,image/jpeg}', '2024-01-01'),
    ('site', 'site', true, null, null, '2024-01-01');

insert into public.profiles (email) values ('a@example.com'), ('b@example.com');
insert into public.tasks (owner, title, priority) values (1, 'One', 1), (1, 'Two', 5), (2, 'Three', null);
insert into app.events (at, kind, level) values ('2024-03-01', 'login', 1), ('2024-03-02', 'logout', 2);
select nextval('app.invoice_numbers') from generate_series(1, 3);
`;

let pg: LocalCluster;
let source: Fingerprint;
let cloneCounter = 0;

async function fingerprintOf(database: string): Promise<Fingerprint> {
    return withClient(pg.url(database), database, (c) => takeFingerprint(c));
}

/** A copy of the source database (CREATE DATABASE ... TEMPLATE), then damaged by `sql`. */
async function cloneOfSource(sql?: string): Promise<string> {
    const name = `clone_${++cloneCounter}`;
    await withClient(pg.url(), "admin", (c) => c.query(`create database ${name} template src`));
    if (sql) await withClient(pg.url(name), name, (c) => c.query(sql));
    return name;
}

async function compareWithClone(sql?: string, opts?: CompareOptions): Promise<CheckResult[]> {
    return compareFingerprints(source, await fingerprintOf(await cloneOfSource(sql)), opts);
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

describe("structure fingerprint", () => {
    it("records indexes, constraints, columns, grants, sequence positions, publications and bucket settings", () => {
        expect(source.formatVersion).toBe(4);
        expect(source.indexes.find((i) => i.index === "public.tasks_open_idx")).toEqual({
            index: "public.tasks_open_idx",
            table: "public.tasks",
            definition: "CREATE INDEX tasks_open_idx ON public.tasks USING btree (owner) WHERE (NOT done)",
            valid: true,
            unique: false,
            primary: false,
        });
        expect(source.indexes.map((i) => i.index)).toContain("app.events_2024_kind_idx");
        expect(source.constraints.find((c) => c.constraint === "app.priority.priority_check")).toMatchObject({ onDomain: true, type: "check" });
        expect(source.constraints.find((c) => c.constraint === "public.tasks.tasks_owner_fkey")?.definition).toBe(
            "FOREIGN KEY (owner) REFERENCES public.profiles(id) ON DELETE CASCADE",
        );
        expect(source.columns.filter((c) => c.column.startsWith("public.tasks.")).map((c) => c.column)).toEqual(
            ["id", "owner", "title", "done", "priority", "slug"].map((c) => `public.tasks.${c}`),
        );
        expect(source.columns.find((c) => c.column === "public.tasks.slug")?.generated).toEqual({ kind: "stored", expression: "lower(title)" });
        expect(source.columns.find((c) => c.column === "public.profiles.id")?.identity).toBe("always");
        expect(source.columns.find((c) => c.column === "public.profiles.email")?.type).toBe("public.citext");
        const grants = Object.fromEntries(source.grants.map((g) => [g.object, g.privileges]));
        expect(grants["function app.next_invoice()"]).toEqual(["reporting:EXECUTE"]);
        expect(grants["schema app"]).toEqual(["reporting:USAGE"]);
        expect(grants["column public.profiles.display_name"]).toEqual(["reporting:SELECT"]);
        expect(grants["table public.tasks"]).toEqual(["anon:SELECT"]);
        expect(grants["sequence app.invoice_numbers"]).toEqual(["reporting:USAGE"]);
        // Extension members are left out (hstore's own functions); our function in its schema is not.
        expect(source.grants.some((g) => g.object.startsWith("function public.hstore"))).toBe(false);
        expect(grants["function hstore_extras.pairs(h public.hstore)"]).toEqual(["PUBLIC:EXECUTE"]);
        expect(source.extensions.find((e) => e.name === "hstore")?.ownedSchemas).toEqual(["hstore_extras"]);
        expect(source.sequences.find((s) => s.sequence === "app.invoice_numbers")?.lastValue).toBe("1002");
        expect(source.publications.map((p) => [p.name, p.tables, p.operations])).toEqual([
            ["realtime_demo", ["public.profiles", "public.tasks"], ["insert", "update", "delete", "truncate"]],
            ["task_inserts", ["public.tasks"], ["insert"]],
        ]);
        expect(source.storageBuckets).toEqual({
            columns: ["name", "public", "file_size_limit", "allowed_mime_types"],
            buckets: [
                { id: "avatars", settings: { name: "avatars", public: false, file_size_limit: 1048576, allowed_mime_types: ["image/png", "image/jpeg"] } },
                { id: "site", settings: { name: "site", public: true, file_size_limit: null, allowed_mime_types: null } },
            ],
        });
    });

    it("compares clean with an exact copy", async () => {
        const results = await compareWithClone();
        expect(failures(results)).toEqual([]);
        expect(results.filter((r) => r.status === "skip")).toEqual([]);
        for (const check of ["index", "constraint", "column", "grant", "sequence_value", "publication", "storage_bucket"]) {
            expect(results.some((r) => r.check === check && r.status === "pass")).toBe(true);
        }
    });

    it("honours schemas: every structure check stays inside them", async () => {
        const narrow = await withClient(pg.url("src"), "src", (c) => takeFingerprint(c, { schemas: ["app"] }));
        expect(narrow.indexes.every((i) => i.index.startsWith("app."))).toBe(true);
        expect(narrow.constraints.every((c) => c.constraint.startsWith("app."))).toBe(true);
        expect(narrow.columns.every((c) => c.column.startsWith("app."))).toBe(true);
        expect(narrow.grants.every((g) => g.name === "app" || g.name.startsWith("app."))).toBe(true);
        expect(narrow.sequences.map((s) => s.sequence)).toEqual(["app.events_id_seq", "app.invoice_numbers"]);
        // Both publications publish only public tables: not this fingerprint's business.
        expect(narrow.publications).toEqual([]);
        expect(narrow.storageBuckets).toBeNull();
    });
});

describe("structural damage", () => {
    const damage: [string, string, string[]][] = [
        ["a dropped index", "drop index public.tasks_open_idx", ["index public.tasks_open_idx"]],
        ["a dropped partitioned index", "drop index app.events_kind_idx", ["index app.events_2024_kind_idx", "index app.events_kind_idx"]],
        ["a dropped check constraint", "alter table public.tasks drop constraint tasks_priority_check", ["constraint public.tasks.tasks_priority_check"]],
        ["a dropped domain constraint", "alter domain app.priority drop constraint priority_check", ["constraint app.priority.priority_check"]],
        [
            "a foreign key left NOT VALID",
            "alter table public.tasks drop constraint tasks_owner_fkey; " +
                "alter table public.tasks add constraint tasks_owner_fkey foreign key (owner) references public.profiles(id) on delete cascade not valid",
            ["constraint public.tasks.tasks_owner_fkey"],
        ],
        ["a changed column default", "alter table public.tasks alter column done set default true", ["column public.tasks.done"]],
        ["a lost NOT NULL", "alter table public.tasks alter column title drop not null", ["column public.tasks.title"]],
        ["a changed column type", "alter table public.tasks alter column priority type bigint", ["column public.tasks.priority"]],
        ["a lost identity", "alter table public.profiles alter column id drop identity", ["column public.profiles.id", "grant sequence public.profiles_id_seq", "sequence_value public.profiles_id_seq"]],
        ["a revoked table grant", "revoke select on public.tasks from anon", ["grant table public.tasks"]],
        ["a revoked schema grant", "revoke usage on schema app from reporting", ["grant schema app"]],
        ["a revoked function grant", "revoke execute on function app.next_invoice() from reporting", ["grant function app.next_invoice()"]],
        ["a revoked column grant", "revoke select (display_name) on public.profiles from reporting", ["grant column public.profiles.display_name"]],
        ["a lost REVOKE FROM PUBLIC", "grant execute on function app.next_invoice() to public", ["grant function app.next_invoice()"]],
        ["a sequence set back", "select setval('app.invoice_numbers', 1000)", ["sequence_value app.invoice_numbers"]],
        ["a table removed from a publication", "alter publication realtime_demo drop table public.profiles", ["publication realtime_demo"]],
        ["a dropped publication", "drop publication task_inserts", ["publication task_inserts"]],
        // The bucket row is data too: its checksum fails beside the setting that names the bucket.
        ["a bucket made public", "update storage.buckets set public = true where id = 'avatars'", ["checksum storage.buckets", "storage_bucket avatars"]],
    ];

    it.each(damage)("catches %s", async (_label, sql, expected) => {
        expect(failures(await compareWithClone(sql))).toEqual([...expected].sort());
    });

    it("says what changed, naming the object", async () => {
        const results = await compareWithClone(
            "alter table public.tasks alter column done set default true; alter table public.tasks alter column title drop not null; " +
                "revoke select on public.tasks from anon; select setval('app.invoice_numbers', 1000); " +
                "alter publication realtime_demo drop table public.profiles; update storage.buckets set public = true where id = 'avatars'",
        );
        expect(find(results, "column", "public.tasks.done").detail).toBe("default false → true");
        expect(find(results, "column", "public.tasks.title").detail).toBe("nullability NOT NULL → nullable");
        expect(find(results, "grant", "table public.tasks")).toMatchObject({ source: ["anon:SELECT"], target: [], detail: "missing on target: anon:SELECT" });
        expect(find(results, "sequence_value", "app.invoice_numbers").detail).toBe(
            "sequence behind the source's value at the snapshot (last value 1000, source 1002): new rows may reuse ids; " +
                "fix with select setval('app.invoice_numbers', 1002)",
        );
        expect(find(results, "publication", "realtime_demo").detail).toBe("tables missing on target: public.profiles");
        expect(find(results, "storage_bucket", "avatars").detail).toBe("public false → true");
        const report = formatValidationReport(results);
        expect(report).toContain('FAIL grant table public.tasks: source ["anon:SELECT"] | target [] — missing on target: anon:SELECT');
        expect(report).toContain("FAIL column public.tasks.done: source {");
    });

    it("passes a sequence that moved on past the source's value", async () => {
        const results = await compareWithClone("select nextval('app.invoice_numbers')");
        expect(find(results, "sequence_value", "app.invoice_numbers")).toMatchObject({
            status: "pass",
            source: "1002",
            target: "1003",
            detail: "target is past the source's value at the snapshot",
        });
    });
});

describe("allowMissingExtensions on a target without the extension", () => {
    const withoutHstore = "drop extension hstore cascade";

    it("fails the missing extension and its schema's contents when not allowed", async () => {
        expect(failures(await compareWithClone(withoutHstore))).toEqual([
            "extension hstore",
            "function hstore_extras.pairs(h public.hstore)",
            "grant function hstore_extras.pairs(h public.hstore)",
            "schema hstore_extras",
        ]);
    });

    it("passes them with a note when allowed, and still fails anything else that is missing", async () => {
        const results = await compareWithClone(`${withoutHstore}; drop index public.tasks_open_idx`, { allowMissingExtensions: ["hstore"] });
        expect(failures(results)).toEqual(["index public.tasks_open_idx"]);
        expect(find(results, "extension", "hstore")).toMatchObject({ status: "pass", detail: "allowed missing: not available on the target" });
        expect(find(results, "schema", "hstore_extras")).toMatchObject({
            status: "pass",
            detail: "allowed missing: schema hstore_extras belongs to extension hstore, not available on the target",
        });
        expect(find(results, "function", "hstore_extras.pairs(h public.hstore)").status).toBe("pass");
        expect(formatValidationReport(results)).toContain("pass extension hstore (allowed missing: not available on the target)");
    });
});
