// The Management API retry policy: rate-limit header parsing, backoff bounds, which failures are
// retried, the readiness timeout message, and redaction of failure messages.
import { describe, expect, it } from "vitest";
import {
    DEFAULT_RETRY_POLICY,
    apiFailureMessage,
    apiMessageOf,
    backoffDelayMs,
    decideRetry,
    formatDuration,
    parseRateLimitReset,
    parseRetryAfter,
    rateLimitWaitMs,
    readinessTimeoutMessage,
    type RetryPolicy,
} from "../../lib/supabase/retryPolicy";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 8_000, maxRateLimitWaitMs: 60_000 };

describe("Retry-After", () => {
    it("reads delta-seconds", () => {
        expect(parseRetryAfter("2", NOW)).toBe(2_000);
        expect(parseRetryAfter(" 1.5 ", NOW)).toBe(1_500);
        expect(parseRetryAfter("0", NOW)).toBe(0);
    });
    it("reads an HTTP-date, in the past meaning no wait", () => {
        expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000);
        expect(parseRetryAfter(new Date(NOW - 30_000).toUTCString(), NOW)).toBe(0);
    });
    it("ignores absent and malformed values", () => {
        expect(parseRetryAfter(null, NOW)).toBeUndefined();
        expect(parseRetryAfter("", NOW)).toBeUndefined();
        expect(parseRetryAfter("soon", NOW)).toBeUndefined();
        expect(parseRetryAfter("-3", NOW)).toBeUndefined();
    });
});

describe("X-RateLimit-Reset", () => {
    it("reads seconds remaining, as Supabase sends it", () => {
        expect(parseRateLimitReset("42", NOW)).toBe(42_000);
    });
    it("reads an epoch in seconds or milliseconds", () => {
        expect(parseRateLimitReset(String(NOW / 1000 + 20), NOW)).toBe(20_000);
        expect(parseRateLimitReset(String(NOW + 7_000), NOW)).toBe(7_000);
        expect(parseRateLimitReset(String(NOW / 1000 - 5), NOW)).toBe(0);
    });
    it("ignores malformed values", () => {
        expect(parseRateLimitReset("tomorrow", NOW)).toBeUndefined();
        expect(parseRateLimitReset(undefined, NOW)).toBeUndefined();
    });
    it("takes the longer of both headers, read case-insensitively", () => {
        const headers = new Headers({ "Retry-After": "3", "X-RateLimit-Reset": "10" });
        expect(rateLimitWaitMs(headers, NOW)).toBe(10_000);
        expect(rateLimitWaitMs(new Headers({ "retry-after": "4" }), NOW)).toBe(4_000);
        expect(rateLimitWaitMs(new Headers({}), NOW)).toBeUndefined();
        expect(rateLimitWaitMs(undefined, NOW)).toBeUndefined();
    });
});

describe("backoff", () => {
    it("doubles per attempt, stays within [step/2, step] and never exceeds the cap", () => {
        for (let attempt = 1; attempt <= 12; attempt++) {
            const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
            const low = backoffDelayMs(attempt, policy, () => 0);
            const high = backoffDelayMs(attempt, policy, () => 1);
            expect(low).toBe(step / 2);
            expect(high).toBe(step);
            expect(high).toBeLessThanOrEqual(policy.maxDelayMs);
        }
        expect(backoffDelayMs(1, policy, () => 0.5)).toBe(750);
        expect(backoffDelayMs(3, policy, () => 1)).toBe(4_000);
        expect(backoffDelayMs(30, policy, () => 1)).toBe(8_000);
    });
});

describe("decideRetry", () => {
    it("waits as long as the 429 headers ask", () => {
        const d = decideRetry({ status: 429, headers: new Headers({ "Retry-After": "7" }) }, 1, policy, NOW);
        expect(d).toMatchObject({ retry: true, delayMs: 7_000 });
        const reset = decideRetry({ status: 429, headers: new Headers({ "X-RateLimit-Reset": "12" }) }, 2, policy, NOW);
        expect(reset).toMatchObject({ retry: true, delayMs: 12_000 });
    });
    it("backs off on a 429 without usable headers", () => {
        const d = decideRetry({ status: 429, headers: new Headers({}) }, 2, policy, NOW, () => 1);
        expect(d).toMatchObject({ retry: true, delayMs: 2_000 });
    });
    it("refuses a rate-limit wait beyond the bound instead of stalling", () => {
        const d = decideRetry({ status: 429, headers: new Headers({ "Retry-After": "3600" }) }, 1, policy, NOW);
        expect(d.retry).toBe(false);
        expect(d.reason).toBe("rate limited; the API asks to wait 60 min, more than the 1 min bound");
    });
    it("retries 5xx and network failures with backoff, up to maxAttempts", () => {
        for (const failure of [{ status: 500 }, { status: 503 }, { network: true }]) {
            for (let attempt = 1; attempt < policy.maxAttempts; attempt++) {
                const d = decideRetry(failure, attempt, policy, NOW, () => 0);
                expect(d).toMatchObject({ retry: true, delayMs: Math.min(8_000, 1_000 * 2 ** (attempt - 1)) / 2 });
            }
            const last = decideRetry(failure, policy.maxAttempts, policy, NOW);
            expect(last).toEqual({ retry: false, reason: "gave up after 5 attempts" });
        }
    });
    it("never retries other 4xx", () => {
        for (const status of [400, 401, 403, 404, 409, 422]) {
            expect(decideRetry({ status }, 1, policy, NOW).retry).toBe(false);
        }
    });
    it("uses 5 attempts by default", () => {
        expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(5);
    });
});

describe("messages", () => {
    it("names the ref, the timeout and the last status", () => {
        expect(readinessTimeoutMessage("abcdefghijklmnopqrst", 600_000, "COMING_UP")).toBe(
            "project abcdefghijklmnopqrst did not become ACTIVE_HEALTHY within 10 min; last status COMING_UP",
        );
        expect(readinessTimeoutMessage("r", 90_000, "ACTIVE_HEALTHY", "services not healthy yet: rest COMING_UP")).toBe(
            "project r did not become ACTIVE_HEALTHY within 90 s; last status ACTIVE_HEALTHY (services not healthy yet: rest COMING_UP)",
        );
    });
    it("formats durations in whole units", () => {
        expect(formatDuration(600_000)).toBe("10 min");
        expect(formatDuration(45_000)).toBe("45 s");
        expect(formatDuration(1_500)).toBe("1.5 s");
        expect(formatDuration(250)).toBe("250 ms");
    });
    it("extracts the API's own message", () => {
        expect(apiMessageOf({ message: "Project not found" })).toBe("Project not found");
        expect(apiMessageOf({ error: "bad" })).toBe("bad");
        expect(apiMessageOf("plain text")).toBe("plain text");
        expect(apiMessageOf(undefined)).toBeUndefined();
        expect(apiMessageOf({})).toBeUndefined();
    });
    it("redacts the access token and the database password from failure messages", () => {
        const token = "sbp_0123456789abcdef0123456789abcdef";
        const password = "Zx9-very_secret-Password";
        const msg = apiFailureMessage(
            "createAProject",
            { status: 400, apiMessage: `token ${token} rejected; db_pass ${password} postgresql://postgres:${password}@h:5432/postgres` },
            [token, password],
            1,
        );
        expect(msg).toMatch(/^Supabase Management API createAProject failed \(HTTP 400\): token \*\*\*\* rejected/);
        expect(msg).not.toContain(token);
        expect(msg).not.toContain(password);
        expect(apiFailureMessage("getProject", { status: 503 }, [], 5)).toBe("Supabase Management API getProject failed after 5 attempts (HTTP 503)");
    });
});
