// The scratch-project lifecycle against a local Management API server (no Pulumi engine):
// create → poll → health → keys/pooler → delete, rate limits, 5xx, timeouts, 401, ownership,
// and project secrets. A virtual clock makes retry and poll waits instant (one test waits for real).
import { afterEach, describe, expect, it } from "vitest";
import { supabaseProjectProvider } from "../../provider/resources/supabaseProject";
import { createScratchProject, deleteScratchProject, type LifecycleDeps } from "../../lib/supabase/project";
import { deleteManagedSecrets, secretDigest, syncSecrets } from "../../lib/supabase/secrets";
import { startFakeSupabaseApi, virtualClock, type FakeSupabaseApi, type FakeSupabaseOptions, type VirtualClock } from "../helpers/fakeSupabaseApi";

let fake: FakeSupabaseApi | undefined;
afterEach(async () => {
    await fake?.close();
    fake = undefined;
});

async function start(opts: FakeSupabaseOptions = {}): Promise<FakeSupabaseApi> {
    fake = await startFakeSupabaseApi(opts);
    return fake;
}

function request(api: FakeSupabaseApi, over: Record<string, unknown> = {}) {
    return { accessToken: api.token, organization: "acme-ops", region: "eu-central-1", instanceSize: "micro", namePrefix: "itest", apiBaseUrl: api.url, ...over };
}

function deps(clock: VirtualClock): LifecycleDeps {
    return { clock, random: () => 0 };
}

describe("createScratchProject / deleteScratchProject", () => {
    it("creates, waits for ACTIVE_HEALTHY and healthy services, returns keys and the pooler URL, then deletes", async () => {
        const api = await start({ pollsUntilHealthy: 3, healthPollsUntilHealthy: 1 });
        const clock = virtualClock();
        const project = await createScratchProject(request(api, { pollIntervalMs: 2_000 }), deps(clock));

        const remote = api.projects.get(project.ref);
        expect(remote).toBeDefined();
        expect(project.name).toMatch(/^itest-\d{14}-[0-9a-f]{6}$/);
        expect(remote?.name).toBe(project.name);
        expect(project.dbPassword).toBe(remote?.dbPass);
        expect(project.dbPassword).toMatch(/^[A-Za-z0-9_-]{32}$/);
        expect(project.poolerUrl).toBe(`postgresql://postgres.${project.ref}:${project.dbPassword}@aws-0-eu-central-1.pooler.supabase.com:5432/postgres`);
        expect(project.directUrl).toBe(`postgresql://postgres:${project.dbPassword}@db.${project.ref}.supabase.co:5432/postgres`);
        expect(project.anonKey).toBe(remote?.anonKey);
        expect(project.serviceRoleKey).toBe(remote?.serviceRoleKey);
        expect(project.apiUrl).toBe(`https://${project.ref}.supabase.co`);
        expect(project.region).toBe("eu-central-1");

        // The POST body uses the published field names.
        const post = api.requests.find((r) => r.method === "POST" && r.path === "/v1/projects");
        expect(post?.body).toMatchObject({
            name: project.name,
            organization_slug: "acme-ops",
            region_selection: { type: "specific", code: "eu-central-1" },
            desired_instance_size: "micro",
            db_pass: project.dbPassword,
        });
        expect(post?.body).not.toHaveProperty("region");
        // 3 COMING_UP polls + 1 ACTIVE_HEALTHY whose health is still coming up + 1 fully healthy.
        expect(api.count("GET", new RegExp(`^/v1/projects/${project.ref}$`))).toBe(5);
        const health = api.requests.filter((r) => r.path.endsWith("/health"));
        expect(health).toHaveLength(2);
        expect(health[0].query.get("services")).toBe("db,rest,auth");
        expect(clock.sleeps).toEqual([2_000, 2_000, 2_000, 2_000]);
        expect(api.requests.find((r) => r.path.endsWith("/api-keys"))?.query.get("reveal")).toBe("true");

        const first = await deleteScratchProject({ accessToken: api.token, apiBaseUrl: api.url, ref: project.ref, name: project.name, namePrefix: "itest" }, deps(clock));
        expect(first).toBe("deleted");
        expect(api.deleted).toEqual([project.ref]);
        expect(api.projects.has(project.ref)).toBe(false);
        // 404 means already gone: success, not an error.
        const again = await deleteScratchProject({ accessToken: api.token, apiBaseUrl: api.url, ref: project.ref, name: project.name, namePrefix: "itest" }, deps(clock));
        expect(again).toBe("already-gone");
        expect(api.deleted).toEqual([project.ref]);
    });

    it("waits as long as Retry-After asks on a 429 and then succeeds", async () => {
        const api = await start({ pollsUntilHealthy: 0, healthPollsUntilHealthy: 0, faults: { rateLimit: { remaining: 2, retryAfterSeconds: 3, match: /^POST \/v1\/projects$/ } } });
        const clock = virtualClock();
        const project = await createScratchProject(request(api), deps(clock));
        const posts = api.requests.filter((r) => r.method === "POST" && r.path === "/v1/projects");
        expect(posts.map((r) => r.status)).toEqual([429, 429, 201]);
        expect(clock.sleeps.slice(0, 2)).toEqual([3_000, 3_000]);
        expect(api.projects.size).toBe(1);
        expect(api.projects.has(project.ref)).toBe(true);
    });

    it("waits per X-RateLimit-Reset (seconds until the window resets) while polling", async () => {
        const api = await start({ pollsUntilHealthy: 1, healthPollsUntilHealthy: 0, faults: { rateLimit: { remaining: 1, resetHeader: "17", match: /^GET \/v1\/projects\/[a-z]+$/ } } });
        const clock = virtualClock();
        await createScratchProject(request(api, { pollIntervalMs: 1_000 }), deps(clock));
        expect(clock.sleeps[0]).toBe(17_000);
    });

    it("really sleeps for the rate-limit wait with the system clock", async () => {
        const api = await start({ pollsUntilHealthy: 0, healthPollsUntilHealthy: 0, faults: { rateLimit: { remaining: 1, retryAfterSeconds: 1, match: /^POST/ } } });
        await createScratchProject(request(api));
        const posts = api.requests.filter((r) => r.method === "POST");
        expect(posts.map((r) => r.status)).toEqual([429, 201]);
        expect(posts[1].at - posts[0].at).toBeGreaterThanOrEqual(990);
    });

    it("retries 5xx with exponential backoff and succeeds", async () => {
        const api = await start({ pollsUntilHealthy: 0, healthPollsUntilHealthy: 0, faults: { serverError: { remaining: 3, match: /^GET \/v1\/projects\/[a-z]+$/ } } });
        const clock = virtualClock();
        const project = await createScratchProject(request(api), { clock, random: () => 1 });
        expect(clock.sleeps.slice(0, 3)).toEqual([1_000, 2_000, 4_000]);
        expect(api.requests.filter((r) => r.path === `/v1/projects/${project.ref}`).map((r) => r.status)).toEqual([500, 500, 500, 200]);
    });

    it("adopts the project when the create response is lost, instead of creating a second one", async () => {
        const api = await start({ pollsUntilHealthy: 0, healthPollsUntilHealthy: 0, faults: { createThenFail: { remaining: 1 } } });
        const clock = virtualClock();
        const project = await createScratchProject(request(api), deps(clock));
        expect(api.count("POST", /^\/v1\/projects$/)).toBe(1);
        expect(api.requests.some((r) => r.path === "/v1/organizations/acme-ops/projects" && r.query.get("search") === project.name)).toBe(true);
        expect([...api.projects.keys()]).toEqual([project.ref]);
    });

    it("still looks the project up when the create's answer is lost on its last allowed attempt (after 429s)", async () => {
        const api = await start({ pollsUntilHealthy: 0, healthPollsUntilHealthy: 0, faults: {
            rateLimit: { remaining: 4, match: /^POST \/v1\/projects$/, resetHeader: "1" },
            createThenFail: { remaining: 1 },
        } });
        const clock = virtualClock();
        const project = await createScratchProject(request(api), deps(clock));
        expect(api.count("POST", /^\/v1\/projects$/)).toBe(5);
        expect([...api.projects.keys()]).toEqual([project.ref]);
    });

    it("never sends the create again after a 5xx: it looks the project up by name and, finding none, fails naming it", async () => {
        const api = await start({ faults: { serverError: { remaining: Infinity, match: /^POST/ } } });
        const clock = virtualClock();
        await expect(createScratchProject(request(api), deps(clock))).rejects.toThrow(
            /^Supabase Management API createAProject failed \(HTTP 500\): Internal server error; not sent again, as it may have taken effect: the check after it found no sign of it \(it may still appear\) \(creating project 'itest-\d{14}-[0-9a-f]{6}' in organization 'acme-ops'\)$/,
        );
        expect(api.count("POST", /^\/v1\/projects$/)).toBe(1);
        expect(api.count("GET", /^\/v1\/organizations\/acme-ops\/projects$/)).toBe(1);
        expect(clock.sleeps).toEqual([500]);
        expect(api.projects.size).toBe(0);
    });

    it("gives up when the API does not answer at all", async () => {
        const api = await start();
        const url = api.url;
        await api.close();
        fake = undefined;
        const clock = virtualClock();
        await expect(createScratchProject({ ...request(api), apiBaseUrl: url }, deps(clock))).rejects.toThrow(
            /^Supabase Management API createAProject failed after 5 attempts \(no response\): ECONNREFUSED/,
        );
        expect(clock.sleeps).toHaveLength(4);
    });

    it("times out naming the ref and the last status, and deletes the half-created project", async () => {
        const api = await start({ neverHealthy: true });
        const clock = virtualClock();
        const started = clock.now();
        const err = await createScratchProject(request(api), deps(clock)).catch((e: Error) => e);
        const ref = api.deleted[0];
        expect(ref).toMatch(/^[a-z]{20}$/);
        expect((err as Error).message).toBe(
            `project ${ref} did not become ACTIVE_HEALTHY within 10 min; last status COMING_UP (the half-created project ${ref} was deleted)`,
        );
        expect(clock.now() - started).toBe(10 * 60_000);
        expect(api.projects.size).toBe(0);
    });

    it("names the services still unhealthy when the project is up but its services are not", async () => {
        const api = await start({ pollsUntilHealthy: 0, healthPollsUntilHealthy: Infinity });
        const clock = virtualClock();
        const err = await createScratchProject(request(api, { readyTimeoutMs: 60_000, healthServices: ["db", "pooler"] }), deps(clock)).catch((e: Error) => e);
        expect((err as Error).message).toMatch(
            /^project [a-z]{20} did not become ACTIVE_HEALTHY within 1 min; last status ACTIVE_HEALTHY \(services not healthy yet: db COMING_UP, pooler COMING_UP\)/,
        );
    });

    it("fails fast when the project ends in INIT_FAILED", async () => {
        const api = await start({ pollsUntilHealthy: 1, failWithStatus: "INIT_FAILED" });
        const clock = virtualClock();
        const err = await createScratchProject(request(api), deps(clock)).catch((e: Error) => e);
        expect((err as Error).message).toMatch(/^project ([a-z]{20}) failed to come up: status INIT_FAILED \(the half-created project \1 was deleted\)$/);
        expect(clock.sleeps).toEqual([5_000]);
    });

    it("reports a rejected token without the token, and does not retry", async () => {
        const api = await start();
        const bad = "sbp_not_the_right_token_0123456789abcdef";
        const err = await createScratchProject(request(api, { accessToken: bad }), deps(virtualClock())).catch((e: Error) => e);
        expect((err as Error).message).toMatch(
            /^Supabase Management API createAProject failed \(HTTP 401\): Unauthorized: invalid access token '\*\*\*\*' \(creating project/,
        );
        expect((err as Error).message).not.toContain(bad);
        expect((err as Error).stack ?? "").not.toContain(bad);
        expect(api.requests).toHaveLength(1);
    });

    it("treats a 404 on DELETE (deleted meanwhile) as success", async () => {
        const api = await start({ faults: { notFound: { remaining: 1, match: /^DELETE / } } });
        const ours = api.seedProject({ name: "itest-20250101000000-abcdef" });
        const result = await deleteScratchProject(
            { accessToken: api.token, apiBaseUrl: api.url, ref: ours.ref, name: ours.name, namePrefix: "itest" },
            deps(virtualClock()),
        );
        expect(result).toBe("already-gone");
        expect(api.requests.map((r) => `${r.method} ${r.status}`)).toEqual(["GET 200", "DELETE 404"]);
    });

    it("lets the provider's read report a deleted project as gone", async () => {
        const api = await start();
        const ours = api.seedProject({ name: "itest-20250101000000-abcdef" });
        const props = { accessToken: api.token, apiBaseUrl: api.url, organization: "acme-ops", region: "eu-central-1", ref: ours.ref, name: ours.name } as never;
        expect((await supabaseProjectProvider.read!(ours.ref, props)).id).toBe(ours.ref);
        api.projects.delete(ours.ref);
        expect((await supabaseProjectProvider.read!(ours.ref, props)).id).toBe("");
    });

    it("refuses to delete a project it did not create", async () => {
        const api = await start();
        const theirs = api.seedProject({ name: "production-app" });
        const err = await deleteScratchProject(
            { accessToken: api.token, apiBaseUrl: api.url, ref: theirs.ref, name: "itest-20250101000000-abcdef", namePrefix: "itest" },
            deps(virtualClock()),
        ).catch((e: Error) => e);
        expect((err as Error).message).toMatch(new RegExp(`^refusing to delete Supabase project ${theirs.ref} \\('production-app'\\)`));
        expect(api.deleted).toEqual([]);
        expect(api.count("DELETE", /./)).toBe(0);
        expect(api.projects.has(theirs.ref)).toBe(true);
    });
});

describe("project secrets", () => {
    it("writes desired values, restores drift, deletes only the names it manages", async () => {
        const api = await start();
        const { ref } = api.seedProject({ name: "itest-20250101000000-abcdef" });
        api.setSecret(ref, "SET_BY_HAND", "keep me");
        const target = { accessToken: api.token, apiBaseUrl: api.url, ref };

        const created = await syncSecrets(target, { A: "1", B: "2" }, []);
        expect(created.upsert).toEqual(["A", "B"]);
        expect(api.secretDigests(ref)).toMatchObject({ A: secretDigest("1"), B: secretDigest("2") });

        api.setSecret(ref, "A", "tampered");
        const repaired = await syncSecrets(target, { A: "1", B: "2" }, ["A", "B"]);
        expect(repaired).toEqual({ upsert: ["A"], remove: [], unchanged: ["B"] });
        expect(api.secretDigests(ref).A).toBe(secretDigest("1"));

        const changed = await syncSecrets(target, { A: "1", C: "3" }, ["A", "B"]);
        expect(changed).toEqual({ upsert: ["C"], remove: ["B"], unchanged: ["A"] });
        expect(Object.keys(api.secretDigests(ref)).sort()).toEqual(["A", "C", "SET_BY_HAND", "SUPABASE_ANON_KEY", "SUPABASE_DB_URL", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_URL"]);

        await deleteManagedSecrets(target, ["A", "C"]);
        expect(Object.keys(api.secretDigests(ref))).not.toContain("A");
        expect(Object.keys(api.secretDigests(ref))).toContain("SET_BY_HAND");
        // The project being gone already is success.
        await expect(deleteManagedSecrets({ ...target, ref: "zzzzzzzzzzzzzzzzzzzz" }, ["A"])).resolves.toBeUndefined();
    });
});
