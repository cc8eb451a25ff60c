// Validation of smoke-check configuration (JSON). Every problem is collected and reported at once,
// each naming the check index, the field and the expected form, so one edit fixes the config.
// Header values are never echoed: they may carry API keys.
import type { SmokeBodyPredicate, SmokeCheck } from "./checks";

const CHECK_FIELDS = ["name", "method", "url", "path", "expectStatus", "body", "latencyBudgetMs", "auth", "headers", "requestBody"];
const BODY_FIELDS = ["contains", "json", "regex", "csvHeader"];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// fetch refuses these methods outright.
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

type JsonObject = Record<string, unknown>;

/**
 * Accepts an array of checks, {"checks": [...]}, or the same as JSON text; returns the checks with
 * the method upper-cased. Throws one Error listing every problem.
 */
export function parseSmokeChecks(input: unknown): SmokeCheck[] {
    const list = unwrap(input);
    const problems: string[] = [];
    const checks = list.map((raw, index) => parseCheck(raw, `checks[${index}]`, problems));
    if (problems.length > 0) {
        throw new Error(`invalid smoke checks:\n  - ${problems.join("\n  - ")}`);
    }
    return checks;
}

function unwrap(input: unknown): unknown[] {
    let value = input;
    if (typeof value === "string") {
        try {
            value = JSON.parse(value);
        } catch (err) {
            // V8's message quotes the text around the error, which may hold a header secret: keep the position only.
            const position = /position (\d+)/.exec(err instanceof Error ? err.message : "");
            throw new Error(`smoke checks are not valid JSON${position ? ` (error at position ${position[1]})` : ""}`);
        }
    }
    if (isObject(value) && "checks" in value) value = value.checks;
    if (!Array.isArray(value)) {
        throw new Error(`smoke checks: expected an array of checks or {"checks": [...]}, got ${kind(value)}`);
    }
    if (value.length === 0) throw new Error("smoke checks: expected at least one check, got an empty list");
    return value;
}

function parseCheck(raw: unknown, at: string, problems: string[]): SmokeCheck {
    if (!isObject(raw)) {
        problems.push(`${at}: expected an object, got ${kind(raw)}`);
        return {};
    }
    for (const key of Object.keys(raw)) {
        if (!CHECK_FIELDS.includes(key)) problems.push(`${at}.${key}: unknown field (allowed: ${CHECK_FIELDS.join(", ")})`);
    }
    const check: SmokeCheck = {};

    if (raw.name !== undefined) {
        if (typeof raw.name === "string" && raw.name.trim() !== "") check.name = raw.name;
        else problems.push(`${at}.name: expected a non-empty string, got ${show(raw.name)}`);
    }

    if (raw.method !== undefined) {
        const method = typeof raw.method === "string" ? raw.method.toUpperCase() : "";
        if (!/^[A-Z]+$/.test(method)) problems.push(`${at}.method: expected an HTTP method such as "GET" or "POST", got ${show(raw.method)}`);
        else if (FORBIDDEN_METHODS.has(method)) problems.push(`${at}.method: ${method} cannot be sent with fetch`);
        else check.method = method;
    }

    parseTarget(raw, at, problems, check);

    if (raw.expectStatus !== undefined) {
        const statuses = Array.isArray(raw.expectStatus) ? raw.expectStatus : [raw.expectStatus];
        const valid = statuses.length > 0 && statuses.every((s) => Number.isInteger(s) && (s as number) >= 100 && (s as number) <= 599);
        if (!valid) {
            problems.push(`${at}.expectStatus: expected an HTTP status (integer 100-499) or a non-empty array of them, got ${show(raw.expectStatus)}`);
        } else if (statuses.some((s) => (s as number) >= 500)) {
            problems.push(`${at}.expectStatus: a 5xx can never pass (runbook 002: "No 5xx server errors"), got ${show(raw.expectStatus)}`);
        } else {
            check.expectStatus = Array.isArray(raw.expectStatus) ? (statuses as number[]) : (raw.expectStatus as number);
        }
    }

    if (raw.body !== undefined) {
        const body = parseBody(raw.body, `${at}.body`, problems);
        if (body) check.body = body;
    }

    if (raw.latencyBudgetMs !== undefined) {
        const budget = raw.latencyBudgetMs;
        if (typeof budget === "number" && Number.isFinite(budget) && budget > 0) check.latencyBudgetMs = budget;
        else problems.push(`${at}.latencyBudgetMs: expected a positive number of milliseconds, got ${show(budget)}`);
    }

    if (raw.auth !== undefined) {
        if (typeof raw.auth === "boolean") check.auth = raw.auth;
        else problems.push(`${at}.auth: expected true or false, got ${show(raw.auth)}`);
    }

    if (raw.headers !== undefined) {
        const headers = parseHeaders(raw.headers, `${at}.headers`, check.auth, problems);
        if (headers) check.headers = headers;
    }

    if (raw.requestBody !== undefined) {
        const method = check.method ?? "GET";
        if (method === "GET" || method === "HEAD") problems.push(`${at}.requestBody: not allowed with ${method} (use POST, PUT or PATCH)`);
        else check.requestBody = raw.requestBody;
    }
    return check;
}

function parseTarget(raw: JsonObject, at: string, problems: string[], check: SmokeCheck): void {
    if ((raw.url === undefined) === (raw.path === undefined)) {
        problems.push(`${at}: expected exactly one of "url" (absolute http(s) URL) or "path" (starting with "/", joined to TARGET_API_URL)`);
        return;
    }
    if (raw.url !== undefined) {
        if (typeof raw.url === "string" && isHttpUrl(raw.url)) check.url = raw.url;
        else problems.push(`${at}.url: expected an absolute http:// or https:// URL, got ${show(raw.url)}`);
        return;
    }
    const path = raw.path;
    if (typeof path === "string" && path.startsWith("/") && !path.startsWith("//") && !/\s/.test(path)) check.path = path;
    else problems.push(`${at}.path: expected a path starting with "/" (e.g. "/api/health"), got ${show(path)}`);
}

function parseBody(raw: unknown, at: string, problems: string[]): SmokeBodyPredicate | undefined {
    if (!isObject(raw)) {
        problems.push(`${at}: expected an object with contains, json, regex or csvHeader, got ${kind(raw)}`);
        return undefined;
    }
    const keys = Object.keys(raw);
    for (const key of keys) {
        if (!BODY_FIELDS.includes(key)) problems.push(`${at}.${key}: unknown predicate (allowed: ${BODY_FIELDS.join(", ")})`);
    }
    if (!keys.some((key) => BODY_FIELDS.includes(key))) {
        problems.push(`${at}: expected at least one of ${BODY_FIELDS.join(", ")}`);
    }
    const body: SmokeBodyPredicate = {};
    if (raw.contains !== undefined) {
        if (typeof raw.contains === "string" && raw.contains !== "") body.contains = raw.contains;
        else problems.push(`${at}.contains: expected a non-empty string, got ${show(raw.contains)}`);
    }
    if (raw.json !== undefined) {
        const json = raw.json;
        const paths = isObject(json) ? Object.keys(json) : [];
        if (!isObject(json) || paths.length === 0) {
            problems.push(`${at}.json: expected an object of dotted path → expected value, e.g. {"ok": true, "checks.db": "ok"}, got ${show(json)}`);
        } else {
            const bad = paths.filter((p) => p.split(".").some((segment) => segment === ""));
            if (bad.length > 0) problems.push(`${at}.json: empty segment in dotted path ${bad.map((p) => JSON.stringify(p)).join(", ")}`);
            else body.json = json;
        }
    }
    if (raw.regex !== undefined) {
        if (typeof raw.regex !== "string" || raw.regex === "") {
            problems.push(`${at}.regex: expected a non-empty regular expression string, got ${show(raw.regex)}`);
        } else {
            try {
                new RegExp(raw.regex);
                body.regex = raw.regex;
            } catch (err) {
                problems.push(`${at}.regex: not a valid JavaScript regular expression (${(err as Error).message})`);
            }
        }
    }
    if (raw.csvHeader !== undefined) {
        const columns = raw.csvHeader;
        if (Array.isArray(columns) && columns.length > 0 && columns.every((c) => typeof c === "string" && c.trim() !== "")) {
            body.csvHeader = columns as string[];
        } else {
            problems.push(`${at}.csvHeader: expected a non-empty array of column names, got ${show(columns)}`);
        }
    }
    return body;
}

function parseHeaders(raw: unknown, at: string, auth: boolean | undefined, problems: string[]): Record<string, string> | undefined {
    if (!isObject(raw)) {
        problems.push(`${at}: expected an object of header name → string value, got ${kind(raw)}`);
        return undefined;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw)) {
        if (!HEADER_NAME.test(name)) problems.push(`${at}: ${JSON.stringify(name)} is not a valid header name`);
        else if (typeof value !== "string") problems.push(`${at}.${name}: expected a string value, got ${kind(value)}`);
        else if (name.toLowerCase() === "authorization" && auth !== false) {
            // Otherwise the bearer token would silently replace it, or a token would live in the config.
            problems.push(`${at}.${name}: only allowed with "auth": false; the bearer token comes from API_BEARER_TOKEN`);
        } else headers[name] = value;
    }
    return headers;
}

function isObject(value: unknown): value is JsonObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isHttpUrl(text: string): boolean {
    try {
        const url = new URL(text);
        return url.protocol === "http:" || url.protocol === "https:";
    } catch {
        return false;
    }
}

function kind(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "an array";
    return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Short primitives verbatim (they help the fix), containers by kind only. */
function show(value: unknown): string {
    if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
    if (Array.isArray(value) && value.every((v) => typeof v !== "object" || v === null) && value.length <= 5) {
        return JSON.stringify(value);
    }
    return kind(value);
}
