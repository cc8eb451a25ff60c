// Drill faults through the real engine: each kind of validation mismatch, corrupt and truncated
// backups, pg_restore errors and the allow-list, masking and smoke failures, target = source.
// After every failure: no scratch database left, no stack left, source unchanged by the drill.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dumpSource } from "../../lib/backup/dump";
import { runDrill, type RunDrillOptions } from "../../lib/drill/run";
import { findPgTool } from "../../lib/postgres/binaries";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster } from "../../lib/postgres/localCluster";
import { inlineStack } from "../../lib/pulumi/engine";
import { Restore } from "../../sdk/restore";
import { createSampleData } from "../helpers/sampleData";
import { databaseChecksum, drillStacks, scratchDatabases, startHarness, type DrillHarness } from "../helpers/drillHarness";
import { drillProgram } from "../../programs/drill";

let h: DrillHarness;
let n = 0;

beforeAll(async () => {
    h = await startHarness();
});
afterAll(async () => {
    await h?.stop();
});

/** A fresh source database with RLS, a policy and an extension. */
async function newSource(): Promise<string> {
    const name = `src_${++n}`;
    await withClient(h.pg.url(), "admin", (c) => c.query(`create database ${name}`));
    const url = h.pg.url(name);
    await createSampleData(url, 500);
    await withClient(url, "source", (c) =>
        c.query(`
            create extension pgcrypto;
            alter table public.customers enable row level security;
            create policy customers_read on public.customers for select using (true);
        `),
    );
    return url;
}

function plainDump(url: string, file: string): string {
    execFileSync(findPgTool("pg_dump"), ["--no-owner", "-f", file, `--dbname=${url}`]);
    return file;
}

async function drill(opts: Partial<RunDrillOptions> & { secrets: RunDrillOptions["secrets"] }) {
    return runDrill({ program: drillProgram, env: "faults", backend: h.backend, backupDir: h.backupDir, ...opts });
}

async function expectFailedAndClean(result: Awaited<ReturnType<typeof runDrill>>, sourceUrl: string, sourceBefore: string, expected: RegExp) {
    expect(result.status).toBe("FAIL");
    expect(result.error ?? "").toMatch(expected);
    expect(result.error ?? "").not.toContain(h.pg.password);
    expect(fs.readFileSync(result.summaryPath, "utf8")).toMatch(/Drill Status: FAIL/);
    expect(await scratchDatabases(h.pg.url())).toEqual([]);
    expect(await drillStacks(h.backend)).toEqual([]);
    expect(await databaseChecksum(sourceUrl)).toBe(sourceBefore);
}

describe("validation mismatches (backup adopted, compared with the live source)", () => {
    const cases: [string, string, RegExp][] = [
        ["row deleted", "delete from public.orders where id = 7", /row_count.*public\.orders|public\.orders.*row_count/],
        ["value changed", "update public.customers set note = 'changed' where id = 3", /checksum.*public\.customers|public\.customers.*checksum/],
        ["policy dropped", "drop policy customers_read on public.customers", /polic/],
        ["extension missing", "drop extension pgcrypto", /extension.*pgcrypto|pgcrypto/],
    ];
    for (const [kind, mutation, check] of cases) {
        it(`catches: ${kind}`, async () => {
            const sourceUrl = await newSource();
            const sql = plainDump(sourceUrl, path.join(h.backupDir, `mismatch-${n}.sql`));
            // The live source moves on after the backup: the restored copy no longer matches it.
            await withClient(sourceUrl, "source", (c) => c.query(mutation));
            const before = await databaseChecksum(sourceUrl);
            const r = await drill({ secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() }, settings: { backupPath: sql } });
            await expectFailedAndClean(r, sourceUrl, before, /validation failed/);
            const failed = r.report.validation!.checks.filter((c) => c.status === "fail").map((c) => `${c.check} ${c.object}`).join("\n");
            expect(failed).toMatch(check);
        });
    }
});

describe("backup faults", () => {
    it("a corrupt backup (published sha256 mismatch) fails before any restore", async () => {
        const sourceUrl = await newSource();
        const before = await databaseChecksum(sourceUrl);
        const dir = path.join(h.backupDir, "corrupt");
        fs.mkdirSync(dir);
        const sql = plainDump(sourceUrl, path.join(dir, "dump.sql"));
        fs.writeFileSync(path.join(dir, "dump.sha256"), `${"ab".repeat(32)}  dump.sql\n`);
        const r = await drill({ secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() }, settings: { backupPath: sql } });
        await expectFailedAndClean(r, sourceUrl, before, /checksum mismatch for dump\.sql/);
        expect(r.report.restore).toBeUndefined();
    });

    it("a truncated custom-format dump fails the restore", async () => {
        const sourceUrl = await newSource();
        const before = await databaseChecksum(sourceUrl);
        const dump = await dumpSource({ sourceUrl, outDir: path.join(h.backupDir, "trunc-src"), fingerprint: false });
        const cut = path.join(h.backupDir, "truncated.dump");
        fs.writeFileSync(cut, fs.readFileSync(dump.dumpPath).subarray(0, Math.floor(dump.manifest.files[0].bytes / 2)));
        const r = await drill({ secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() }, settings: { backupPath: cut } });
        await expectFailedAndClean(r, sourceUrl, before, /restore of .* failed/);
    });
});

describe("restore errors", () => {
    it("a pg_restore error fails the drill; allow-listing it lets the restore go on, and validation fails on the lost grant", async () => {
        // The source grants to a role the target server does not have.
        const sourceUrl = await newSource();
        await withClient(sourceUrl, "source", (c) => c.query("create role reporting_ro; grant select on public.orders to reporting_ro"));
        const before = await databaseChecksum(sourceUrl);
        const target = await startLocalCluster();
        try {
            const secrets = { sourceDbUrl: sourceUrl, targetDbUrl: target.url() };
            const failed = await drill({ secrets });
            expect(failed.status).toBe("FAIL");
            expect(failed.error).toMatch(/role "reporting_ro" does not exist/);
            expect(fs.readFileSync(path.join(failed.artifactsDir, `restore_${failed.report.drill_id}.log`), "utf8")).toMatch(/reporting_ro/);
            expect(await scratchDatabases(target.url())).toEqual([]);

            // The allow-list lets the restore finish, but the restored database lacks the grant: a drill
            // that said PASS here would hide that reporting_ro can no longer read public.orders.
            const allowed = await drill({ secrets, settings: { restore: { allowErrors: ['role "reporting_ro" does not exist'] } } });
            expect(allowed.report.restore?.allowed_errors.length).toBeGreaterThan(0);
            expect(allowed.report.issues.join("\n")).toMatch(/allow-listed/);
            expect(allowed.status).toBe("FAIL");
            const lost = (allowed.report.validation?.checks ?? []).filter((c) => c.status === "fail" && c.check === "grant");
            expect(lost.map((c) => c.object).join("\n")).toMatch(/public\.orders/);
            expect(await scratchDatabases(target.url())).toEqual([]);
            expect(await databaseChecksum(sourceUrl)).toBe(before);
        } finally {
            await target.stop();
            await withClient(h.pg.url(), "admin", (c) => c.query("drop owned by reporting_ro cascade").catch(() => undefined));
        }
    });

    it("the Restore resource refuses the source as its target", async () => {
        const sourceUrl = await newSource();
        const before = await databaseChecksum(sourceUrl);
        const dump = await dumpSource({ sourceUrl, outDir: path.join(h.backupDir, "self"), fingerprint: false });
        const stack = await inlineStack(h.backend, {
            projectName: "supabase-dr",
            stackName: "drill-self-target",
            program: async () => {
                const r = new Restore("restore", {
                    manifestPath: dump.manifestPath,
                    targetUrl: pulumi.secret(sourceUrl.replace("127.0.0.1", "localhost")),
                    artifactsDir: path.join(h.backupDir, "self"),
                    drillId: "20260101000000",
                });
                return { finishedAt: r.finishedAt };
            },
        });
        await expect(stack.up()).rejects.toThrow(/refusing to restore into .*source database/);
        await stack.destroy();
        await stack.workspace.removeStack("drill-self-target");
        expect(await databaseChecksum(sourceUrl)).toBe(before);
    });
});

describe("masking and smoke faults", () => {
    it("a masking rule on a missing column fails the drill", async () => {
        const sourceUrl = await newSource();
        const before = await databaseChecksum(sourceUrl);
        const r = await drill({
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() },
            settings: { masking: { rules: { "public.customers.emial": "email" } } },
        });
        await expectFailedAndClean(r, sourceUrl, before, /emial/);
    });

    it("masks PII when the rules cover it, and proves it", async () => {
        const sourceUrl = await newSource();
        const r = await drill({
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url(), maskingSalt: "pepper-1234567" },
            settings: { masking: { rules: { "public.customers.email": "email", "public.customers.note": { strategy: "hash" } } } },
        });
        expect(r.error).toBeUndefined();
        expect(r.status).toBe("PASS");
        expect(r.report.masking?.status).toBe("pass");
        expect(fs.readFileSync(r.summaryPath, "utf8")).not.toContain("pepper-1234567");
    });

    describe("smoke", () => {
        let server: http.Server;
        let base: string;
        beforeAll(async () => {
            server = http.createServer((req, res) => {
                if (req.url === "/api/health") return void res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
                if (req.url === "/api/broken") return void res.writeHead(503).end("down");
                if (req.url === "/api/slow") return void setTimeout(() => res.writeHead(200).end("late"), 3000);
                res.writeHead(404).end();
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        });
        afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

        it("a 5xx fails the drill", async () => {
            const sourceUrl = await newSource();
            const before = await databaseChecksum(sourceUrl);
            const r = await drill({
                secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url(), apiBearerToken: "tok-secret-123" },
                settings: { smoke: { baseUrl: base, checks: [{ path: "/api/health", body: { json: { ok: true } } }, { path: "/api/broken" }] } },
            });
            await expectFailedAndClean(r, sourceUrl, before, /smoke tests failed \(1\/2 passed\)/);
            expect(fs.readFileSync(path.join(r.artifactsDir, `smoke_${r.report.drill_id}.txt`), "utf8")).not.toContain("tok-secret-123");
        });

        it("a timeout fails the drill", async () => {
            const sourceUrl = await newSource();
            const before = await databaseChecksum(sourceUrl);
            const r = await drill({
                secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() },
                settings: { smoke: { baseUrl: base, checks: [{ path: "/api/slow", latencyBudgetMs: 200 }] } },
            });
            await expectFailedAndClean(r, sourceUrl, before, /smoke tests failed/);
        });
    });
});
