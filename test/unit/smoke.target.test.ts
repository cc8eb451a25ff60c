// Where a drill's smoke checks go and with which key: the restored project's API by default, an
// explicit base URL (without the project's keys) when given, nothing for a local target — which
// must then refuse path checks instead of skipping them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { defaultSupabaseChecks, formatSmokeReport, runSmokeChecks } from "../../lib/smoke";
import { isJwt } from "../../lib/smoke/run";
import { NO_BASE_URL, needsBaseUrl, smokeChecksFor, smokeEndpoint } from "../../lib/smoke/target";
import { projectApiUrl, projectApiUrlProblem } from "../../lib/supabase/connectionStrings";
import { validateProjectRequest } from "../../lib/supabase/project";

const PROJECT = { apiUrl: "https://abcdefghijklmnopqrst.supabase.co", anonKey: "anon-key", serviceRoleKey: "service-key" };
const LEGACY_ANON = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlLW9mLXRoZS1hbm9uLWtleQ";
const PUBLISHABLE = "sb_publishable_0123456789abcdefghij";

describe("smokeEndpoint", () => {
    it("defaults to the restored project's API with its anon key", () => {
        expect(smokeEndpoint(undefined, PROJECT)).toEqual({ baseUrl: PROJECT.apiUrl, apiKey: "anon-key", source: "project" });
        expect(smokeEndpoint("  ", PROJECT, "service_role")).toEqual({ baseUrl: PROJECT.apiUrl, apiKey: "service-key", source: "project" });
    });

    it("an explicit base URL wins, and the project's keys do not go to it", () => {
        expect(smokeEndpoint("https://app.example.com", PROJECT)).toEqual({ baseUrl: "https://app.example.com", source: "explicit" });
    });

    it("a local target has no API unless one is given", () => {
        expect(smokeEndpoint(undefined, undefined)).toEqual({ source: "none" });
        expect(smokeEndpoint("https://app.example.com", undefined)).toEqual({ baseUrl: "https://app.example.com", source: "explicit" });
    });
});

describe("smokeChecksFor", () => {
    const pathCheck = [{ path: "/rest/v1/customers?select=id&limit=1" }];
    const urlCheck = [{ url: "https://status.example.com/health" }];

    it("refuses path checks on a local target without a base URL, before anything runs", () => {
        for (const kind of ["cluster", "database"] as const) {
            expect(() => smokeChecksFor({ checks: pathCheck }, kind)).toThrow(NO_BASE_URL);
            // Without checks: runbook 002's defaults, which are path checks too.
            expect(() => smokeChecksFor({}, kind)).toThrow(/set drill\.smoke\.baseUrl \(or TARGET_API_URL\)/);
        }
    });

    it("accepts a local target with a base URL, or with absolute-url checks only", () => {
        expect(smokeChecksFor({ baseUrl: "https://app.example.com", checks: pathCheck }, "cluster")).toBe(pathCheck);
        expect(smokeChecksFor({ baseUrl: "https://app.example.com" }, "database")).toBe(defaultSupabaseChecks);
        expect(smokeChecksFor({ checks: urlCheck }, "cluster")).toBe(urlCheck);
    });

    it("a project target needs no base URL, but checks of its own API", () => {
        expect(smokeChecksFor({ checks: pathCheck }, "supabase-project")).toBe(pathCheck);
        expect(() => smokeChecksFor({}, "supabase-project")).toThrow(/drill\.smoke has no checks: runbook 002's defaults are the application's endpoints/);
    });

    it("leaves malformed checks to the SmokeTest, which lists every problem", () => {
        expect(smokeChecksFor({ checks: [{ path: "no-slash" }] }, "cluster")).toEqual([{ path: "no-slash" }]);
    });

    it("needsBaseUrl: any path check", () => {
        expect(needsBaseUrl([{ url: "https://x.example.com" }, { path: "/a" }])).toBe(true);
        expect(needsBaseUrl([{ url: "https://x.example.com" }])).toBe(false);
    });
});

describe("the project's API URL", () => {
    it("is https://<ref>.supabase.co unless the platform serves it elsewhere", () => {
        expect(projectApiUrl("abcdefghijklmnopqrst")).toBe("https://abcdefghijklmnopqrst.supabase.co");
        expect(projectApiUrl("abcdefghijklmnopqrst", "https://{ref}.supabase.red/")).toBe("https://abcdefghijklmnopqrst.supabase.red");
        expect(projectApiUrl("abcdefghijklmnopqrst", "http://127.0.0.1:5000/project/{ref}")).toBe("http://127.0.0.1:5000/project/abcdefghijklmnopqrst");
    });

    it("a template without {ref}, or not http(s), is a request problem naming the property", () => {
        expect(projectApiUrlProblem("https://api.example.com")).toMatch(/must contain \{ref\}/);
        expect(projectApiUrlProblem("ftp://{ref}.example.com")).toMatch(/must be an http\(s\) URL/);
        expect(projectApiUrlProblem("https://{ref}.supabase.co")).toBeUndefined();
        const problems = validateProjectRequest({ accessToken: "sbp_x", organization: "acme", region: "eu-west-2", projectApiUrl: "https://no-ref.example.com" });
        expect(problems).toEqual([{ property: "projectApiUrl", reason: expect.stringMatching(/must contain \{ref\}/) }]);
    });
});

interface Seen {
    port: number;
    path: string;
    apikey?: string;
    authorization?: string;
}

describe("runSmokeChecks with a project key", () => {
    let project: Server;
    let elsewhere: Server;
    let projectBase: string;
    let elsewhereBase: string;
    const seen: Seen[] = [];

    function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
        const server = createServer((req, res) => {
            seen.push({ port: (server.address() as AddressInfo).port, path: req.url ?? "", apikey: req.headers.apikey as string | undefined, authorization: req.headers.authorization });
            handler(req, res);
        });
        return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
    }

    beforeAll(async () => {
        // Like the project's gateway: no key, no answer; the echo route repeats what it was sent.
        project = await serve((req, res) => {
            const known = [LEGACY_ANON, PUBLISHABLE, "anon-key"];
            if (!req.headers.apikey) return void res.writeHead(401).end(JSON.stringify({ message: "No API key found in request" }));
            if (!known.includes(String(req.headers.apikey))) return void res.writeHead(401).end(JSON.stringify({ message: "Invalid API key" }));
            if (req.url === "/echo") return void res.writeHead(404).end(`you sent ${String(req.headers.apikey)}`);
            res.writeHead(200, { "content-type": "application/json" }).end("[]");
        });
        elsewhere = await serve((_req, res) => void res.writeHead(200).end("ok"));
        projectBase = `http://127.0.0.1:${(project.address() as AddressInfo).port}`;
        elsewhereBase = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
        await Promise.all([project, elsewhere].map((s) => new Promise((resolve) => s.close(resolve))));
    });
    beforeEach(() => {
        seen.length = 0;
    });

    it("recognises Supabase's legacy JWT keys, not the newer sb_ keys", () => {
        expect(isJwt(LEGACY_ANON)).toBe(true);
        expect(isJwt(PUBLISHABLE)).toBe(false);
        expect(isJwt("eyJ-not-a-jwt")).toBe(false);
    });

    it("sends a legacy key as apikey and as Bearer, like supabase-js; auth: false drops only the Authorization header", async () => {
        const r = await runSmokeChecks(projectBase, [{ path: "/rest/v1/customers?select=id" }, { path: "/rest/v1/orders", auth: false }], { apiKey: LEGACY_ANON });
        expect(r.status).toBe("pass");
        expect(seen).toEqual([
            { port: expect.any(Number), path: "/rest/v1/customers?select=id", apikey: LEGACY_ANON, authorization: `Bearer ${LEGACY_ANON}` },
            { port: expect.any(Number), path: "/rest/v1/orders", apikey: LEGACY_ANON, authorization: undefined },
        ]);
    });

    it("sends an sb_ key as apikey only; a user's bearer token goes in Authorization", async () => {
        await runSmokeChecks(projectBase, [{ path: "/rest/v1/a" }], { apiKey: PUBLISHABLE });
        await runSmokeChecks(projectBase, [{ path: "/rest/v1/b" }], { apiKey: LEGACY_ANON, bearerToken: "user-session-token" });
        expect(seen.map(({ apikey, authorization }) => ({ apikey, authorization }))).toEqual([
            { apikey: PUBLISHABLE, authorization: undefined },
            { apikey: LEGACY_ANON, authorization: "Bearer user-session-token" },
        ]);
    });

    it("never sends the project key with an absolute-url check, and replaces a configured apikey on path checks", async () => {
        const r = await runSmokeChecks(projectBase, [
            { url: `${elsewhereBase}/health` },
            { path: "/rest/v1/c", auth: false, headers: { ApiKey: "prod-anon-key-from-config" } },
        ], { apiKey: "anon-key" });
        expect(r.status).toBe("pass");
        expect(seen.find((s) => s.path === "/health")).toMatchObject({ apikey: undefined, authorization: undefined });
        expect(seen.find((s) => s.path === "/rest/v1/c")).toMatchObject({ apikey: "anon-key" });
    });

    it("without the key the gateway refuses: the check fails, and an echoed key is redacted everywhere", async () => {
        const noKey = await runSmokeChecks(projectBase, [{ path: "/rest/v1/customers" }]);
        expect(noKey.checks[0]).toMatchObject({ outcome: "FAIL", status: 401, reason: expect.stringMatching(/No API key found in request/) });

        const echoed = await runSmokeChecks(projectBase, [{ path: "/echo" }], { apiKey: LEGACY_ANON });
        expect(echoed.status).toBe("fail");
        const text = JSON.stringify(echoed) + formatSmokeReport(echoed, [LEGACY_ANON]);
        expect(text).toContain("you sent ****");
        expect(text).not.toContain(LEGACY_ANON);
    });
});
