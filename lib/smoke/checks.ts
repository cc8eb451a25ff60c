// What an HTTP smoke check is, its defaults, and the checks runbook 002 prescribes for the
// restored application ("Smoke Test Procedures" → "Test Coverage").

export interface SmokeBodyPredicate {
    /** A substring the body must contain. */
    contains?: string;
    /** Dotted path → expected JSON value, e.g. {"ok": true, "checks.db": "ok"}; numeric segments index arrays. */
    json?: Record<string, unknown>;
    /** A JavaScript regular expression (source only, no flags) the body must match. */
    regex?: string;
    /** Columns the first CSV line must include, in any order; extra columns are allowed. */
    csvHeader?: string[];
}

export interface SmokeCheck {
    /** Default: "<METHOD> <path or url>". */
    name?: string;
    /** Default GET. */
    method?: string;
    /** Exactly one of url (absolute) and path (joined to the base URL, TARGET_API_URL). */
    url?: string;
    path?: string;
    /** Default 200. A 5xx never passes, even when listed here. */
    expectStatus?: number | number[];
    body?: SmokeBodyPredicate;
    /** Default 2000 (runbook 002: "Response times < 2 seconds for all endpoints"). */
    latencyBudgetMs?: number;
    /**
     * Send "Authorization: Bearer <API_BEARER_TOKEN>". Default: true when a token is given. false
     * sends no Authorization header at all (against a Supabase project its `apikey` still goes: the
     * gateway needs it on every request).
     */
    auth?: boolean;
    headers?: Record<string, string>;
    /** Sent as JSON. */
    requestBody?: unknown;
}

export const DEFAULT_LATENCY_BUDGET_MS = 2000;
export const DEFAULT_EXPECT_STATUS = 200;

export function checkMethod(check: SmokeCheck): string {
    return (check.method ?? "GET").toUpperCase();
}

export function checkName(check: SmokeCheck): string {
    return check.name ?? `${checkMethod(check)} ${check.path ?? check.url ?? "?"}`;
}

export function expectedStatuses(check: SmokeCheck): number[] {
    const expected = check.expectStatus ?? DEFAULT_EXPECT_STATUS;
    return Array.isArray(expected) ? expected : [expected];
}

export function latencyBudget(check: SmokeCheck): number {
    return check.latencyBudgetMs ?? DEFAULT_LATENCY_BUDGET_MS;
}

// "Numeric metrics": at least one JSON field whose value is a number.
const NUMERIC_FIELD = String.raw`"[^"]+"\s*:\s*-?\d`;
// "CSV headers": the first line holds at least two comma-separated names and is not JSON or HTML
// (an error page served with 200 must not pass). The column names are the application's business,
// so callers who know them should add a csvHeader predicate.
const CSV_HEADER_LINE = String.raw`^\uFEFF?(?![\s{\[<])[^\r\n,]+(,[^\r\n,]+)+\r?(\n|$)`;

export const defaultSupabaseChecks: SmokeCheck[] = [
    { path: "/api/health", expectStatus: 200, body: { json: { ok: true } } },
    // Readiness answers 503 while the database is unreachable, so the status alone proves connectivity.
    { path: "/api/ready", expectStatus: 200 },
    { path: "/api/ops/samples", expectStatus: 200, body: { regex: NUMERIC_FIELD } },
    { path: "/api/reports/upcoming-reminders", expectStatus: 200, body: { regex: CSV_HEADER_LINE } },
    // Without credentials the signer must refuse; the key parameter keeps input validation (400)
    // from answering before the auth check does.
    {
        name: "GET /api/uploads/sign without auth",
        path: "/api/uploads/sign?key=smoke-test",
        expectStatus: [401, 403],
        auth: false,
    },
];
