// Target-side checks against a real PostgreSQL: sequences left behind their columns (serial and
// identity, is_called aware) and the operator's SQL assertions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { formatValidationReport } from "../../lib/validate/format";
import { runTargetChecks } from "../../lib/validate/targetChecks";
import type { CheckResult, SqlAssertion } from "../../lib/validate/types";

const SCHEMA_SQL = `
create schema app;
create table public.tasks (id serial primary key, title text not null);
create table public.lms_subsection_progress (id bigint generated always as identity primary key, progress_percent int not null);
create table app.events (id bigserial primary key, payload text);
-- Counts down: "behind" means its last value is above the smallest id.
create sequence public.countdown increment by -1 minvalue -1000 maxvalue -1 start with -1;
create table public.countdown_rows (id int primary key default nextval('public.countdown'));
alter sequence public.countdown owned by public.countdown_rows.id;
-- Not owned by any column: nothing to compare it with, so not checked.
create sequence public.free_standing;
insert into public.tasks (title) select 'task ' || g from generate_series(1, 10) g;
insert into public.lms_subsection_progress (progress_percent) values (0), (50), (100);
insert into app.events (payload) values ('a'), ('b');
insert into public.countdown_rows default values;
insert into public.countdown_rows default values;
`;

const SEQUENCES = {
    tasks: "public.tasks_id_seq (public.tasks.id)",
    progress: "public.lms_subsection_progress_id_seq (public.lms_subsection_progress.id)",
    events: "app.events_id_seq (app.events.id)",
    countdown: "public.countdown (public.countdown_rows.id)",
};

let pg: LocalCluster;

async function checks(setupSql?: string, assertions?: SqlAssertion[]): Promise<CheckResult[]> {
    return withClient(pg.url("target"), "target", async (c) => {
        if (setupSql) await c.query(setupSql);
        return runTargetChecks(c, { assertions });
    });
}

function statusOf(results: CheckResult[], object: string): string | undefined {
    return results.find((r) => r.object === object)?.status;
}

beforeAll(async () => {
    pg = await startLocalCluster();
    await withClient(pg.url(), "admin", (c) => c.query("create database target"));
    await withClient(pg.url("target"), "target", (c) => c.query(SCHEMA_SQL));
});
afterAll(async () => {
    await pg?.stop();
});

describe("sequence checks", () => {
    it("passes every owned sequence (serial, identity, other schemas, descending) right after inserts", async () => {
        const results = await checks();
        expect(results.map((r) => `${r.status} ${r.object}`).sort()).toEqual(
            Object.values(SEQUENCES).map((s) => `pass ${s}`).sort(),
        );
        expect(results.find((r) => r.object === SEQUENCES.tasks)?.target).toEqual({ lastValue: "10", isCalled: true, "max(id)": "10" });
    });

    it("fails a serial sequence set behind its column, naming the fix", async () => {
        const results = await checks("select setval('public.tasks_id_seq', 3)");
        const r = results.find((x) => x.object === SEQUENCES.tasks);
        expect(r).toMatchObject({ check: "sequence", status: "fail" });
        expect(r?.detail).toMatch(/last used 3, max 10\).*select setval\('public.tasks_id_seq', 10\)/);
        expect(formatValidationReport(results)).toContain(`FAIL sequence ${SEQUENCES.tasks}: source max(id) = 10 | target {`);
        await checks("select setval('public.tasks_id_seq', 10)");
    });

    it("is is_called aware: a next value equal to max(id) collides, one above it does not", async () => {
        expect(statusOf(await checks("select setval('public.tasks_id_seq', 10, false)"), SEQUENCES.tasks)).toBe("fail");
        expect(statusOf(await checks("select setval('public.tasks_id_seq', 11, false)"), SEQUENCES.tasks)).toBe("pass");
        expect(statusOf(await checks("select setval('public.tasks_id_seq', 10, true)"), SEQUENCES.tasks)).toBe("pass");
    });

    it("fails an identity sequence and a descending sequence left behind", async () => {
        const results = await checks(
            "select setval(pg_get_serial_sequence('public.lms_subsection_progress', 'id'), 1); select setval('public.countdown', -1)",
        );
        expect(statusOf(results, SEQUENCES.progress)).toBe("fail");
        expect(statusOf(results, SEQUENCES.countdown)).toBe("fail");
        expect(statusOf(results, SEQUENCES.events)).toBe("pass");
        await checks("select setval(pg_get_serial_sequence('public.lms_subsection_progress', 'id'), 3); select setval('public.countdown', -2)");
        expect((await checks()).every((r) => r.status === "pass")).toBe(true);
    });
});

describe("SQL assertions", () => {
    const invalidProgress = "select count(*) from public.lms_subsection_progress where progress_percent < 0 or progress_percent > 100";

    it("passes the right expected value and fails a wrong one, in runbook 003 style", async () => {
        const results = (
            await checks(undefined, [
                { name: "invalid_progress", sql: invalidProgress, expected: 0 },
                { name: "invalid_progress_wrong", sql: invalidProgress, expected: 1 },
                { name: "has_tasks", sql: "select exists (select 1 from public.tasks)", expected: true },
                { name: "first_title", sql: "select title from public.tasks where id = 1", expected: "task 1" },
                { name: "average", sql: "select avg(progress_percent)::numeric(10,2) from public.lms_subsection_progress", expected: 50 },
                { name: "nothing", sql: "select null::text", expected: null },
            ])
        ).filter((r) => r.check === "assertion");
        expect(results.map((r) => [r.object, r.status, r.target])).toEqual([
            ["invalid_progress", "pass", "0"],
            ["invalid_progress_wrong", "fail", "0"],
            ["has_tasks", "pass", "t"],
            ["first_title", "pass", "task 1"],
            ["average", "pass", "50.00"],
            ["nothing", "pass", null],
        ]);
        const report = formatValidationReport(results);
        expect(report).toContain("\ninvalid_progress|0\n");
        expect(report).toContain("FAIL assertion invalid_progress_wrong: source 1 | target 0 — expected 1");
    });

    it("fails assertions that error or return the wrong shape, and keeps going", async () => {
        const results = (
            await checks(undefined, [
                { name: "broken", sql: "select * from public.no_such_table", expected: 0 },
                { name: "two_rows", sql: "select 1 union all select 2", expected: 1 },
                { name: "two_columns", sql: "select 1, 2", expected: 1 },
                { name: "after_errors", sql: "select count(*) from public.tasks", expected: 10 },
            ])
        ).filter((r) => r.check === "assertion");
        expect(results.map((r) => [r.object, r.status])).toEqual([
            ["broken", "fail"],
            ["two_rows", "fail"],
            ["two_columns", "fail"],
            ["after_errors", "pass"],
        ]);
        expect(results[0].detail).toMatch(/query failed: relation "public.no_such_table" does not exist/);
        expect(results[1].detail).toBe("expected one row with one column, got 2 row(s) x 1 column(s)");
        expect(formatValidationReport(results)).toContain("\nbroken|ERROR\n");
    });

    it("cannot write: assertions run read-only when the session is idle", async () => {
        const results = await checks(undefined, [{ name: "sneaky", sql: "delete from public.tasks returning 1", expected: 1 }]);
        expect(results.find((r) => r.object === "sneaky")?.detail).toMatch(/read-only transaction/);
        const count = await withClient(pg.url("target"), "target", (c) => c.query("select count(*)::int as n from public.tasks"));
        expect(count.rows[0].n).toBe(10);
    });

    it("runs inside a caller's transaction without ending it", async () => {
        await withClient(pg.url("target"), "target", async (c) => {
            await c.query("begin");
            const results = await runTargetChecks(c, { assertions: [{ name: "one", sql: "select 1", expected: 1 }] });
            expect(results.every((r) => r.status === "pass")).toBe(true);
            await c.query("savepoint still_open"); // throws if the transaction had been ended
            await c.query("rollback");
        });
    });
});
