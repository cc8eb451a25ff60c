// Smoke tests against the restored environment, through the real engine. A drill into a scratch
// Supabase project (the Management API stand-in, backed by a real PostgreSQL) sends its smoke checks
// to that project's own API with the project's anon key — the stand-in's gateway refuses anything
// else — and reads the restored rows back through it. A drill into a local database with smoke but
// no API fails before anything is restored, instead of passing with its smoke skipped.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RestoreDrill } from "../../components/RestoreDrill";
import { runDrill } from "../../lib/drill/run";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { inlineStack } from "../../lib/pulumi/engine";
import { NO_BASE_URL } from "../../lib/smoke/target";
import { startFakeSupabaseApi, type FakeSupabaseApi } from "../helpers/fakeSupabaseApi";
import { createSampleData } from "../helpers/sampleData";
import { startHarness, type DrillHarness } from "../helpers/drillHarness";
import * as pulumi from "@pulumi/pulumi";
import { drillProgram } from "../../programs/drill";

let h: DrillHarness;
let projectServer: LocalCluster;
let api: FakeSupabaseApi;

beforeAll(async () => {
    h = await startHarness();
    projectServer = await startLocalCluster();
    api = await startFakeSupabaseApi({ database: { adminUrl: projectServer.url() } });
    await withClient(h.pg.url(), "admin", (c) => c.query("create database app"));
    await createSampleData(h.pg.url("app"), 500);
});
afterAll(async () => {
    await api?.close();
    await projectServer?.stop();
    await h?.stop();
});

/** Every file under the backend's directory: what is on disk, secrets encrypted. */
function backendFiles(): string {
    const root = h.backend.url.slice("file://".length);
    return fs.readdirSync(root, { recursive: true, encoding: "utf8" })
        .map((f) => path.join(root, f))
        .filter((f) => fs.statSync(f).isFile())
        .map((f) => fs.readFileSync(f, "utf8"))
        .join("\n");
}

describe("smoke tests against a scratch Supabase project", () => {
    it("go to the restored project's API with its anon key, and read the restored rows there", async () => {
        const id = "20261122100000";
        const artifactsDir = path.join(h.backupDir, `drill_smoke_${id}`);
        const stack = await inlineStack(h.backend, {
            projectName: "supabase-dr-test",
            stackName: "smoke-project",
            program: async () => {
                const drill = new RestoreDrill("drill", {
                    drillId: id,
                    env: "smoke",
                    stack: "smoke-project",
                    artifactsDir,
                    startedAt: new Date().toISOString(),
                    sourceUrl: pulumi.secret(h.pg.url("app")),
                    target: {
                        kind: "supabase-project",
                        accessToken: pulumi.secret(api.token),
                        organization: "acme",
                        region: "eu-west-2",
                        apiBaseUrl: api.url,
                        projectApiUrl: api.projectApiUrl,
                        pollIntervalSeconds: 0.2,
                    },
                    smoke: {
                        checks: [
                            { path: "/auth/v1/health", body: { json: { name: "GoTrue" } } },
                            // The restored rows, through the project's REST API: ids 1 and 2 of the sample data.
                            { path: "/rest/v1/customers?select=id&limit=2", body: { json: { "0.id": 1, "1.id": 2 } } },
                        ],
                    },
                    targets: { rtoSeconds: 7200, rpoSeconds: 86400 },
                    nextDrillDays: 90,
                });
                return { status: drill.status, reportJsonPath: drill.reportJsonPath };
            },
        });
        const up = await stack.up();
        expect(up.outputs.status.value).toBe("PASS");

        // Exactly one project was created; every smoke request went to its API, with its anon key.
        const created = api.requests.filter((r) => r.method === "POST" && r.path === "/v1/projects" && r.status === 201);
        expect(created).toHaveLength(1);
        const ref = [...api.projects.keys()][0];
        expect(api.projectRequests.map((r) => ({ ...r }))).toEqual([
            { ref, method: "GET", path: "/auth/v1/health", apikey: "anon", authorization: "anon", status: 200 },
            { ref, method: "GET", path: "/rest/v1/customers?select=id&limit=2", apikey: "anon", authorization: "anon", status: 200 },
        ]);

        const anonKey = api.projects.get(ref)!.anonKey;
        const report = JSON.parse(fs.readFileSync(String(up.outputs.reportJsonPath.value), "utf8")) as { status: string; smoke: { status: string; checks: { url: string }[] }; issues: string[] };
        expect(report.status).toBe("PASS");
        expect(report.smoke.status).toBe("pass");
        expect(report.smoke.checks.map((c) => c.url)).toEqual([
            `${api.url}/project-api/${ref}/auth/v1/health`,
            `${api.url}/project-api/${ref}/rest/v1/customers?select=id&limit=2`,
        ]);
        // The key is a secret: not in any artifact, not in the state on disk.
        const artifacts = fs.readdirSync(artifactsDir).map((f) => fs.readFileSync(path.join(artifactsDir, f), "utf8")).join("\n");
        expect(artifacts).toContain(`PASS GET /rest/v1/customers?select=id&limit=2 200`);
        expect(artifacts).not.toContain(anonKey);
        expect(backendFiles()).not.toContain(anonKey);

        await stack.destroy();
        expect(api.deleted).toEqual([ref]);
        await stack.workspace.removeStack("smoke-project");
        await api.settled();
    });
});

describe("smoke tests with a local database target", () => {
    it("without a base URL, fail the drill before anything is restored", async () => {
        const result = await runDrill({
            program: drillProgram,
            env: "smokelocal",
            backend: h.backend,
            backupDir: h.backupDir,
            secrets: { sourceDbUrl: h.pg.url("app"), targetDbUrl: h.pg.url() },
            settings: { smoke: { checks: [{ path: "/rest/v1/customers?select=id&limit=1" }] } },
        });
        expect(result.status).toBe("FAIL");
        expect(result.error).toContain(NO_BASE_URL);
        expect(result.report.restore).toBeUndefined();
        expect(result.report.configured.smoke).toBe(true);
        expect(result.report.issues).toContain("Smoke tests were configured but did not run.");
    });
});
