import { describe, expect, it } from "vitest";
import { defaultSupabaseChecks, parseSmokeChecks } from "../../lib/smoke";

function problems(input: unknown): string {
    try {
        parseSmokeChecks(input);
    } catch (err) {
        return (err as Error).message;
    }
    throw new Error("expected parseSmokeChecks to throw");
}

describe("parseSmokeChecks", () => {
    it("accepts an array, {checks: [...]}, or JSON text, and upper-cases the method", () => {
        const config = [
            { name: "health", method: "get", path: "/api/health", expectStatus: 200, body: { json: { ok: true, "checks.db": "ok" } } },
            { url: "https://staging.example.com/api/uploads/sign", expectStatus: [401, 403], auth: false, latencyBudgetMs: 500 },
            { method: "post", path: "/api/x", requestBody: { a: 1 }, headers: { "X-Trace": "smoke" }, body: { csvHeader: ["id"], regex: "^id", contains: "id" } },
        ];
        const parsed = parseSmokeChecks(config);
        expect(parsed[0]).toEqual({ ...config[0], method: "GET" });
        expect(parsed[1]).toEqual(config[1]);
        expect(parsed[2].method).toBe("POST");
        expect(parseSmokeChecks({ checks: config })).toEqual(parsed);
        expect(parseSmokeChecks(JSON.stringify({ checks: config }))).toEqual(parsed);
    });

    it("accepts runbook 002's default checks", () => {
        expect(parseSmokeChecks(defaultSupabaseChecks)).toEqual(defaultSupabaseChecks);
    });

    it("rejects a non-list and an empty list", () => {
        expect(problems({ check: [] })).toBe('smoke checks: expected an array of checks or {"checks": [...]}, got an object');
        expect(problems([])).toMatch(/at least one check/);
        expect(problems("[1,")).toMatch(/^smoke checks are not valid JSON/);
    });

    it("does not echo invalid JSON text, which may hold a header secret", () => {
        const message = problems('[{"path": "/x", "headers": {"apikey": "sb_secret_123456"}');
        expect(message).not.toContain("sb_secret");
    });

    it("lists every problem with the index, the field and the expected form", () => {
        const message = problems([
            { path: "/ok" },
            { path: "/a", url: "https://h/a" },
            { method: "GET" },
            { path: "api/health", expectStatus: "200" },
            "GET /x",
            { path: "/b", expectedStatus: 200 },
        ]);
        expect(message.split("\n")[0]).toBe("invalid smoke checks:");
        expect(message).toContain('checks[1]: expected exactly one of "url"');
        expect(message).toContain("checks[2]: expected exactly one of");
        expect(message).toContain('checks[3].path: expected a path starting with "/" (e.g. "/api/health"), got "api/health"');
        expect(message).toContain('checks[3].expectStatus: expected an HTTP status (integer 100-499) or a non-empty array of them, got "200"');
        expect(message).toContain("checks[4]: expected an object, got a string");
        expect(message).toContain("checks[5].expectedStatus: unknown field");
        expect(message).not.toContain("checks[0]");
    });

    it("rejects 5xx in expectStatus: runbook 002 fails every 5xx", () => {
        expect(problems([{ path: "/x", expectStatus: [200, 503] }])).toContain('checks[0].expectStatus: a 5xx can never pass (runbook 002: "No 5xx server errors")');
        expect(problems([{ path: "/x", expectStatus: [] }])).toContain("checks[0].expectStatus: expected an HTTP status");
        expect(problems([{ path: "/x", expectStatus: 20 }])).toContain("checks[0].expectStatus");
    });

    it("validates url, method, budget, auth and name", () => {
        const message = problems([
            { url: "ftp://h/x" },
            { path: "/x", method: "GET /x" },
            { path: "/x", method: "trace" },
            { path: "/x", latencyBudgetMs: 0 },
            { path: "/x", auth: "yes" },
            { path: "/x", name: "" },
        ]);
        expect(message).toContain('checks[0].url: expected an absolute http:// or https:// URL, got "ftp://h/x"');
        expect(message).toContain('checks[1].method: expected an HTTP method such as "GET" or "POST", got "GET /x"');
        expect(message).toContain("checks[2].method: TRACE cannot be sent with fetch");
        expect(message).toContain("checks[3].latencyBudgetMs: expected a positive number of milliseconds, got 0");
        expect(message).toContain('checks[4].auth: expected true or false, got "yes"');
        expect(message).toContain("checks[5].name: expected a non-empty string");
    });

    it("validates body predicates", () => {
        const message = problems([
            { path: "/x", body: { regex: "([a-z" } },
            { path: "/x", body: { csvHeader: [] } },
            { path: "/x", body: { json: {} } },
            { path: "/x", body: { json: { "checks..db": "ok" } } },
            { path: "/x", body: { equals: "ok" } },
            { path: "/x", body: "ok" },
            { path: "/x", body: { contains: 1 } },
        ]);
        expect(message).toMatch(/checks\[0\]\.body\.regex: not a valid JavaScript regular expression \(.+\)/);
        expect(message).toContain("checks[1].body.csvHeader: expected a non-empty array of column names, got []");
        expect(message).toContain("checks[2].body.json: expected an object of dotted path");
        expect(message).toContain('checks[3].body.json: empty segment in dotted path "checks..db"');
        expect(message).toContain("checks[4].body.equals: unknown predicate (allowed: contains, json, regex, csvHeader)");
        expect(message).toContain("checks[4].body: expected at least one of contains, json, regex, csvHeader");
        expect(message).toContain("checks[5].body: expected an object with contains, json, regex or csvHeader, got a string");
        expect(message).toContain("checks[6].body.contains: expected a non-empty string, got 1");
    });

    it("validates headers without echoing their values, and keeps Authorization for auth: false", () => {
        const message = problems([
            { path: "/x", headers: { apikey: 12345678 } },
            { path: "/x", headers: { "bad header": "v" } },
            { path: "/x", headers: { Authorization: "Bearer sb_secret_abcdef" } },
            { path: "/x", headers: ["x"] },
        ]);
        expect(message).toContain("checks[0].headers.apikey: expected a string value, got a number");
        expect(message).not.toContain("12345678");
        expect(message).toContain('checks[1].headers: "bad header" is not a valid header name');
        expect(message).toContain('checks[2].headers.Authorization: only allowed with "auth": false');
        expect(message).not.toContain("sb_secret");
        expect(message).toContain("checks[3].headers: expected an object of header name → string value, got an array");
        expect(parseSmokeChecks([{ path: "/x", auth: false, headers: { Authorization: "Bearer bogus" } }])[0].headers).toEqual({ Authorization: "Bearer bogus" });
    });

    it("rejects a request body on GET and HEAD", () => {
        expect(problems([{ path: "/x", requestBody: {} }])).toContain("checks[0].requestBody: not allowed with GET (use POST, PUT or PATCH)");
        expect(problems([{ path: "/x", method: "HEAD", requestBody: "x" }])).toContain("not allowed with HEAD");
    });
});
