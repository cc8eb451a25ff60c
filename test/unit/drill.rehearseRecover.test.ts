// The recovery rehearsal's inputs and outputs without a database: the --rehearse-recover flag and the
// drill.rehearseRecover settings (errors with property paths), the dry-run judge, and the rehearsal's
// place in the report, the JUnit file and the Prometheus file (counts and key hashes, never a value).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isConfigError, formatIssue } from "../../lib/config/errors";
import { parseUserDrillSettings } from "../../lib/drill/config";
import { formatJUnit } from "../../lib/drill/junit";
import { formatPrometheus } from "../../lib/drill/prometheus";
import { mergeRehearsals, parseRehearseRecoverFlag, writeRehearsalStep, type RehearsalStep } from "../../lib/drill/rehearseRecover";
import { buildDrillReport, formatSummary } from "../../lib/drill/report";
import type { RowDiff } from "../../lib/recover/diff";
import { judgeDryRun, keyHash, stateDifference } from "../../lib/recover/rehearsalJudge";

function settingsIssues(raw: unknown): string[] {
    try {
        parseUserDrillSettings(raw);
        return [];
    } catch (err) {
        if (!isConfigError(err)) throw err;
        return err.issues.map(formatIssue);
    }
}

describe("--rehearse-recover", () => {
    it("takes rows:<schema.table>, a bare table being in public", () => {
        expect(parseRehearseRecoverFlag("rows:public.orders")).toEqual({ path: "rows", table: "public.orders" });
        expect(parseRehearseRecoverFlag("rows:orders")).toEqual({ path: "rows", table: "public.orders" });
        expect(parseRehearseRecoverFlag('rows:"My Schema".t')).toEqual({ path: "rows", table: "My Schema.t" });
    });

    it("refuses other paths, a missing path and malformed table names, naming the flag", () => {
        expect(() => parseRehearseRecoverFlag("storage:avatars")).toThrow(/--rehearse-recover 'storage:avatars': path 'storage' cannot be rehearsed; only rows/);
        expect(() => parseRehearseRecoverFlag("public.orders")).toThrow(/must be <path>:<schema.table>/);
        expect(() => parseRehearseRecoverFlag("rows:a.b.c")).toThrow(/--rehearse-recover 'a.b.c' must be <schema>.<table>/);
        expect(() => parseRehearseRecoverFlag("rows:")).toThrow(/--rehearse-recover '' has an empty name part/);
    });

    it("adds flags to the settings' rehearsals without repeating a table", () => {
        const merged = mergeRehearsals([{ path: "rows", table: "orders", sample: 5 }], [parseRehearseRecoverFlag("rows:public.orders"), parseRehearseRecoverFlag("rows:public.tasks")]);
        expect(merged).toEqual([{ path: "rows", table: "orders", sample: 5 }, { path: "rows", table: "public.tasks" }]);
        expect(mergeRehearsals(undefined, [])).toBeUndefined();
    });
});

describe("drill.rehearseRecover settings", () => {
    it("accepts entries with and without a sample", () => {
        expect(settingsIssues({ rehearseRecover: [{ path: "rows", table: "public.orders" }, { path: "rows", table: "tasks", sample: 50 }] })).toEqual([]);
    });

    it("reports every problem with its property path", () => {
        const issues = settingsIssues({
            rehearseRecover: [
                { path: "storage", table: "public.x" },
                { path: "rows", table: "a.b.c", sample: 0 },
                { path: "rows", table: "public.orders", samples: 3 },
                { path: "rows", table: "public.y", sample: 1.5 },
            ],
        });
        expect(issues).toEqual(expect.arrayContaining([
            expect.stringMatching(/^supabase-dr:drill\.rehearseRecover\[0\]\.path: expected one of: rows/),
            expect.stringMatching(/^supabase-dr:drill\.rehearseRecover\[1\]\.table: table 'a\.b\.c' must be <schema>\.<table>/),
            expect.stringMatching(/^supabase-dr:drill\.rehearseRecover\[1\]\.sample: expected a whole number from 1 to 10000/),
            expect.stringMatching(/^supabase-dr:drill\.rehearseRecover\[2\]/),
            expect.stringMatching(/^supabase-dr:drill\.rehearseRecover\[3\]\.sample: expected a whole number/),
        ]));
        expect(issues.some((i) => /rehearseRecover\[2\].*samples/.test(i))).toBe(true);
        expect(settingsIssues({ rehearseRecover: [{ path: "rows", table: "public.orders" }, { path: "rows", table: "orders", sample: 3 }] })).toEqual([
            "supabase-dr:drill.rehearseRecover[1].table: public.orders is already rehearsed by entry 0",
        ]);
    });

    it("refuses a list of something else, and a PITR drill (no backup file to recover from)", () => {
        expect(settingsIssues({ rehearseRecover: "rows:public.x" })).toEqual([expect.stringMatching(/^supabase-dr:drill\.rehearseRecover: expected a list/)]);
        const pitr = settingsIssues({
            rehearseRecover: [{ path: "rows", table: "public.x" }],
            pitr: { archive: { stanza: "main", repository: { type: "posix", path: "/r" }, cipher: "none" }, target: { type: "time", time: "2026-11-30T10:00:00Z" } },
        });
        expect(pitr).toContainEqual(expect.stringMatching(/^supabase-dr:drill\.rehearseRecover: cannot be combined with pitr\.target/));
    });
});

describe("the dry-run judge", () => {
    const table = { schema: "public", name: "t" };
    const diff = (changes: RowDiff["changes"], identical = 0): RowDiff => ({ table, key: ["id"], columns: ["a", "b"], changes, identical });
    const ins = (id: string) => ({ kind: "insert" as const, key: [id], backup: { id, a: "secret-a", b: "secret-b" }, changed: [] });
    const upd = (id: string, changed: string[]) => ({ kind: "update" as const, key: [id], backup: { id, a: "secret-a" }, live: { id, a: "secret-a~" }, changed });
    const expected = { deleted: [["1"], ["2"]], changed: new Map([[JSON.stringify(["3"]), ["a"]]]) };

    it("passes exactly the damage", () => {
        expect(judgeDryRun(diff([ins("1"), ins("2"), upd("3", ["a"])]), expected, 0)).toEqual([]);
    });

    it("names each difference by count and key hash, never by value", () => {
        const problems = judgeDryRun(diff([ins("1"), ins("9"), upd("3", ["a", "b"])], 1), expected, 2);
        expect(problems).toEqual([
            `1 deleted row(s) not listed as missing: ${keyHash(["2"])}`,
            `1 row(s) listed as missing that were not deleted: ${keyHash(["9"])}`,
            `1 changed row(s) listed with other columns (changed a → listed a,b): ${keyHash(["3"])}`,
            "2 sampled row(s) are not in the backup",
            "1 sampled row(s) listed as identical to the backup, though damaged",
        ]);
        expect(problems.join("\n")).not.toMatch(/secret/);
        expect(judgeDryRun(diff([ins("1"), ins("2")]), expected, 0)).toEqual([`1 changed row(s) not listed as different: ${keyHash(["3"])}`]);
    });

    it("tells row counts from contents", () => {
        expect(stateDifference({ rowCount: 3, checksum: "aa" }, { rowCount: 3, checksum: "aa" })).toBe("");
        expect(stateDifference({ rowCount: 3, checksum: "aa" }, { rowCount: 2, checksum: "bb" })).toBe("2 row(s) instead of 3");
        expect(stateDifference({ rowCount: 3, checksum: "aa" }, { rowCount: 3, checksum: "bb" })).toMatch(/same row count \(3\) but different contents/);
    });
});

describe("the rehearsal in the report, JUnit and Prometheus files", () => {
    const dirs: string[] = [];
    afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    const ID = "20261130100000";
    const step = (table: string, status: "pass" | "fail"): RehearsalStep => ({
        table, status, key: ["id"], sampleRequested: 20, deleted: 20, changed: 20, changedColumn: "title", rowCount: 160,
        dryRun: { missing: 20, different: 20, identical: 0, changedColumns: { title: 20 } },
        applied: { inserted: 20, updated: 20 }, undo: { deleted: 20, restored: 20 }, reapplied: { deleted: 0, restored: 40 },
        durationsMs: { damage: 10, dryRun: 900, apply: 1000, undo: 50, reapply: 40, total: 2100 },
        failures: status === "pass" ? [] : [`apply: the table is not back to its validated state: same row count (160) but different contents (checksum 1 instead of 2); key ${keyHash(["7"])}`],
        notes: [], startedAt: "2026-11-30T10:01:00.000Z", finishedAt: "2026-11-30T10:01:02.100Z",
    });
    function report(steps: RehearsalStep[], configured: string[]) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-rehearse-"));
        dirs.push(dir);
        for (const s of steps) writeRehearsalStep(dir, ID, s);
        return buildDrillReport({
            id: ID, env: "test", stack: `drill-test-${ID}`, artifactsDir: dir, startedAt: "2026-11-30T10:00:00.000Z",
            targets: { rtoSeconds: 7200, rpoSeconds: 86400 }, nextDrillDays: 90, rehearsedTables: configured,
        }, new Date("2026-11-30T10:05:00Z"));
    }

    it("lists a failed rehearsal as an issue naming the table, a failed JUnit case and a 0 status series", () => {
        const r = report([step("public.orders", "pass"), step("public.tasks", "fail")], ["public.orders", "public.tasks"]);
        expect(r.status).toBe("FAIL");
        expect(r.issues).toContainEqual(expect.stringMatching(/^Recovery rehearsal of public\.tasks failed: apply: the table is not back/));
        expect(r.issues.some((i) => i.includes("public.orders"))).toBe(false);
        expect(formatSummary(r)).toMatch(/Recovery Rehearsal: public\.orders: PASS — 20 deleted, 20 changed \(title\) of 160 row\(s\)/);
        const junit = formatJUnit(r);
        expect(junit).toMatch(/<testsuite name="rehearse-recover" tests="2" failures="1"/);
        expect(junit).toMatch(/<testcase name="rows public\.tasks" classname="drill\.rehearse-recover" time="2\.1">\s*<failure message="recovery rehearsal of public\.tasks failed: apply/);
        const prom = formatPrometheus(r);
        expect(prom).toContain('supabase_dr_drill_rehearse_recover_status{env="test",stack="drill-test-20261130100000",table="public.tasks",path="rows"} 0');
        expect(prom).toContain('supabase_dr_drill_rehearse_recover_status{env="test",stack="drill-test-20261130100000",table="public.orders",path="rows"} 1');
        expect(prom).toContain('supabase_dr_drill_rehearse_recover_duration_seconds{env="test",stack="drill-test-20261130100000",table="public.orders",phase="dry_run"} 0.9');
        expect(prom).toContain('supabase_dr_drill_rehearse_recover_rows{env="test",stack="drill-test-20261130100000",table="public.orders",kind="deleted"} 20');
    });

    it("fails a configured rehearsal that left no result, and skips the suite when none is configured", () => {
        const r = report([], ["public.orders"]);
        expect(r.issues).toContain("The recovery rehearsal of public.orders did not run.");
        expect(formatSummary(r)).toContain("- Recovery Rehearsal: public.orders: did not run");
        expect(formatJUnit(r)).toMatch(/<testcase name="rows public\.orders" classname="drill\.rehearse-recover"[^>]*>\s*<(failure|skipped)/);
        const none = report([], []);
        expect(none.issues.some((i) => /rehearsal/i.test(i))).toBe(false);
        // A drill that rehearses nothing keeps the JUnit file's usual suites.
        expect(formatJUnit(none)).not.toContain("rehearse-recover");
        expect(formatPrometheus(none)).not.toContain("rehearse_recover");
    });
});
