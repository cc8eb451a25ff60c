// The recovery rehearsal (issue 12, "Rehearsal") through the real engine on the Supabase fixture:
// path A run against the drill's scratch copy after validation. PASS on public.tasks (an identity
// ALWAYS key, RLS on, in the realtime publication), the scratch copy ending as validated; FAIL naming
// the table when recovery cannot bring it back (a moddatetime trigger, Supabase's usual updated_at
// stamp, rewrites every row the apply updates); the source untouched either way, and the rehearsal
// refusing to run on the source itself.
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupStack, runDrill, type RunDrillOptions } from "../../lib/drill/run";
import { withClient, withDatabase } from "../../lib/postgres/connection";
import { rehearseRecover } from "../../lib/recover/rehearsal";
import { drillProgram } from "../../programs/drill";
import { databaseChecksum, drillStacks, scratchDatabases, startHarness, type DrillHarness } from "../helpers/drillHarness";
import { createSupabaseFixture } from "../helpers/supabaseFixture";

let h: DrillHarness;
let sourceUrl: string;
let sourceBefore: string;
let titles: string[];

beforeAll(async () => {
    h = await startHarness();
    sourceUrl = (await createSupabaseFixture(h.pg.url(), "app", { users: 6 })).url;
    await withClient(sourceUrl, "source", async (c) => {
        await c.query(`
            create extension moddatetime schema extensions;
            create table public.notes (id bigint primary key, body text not null, updated_at timestamptz not null default '2026-01-01');
            insert into public.notes (id, body) select i, 'note body ' || i from generate_series(1, 30) i;
            create trigger handle_updated_at before update on public.notes
                for each row execute procedure extensions.moddatetime (updated_at);
        `);
        titles = (await c.query<{ title: string }>("select title from public.tasks order by id")).rows.map((r) => r.title);
    });
    sourceBefore = await databaseChecksum(sourceUrl);
}, 120_000);
afterAll(async () => {
    await h?.stop();
});

async function drill(extra: Partial<RunDrillOptions> & { secrets: RunDrillOptions["secrets"] }) {
    let output = "";
    const result = await runDrill({ program: drillProgram, env: "rehearse", backend: h.backend, backupDir: h.backupDir, onOutput: (t) => (output += t), ...extra });
    return { result, output };
}

/** public.tasks as the fingerprint sees it: row count and a content hash. */
async function tasksState(url: string): Promise<string> {
    return withClient(url, "db", async (c) =>
        (await c.query<{ s: string }>("select count(*) || ':' || md5(string_agg(t::text, '|' order by t.id)) as s from public.tasks t")).rows[0].s,
    );
}

describe("recovery rehearsal in a drill", () => {
    it("PASSes on public.tasks and leaves the scratch copy as validated", async () => {
        const { result, output } = await drill({
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() },
            settings: { rehearseRecover: [{ path: "rows", table: "public.tasks", sample: 5 }] },
            keep: true,
        });
        try {
            expect(result.error, output.slice(-3000)).toBeUndefined();
            expect(result.status).toBe("PASS");
            const [r] = result.report.rehearse_recover ?? [];
            expect(r).toMatchObject({
                table: "public.tasks", status: "pass", key: ["id"], deleted: 5, changed: 5, changedColumn: "title", rowCount: titles.length,
                dryRun: { missing: 5, different: 5, identical: 0, changedColumns: { title: 5 } },
                applied: { inserted: 5, updated: 5 }, undo: { deleted: 5, restored: 5 }, reapplied: { deleted: 0, restored: 10 },
                failures: [],
            });
            for (const phase of ["damage", "dryRun", "apply", "undo", "reapply", "total"] as const) expect(r.durationsMs[phase]).toBeGreaterThanOrEqual(0);
            // The kept scratch copy ends exactly as the source: the smoke tests would see it intact.
            const [scratch] = await scratchDatabases(h.pg.url());
            expect(await tasksState(withDatabase(h.pg.url(), scratch))).toBe(await tasksState(sourceUrl));

            const files = fs.readdirSync(result.artifactsDir).filter((f) => f.includes(result.report.drill_id));
            expect(files).toContain(`rehearse_public.tasks_${result.report.drill_id}.json`);
            const junit = fs.readFileSync(result.summaryPath.replace(/drill_summary_(\d+)\.md$/, "drill_$1.junit.xml"), "utf8");
            expect(junit).toMatch(/<testsuite name="rehearse-recover" tests="1" failures="0"/);
            const prom = fs.readFileSync(result.summaryPath.replace(/drill_summary_(\d+)\.md$/, "drill_$1.prom"), "utf8");
            expect(prom).toMatch(/supabase_dr_drill_rehearse_recover_status\{[^}]*table="public\.tasks",path="rows"\} 1/);
            expect(fs.readFileSync(result.summaryPath, "utf8")).toMatch(/Recovery Rehearsal: public\.tasks: PASS — 5 deleted, 5 changed \(title\)/);
            // No row value in anything the drill wrote.
            const written = files.map((f) => fs.readFileSync(`${result.artifactsDir}/${f}`, "utf8")).join("\n");
            for (const title of titles) expect(written).not.toContain(title);
        } finally {
            await cleanupStack(h.backend, result.stackName);
        }
        expect(await scratchDatabases(h.pg.url())).toEqual([]);
        expect(await databaseChecksum(sourceUrl)).toBe(sourceBefore);
    }, 240_000);

    it("FAILs naming the table when a trigger keeps the apply from restoring the rows", async () => {
        const { result } = await drill({
            secrets: { sourceDbUrl: sourceUrl },
            settings: { rehearseRecover: [{ path: "rows", table: "public.notes", sample: 3 }] },
        });
        expect(result.status).toBe("FAIL");
        expect(result.error).toMatch(/recovery rehearsal of public\.notes FAILED/);
        const [r] = result.report.rehearse_recover ?? [];
        expect(r.status).toBe("fail");
        // The damage changed body, and the trigger updated_at with it: the dry run shows both, exactly.
        expect(r.dryRun).toEqual({ missing: 3, different: 3, identical: 0, changedColumns: { body: 3, updated_at: 3 } });
        expect(r.failures).toEqual(expect.arrayContaining([
            expect.stringMatching(/^apply: rows still differ from the backup after it .*: updated_at 3$/),
            expect.stringMatching(/^apply: the table is not back to its validated state: same row count \(30\) but different contents/),
        ]));
        expect(result.report.issues).toContainEqual(expect.stringMatching(/^Recovery rehearsal of public\.notes failed: /));
        expect(fs.readFileSync(result.summaryPath.replace(/drill_summary_(\d+)\.md$/, "drill_$1.junit.xml"), "utf8")).toMatch(
            /<testcase name="rows public\.notes" classname="drill\.rehearse-recover"[^>]*>\s*<failure message="recovery rehearsal of public\.notes failed/,
        );
        expect(JSON.stringify(result.report)).not.toMatch(/note body/);
        expect(await databaseChecksum(sourceUrl)).toBe(sourceBefore);
        expect(await drillStacks(h.backend)).toEqual([]);
        expect(await scratchDatabases(h.pg.url())).toEqual([]);
    }, 240_000);

    it("refuses to run on the source itself, before touching anything", async () => {
        await expect(rehearseRecover({ targetUrl: sourceUrl, sourceUrl, manifestPath: "/nonexistent.manifest.json", table: { schema: "public", name: "tasks" } })).rejects.toThrow(
            /refusing to rehearse a recovery of public\.tasks on .*: it is the source database/,
        );
        expect(await databaseChecksum(sourceUrl)).toBe(sourceBefore);
    });
});
