// The Supabase dynamic resources through the real Pulumi engine (local file backend) against the
// local Management API server: a scratch project's create/delete cycle with secret outputs and
// nothing readable in the state file, and project secrets' create/drift/update/delete cycle.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SupabaseProject } from "../../sdk/supabaseProject";
import { SupabaseProjectSecrets } from "../../sdk/supabaseSecrets";
import { inlineStack, localBackend, type LocalBackend } from "../../lib/pulumi/engine";
import { secretDigest } from "../../lib/supabase/secrets";
import { startFakeSupabaseApi, type FakeSupabaseApi } from "../helpers/fakeSupabaseApi";

const PROJECT = "supabase-dr-test";
let backend: LocalBackend;
let api: FakeSupabaseApi;

beforeAll(async () => {
    backend = localBackend();
    api = await startFakeSupabaseApi({ pollsUntilHealthy: 2, healthPollsUntilHealthy: 1 });
});
afterAll(async () => {
    await api?.close();
    backend?.cleanup();
});

/** The stack's checkpoint as stored by the file backend. */
function stateText(stack: string): string {
    const dir = path.join(backend.url.slice("file://".length), ".pulumi", "stacks", PROJECT);
    const file = fs.readdirSync(dir).find((f) => f === `${stack}.json`);
    if (!file) throw new Error(`no state file for ${stack} in ${dir}: ${fs.readdirSync(dir).join(", ")}`);
    return fs.readFileSync(path.join(dir, file), "utf8");
}

const log = (s: string) => process.stdout.write(s);

describe("SupabaseProject through the engine", () => {
    it("creates the project on up with secret outputs, keeps credentials out of the state, deletes it on destroy", async () => {
        // The first create is rate limited: the provider must wait for the window and go on.
        api.faults.rateLimit = { remaining: 1, resetHeader: "1", match: /^POST \/v1\/projects$/ };
        const stack = await inlineStack(backend, {
            projectName: PROJECT,
            stackName: "supabase-project",
            program: async () => {
                const p = new SupabaseProject("scratch", {
                    accessToken: api.token,
                    organization: "acme-ops",
                    region: "eu-central-1",
                    instanceSize: "micro",
                    namePrefix: "etest",
                    apiBaseUrl: api.url,
                    readyTimeoutSeconds: 60,
                    pollIntervalSeconds: 0.2,
                });
                return {
                    ref: p.ref,
                    name: p.name,
                    apiUrl: p.apiUrl,
                    poolerUrl: p.poolerUrl,
                    connectionString: p.connectionString,
                    databaseName: p.databaseName,
                    dbPassword: p.dbPassword,
                    anonKey: p.anonKey,
                    serviceRoleKey: p.serviceRoleKey,
                };
            },
        });
        const up = await stack.up({ onOutput: log });
        const ref = up.outputs.ref.value as string;
        const remote = api.projects.get(ref);
        expect(remote).toBeDefined();
        expect(up.outputs.name.value).toBe(remote?.name);
        expect(up.outputs.name.value).toMatch(/^etest-\d{14}-[0-9a-f]{6}$/);
        expect(up.outputs.apiUrl).toEqual({ value: `https://${ref}.supabase.co`, secret: false });
        expect(up.outputs.databaseName.value).toBe("postgres");
        for (const key of ["poolerUrl", "connectionString", "dbPassword", "anonKey", "serviceRoleKey"]) {
            expect(up.outputs[key].secret, key).toBe(true);
        }
        const password = up.outputs.dbPassword.value as string;
        expect(password).toBe(remote?.dbPass);
        expect(up.outputs.poolerUrl.value).toBe(`postgresql://postgres.${ref}:${password}@aws-0-eu-central-1.pooler.supabase.com:5432/postgres`);
        expect(up.outputs.connectionString.value).toBe(up.outputs.poolerUrl.value);
        expect(up.outputs.serviceRoleKey.value).toBe(remote?.serviceRoleKey);

        const posts = api.requests.filter((r) => r.method === "POST" && r.path === "/v1/projects");
        expect(posts.map((r) => r.status)).toEqual([429, 201]);
        expect(posts[1].at - posts[0].at).toBeGreaterThanOrEqual(990);

        const state = stateText("supabase-project");
        expect(state).toContain(ref); // the right file: the ref is not a secret
        for (const [label, value] of Object.entries({ password, token: api.token, anon: remote!.anonKey, service: remote!.serviceRoleKey })) {
            expect(state.includes(value), `${label} in state`).toBe(false);
        }
        expect(state).not.toContain("postgresql://");

        // Nothing changes on a second look: the diff is stable.
        const preview = await stack.preview();
        expect(preview.changeSummary).toEqual({ same: 2 });

        await stack.destroy({ onOutput: log });
        expect(api.deleted).toEqual([ref]);
        expect(api.projects.has(ref)).toBe(false);
        await stack.workspace.removeStack("supabase-project");
        expect((await stack.workspace.listStacks()).map((s) => s.name)).not.toContain("supabase-project");
    });
});

describe("SupabaseProjectSecrets through the engine", () => {
    it("creates, detects drift by digest, updates, and deletes only its own secrets", async () => {
        const { ref } = api.seedProject({ name: "etest-20250101000000-abcdef" });
        api.setSecret(ref, "SET_BY_HAND", "keep me");
        let desired: Record<string, string> = { ALPHA: "alpha-value-1", BRAVO: "bravo-value-2" };
        const stack = await inlineStack(backend, {
            projectName: PROJECT,
            stackName: "supabase-secrets",
            program: async () => {
                const s = new SupabaseProjectSecrets("fn", { ref, accessToken: api.token, apiBaseUrl: api.url, secrets: desired });
                return { names: s.names };
            },
        });

        const first = await stack.up({ onOutput: log });
        expect(first.summary.resourceChanges).toMatchObject({ create: 2 });
        expect(first.outputs.names.value).toEqual(["ALPHA", "BRAVO"]);
        expect(api.secretDigests(ref)).toMatchObject({ ALPHA: secretDigest("alpha-value-1"), BRAVO: secretDigest("bravo-value-2") });
        expect((await stack.preview()).changeSummary).toEqual({ same: 2 });

        // Drift: same inputs, but the remote digest no longer matches.
        api.setSecret(ref, "ALPHA", "tampered");
        expect((await stack.preview()).changeSummary).toMatchObject({ update: 1 });
        await stack.up({ onOutput: log });
        expect(api.secretDigests(ref).ALPHA).toBe(secretDigest("alpha-value-1"));

        // Update: BRAVO removed, CHARLIE added, ALPHA untouched.
        const postsBefore = api.count("POST", /\/secrets$/);
        desired = { ALPHA: "alpha-value-1", CHARLIE: "charlie-value-3" };
        const third = await stack.up({ onOutput: log });
        expect(third.outputs.names.value).toEqual(["ALPHA", "CHARLIE"]);
        const lastPost = api.requests.filter((r) => r.method === "POST" && r.path.endsWith("/secrets")).at(-1);
        expect(api.count("POST", /\/secrets$/)).toBe(postsBefore + 1);
        expect(lastPost?.body).toEqual([{ name: "CHARLIE", value: "charlie-value-3" }]);
        expect(Object.keys(api.secretDigests(ref))).not.toContain("BRAVO");
        expect(api.secretDigests(ref).CHARLIE).toBe(secretDigest("charlie-value-3"));

        const state = stateText("supabase-secrets");
        expect(state).toContain(ref);
        for (const value of ["alpha-value-1", "charlie-value-3", api.token]) expect(state.includes(value), value).toBe(false);

        await stack.destroy({ onOutput: log });
        const left = Object.keys(api.secretDigests(ref)).sort();
        expect(left).toEqual(["SET_BY_HAND", "SUPABASE_ANON_KEY", "SUPABASE_DB_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_URL"]);
        await stack.workspace.removeStack("supabase-secrets");
        expect((await stack.workspace.listStacks()).map((s) => s.name)).not.toContain("supabase-secrets");
    });
});
