// When and how long to wait before retrying a Management API call. Pure functions (no I/O, no
// clock of their own) so the bounds are unit-tested and the client's sleeps stay injectable.
//
// Supabase documents 120 requests per minute per user and project/organization, answered with
// 429 and `X-RateLimit-Reset` (seconds until the window resets); `Retry-After` is honoured too
// since proxies in front of the API may add it.
import { redact } from "../redact";

export interface RetryPolicy {
    /** Attempts per call, the first included. */
    maxAttempts: number;
    /** First backoff step for 5xx and network failures; doubles each attempt. */
    baseDelayMs: number;
    /** Cap of one backoff step. */
    maxDelayMs: number;
    /** Longest rate-limit wait we accept from the headers; longer asks fail instead of stalling. */
    maxRateLimitWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
    maxAttempts: 5,
    baseDelayMs: 1_000,
    maxDelayMs: 30_000,
    maxRateLimitWaitMs: 120_000,
};

/** The part of `Headers` we read (a plain object works in tests). */
export interface HeaderLookup {
    get(name: string): string | null;
}

/** What went wrong with one attempt: an HTTP status, or a failure before any response. */
export interface AttemptFailure {
    status?: number;
    headers?: HeaderLookup;
    /** Connection refused/reset, DNS, or our per-request timeout: no response at all. */
    network?: boolean;
}

export type RetryDecision =
    | { retry: true; delayMs: number; reason: string }
    | { retry: false; reason: string };

/** `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). Milliseconds to wait, or undefined. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
    if (value === null || value === undefined) return undefined;
    const text = value.trim();
    if (text === "") return undefined;
    if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
    // HTTP-dates name the day and month ("Sun, 06 Nov 1994 08:49:37 GMT"); Date.parse alone
    // would also accept things like "-3" as a year.
    if (!/^[A-Za-z]{3},? /.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    return Math.max(0, at - nowMs);
}

/**
 * `X-RateLimit-Reset`: Supabase sends the seconds remaining in the window. Some gateways send an
 * epoch instead, so large values are read as epoch seconds (≥ 1e9) or epoch milliseconds (≥ 1e12).
 */
export function parseRateLimitReset(value: string | null | undefined, nowMs: number): number | undefined {
    if (value === null || value === undefined) return undefined;
    const text = value.trim();
    if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
    const n = Number(text);
    if (n >= 1e12) return Math.max(0, Math.ceil(n - nowMs));
    if (n >= 1e9) return Math.max(0, Math.ceil(n * 1000 - nowMs));
    return Math.ceil(n * 1000);
}

/** The wait a 429 asks for: the longer of the two headers, or undefined when neither is usable. */
export function rateLimitWaitMs(headers: HeaderLookup | undefined, nowMs: number): number | undefined {
    if (!headers) return undefined;
    const waits = [parseRetryAfter(headers.get("retry-after"), nowMs), parseRateLimitReset(headers.get("x-ratelimit-reset"), nowMs)]
        .filter((w): w is number => w !== undefined);
    return waits.length === 0 ? undefined : Math.max(...waits);
}

/**
 * Backoff after failed attempt number `attempt` (1-based): base·2^(attempt-1), capped, with "equal
 * jitter" (half fixed, half random) so parallel drills do not retry in lockstep.
 * Always within [step/2, step].
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
    const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
    const r = Math.min(1, Math.max(0, random()));
    return Math.round(step / 2 + (step / 2) * r);
}

/** Whether to retry after `attempt` (1-based) failed, and how long to wait first. */
export function decideRetry(
    failure: AttemptFailure,
    attempt: number,
    policy: RetryPolicy,
    nowMs: number,
    random: () => number = Math.random,
): RetryDecision {
    const { status } = failure;
    const transient = failure.network === true || status === 429 || (status !== undefined && status >= 500);
    if (!transient) return { retry: false, reason: `HTTP ${status} is not retryable` };
    if (attempt >= policy.maxAttempts) {
        return { retry: false, reason: `gave up after ${attempt} attempts` };
    }
    if (status === 429) {
        const asked = rateLimitWaitMs(failure.headers, nowMs);
        if (asked === undefined) {
            return { retry: true, delayMs: backoffDelayMs(attempt, policy, random), reason: "rate limited (no reset header): backing off" };
        }
        if (asked > policy.maxRateLimitWaitMs) {
            return {
                retry: false,
                reason: `rate limited; the API asks to wait ${formatDuration(asked)}, more than the ${formatDuration(policy.maxRateLimitWaitMs)} bound`,
            };
        }
        return { retry: true, delayMs: asked, reason: `rate limited: waiting ${formatDuration(asked)} as the rate-limit headers ask` };
    }
    const what = failure.network ? "no response" : `HTTP ${status}`;
    const delayMs = backoffDelayMs(attempt, policy, random);
    return { retry: true, delayMs, reason: `${what}: retrying in ${formatDuration(delayMs)}` };
}

/** "10 min", "90 s", "250 ms": whole units only, so messages stay readable. */
export function formatDuration(ms: number): string {
    if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
    if (ms >= 1_000 && ms % 1_000 === 0) return `${ms / 1_000} s`;
    if (ms >= 1_000) return `${(ms / 1_000).toFixed(1)} s`;
    return `${Math.round(ms)} ms`;
}

/** The timeout message of a project that never got ready. */
export function readinessTimeoutMessage(ref: string, timeoutMs: number, lastStatus: string, detail?: string): string {
    const base = `project ${ref} did not become ACTIVE_HEALTHY within ${formatDuration(timeoutMs)}; last status ${lastStatus}`;
    return detail ? `${base} (${detail})` : base;
}

/** The API's own message from an error body ({message}, {error}, {msg}) or a short text body. */
export function apiMessageOf(data: unknown): string | undefined {
    if (typeof data === "string") {
        const text = data.trim();
        return text === "" ? undefined : text.slice(0, 300);
    }
    if (data && typeof data === "object") {
        for (const key of ["message", "error", "msg"]) {
            const v = (data as Record<string, unknown>)[key];
            if (typeof v === "string" && v.trim() !== "") return v.trim().slice(0, 300);
        }
    }
    return undefined;
}

/** One line for a failed call, redacted: the access token and passwords never reach a log or state. */
export function apiFailureMessage(
    operation: string,
    failure: { status?: number; apiMessage?: string; cause?: string },
    secrets: Iterable<string | undefined>,
    attempts?: number,
): string {
    const what = failure.status !== undefined ? `HTTP ${failure.status}` : "no response";
    const detail = failure.apiMessage ?? failure.cause;
    const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : "";
    return redact(`Supabase Management API ${operation} failed${tries} (${what})${detail ? `: ${detail}` : ""}`, secrets);
}
