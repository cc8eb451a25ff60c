// runSmokeChecks against a real HTTP server on 127.0.0.1 (node:http), one route per behaviour.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { defaultSupabaseChecks, formatSmokeReport, runSmokeChecks, type SmokeCheck } from "../../lib/smoke";

const TOKEN = "tok_live_9f8e7d6c5b4a3210";

interface Seen {
    method: string;
    url: string;
    authorization?: string;
    contentType?: string;
    body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
let inFlight = 0;
let maxInFlight = 0;
let flakyCalls = 0;

function json(res: ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://localhost");
    seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        contentType: req.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
    });
    switch (url.pathname) {
        case "/api/health":
            return json(res, 200, { ok: true, checks: { db: "ok", storage: "degraded" }, items: [{ id: 7 }] });
        case "/api/ready":
            return json(res, 200, { ready: true });
        case "/api/ops/samples":
            return json(res, 200, { reminderDeliveryRate: 0.98, p95Ms: 120 });
        case "/api/reports/upcoming-reminders":
            res.writeHead(200, { "content-type": "text/csv" });
            return void res.end('\uFEFFid,"customer, name",due_at\r\n1,"Test Customer 1",2024-01-01\r\n');
        case "/api/uploads/sign":
            // Only an authenticated caller gets past the guard; 403 proves "auth enforced" passes too.
            return req.headers.authorization ? json(res, 200, { url: "signed" }) : json(res, 403, { error: "forbidden" });
        case "/boom":
            return json(res, 500, { error: "database exploded" });
        case "/not-found":
            return json(res, 404, { error: "no such route" });
        case "/slow":
            await new Promise((resolve) => setTimeout(resolve, 150));
            return json(res, 200, { ok: true });
        case "/never":
            return; // never answers: only the client's timeout ends this request
        case "/echo-auth":
            return json(res, 200, { youSent: req.headers.authorization ?? null });
        case "/echo-late":
            // The token spans the 200-character excerpt cut: truncating before redacting would leak its head.
            res.writeHead(200, { "content-type": "text/plain" });
            return void res.end(`${"x".repeat(170)} ${req.headers.authorization ?? ""} ${"trailing ".repeat(5)}`);
        case "/echo-json":
            return json(res, 200, { status: `token ${req.headers.authorization ?? ""}` });
        case "/flaky":
            flakyCalls++;
            return flakyCalls < 3 ? json(res, 503, { warming: true }) : json(res, 200, { ok: true });
        case "/redirect":
            res.writeHead(302, { location: "/api/health" });
            return void res.end();
        case "/huge":
            // 3 MiB of CSV: the client must stop reading at its cap, not buffer it all.
            res.writeHead(200, { "content-type": "text/csv" });
            res.write("id,customer,due_at\n");
            for (let i = 0; i < 48; i++) res.write(`${"1,x,2024-01-01\n".repeat(4681)}`);
            return void res.end();
        case "/echo-body":
            return json(res, 200, { got: Buffer.concat(chunks).toString("utf8") });
        default:
            return json(res, 404, { error: "unknown" });
    }
}

beforeAll(async () => {
    server = createServer((req, res) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        res.on("close", () => inFlight--);
        handle(req, res).catch((err: unknown) => {
            res.writeHead(599);
            res.end(String(err));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
    seen.length = 0;
    maxInFlight = 0;
    flakyCalls = 0;
});

async function runOne(check: SmokeCheck, opts: Parameters<typeof runSmokeChecks>[2] = {}) {
    const result = await runSmokeChecks(base, [check], opts);
    expect(result.checks).toHaveLength(1);
    return { result, check: result.checks[0] };
}

describe("runSmokeChecks", () => {
    it("passes runbook 002's default checks against a healthy app, one request at a time", async () => {
        const result = await runSmokeChecks(`${base}/`, defaultSupabaseChecks, { bearerToken: TOKEN });
        expect(result.checks.filter((c) => c.outcome === "FAIL")).toEqual([]);
        expect(result).toMatchObject({ status: "pass", passed: 5, total: 5 });
        expect(result.checks.map((c) => [c.name, c.status])).toEqual([
            ["GET /api/health", 200],
            ["GET /api/ready", 200],
            ["GET /api/ops/samples", 200],
            ["GET /api/reports/upcoming-reminders", 200],
            ["GET /api/uploads/sign without auth", 403],
        ]);
        expect(result.checks[0].url).toBe(`${base}/api/health`);
        for (const c of result.checks) expect(c.latencyMs).toBeGreaterThanOrEqual(0);
        expect(maxInFlight).toBe(1);
        const report = formatSmokeReport(result);
        expect(report).toMatch(/^PASS GET \/api\/health 200 \d+ms$/m);
        expect(report.trimEnd().split("\n").at(-1)).toBe("passed 5/5");
        expect(report).not.toContain("FAIL");
    });

    it("fails the default checks when the app answers differently", async () => {
        const checks = defaultSupabaseChecks.map((c) => ({ ...c, path: c.path === "/api/health" ? "/echo-auth" : c.path }));
        const result = await runSmokeChecks(base, checks, { bearerToken: TOKEN });
        expect(result.status).toBe("fail");
        expect(result.passed).toBe(4);
        expect(result.checks[0].reason).toContain('JSON "ok" is missing');
    });

    it("fails on a 500, even when expectStatus lists it", async () => {
        const plain = await runOne({ path: "/boom" });
        expect(plain.result.status).toBe("fail");
        expect(plain.check).toMatchObject({ outcome: "FAIL", status: 500 });
        expect(plain.check.reason).toContain("server error 500 (5xx always fails)");
        expect(plain.check.reason).toContain("database exploded");
        const listed = await runOne({ path: "/boom", expectStatus: [200, 500] });
        expect(listed.check.outcome).toBe("FAIL");
    });

    it("names expected and actual status when they differ", async () => {
        const { check } = await runOne({ path: "/not-found", expectStatus: [200, 204] });
        expect(check.reason).toMatch(/^expected status 200 or 204, got 404; body: \{"error":"no such route"\}$/);
    });

    it("fails a response slower than its latency budget", async () => {
        const { check } = await runOne({ path: "/slow", latencyBudgetMs: 50 });
        expect(check).toMatchObject({ outcome: "FAIL", status: 200 });
        expect(check.reason).toMatch(/^took \d+ ms, budget 50 ms$/);
        expect(check.latencyMs).toBeGreaterThanOrEqual(140);
    });

    it("times out a server that never answers, quickly", async () => {
        const started = Date.now();
        const { check } = await runOne({ path: "/never", latencyBudgetMs: 50 }, { timeoutMs: 100 });
        expect(Date.now() - started).toBeLessThan(2000);
        expect(check.outcome).toBe("FAIL");
        expect(check.status).toBeUndefined();
        expect(check.reason).toBe("timed out after 100 ms");
        expect(formatSmokeReport({ status: "fail", passed: 0, total: 1, checks: [check] })).toMatch(/^FAIL GET \/never - \d+ms: timed out after 100 ms$/m);
    });

    it("reports a refused connection", async () => {
        const closed = createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const port = (closed.address() as AddressInfo).port;
        await new Promise<void>((resolve) => closed.close(() => resolve()));
        const result = await runSmokeChecks(undefined, [{ url: `http://127.0.0.1:${port}/api/health` }]);
        expect(result.status).toBe("fail");
        expect(result.checks[0].reason).toMatch(/^request failed: .*ECONNREFUSED/);
    });

    it("passes an auth-enforced check answered with 403, and fails it when the app lets anyone in", async () => {
        const enforced = await runOne({ path: "/api/uploads/sign", expectStatus: [401, 403], auth: false }, { bearerToken: TOKEN });
        expect(enforced.check).toMatchObject({ outcome: "PASS", status: 403 });
        const open = await runOne({ path: "/api/uploads/sign", expectStatus: [401, 403] }, { bearerToken: TOKEN });
        expect(open.check.reason).toContain("expected status 401 or 403, got 200");
    });

    it("checks JSON dotted paths, including array indexes", async () => {
        const ok = await runOne({ path: "/api/health", body: { json: { ok: true, "checks.db": "ok", "items.0.id": 7 } } });
        expect(ok.check.outcome).toBe("PASS");
        const bad = await runOne({ path: "/api/health", body: { json: { "checks.storage": "ok", "checks.queue": "ok", ok: "true" } } });
        expect(bad.check.outcome).toBe("FAIL");
        expect(bad.check.reason).toContain('JSON "checks.storage": expected "ok", got "degraded"');
        expect(bad.check.reason).toContain('JSON "checks.queue" is missing');
        expect(bad.check.reason).toContain('JSON "ok": expected "true", got true');
        const notJson = await runOne({ path: "/api/reports/upcoming-reminders", body: { json: { ok: true } } });
        expect(notJson.check.reason).toMatch(/^body is not JSON; body: /);
    });

    it("checks CSV header columns (quoted cells, BOM, any order)", async () => {
        const ok = await runOne({ path: "/api/reports/upcoming-reminders", body: { csvHeader: ["due_at", "customer, name", "ID"] } });
        expect(ok.check.outcome).toBe("PASS");
        const bad = await runOne({ path: "/api/reports/upcoming-reminders", body: { csvHeader: ["id", "phone", "email"] } });
        expect(bad.check.reason).toContain('CSV header lacks column(s) "phone", "email"');
        expect(bad.check.reason).toContain('(header: id,"customer, name",due_at)');
    });

    it("checks contains and regex predicates", async () => {
        expect((await runOne({ path: "/api/ops/samples", body: { contains: "reminderDeliveryRate", regex: String.raw`"p95Ms":\d+` } })).check.outcome).toBe("PASS");
        const bad = await runOne({ path: "/api/ops/samples", body: { contains: "smsQueueDepth", regex: "^\\[" } });
        expect(bad.check.reason).toContain('body does not contain "smsQueueDepth"');
        expect(bad.check.reason).toContain("body does not match /^\\[/");
        expect(bad.check.reason).toContain('body: {"reminderDeliveryRate":0.98,"p95Ms":120}');
    });

    it("sends the bearer token by default, and not with auth: false", async () => {
        await runSmokeChecks(base, [{ path: "/api/ready" }, { path: "/api/ready", auth: false }], { bearerToken: TOKEN });
        expect(seen.map((s) => s.authorization)).toEqual([`Bearer ${TOKEN}`, undefined]);
        seen.length = 0;
        await runSmokeChecks(base, [{ path: "/api/ready" }]);
        expect(seen[0].authorization).toBeUndefined();
    });

    it("runs checks one at a time", async () => {
        const started = Date.now();
        const result = await runSmokeChecks(base, [{ path: "/slow" }, { path: "/slow" }, { path: "/slow" }]);
        expect(result.status).toBe("pass");
        expect(maxInFlight).toBe(1);
        expect(Date.now() - started).toBeGreaterThanOrEqual(440);
    });

    it("redacts a token that fetch itself rejects (its error message quotes the header)", async () => {
        const badToken = "tok_live_bad\nvalue";
        const result = await runSmokeChecks(base, [{ path: "/api/ready" }], { bearerToken: badToken });
        expect(result.checks[0].outcome).toBe("FAIL");
        expect(result.checks[0].reason).toContain("invalid header value");
        expect(JSON.stringify(result) + formatSmokeReport(result)).not.toContain("tok_live_bad");
        expect(seen).toHaveLength(0);
    });

    it("fails auth: true without a token, without sending anything", async () => {
        const { check } = await runOne({ path: "/api/ready", auth: true });
        expect(check.reason).toBe("auth is true but no bearer token (API_BEARER_TOKEN) was given");
        expect(seen).toHaveLength(0);
    });

    it("never lets the token reach results or the report, even when the server echoes it", async () => {
        const result = await runSmokeChecks(
            base,
            [
                { path: "/echo-auth", body: { contains: "never there" } },
                { path: "/echo-auth", expectStatus: 201 },
                { path: "/echo-late", body: { regex: "^y" } },
                { path: "/echo-json", body: { json: { status: "fine" } } },
                { url: `${base}/echo-auth?token=${TOKEN}`, body: { contains: "never there" } },
            ],
            { bearerToken: TOKEN },
        );
        expect(result.passed).toBe(0);
        const report = formatSmokeReport(result);
        const everything = JSON.stringify(result) + report;
        expect(everything).not.toContain(TOKEN);
        // Nor any long prefix of it (an excerpt cut mid-token).
        expect(everything).not.toContain(TOKEN.slice(0, 8));
        expect(report).toContain('{"youSent":"Bearer ****"}');
        expect(report.split("\n").filter((l) => l.startsWith("FAIL"))).toHaveLength(5);
        const late = result.checks[2].reason ?? "";
        expect(late).toContain(`body: ${"x".repeat(170)} Bearer **** trailing`);
        expect(late).toMatch(/\.\.\.$/);
        expect(result.checks[4].name).toBe(`GET ${base}/echo-auth?token=****`);
    });

    it("redacts sensitive custom header values echoed back", async () => {
        const apikey = "sb_secret_abcdefgh12345678";
        const { check } = await runOne({ path: "/echo-auth", auth: false, headers: { Authorization: `Bearer ${apikey}` }, body: { contains: "nope" } });
        expect(seen[0].authorization).toBe(`Bearer ${apikey}`);
        expect(check.reason).not.toContain(apikey);
    });

    it("is skipped without a base URL when every check is a path check", async () => {
        for (const missing of [undefined, "", "  "]) {
            const result = await runSmokeChecks(missing, defaultSupabaseChecks, { bearerToken: TOKEN });
            expect(result).toEqual({ status: "skipped", passed: 0, total: 5, checks: [] });
            expect(formatSmokeReport(result)).toBe("SKIPPED no base URL (TARGET_API_URL unset), 5 check(s) not run\n");
        }
        expect(seen).toHaveLength(0);
    });

    it("runs absolute-url checks without a base URL and fails the path checks beside them", async () => {
        const result = await runSmokeChecks(undefined, [{ url: `${base}/api/ready` }, { path: "/api/ready" }]);
        expect(result.status).toBe("fail");
        expect(result.checks.map((c) => c.outcome)).toEqual(["PASS", "FAIL"]);
        expect(result.checks[1].reason).toBe("path check needs a base URL (TARGET_API_URL is unset)");
    });

    it("keeps the base URL's own path prefix and rejects a malformed base URL", async () => {
        await runSmokeChecks(`${base}/gateway/`, [{ path: "/api/ready?x=1" }]);
        expect(seen[0].url).toBe("/gateway/api/ready?x=1");
        await expect(runSmokeChecks("not a url", [{ path: "/x" }])).rejects.toThrow(/TARGET_API_URL is not a valid URL/);
        await expect(runSmokeChecks("ftp://h", [{ path: "/x" }])).rejects.toThrow(/must be an http/);
    });

    it("retries a failing check and passes once the app has warmed up", async () => {
        const warmed = await runOne({ path: "/flaky" }, { retries: 3, retryDelayMs: 10 });
        expect(warmed.check).toMatchObject({ outcome: "PASS", status: 200 });
        expect(flakyCalls).toBe(3);
        flakyCalls = 0;
        const gaveUp = await runOne({ path: "/flaky" }, { retries: 1, retryDelayMs: 10 });
        expect(gaveUp.check.reason).toMatch(/^server error 503 .*\(failed 2 attempts\)$/);
        expect(flakyCalls).toBe(2);
    });

    it("does not follow redirects, so 3xx can be expected", async () => {
        expect((await runOne({ path: "/redirect", expectStatus: 302 })).check.outcome).toBe("PASS");
        expect((await runOne({ path: "/redirect" })).check.reason).toMatch(/got 302/);
        expect(seen.map((s) => s.url)).toEqual(["/redirect", "/redirect"]);
    });

    it("reads at most 1 MiB of a body: enough for a CSV header, not for a JSON verdict", async () => {
        expect((await runOne({ path: "/huge", body: { csvHeader: ["id", "due_at"] } })).check.outcome).toBe("PASS");
        const asJson = await runOne({ path: "/huge", body: { json: { ok: true } } });
        expect(asJson.check.reason).toMatch(/^body is too large to check as JSON; body: id,customer,due_at/);
    });

    it("sends requestBody as JSON with the given method", async () => {
        const { check } = await runOne({ method: "POST", path: "/echo-body", requestBody: { probe: 1 }, body: { json: { got: '{"probe":1}' } } });
        expect(check).toMatchObject({ outcome: "PASS", method: "POST", name: "POST /echo-body" });
        expect(seen[0]).toMatchObject({ method: "POST", contentType: "application/json" });
    });
});
