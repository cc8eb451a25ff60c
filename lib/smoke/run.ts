// Runs smoke checks against the restored environment's API (runbook 002 "Smoke Test Procedures",
// runbook 003 smoke report). Checks run one after another so a check's latency is its own and not
// the cost of sharing the server with its siblings.
import { redact } from "../redact";
import { checkMethod, checkName, expectedStatuses, latencyBudget, type SmokeCheck } from "./checks";
import { excerpt } from "./excerpt";
import { timedRequest } from "./http";
import { bodyFailures } from "./predicates";

export interface SmokeRunOptions {
    /** API_BEARER_TOKEN; sent to checks whose auth is true (the default when a token is given). */
    bearerToken?: string;
    /**
     * The key of the API at the base URL: a restored Supabase project's anon or service_role key.
     * Its gateway wants it as `apikey` on every request, so it goes with every path check; and, when
     * it is a (legacy) JWT, as `Authorization: Bearer` too (what supabase-js sends) unless the check
     * says auth: false or a bearer token applies. Never sent with absolute-url checks: those may
     * point anywhere else.
     */
    apiKey?: string;
    /** Hard timeout per request; default max(latencyBudgetMs * 2, 5000). */
    timeoutMs?: number;
    /** Extra attempts for a failing check (a freshly restored app may still be warming up); default 0. */
    retries?: number;
    /** Pause before each retry; default 1000. */
    retryDelayMs?: number;
}

export interface SmokeCheckResult {
    name: string;
    method: string;
    url: string;
    status?: number;
    latencyMs?: number;
    outcome: "PASS" | "FAIL";
    reason?: string;
}

export interface SmokeResult {
    status: "pass" | "fail" | "skipped";
    passed: number;
    total: number;
    checks: SmokeCheckResult[];
}

const MIN_TIMEOUT_MS = 5000;
// Values of these headers are treated as secrets too: a server echoing them must not leak them.
const SENSITIVE_HEADER = /authorization|cookie|apikey|api-key|token|secret|password/i;

/**
 * Without a base URL, path checks cannot run: when every check is a path check the smoke step is
 * "skipped" (runbook 003: optional while TARGET_API_URL is unset). Throws only for a malformed base URL.
 */
export async function runSmokeChecks(
    baseUrl: string | undefined,
    checks: readonly SmokeCheck[],
    opts: SmokeRunOptions = {},
): Promise<SmokeResult> {
    const base = normalizeBaseUrl(baseUrl);
    if (checks.length === 0 || (base === undefined && checks.every((check) => check.url === undefined))) {
        return { status: "skipped", passed: 0, total: checks.length, checks: [] };
    }
    const results: SmokeCheckResult[] = [];
    for (const check of checks) {
        results.push(await runWithRetries(check, base, opts));
    }
    const passed = results.filter((r) => r.outcome === "PASS").length;
    return { status: passed === results.length ? "pass" : "fail", passed, total: results.length, checks: results };
}

function normalizeBaseUrl(baseUrl: string | undefined): string | undefined {
    const trimmed = baseUrl?.trim();
    if (!trimmed) return undefined;
    let url: URL;
    try {
        url = new URL(trimmed);
    } catch {
        throw new Error(`TARGET_API_URL is not a valid URL (expected e.g. https://staging.example.com): ${redact(trimmed)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new Error(`TARGET_API_URL must be an http:// or https:// URL (got ${url.protocol}//)`);
    }
    // Keep the base's own path (e.g. an API gateway prefix): "/api/health" is appended to it, not
    // resolved against the origin as new URL(path, base) would do.
    return trimmed.replace(/\/+$/, "");
}

async function runWithRetries(check: SmokeCheck, base: string | undefined, opts: SmokeRunOptions): Promise<SmokeCheckResult> {
    const retries = Math.max(0, Math.floor(opts.retries ?? 0));
    const secrets = secretsOf(check, opts.bearerToken, opts.apiKey);
    let attempt = await runOnce(check, base, opts, secrets);
    let attempts = 1;
    while (attempt.retryable && attempt.result.outcome === "FAIL" && attempts <= retries) {
        await sleep(opts.retryDelayMs ?? 1000);
        attempt = await runOnce(check, base, opts, secrets);
        attempts++;
    }
    const result = attempt.result;
    if (result.outcome === "FAIL" && attempts > 1) result.reason = `${result.reason} (failed ${attempts} attempts)`;
    return result;
}

interface Attempt {
    result: SmokeCheckResult;
    /** Configuration problems fail the same way every time: not worth another attempt. */
    retryable: boolean;
}

async function runOnce(check: SmokeCheck, base: string | undefined, opts: SmokeRunOptions, secrets: string[]): Promise<Attempt> {
    const method = checkMethod(check);
    const url = targetUrl(check, base);
    const finish = (fields: Partial<SmokeCheckResult> & Pick<SmokeCheckResult, "outcome">): SmokeCheckResult => {
        const clean: SmokeCheckResult = { name: redact(checkName(check), secrets), method, url: redact(url ?? check.path ?? "", secrets), ...fields };
        if (clean.reason !== undefined) clean.reason = redact(clean.reason, secrets);
        return clean;
    };
    if ((check.url === undefined) === (check.path === undefined)) {
        return { result: finish({ outcome: "FAIL", reason: "expected exactly one of url or path" }), retryable: false };
    }
    if (url === undefined) {
        return { result: finish({ outcome: "FAIL", reason: "path check needs a base URL (TARGET_API_URL is unset)" }), retryable: false };
    }
    const useAuth = check.auth ?? Boolean(opts.bearerToken);
    if (useAuth && !opts.bearerToken) {
        return { result: finish({ outcome: "FAIL", reason: "auth is true but no bearer token (API_BEARER_TOKEN) was given" }), retryable: false };
    }

    const budget = latencyBudget(check);
    const timeoutMs = opts.timeoutMs ?? Math.max(budget * 2, MIN_TIMEOUT_MS);
    try {
        const projectKey = check.path !== undefined ? opts.apiKey : undefined;
        const bearer = (useAuth ? opts.bearerToken : undefined) ?? (projectKey !== undefined && check.auth !== false && isJwt(projectKey) ? projectKey : undefined);
        const response = await timedRequest({ method, url, headers: requestHeaders(check, bearer, projectKey), body: requestBody(check), timeoutMs });
        const reasons: string[] = [];
        if (response.error !== undefined || response.status === undefined) {
            reasons.push(response.error ?? "no response");
        } else {
            reasons.push(...statusAndBodyFailures(check, response.status, response.body, response.truncated, secrets));
            if (response.latencyMs > budget) reasons.push(`took ${response.latencyMs} ms, budget ${budget} ms`);
        }
        return {
            result: finish({
                status: response.status,
                latencyMs: response.latencyMs,
                outcome: reasons.length === 0 ? "PASS" : "FAIL",
                reason: reasons.length === 0 ? undefined : reasons.join("; "),
            }),
            retryable: true,
        };
    } catch (err) {
        // e.g. fetch rejecting a header value before sending: report it as this check's failure.
        return { result: finish({ outcome: "FAIL", reason: `could not run: ${err instanceof Error ? err.message : String(err)}` }), retryable: false };
    }
}

function statusAndBodyFailures(check: SmokeCheck, status: number, body: string, truncated: boolean, secrets: string[]): string[] {
    const shownBody = body === "" ? "(empty body)" : `body: ${excerpt(body, secrets)}`;
    // Runbook 002 pass criteria: "No 5xx server errors" — a 5xx fails even if expectStatus lists it.
    if (status >= 500) return [`server error ${status} (5xx always fails); ${shownBody}`];
    const expected = expectedStatuses(check);
    if (!expected.includes(status)) {
        // The body of an unexpected status rarely satisfies the predicates: the status is the news.
        return [`expected status ${expected.join(" or ")}, got ${status}; ${shownBody}`];
    }
    const failures = bodyFailures(check.body, body, truncated, secrets);
    return failures.length === 0 ? [] : [...failures, shownBody];
}

function targetUrl(check: SmokeCheck, base: string | undefined): string | undefined {
    if (check.url !== undefined) return check.url;
    if (check.path === undefined || base === undefined) return undefined;
    return base + (check.path.startsWith("/") ? check.path : `/${check.path}`);
}

function requestHeaders(check: SmokeCheck, bearerToken: string | undefined, apiKey: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { ...check.headers };
    if (apiKey !== undefined) {
        // The base URL is the restored project, created for this drill: a configured apikey cannot be its key.
        for (const name of Object.keys(headers)) {
            if (name.toLowerCase() === "apikey") delete headers[name];
        }
        headers.apikey = apiKey;
    }
    if (check.requestBody !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
        headers["content-type"] = "application/json";
    }
    if (bearerToken !== undefined) {
        for (const name of Object.keys(headers)) {
            if (name.toLowerCase() === "authorization") delete headers[name];
        }
        headers.authorization = `Bearer ${bearerToken}`;
    }
    return headers;
}

function requestBody(check: SmokeCheck): string | undefined {
    return check.requestBody === undefined ? undefined : JSON.stringify(check.requestBody);
}

function secretsOf(check: SmokeCheck, bearerToken: string | undefined, apiKey: string | undefined): string[] {
    // "Bearer abc": a server may echo the credential without its scheme.
    const headerSecrets = Object.entries(check.headers ?? {})
        .filter(([name]) => SENSITIVE_HEADER.test(name))
        .flatMap(([, value]) => [value, value.replace(/^(bearer|basic|token)\s+/i, "")]);
    return [bearerToken, apiKey, ...headerSecrets].filter((s): s is string => typeof s === "string" && s !== "");
}

/**
 * A JWT (header.payload.signature, the header JSON starting `{"` → "eyJ"): Supabase's legacy anon
 * and service_role keys. The newer sb_publishable_/sb_secret_ keys are not JWTs and go in `apikey`
 * only; the gateway derives the role from them (supabase/cli's kong template drops a "Bearer sb_…").
 */
export function isJwt(value: string): boolean {
    return /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(value);
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
