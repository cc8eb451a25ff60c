// Scratch Supabase projects: created for one drill through the Management API, deleted after it.
//
// Ownership is checked before deleting: the project at the stored ref must still carry the exact
// name this code generated (prefix + timestamp + random suffix), so a stale or hand-edited ref in
// state can never delete somebody's real project.
import { randomBytes } from "node:crypto";
import { V1CreateProjectBodyDesiredInstanceSize, type ApiKeyResponse, type V1CreateProjectBody, type V1ProjectWithDatabaseResponse } from "supabase-management-js";
import { redactError } from "../redact";
import { SupabaseApi, isApiStatus, systemClock, type Clock, type RetryEvent } from "./client";
import { directUrl, poolerUrl, projectApiUrl, projectApiUrlProblem, type PoolMode } from "./connectionStrings";
import { readinessTimeoutMessage, type RetryPolicy } from "./retryPolicy";
import { ExternalServiceError, RefusedError, UsageError, withMessageSuffix } from "../errors";

export type HealthService = "auth" | "db" | "db_postgres_user" | "pooler" | "realtime" | "rest" | "storage" | "pg_bouncer";

export const DEFAULT_NAME_PREFIX = "drill";
export const DEFAULT_READY_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_POLL_INTERVAL_MS = 5_000;
export const DEFAULT_HEALTH_SERVICES: HealthService[] = ["db", "rest", "auth"];
export const INSTANCE_SIZES: readonly string[] = Object.values(V1CreateProjectBodyDesiredInstanceSize);
const SMART_REGION_GROUPS = ["americas", "emea", "apac"];

// Statuses a new project never leaves on its own: waiting longer cannot help.
const DEAD_STATUSES = new Set(["INIT_FAILED", "REMOVED", "GOING_DOWN", "INACTIVE", "PAUSING", "PAUSE_FAILED", "RESTORE_FAILED"]);

export interface ScratchProjectRequest {
    /** Management API personal access token. */
    accessToken: string;
    /** Organization slug. */
    organization: string;
    /** Region code (eu-central-1, …) or smart group (americas, emea, apac). */
    region: string;
    /** desired_instance_size (micro, small, …); the organization's default when absent. */
    instanceSize?: string;
    /** Start of the generated project name. Default "drill". */
    namePrefix?: string;
    apiBaseUrl?: string;
    /** The projects' API URL with `{ref}` for the ref; default https://{ref}.supabase.co. */
    projectApiUrl?: string;
    /** How long the project may take to become ACTIVE_HEALTHY with healthy services. Default 10 min. */
    readyTimeoutMs?: number;
    pollIntervalMs?: number;
    healthServices?: HealthService[];
    poolMode?: PoolMode;
}

export interface ScratchProject {
    ref: string;
    name: string;
    region: string;
    dbPassword: string;
    poolerUrl: string;
    directUrl: string;
    anonKey: string;
    serviceRoleKey: string;
    apiUrl: string;
}

/** Injectable time and retry settings (tests use a virtual clock). */
export interface LifecycleDeps {
    clock?: Clock;
    random?: () => number;
    retry?: Partial<RetryPolicy>;
    requestTimeoutMs?: number;
    onRetry?: (event: RetryEvent) => void;
}

export interface RequestProblem {
    property: string;
    reason: string;
}

/** Argument problems, each naming the property and the expected form. */
export function validateProjectRequest(req: Partial<ScratchProjectRequest>): RequestProblem[] {
    const problems: RequestProblem[] = [];
    if (!req.accessToken) problems.push({ property: "accessToken", reason: "a Supabase personal access token is required" });
    if (!req.organization || !/^[\w-]+$/.test(req.organization)) {
        problems.push({ property: "organization", reason: `the organization slug (letters, digits, _ and -) is required (got '${req.organization ?? ""}')` });
    }
    if (!req.region || !(SMART_REGION_GROUPS.includes(req.region) || /^[a-z]{2}-[a-z]+-\d$/.test(req.region))) {
        problems.push({ property: "region", reason: `use a region code like eu-central-1 or a smart group (${SMART_REGION_GROUPS.join(", ")}) (got '${req.region ?? ""}')` });
    }
    if (req.instanceSize !== undefined && !INSTANCE_SIZES.includes(req.instanceSize)) {
        problems.push({ property: "instanceSize", reason: `use one of ${INSTANCE_SIZES.join(", ")} (got '${req.instanceSize}')` });
    }
    if (req.namePrefix !== undefined && !/^[a-z][a-z0-9-]{0,39}$/.test(req.namePrefix)) {
        problems.push({ property: "namePrefix", reason: `use 1-40 lowercase letters, digits and -, starting with a letter (got '${req.namePrefix}')` });
    }
    if (req.apiBaseUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(req.apiBaseUrl)) {
        problems.push({ property: "apiBaseUrl", reason: `use an http(s) URL such as https://api.supabase.com (got '${req.apiBaseUrl}')` });
    }
    if (req.projectApiUrl !== undefined) {
        const problem = projectApiUrlProblem(req.projectApiUrl);
        if (problem) problems.push({ property: "projectApiUrl", reason: problem });
    }
    for (const key of ["readyTimeoutMs", "pollIntervalMs"] as const) {
        const v = req[key];
        if (v !== undefined && !(Number.isFinite(v) && v > 0)) problems.push({ property: key, reason: `must be a positive number (got ${v})` });
    }
    return problems;
}

/** `<prefix>-<yyyymmddhhmmss>-<6 hex>`: unique, and recognisable as ours by its shape. */
export function scratchProjectName(prefix: string, now: Date = new Date()): string {
    const stamp = now.toISOString().replace(/[-:TZ.]/g, "").slice(0, 14);
    return `${prefix}-${stamp}-${randomBytes(3).toString("hex")}`;
}

export function isScratchProjectName(name: string, prefix: string): boolean {
    const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp(`^${escaped}-\\d{14}-[0-9a-f]{6}$`).test(name);
}

/** 192 random bits, URL-safe alphabet (no quoting trouble in URIs or shells). */
export function generateDbPassword(): string {
    return randomBytes(24).toString("base64url");
}

function apiFor(accessToken: string, apiBaseUrl: string | undefined, deps: LifecycleDeps, secrets: string[] = []): SupabaseApi {
    return new SupabaseApi({
        accessToken,
        apiBaseUrl,
        clock: deps.clock,
        random: deps.random,
        retry: deps.retry,
        requestTimeoutMs: deps.requestTimeoutMs,
        onRetry: deps.onRetry,
        secrets,
    });
}

function regionFields(region: string): Pick<V1CreateProjectBody, "region_selection"> {
    const selection = SMART_REGION_GROUPS.includes(region) ? { type: "smartGroup", code: region } : { type: "specific", code: region };
    return { region_selection: selection as V1CreateProjectBody["region_selection"] };
}

/** Creates the project and waits until it is usable; deletes it again when it never gets there. */
export async function createScratchProject(req: ScratchProjectRequest, deps: LifecycleDeps = {}): Promise<ScratchProject> {
    const problems = validateProjectRequest(req);
    if (problems.length > 0) {
        throw new UsageError(`invalid Supabase scratch project request: ${problems.map((p) => `${p.property}: ${p.reason}`).join("; ")}`);
    }
    const clock = deps.clock ?? systemClock;
    const prefix = req.namePrefix ?? DEFAULT_NAME_PREFIX;
    const name = scratchProjectName(prefix, new Date(clock.now()));
    const dbPassword = generateDbPassword();
    const api = apiFor(req.accessToken, req.apiBaseUrl, deps, [dbPassword]);

    const body: V1CreateProjectBody = {
        name,
        organization_slug: req.organization,
        db_pass: dbPassword,
        ...regionFields(req.region),
        ...(req.instanceSize ? { desired_instance_size: req.instanceSize as V1CreateProjectBody["desired_instance_size"] } : {}),
    };
    // A create that failed with 5xx or no response may have succeeded: adopt the project by its
    // unique name instead of creating a second one on retry.
    const created = await api
        .createProject(body, async () => {
            // One attempt: the create's own retry loop is the one that waits.
            const found = await api.searchProjects(req.organization, name, 1);
            const match = found.projects.find((p) => p.name === name);
            return match && { ref: match.ref, name: match.name, status: match.status };
        })
        .catch((err: Error) => {
            // Name the project: after lost responses it may exist anyway, and this is how to find it.
            throw withMessageSuffix(err, ` (creating project '${name}' in organization '${req.organization}')`);
        });
    const ref = created.ref;

    try {
        const project = await waitUntilReady(api, ref, {
            timeoutMs: req.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
            pollIntervalMs: req.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
            services: req.healthServices ?? DEFAULT_HEALTH_SERVICES,
        });
        const [keys, pooler] = await Promise.all([api.apiKeys(ref), api.poolerConfig(ref)]);
        const { anonKey, serviceRoleKey } = pickKeys(ref, keys);
        return {
            ref,
            name,
            region: project.region,
            dbPassword,
            poolerUrl: poolerUrl(ref, dbPassword, pooler, req.poolMode ?? "session"),
            directUrl: directUrl(project.database?.host ?? `db.${ref}.supabase.co`, dbPassword),
            anonKey,
            serviceRoleKey,
            apiUrl: projectApiUrl(ref, req.projectApiUrl),
        };
    } catch (err) {
        // A half-created project costs money and counts against the organization's project
        // limit, and the engine records nothing when create fails: remove it now.
        const cleanup = await deleteCreatedProject(api, ref);
        throw withMessageSuffix(redactError(err, [req.accessToken, dbPassword]), ` (${cleanup})`);
    }
}

async function deleteCreatedProject(api: SupabaseApi, ref: string): Promise<string> {
    try {
        await api.deleteProject(ref);
        return `the half-created project ${ref} was deleted`;
    } catch (err) {
        if (isApiStatus(err, 404)) return `project ${ref} is already gone`;
        return `deleting the half-created project ${ref} failed too, delete it by hand: ${(err as Error).message}`;
    }
}

interface ReadyOptions {
    timeoutMs: number;
    pollIntervalMs: number;
    services: HealthService[];
}

/** Polls until the project is ACTIVE_HEALTHY and the listed services report healthy. */
export async function waitUntilReady(api: SupabaseApi, ref: string, opts: ReadyOptions): Promise<V1ProjectWithDatabaseResponse> {
    const clock = api.clock;
    const deadline = clock.now() + opts.timeoutMs;
    let lastStatus = "UNKNOWN";
    let detail: string | undefined;
    for (;;) {
        const project = await api.getProject(ref);
        lastStatus = project.status;
        detail = undefined;
        if (DEAD_STATUSES.has(project.status)) {
            throw new ExternalServiceError("SUPABASE_API", `project ${ref} failed to come up: status ${project.status}`);
        }
        if (project.status === "ACTIVE_HEALTHY") {
            const health = await api.servicesHealth(ref, opts.services);
            const unhealthy = opts.services.filter((svc) => {
                const h = health.find((x) => x.name === svc);
                return !h || !(h.status === "ACTIVE_HEALTHY" || (h.status === undefined && h.healthy));
            });
            if (unhealthy.length === 0) return project;
            detail = `services not healthy yet: ${unhealthy
                .map((svc) => `${svc} ${health.find((x) => x.name === svc)?.status ?? "missing"}`)
                .join(", ")}`;
        }
        const left = deadline - clock.now();
        if (left <= 0) throw new ExternalServiceError("SUPABASE_API", readinessTimeoutMessage(ref, opts.timeoutMs, lastStatus, detail));
        await clock.sleep(Math.min(opts.pollIntervalMs, left));
    }
}

/** anon / service_role (legacy JWT keys), else the newer publishable / secret keys. */
export function pickKeys(ref: string, keys: ApiKeyResponse[]): { anonKey: string; serviceRoleKey: string } {
    const byName = (name: string) => keys.find((k) => k.name === name && k.api_key)?.api_key ?? undefined;
    const byType = (type: string) => keys.find((k) => k.type === type && k.api_key)?.api_key ?? undefined;
    const anonKey = byName("anon") ?? byType("publishable");
    const serviceRoleKey = byName("service_role") ?? byType("secret");
    if (!anonKey || !serviceRoleKey) {
        const seen = keys.map((k) => k.name).join(", ") || "none";
        throw new ExternalServiceError("SUPABASE_API", `project ${ref} returned no ${!anonKey ? "anon" : "service_role"} API key (keys seen: ${seen})`);
    }
    return { anonKey, serviceRoleKey };
}

export interface DeleteScratchProjectRequest {
    accessToken: string;
    apiBaseUrl?: string;
    ref: string;
    /** The name this resource generated (stored in state). */
    name: string;
    namePrefix?: string;
}

/** Deletes a project we created. A project that is already gone (404, REMOVED) counts as deleted. */
export async function deleteScratchProject(req: DeleteScratchProjectRequest, deps: LifecycleDeps = {}): Promise<"deleted" | "already-gone"> {
    const api = apiFor(req.accessToken, req.apiBaseUrl, deps);
    let project: V1ProjectWithDatabaseResponse;
    try {
        project = await api.getProject(req.ref);
    } catch (err) {
        if (isApiStatus(err, 404)) return "already-gone";
        throw err;
    }
    if (project.status === "REMOVED") return "already-gone";
    assertOwnedProject(req.ref, project.name, req.name, req.namePrefix ?? DEFAULT_NAME_PREFIX);
    try {
        await api.deleteProject(req.ref);
    } catch (err) {
        if (isApiStatus(err, 404)) return "already-gone";
        throw err;
    }
    return "deleted";
}

/** Throws unless the project at `ref` carries the exact generated name we stored. */
export function assertOwnedProject(ref: string, remoteName: string, storedName: string, prefix: string): void {
    if (remoteName !== storedName || !isScratchProjectName(remoteName, prefix)) {
        throw new RefusedError(
            `refusing to delete Supabase project ${ref} ('${remoteName}'): this resource created '${storedName}' ` +
                `(a '${prefix}-<timestamp>-<suffix>' scratch project), so the project at that ref is not ours`,
            { code: "NOT_SCRATCH" },
        );
    }
}
