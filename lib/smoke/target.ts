// Where a drill's smoke checks go, and with which credentials. A scratch Supabase project has an API
// of its own (https://<ref>.supabase.co): the checks go there by default, with the project's key.
// A local database target (the drill's cluster, TARGET_DB_URL) has none: path checks then need an
// explicit base URL, and without one the smoke step cannot run — which fails the drill instead of
// passing it unseen.
import { defaultSupabaseChecks, type SmokeCheck } from "./checks";
import { parseSmokeChecks } from "./parse";

/** Which of the project's keys the checks carry: anon (what a browser holds; RLS applies) by default. */
export type ProjectKeyRole = "anon" | "service_role";

export interface SmokeProjectApi<T> {
    apiUrl: T;
    anonKey: T;
    serviceRoleKey: T;
}

export interface SmokeEndpoint<T> {
    /** Absent: there is no API to check. */
    baseUrl?: T | string;
    /** The project's key, only when baseUrl is the project's own API. */
    apiKey?: T;
    /** explicit: drill.smoke.baseUrl / TARGET_API_URL; project: the restored project's API; none. */
    source: "explicit" | "project" | "none";
}

/**
 * The base URL and key for the smoke checks. An explicit base URL wins, and then no project key is
 * sent: the keys of the restored project belong to its API only. `T` is whatever carries the project's
 * values (plain strings, or Pulumi outputs).
 */
export function smokeEndpoint<T>(explicitBaseUrl: string | undefined, project: SmokeProjectApi<T> | undefined, key: ProjectKeyRole = "anon"): SmokeEndpoint<T> {
    if (explicitBaseUrl !== undefined && explicitBaseUrl.trim() !== "") return { baseUrl: explicitBaseUrl, source: "explicit" };
    if (project) return { baseUrl: project.apiUrl, apiKey: key === "service_role" ? project.serviceRoleKey : project.anonKey, source: "project" };
    return { source: "none" };
}

/** Path checks are joined to a base URL; absolute-url checks need none. */
export function needsBaseUrl(checks: readonly SmokeCheck[]): boolean {
    return checks.some((check) => check.path !== undefined);
}

export const NO_BASE_URL =
    "smoke checks with a path need the restored environment's API, and this drill's target has none (a local database has no API): " +
    "set drill.smoke.baseUrl (or TARGET_API_URL) to the API that serves the restored database, restore into a scratch Supabase project " +
    "(drill.target.kind supabase-project), or remove drill.smoke";

export type DrillTargetKind = "cluster" | "database" | "supabase-project";

/**
 * The checks a drill runs, or a thrown error when they cannot run against its target: path checks on
 * a local target without a base URL; or no checks for a project's API, where runbook 002's defaults
 * (the application's /api/health, …) could only fail: it serves /rest/v1, /auth/v1, /storage/v1.
 */
export function smokeChecksFor(smoke: { baseUrl?: string; checks?: unknown }, targetKind: DrillTargetKind): unknown {
    const explicitBase = smoke.baseUrl !== undefined && smoke.baseUrl.trim() !== "";
    if (smoke.checks === undefined && targetKind === "supabase-project" && !explicitBase) {
        throw new Error(
            "drill.smoke has no checks: runbook 002's defaults are the application's endpoints (/api/health, …), not the scratch project's API; " +
                "list checks against it, e.g. { path: /rest/v1/<table>?select=id&limit=1 } or { path: /auth/v1/health }",
        );
    }
    const checks = smoke.checks ?? defaultSupabaseChecks;
    let parsed: SmokeCheck[];
    try {
        parsed = parseSmokeChecks(checks);
    } catch {
        // Malformed checks are the SmokeTest's to report, every problem at once.
        return checks;
    }
    if (targetKind !== "supabase-project" && !explicitBase && needsBaseUrl(parsed)) throw new Error(NO_BASE_URL);
    return checks;
}
