// The drill wires its smoke tests to the restored environment: under Pulumi mocks, a scratch
// Supabase project's API URL and anon key reach the SmokeTest (the key as a secret); a local target
// without a base URL is refused before anything is created; and the SmokeTest provider fails a smoke
// step that could not run instead of passing it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RestoreDrillArgs } from "../../components/RestoreDrill";
import { smokeTestProvider } from "../../provider/resources/smokeTest";
import { NO_BASE_URL } from "../../lib/smoke/target";
import { captureResources, isSecretInput, outputValue } from "../helpers/mocks";

const REF = "abcdefghijklmnopqrst";
const ANON = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.anon-signature";
const SERVICE = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.service-signature";
const CHECKS = [{ path: "/rest/v1/customers?select=id&limit=1" }];

// The scratch project "answers" like the provider would: its ref, API URL and keys.
const registered = captureResources((r) =>
    r.type === "supabase-dr:index:SupabaseProject"
        ? { ref: REF, apiUrl: `https://${REF}.supabase.co`, anonKey: ANON, serviceRoleKey: SERVICE, connectionString: "postgresql://u:p@h:5432/postgres", databaseName: "postgres" }
        : {},
);

function args(over: Partial<RestoreDrillArgs>): RestoreDrillArgs {
    return {
        drillId: "20261122100000",
        env: "test",
        stack: "drill-test-20261122100000",
        artifactsDir: "/tmp/not-written-under-mocks",
        startedAt: "2026-11-22T10:00:00.000Z",
        sourceUrl: "postgresql://u:p@127.0.0.1:5432/app",
        target: { kind: "cluster" },
        targets: { rtoSeconds: 7200, rpoSeconds: 86400 },
        nextDrillDays: 90,
        ...over,
    };
}

const unwrap = (v: unknown) => (isSecretInput(v) ? (v as { value: unknown }).value : v);

describe("RestoreDrill's smoke wiring", () => {
    beforeAll(async () => {
        const { RestoreDrill } = await import("../../components/RestoreDrill");
        const project = { kind: "supabase-project" as const, accessToken: "sbp_token", organization: "acme", region: "eu-west-2" };
        const a = new RestoreDrill("proj", args({ target: project, smoke: { checks: CHECKS } }));
        const b = new RestoreDrill("svc", args({ target: project, smoke: { checks: CHECKS, projectKey: "service_role" } }));
        const c = new RestoreDrill("explicit", args({ target: project, smoke: { checks: CHECKS, baseUrl: "https://app.example.com" } }));
        const d = new RestoreDrill("local", args({ smoke: { checks: CHECKS, baseUrl: "https://app.example.com" } }));
        // The report comes last (it waits for every step): once its status resolves, all are registered.
        await Promise.all([a, b, c, d].map((x) => outputValue(x.status)));
    });

    const smokeOf = (drill: string) => registered.find((r) => r.name === `${drill}-smoke`)!;

    it("sends the checks to the scratch project's API with its anon key, as a secret", async () => {
        const smoke = smokeOf("proj");
        expect(smoke.type).toBe("supabase-dr:index:SmokeTest");
        expect(smoke.inputs.baseUrl).toBe(`https://${REF}.supabase.co`);
        expect(isSecretInput(smoke.inputs.apiKey)).toBe(true);
        expect(unwrap(smoke.inputs.apiKey)).toBe(ANON);
    });

    it("uses the service_role key when the settings ask for it", () => {
        expect(unwrap(smokeOf("svc").inputs.apiKey)).toBe(SERVICE);
    });

    it("an explicit base URL wins and gets no project key; a local target keeps its explicit URL", () => {
        expect(smokeOf("explicit").inputs).toMatchObject({ baseUrl: "https://app.example.com" });
        expect(smokeOf("explicit").inputs.apiKey).toBeUndefined();
        expect(smokeOf("local").inputs).toMatchObject({ baseUrl: "https://app.example.com" });
        expect(smokeOf("local").inputs.apiKey).toBeUndefined();
    });

    it("the project's keys are redacted from the report like the other secrets", () => {
        const report = registered.find((r) => r.name === "proj-report")!;
        const values = JSON.stringify(report.inputs.redactValues);
        expect(values).toContain(ANON);
        expect(values).toContain(SERVICE);
    });

    it("a local target with path checks and no base URL is refused before any resource is created", async () => {
        const { RestoreDrill } = await import("../../components/RestoreDrill");
        const before = registered.length;
        expect(() => new RestoreDrill("nobase", args({ smoke: { checks: CHECKS } }))).toThrow(NO_BASE_URL);
        expect(() => new RestoreDrill("nobase-db", args({ target: { kind: "database", adminUrl: "postgresql://u:p@h/postgres" }, smoke: {} }))).toThrow(NO_BASE_URL);
        expect(registered.slice(before).filter((r) => r.name.startsWith("nobase"))).toEqual([]);
    });
});

describe("smokeTestProvider", () => {
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-smoke-provider-"));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const inputs = { checks: CHECKS, artifactsDir: "", drillId: "20261122100000", after: "x" };

    it("check: path checks without a base URL fail at preview, naming baseUrl; an unknown base URL passes", async () => {
        const none = await smokeTestProvider.check!({} as never, { ...inputs, artifactsDir: dir });
        expect(none.failures).toEqual([{ property: "baseUrl", reason: NO_BASE_URL }]);
        const unknown = await smokeTestProvider.check!({} as never, { ...inputs, artifactsDir: dir, baseUrl: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" });
        expect(unknown.failures).toBeUndefined();
        const urlsOnly = await smokeTestProvider.check!({} as never, { ...inputs, artifactsDir: dir, checks: [{ url: "https://status.example.com" }] });
        expect(urlsOnly.failures).toBeUndefined();
    });

    it("create: smoke that could not run writes its 'skipped' result for the report, then fails the step", async () => {
        await expect(smokeTestProvider.create!({ ...inputs, artifactsDir: dir })).rejects.toThrow(`smoke tests could not run: ${NO_BASE_URL}`);
        const result = JSON.parse(fs.readFileSync(path.join(dir, "smoke_20261122100000.json"), "utf8")) as { status: string; total: number };
        expect(result).toMatchObject({ status: "skipped", total: 1 });
        expect(fs.readFileSync(path.join(dir, "smoke_20261122100000.txt"), "utf8")).toMatch(/^SKIPPED /);
    });
});
