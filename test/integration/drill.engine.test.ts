// Full drills through the real Pulumi engine (Automation API, local file backend): the happy path,
// then the faults. After every drill: no scratch database left, stack removed, source unchanged.
import * as fs from "node:fs";
import * as os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrill } from "../../lib/drill/run";
import { localBackend } from "../../lib/pulumi/engine";
import { withClient } from "../../lib/postgres/connection";
import { createSampleData } from "../helpers/sampleData";
import { databaseChecksum, drillStacks, scratchDatabases, startHarness, type DrillHarness } from "../helpers/drillHarness";
import { drillProgram } from "../../programs/drill";

let h: DrillHarness;
let sourceUrl: string;
let before: string;

beforeAll(async () => {
    h = await startHarness();
    await withClient(h.pg.url(), "admin", (c) => c.query("create database app"));
    sourceUrl = h.pg.url("app");
    await createSampleData(sourceUrl, 5000);
    before = await databaseChecksum(sourceUrl);
});
afterAll(async () => {
    await h?.stop();
});

async function expectCleanAfterDrill(): Promise<void> {
    expect(await scratchDatabases(h.pg.url())).toEqual([]);
    expect(await drillStacks(h.backend)).toEqual([]);
    expect(await databaseChecksum(sourceUrl)).toBe(before);
}

describe("drill through the engine", () => {
    it("dumps, restores, validates and reports PASS, then destroys the stack", async () => {
        let output = "";
        const result = await runDrill({
            program: drillProgram,
            env: "test",
            backend: h.backend,
            backupDir: h.backupDir,
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() },
            settings: { validation: { assertions: [{ name: "orders_total_nonnegative", sql: "select count(*) from public.orders where total < 0", expected: 0 }] } },
            onOutput: (t) => (output += t),
        });
        expect(result.error).toBeUndefined();
        expect(result.status).toBe("PASS");
        expect(output).toMatch(/drill-restore .*creat/);
        expect(output).not.toContain(h.pg.password);
        const report = result.report;
        expect(report.validation?.compared_with).toBe("backup-fingerprint");
        expect(report.validation?.checks.some((c) => c.check === "checksum" && c.object === "public.orders" && c.status === "pass")).toBe(true);
        expect(report.rpo_seconds).toBeGreaterThanOrEqual(0);
        expect(report.rto_seconds).toBeGreaterThanOrEqual(0);
        const files = fs.readdirSync(result.artifactsDir);
        for (const prefix of ["backup_", "restore_", "validation_", "drill_summary_", "drill_"]) {
            expect(files.some((f) => f.startsWith(prefix)), prefix).toBe(true);
        }
        for (const f of files) expect(fs.readFileSync(`${result.artifactsDir}/${f}`).includes(h.pg.password), f).toBe(false);
        expect(fs.readFileSync(result.summaryPath, "utf8")).toMatch(/Drill Status: PASS/);
        await expectCleanAfterDrill();
    });
});

describe("drill faults through the engine", () => {
    async function failingDrill(extra: Partial<Parameters<typeof runDrill>[0]>, expected: RegExp) {
        const result = await runDrill({
            program: drillProgram,
            env: "test",
            backend: h.backend,
            backupDir: h.backupDir,
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() },
            ...extra,
        });
        expect(result.status).toBe("FAIL");
        expect(result.error ?? "").toMatch(expected);
        expect(result.error ?? "").not.toContain(h.pg.password);
        expect(fs.readFileSync(result.summaryPath, "utf8")).toMatch(/Drill Status: FAIL/);
        expect(fs.readFileSync(result.jsonPath, "utf8")).not.toContain(h.pg.password);
        await expectCleanAfterDrill();
        return result;
    }

    it("source unreachable: names host and port, not the password", async () => {
        const unreachable = `postgresql://postgres:${h.pg.password}@127.0.0.1:1/app`;
        await failingDrill({ secrets: { sourceDbUrl: unreachable, targetDbUrl: h.pg.url() } }, /cannot connect to source database at 127\.0\.0\.1:1\/app/);
    });

    it("a user assertion with the wrong expected value fails validation", async () => {
        const r = await failingDrill(
            { settings: { validation: { assertions: [{ name: "customers", sql: "select count(*) from public.customers", expected: 1 }] } } },
            /validation failed/,
        );
        expect(r.report.validation?.checks.find((c) => c.object === "customers")?.status).toBe("fail");
        expect(fs.readFileSync(`${r.artifactsDir}/validation_${r.report.drill_id}.txt`, "utf8")).toMatch(/FAIL/);
    });

    it("an RPO target the backup cannot meet fails the drill after a full report", async () => {
        const { dumpSource } = await import("../../lib/backup/dump");
        const dump = await dumpSource({ sourceUrl, outDir: `${h.backupDir}/old`, fingerprint: {} });
        const r = await failingDrill(
            {
                secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() },
                settings: { backupPath: dump.dumpPath, backupTakenAt: "2026-01-01T00:00:00Z", targets: { rpoSeconds: 3600 } },
            },
            /RPO \d+s exceeds the target of 3600s/,
        );
        expect(r.report.targets.rpo_met).toBe(false);
        expect(r.report.validation?.status).toBe("pass");
    });
});

describe("a source that keeps changing", () => {
    it("validates against the fingerprint taken in the dump's own snapshot, while writes run", async () => {
        await withClient(h.pg.url(), "admin", (c) => c.query("create database busy"));
        const busyUrl = h.pg.url("busy");
        await createSampleData(busyUrl, 3000);
        let stop = false;
        let writes = 0;
        const writer = withClient(busyUrl, "writer", async (c) => {
            while (!stop) {
                await c.query("insert into public.orders (customer_id, total) values (1 + (random() * 2999)::int, 1.5)");
                await c.query("update public.customers set note = md5(random()::text), updated_at = now() where id = 1 + (random() * 2999)::int");
                writes++;
            }
        });
        try {
            const result = await runDrill({
                program: drillProgram,
                env: "busy",
                backend: h.backend,
                backupDir: h.backupDir,
                secrets: { sourceDbUrl: busyUrl, targetDbUrl: h.pg.url() },
            });
            stop = true;
            await writer;
            expect(result.error).toBeUndefined();
            expect(result.status).toBe("PASS");
            // The writes really overlapped the drill: the source has moved past the backup.
            const manifest = JSON.parse(fs.readFileSync(`${result.artifactsDir}/backup_${result.report.drill_id}.manifest.json`, "utf8"));
            const inBackup = manifest.fingerprint.tables.find((t: { table: string }) => t.table === "public.orders").rowCount;
            const now = await withClient(busyUrl, "busy", async (c) => Number((await c.query("select count(*) from public.orders")).rows[0].count));
            expect(writes).toBeGreaterThan(10);
            expect(now).toBeGreaterThan(inBackup);
        } finally {
            stop = true;
            await writer.catch(() => undefined);
        }
    });
});

describe("leftovers of an interrupted drill", () => {
    it("are destroyed by the next run, stale lock and all", async () => {
        const { inlineStack } = await import("../../lib/pulumi/engine");
        const { ScratchDatabase } = await import("../../sdk/scratchDatabase");
        const adminUrl = h.pg.url();
        const leftover = await inlineStack(h.backend, {
            projectName: "supabase-dr",
            stackName: "drill-test-20260101000000",
            program: async () => ({ db: new ScratchDatabase("drill-target", { adminUrl }).databaseName }),
        });
        await leftover.up();
        expect(await scratchDatabases(adminUrl)).toHaveLength(1);
        // A killed run leaves its lock file behind; its pid no longer exists.
        const lockDir = `${h.backend.url.slice("file://".length)}/.pulumi/locks/organization/supabase-dr/drill-test-20260101000000`;
        fs.mkdirSync(lockDir, { recursive: true });
        fs.writeFileSync(`${lockDir}/dead.json`, JSON.stringify({ pid: 2 ** 22 + 12345, username: "ci", hostname: os.hostname(), timestamp: new Date().toISOString() }));

        // The next run comes from another process: same backend and passphrase, a new work dir.
        const again = localBackend({ url: h.backend.url, passphrase: h.backend.envVars.PULUMI_CONFIG_PASSPHRASE });
        const result = await runDrill({
            program: drillProgram,
            env: "test",
            backend: again,
            backupDir: h.backupDir,
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: adminUrl },
        }).finally(() => again.cleanup());
        expect(result.leftovers, JSON.stringify(result.leftovers)).toMatchObject({ cleaned: ["drill-test-20260101000000"] });
        expect(result.status).toBe("PASS");
        await expectCleanAfterDrill();
    });

    it("skips a stack whose lock belongs to a live drill", async () => {
        const { inlineStack } = await import("../../lib/pulumi/engine");
        const running = await inlineStack(h.backend, { projectName: "supabase-dr", stackName: "drill-test-20260101000001", program: async () => ({}) });
        await running.up();
        const lockDir = `${h.backend.url.slice("file://".length)}/.pulumi/locks/organization/supabase-dr/drill-test-20260101000001`;
        fs.mkdirSync(lockDir, { recursive: true });
        fs.writeFileSync(`${lockDir}/live.json`, JSON.stringify({ pid: process.pid, username: "ci", hostname: os.hostname(), timestamp: new Date().toISOString() }));
        const { cleanupLeftovers } = await import("../../lib/drill/run");
        const r = await cleanupLeftovers(h.backend);
        expect(r.running).toEqual(["drill-test-20260101000001"]);
        expect(await drillStacks(h.backend)).toContain("drill-test-20260101000001");
        fs.rmSync(lockDir, { recursive: true });
        expect((await cleanupLeftovers(h.backend)).cleaned).toEqual(["drill-test-20260101000001"]);
    });

    it("keeps a --keep stack and its scratch target until cleaned up explicitly", async () => {
        const { cleanupStack } = await import("../../lib/drill/run");
        const kept = await runDrill({
            program: drillProgram,
            env: "test",
            backend: h.backend,
            backupDir: h.backupDir,
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() },
            keep: true,
        });
        expect(kept.kept).toBe(true);
        expect(await scratchDatabases(h.pg.url())).toHaveLength(1);
        // The next drill, from another work dir, does not treat a kept stack as a leftover.
        const other = localBackend({ url: h.backend.url, passphrase: h.backend.envVars.PULUMI_CONFIG_PASSPHRASE });
        const next = await runDrill({
            program: drillProgram,
            env: "test",
            backend: other,
            backupDir: h.backupDir,
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() },
            now: new Date(Date.now() + 1000),
        }).finally(() => other.cleanup());
        expect(next.leftovers.cleaned).toEqual([]);
        expect(await drillStacks(h.backend)).toEqual([kept.stackName]);
        await cleanupStack(h.backend, kept.stackName);
        await expectCleanAfterDrill();
    });
});
