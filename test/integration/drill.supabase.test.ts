// A drill pointed at a scratch Supabase project by config: the project is created through the
// Management API (a local server following its published shapes, backed by a real PostgreSQL that
// stands in for the project's database), the backup is restored and validated there, and the
// project is deleted with the stack.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDrill } from "../../lib/drill/run";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { startFakeSupabaseApi, type FakeSupabaseApi } from "../helpers/fakeSupabaseApi";
import { createSampleData } from "../helpers/sampleData";
import { databaseChecksum, drillStacks, startHarness, type DrillHarness } from "../helpers/drillHarness";
import { drillProgram } from "../../programs/drill";

let h: DrillHarness;
let projectServer: LocalCluster;
let api: FakeSupabaseApi;

beforeAll(async () => {
    h = await startHarness();
    projectServer = await startLocalCluster();
    api = await startFakeSupabaseApi({ database: { adminUrl: projectServer.url() } });
    await withClient(h.pg.url(), "admin", (c) => c.query("create database app"));
    await createSampleData(h.pg.url("app"), 2000);
});
afterAll(async () => {
    await api?.close();
    await projectServer?.stop();
    await h?.stop();
});

describe("drill into a scratch Supabase project", () => {
    it("creates the project, restores and validates into it, and deletes it", async () => {
        const sourceUrl = h.pg.url("app");
        const before = await databaseChecksum(sourceUrl);
        const result = await runDrill({
            program: drillProgram,
            env: "supa",
            backend: h.backend,
            backupDir: h.backupDir,
            secrets: { sourceDbUrl: sourceUrl, supabaseAccessToken: api.token },
            settings: {
                target: { kind: "supabase-project", organization: "acme", region: "eu-west-2", apiBaseUrl: api.url, pollIntervalSeconds: 0.2 },
            },
        });
        expect(result.error).toBeUndefined();
        expect(result.status).toBe("PASS");
        expect(api.count("POST", /^\/v1\/projects$/)).toBe(1);
        expect(api.deleted).toHaveLength(1);
        expect(api.projects.size).toBe(0);
        // The restored rows landed in the project's database.
        expect(result.report.restore?.target).toMatch(/^127\.0\.0\.1:\d+\/postgres$/);
        expect(JSON.stringify(result.report)).not.toContain(api.token);
        expect(await drillStacks(h.backend)).toEqual([]);
        expect(await databaseChecksum(sourceUrl)).toBe(before);
        await api.settled();
    });
});
