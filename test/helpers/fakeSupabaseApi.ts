// A local stand-in for the Supabase Management API (api.supabase.com/v1), following the published
// shapes and status values, with faults a real API shows under load: 429 with reset headers, 5xx,
// projects that never come up, rejected tokens. Listens on 127.0.0.1 on a random port.
//
// It also stands in for each project's own API (https://<ref>.supabase.co) under
// <url>/project-api/<ref> (`projectApiUrl`, a template for the drill's target): like the project's
// gateway it wants the project's anon or service_role key as `apikey` on every request (an
// Authorization header, when sent, must carry one of them too), answers /auth/v1/health, and with
// options.database serves GET /rest/v1/<table>?select=…&limit=… from the project's database.
//
// Backups and PITR (GET …/database/backups, POST …/database/backups/restore-pitr) follow the published
// shapes (V1BackupsResponse, V1RestorePitrBody; 201 without a body). A project seeded with static
// `backups` answers them from that data; a project seeded with seedPitrProject() is backed by a REAL
// PostgreSQL archiving through pgBackRest: its window comes from the repository (earliest = the oldest
// backup's end, latest = the newest archived WAL), and restore-pitr performs a real PITR in place. The
// project's database is reached through a TCP proxy on a fixed port (databaseUrl): while restoring, the
// project is RESTORING, the proxy cuts every connection and refuses new ones; afterwards it forwards to
// the restored cluster, so the same URL serves the restored data, with the project's password.
import { createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { withClient } from "../../lib/postgres/connection";
import type { LocalCluster } from "../../lib/postgres/localCluster";
import { info, listArchive } from "../../lib/pitr/info";
import { restoreToTarget, type RestoredCluster } from "../../lib/pitr/restore";
import { waitForArchived } from "../../lib/pitr/restorePoint";
import type { PgBackRestContext } from "../../lib/pitr/runner";
import type { PitrSecrets, PitrSettings } from "../../lib/pitr/settings";

/** A request to a project's own API, with the credentials it carried (by role, never the key). */
export interface ProjectApiRequest {
    ref: string;
    method: string;
    /** Below the project's API URL, with the query string. */
    path: string;
    /** Which key came as `apikey`: the project's anon or service_role key, another value, or none. */
    apikey: "anon" | "service_role" | "invalid" | "none";
    authorization: "anon" | "service_role" | "invalid" | "none";
    status: number;
}

export interface RecordedRequest {
    method: string;
    path: string;
    query: URLSearchParams;
    body: unknown;
    /** Response status sent. */
    status: number;
    /** Wall-clock arrival time (ms). */
    at: number;
}

export interface FakeProject {
    ref: string;
    name: string;
    organizationSlug: string;
    region: string;
    instanceSize?: string;
    dbPass: string;
    createdAt: string;
    /** GET /v1/projects/{ref} calls so far (drives COMING_UP → ACTIVE_HEALTHY). */
    polls: number;
    healthPolls: number;
    /** Overrides the computed status (e.g. INIT_FAILED). */
    forcedStatus?: string;
    /** With options.database: resolves once the project's role exists (the project is COMING_UP until then). */
    databaseReady?: boolean;
    secrets: Map<string, string>;
    anonKey: string;
    serviceRoleKey: string;
    /** Static answer of GET …/database/backups (projects without a real PITR backing). */
    backups?: FakeBackups;
    /** A real PostgreSQL with a pgBackRest archive behind the project (seedPitrProject). */
    pitr?: FakePitrState;
    /** recovery_time_target_unix of every accepted restore-pitr, in order. */
    restoreTargets: number[];
}

export interface FakeBackups {
    pitrEnabled: boolean;
    walgEnabled?: boolean;
    earliestUnix?: number;
    latestUnix?: number;
    backups?: { id: number; inserted_at: string; is_physical_backup: boolean; status: string }[];
}

/** What a PITR-backed project needs: its database (archiving) and the pgBackRest context of its archive. */
export interface FakePitrBacking {
    cluster: LocalCluster;
    settings: PitrSettings;
    secrets: PitrSecrets;
    ctx: PgBackRestContext;
}

export interface FakePitrState {
    backing: FakePitrBacking;
    pitrEnabled: boolean;
    /** Where the proxy forwards: the source cluster, then the latest restored one. */
    backend: { host: string; port: number };
    proxy: net.Server;
    proxyPort: number;
    sockets: Set<net.Socket>;
    restoring: boolean;
    restoreError?: string;
    /** Settles when the restore in progress ends (either way). */
    restoreDone?: Promise<void>;
    restored: RestoredCluster[];
}

/** A fault that answers the next `remaining` matching requests instead of the real handler. */
export interface Fault {
    remaining: number;
    /** Only requests whose "METHOD /path" matches (default: every request). */
    match?: RegExp;
    /**
     * Lets this many matching requests through before the fault starts (default 0): e.g. the lookup
     * before a create passes and the one after it fails.
     */
    skip?: number;
}

export interface RateLimitFault extends Fault {
    retryAfterSeconds?: number;
    /** X-RateLimit-Reset value as sent (Supabase: seconds until the window resets). */
    resetHeader?: string;
}

export interface FakeFaults {
    rateLimit?: RateLimitFault;
    serverError?: Fault;
    /** POST /v1/projects creates the project but answers 500 (a lost response). */
    createThenFail?: Fault;
    /** Answers 404, as for a project deleted meanwhile by someone else. */
    notFound?: Fault;
}

export interface FakeSupabaseOptions {
    /** The only token accepted. Default: a random sbp_… token. */
    token?: string;
    /** GET project calls answered COMING_UP before the project turns ACTIVE_HEALTHY. Default 2. */
    pollsUntilHealthy?: number;
    /** Health calls answering COMING_UP for services after ACTIVE_HEALTHY. Default 1. */
    healthPollsUntilHealthy?: number;
    /** Projects stay COMING_UP forever. */
    neverHealthy?: boolean;
    /** Projects end in this status instead (INIT_FAILED, …). */
    failWithStatus?: string;
    faults?: FakeFaults;
    /**
     * Back every project with a real PostgreSQL: on create, a login role `postgres.<ref>` with the
     * project's db_pass is created through this admin URL, and the pooler config points at that
     * server (session mode), so drills can restore into the "project". Dropped on delete.
     */
    database?: { adminUrl: string };
    /**
     * Serve every project's Storage (`<project API>/storage/v1/…`) from this Storage stand-in, as the
     * project's gateway serves it: the request must carry the project's service_role key (as `apikey`
     * and, when sent, as the Bearer token); it is forwarded with the stand-in's own key instead.
     */
    projectStorage?: { url: string; serviceKey: string };
}

export interface FakeSupabaseApi {
    url: string;
    token: string;
    requests: RecordedRequest[];
    /** `<url>/project-api/{ref}`: where the projects' own APIs are served (SupabaseProject's projectApiUrl). */
    projectApiUrl: string;
    /** Requests to the projects' own APIs, in order. */
    projectRequests: ProjectApiRequest[];
    projects: Map<string, FakeProject>;
    /** Deleted refs, in order. */
    deleted: string[];
    options: FakeSupabaseOptions;
    faults: FakeFaults;
    /** Adds a project directly (e.g. one this code did not create). */
    seedProject(p: Partial<FakeProject> & { name: string }): FakeProject;
    /** Adds a project backed by a real archiving PostgreSQL (see the file comment). */
    seedPitrProject(p: Partial<FakeProject> & { name: string; backing: FakePitrBacking; pitrEnabled?: boolean }): Promise<FakeProject>;
    /** The PITR-backed project's database URL (through its proxy; stable across restores). */
    databaseUrl(ref: string): string;
    /** Waits until a PITR-backed project's restore in progress ended. */
    restoreSettled(ref: string): Promise<void>;
    /** name → sha256 digest of the project's secrets. */
    secretDigests(ref: string): Record<string, string>;
    /** Changes a secret behind the provider's back (drift). */
    setSecret(ref: string, name: string, value: string): void;
    count(method: string, pathPattern: RegExp): number;
    /** Waits for background database work (role creation and removal). */
    settled(): Promise<void>;
    close(): Promise<void>;
}

const sha256 = (v: string) => createHash("sha256").update(v, "utf8").digest("hex");
const randomRef = () => Array.from(randomBytes(20), (b) => String.fromCharCode(97 + (b % 26))).join("");
const fakeJwt = (role: string) =>
    `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify({ role, nonce: randomBytes(8).toString("hex") })).toString("base64url")}.${randomBytes(32).toString("base64url")}`;
const BUILT_IN_SECRETS = ["SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_DB_URL"];
const INSTANCE_SIZES = ["pico", "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"];

export async function startFakeSupabaseApi(options: FakeSupabaseOptions = {}): Promise<FakeSupabaseApi> {
    const pending: Promise<unknown>[] = [];
    // A Supabase project's postgres role is powerful but not superuser; a local stand-in needs to
    // create extensions and own restored objects, so it gets superuser on the throw-away server.
    function provisionDatabase(p: FakeProject): void {
        const role = `postgres.${p.ref}`;
        pending.push(
            withClient(options.database!.adminUrl, "fake project server", (c) =>
                c.query(`create role "${role}" login superuser password '${p.dbPass.replace(/'/g, "''")}'`),
            ).then(() => (p.databaseReady = true)),
        );
    }
    function dropDatabaseRole(p: FakeProject): void {
        const role = `postgres.${p.ref}`;
        pending.push(
            withClient(options.database!.adminUrl, "fake project server", async (c) => {
                await c.query("select pg_terminate_backend(pid) from pg_stat_activity where usename = $1", [role]);
                await c.query(`reassign owned by "${role}" to postgres; drop owned by "${role}"; drop role "${role}"`);
            }).catch(() => undefined),
        );
    }

    const token = options.token ?? `sbp_${randomBytes(20).toString("hex")}`;
    const projects = new Map<string, FakeProject>();
    const requests: RecordedRequest[] = [];
    const projectRequests: ProjectApiRequest[] = [];
    const deleted: string[] = [];
    // PITR backings of deleted projects: their proxies and restored clusters still need closing.
    const retiredPitr: FakePitrState[] = [];
    const faults: FakeFaults = options.faults ?? {};

    function newProject(p: Partial<FakeProject> & { name: string }): FakeProject {
        const project: FakeProject = {
            ref: p.ref ?? randomRef(),
            organizationSlug: "fake-org",
            region: "eu-central-1",
            dbPass: randomBytes(12).toString("hex"),
            createdAt: new Date().toISOString(),
            polls: 0,
            healthPolls: 0,
            secrets: new Map(BUILT_IN_SECRETS.map((n) => [n, `builtin-${n}`])),
            anonKey: fakeJwt("anon"),
            serviceRoleKey: fakeJwt("service_role"),
            restoreTargets: [],
            ...p,
        };
        projects.set(project.ref, project);
        return project;
    }

    function statusOf(p: FakeProject): string {
        if (p.forcedStatus) return p.forcedStatus;
        if (p.pitr?.restoring) return "RESTORING";
        if (p.pitr?.restoreError) return "RESTORE_FAILED";
        if (options.database && !p.databaseReady) return "COMING_UP";
        if (options.neverHealthy) return "COMING_UP";
        if (p.polls <= (options.pollsUntilHealthy ?? 2)) return "COMING_UP";
        return options.failWithStatus ?? "ACTIVE_HEALTHY";
    }

    function projectJson(p: FakeProject, withDatabase: boolean): Record<string, unknown> {
        return {
            id: p.ref,
            ref: p.ref,
            organization_id: p.organizationSlug,
            organization_slug: p.organizationSlug,
            name: p.name,
            region: p.region,
            created_at: p.createdAt,
            status: statusOf(p),
            ...(withDatabase
                ? { database: { host: `db.${p.ref}.supabase.co`, version: "15.8.1.085", postgres_engine: "15", release_channel: "ga" } }
                : {}),
        };
    }

    function takeFault<F extends Fault>(fault: F | undefined, key: string): F | undefined {
        if (!fault || fault.remaining <= 0) return undefined;
        if (fault.match && !fault.match.test(key)) return undefined;
        if (fault.skip !== undefined && fault.skip > 0) {
            fault.skip -= 1;
            return undefined;
        }
        fault.remaining -= 1;
        return fault;
    }

    type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

    function route(method: string, path: string, query: URLSearchParams, body: unknown): Reply | Promise<Reply> {
        const key = `${method} ${path}`;
        const limited = takeFault(faults.rateLimit, key);
        if (limited) {
            const headers: Record<string, string> = { "X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0" };
            if (limited.retryAfterSeconds !== undefined) headers["Retry-After"] = String(limited.retryAfterSeconds);
            if (limited.resetHeader !== undefined) headers["X-RateLimit-Reset"] = limited.resetHeader;
            return { status: 429, headers, body: { message: "Too many requests" } };
        }
        if (takeFault(faults.serverError, key)) return { status: 500, body: { message: "Internal server error" } };
        if (takeFault(faults.notFound, key)) return { status: 404, body: { message: "Project not found" } };

        if (path === "/v1/projects" && method === "POST") {
            const b = (body ?? {}) as Record<string, unknown>;
            const selection = b.region_selection as { type?: string; code?: string } | undefined;
            if (typeof b.name !== "string" || !b.name) return bad("name is required");
            if (typeof b.db_pass !== "string" || b.db_pass.length < 16) return bad("db_pass is required (a strong password)");
            const org = (b.organization_slug ?? b.organization_id) as string | undefined;
            if (!org || !/^[\w-]+$/.test(org)) return bad("organization_slug is required");
            if (b.region !== undefined && selection !== undefined) return bad("Only one of region or region_selection can be specified");
            const region = (b.region as string | undefined) ?? selection?.code;
            if (!region) return bad("region_selection is required");
            const size = b.desired_instance_size as string | undefined;
            if (size !== undefined && !INSTANCE_SIZES.includes(size)) return bad(`desired_instance_size must be one of ${INSTANCE_SIZES.join(", ")}`);
            const p = newProject({ name: b.name, organizationSlug: org, region, instanceSize: size, dbPass: b.db_pass });
            if (options.database) provisionDatabase(p);
            if (takeFault(faults.createThenFail, key)) return { status: 500, body: { message: "upstream timeout" } };
            return { status: 201, body: projectJson(p, false) };
        }
        if (path === "/v1/projects" && method === "GET") {
            return { status: 200, body: [...projects.values()].map((p) => projectJson(p, true)) };
        }
        const orgProjects = path.match(/^\/v1\/organizations\/([\w-]+)\/projects$/);
        if (orgProjects && method === "GET") {
            const search = query.get("search") ?? "";
            const list = [...projects.values()].filter((p) => p.organizationSlug === orgProjects[1] && p.name.includes(search));
            return {
                status: 200,
                body: {
                    projects: list.map((p) => ({ ref: p.ref, name: p.name, cloud_provider: "AWS", region: p.region, is_branch: false, status: statusOf(p), inserted_at: p.createdAt, databases: [] })),
                    pagination: { count: list.length, limit: 100, offset: 0 },
                },
            };
        }

        const m = path.match(/^\/v1\/projects\/([a-z]+)(\/.*)?$/);
        if (!m) return { status: 404, body: { message: "Not found" } };
        const p = projects.get(m[1]);
        if (!p) return { status: 404, body: { message: `Project ${m[1]} not found` } };
        const sub = m[2] ?? "";

        if (sub === "" && method === "GET") {
            p.polls += 1;
            return { status: 200, body: projectJson(p, true) };
        }
        if (sub === "" && method === "DELETE") {
            if (options.database) dropDatabaseRole(p);
            if (p.pitr) retiredPitr.push(p.pitr);
            projects.delete(p.ref);
            deleted.push(p.ref);
            return { status: 200, body: { id: 1, ref: p.ref, name: p.name } };
        }
        if (sub === "/health" && method === "GET") {
            const services = query.getAll("services").flatMap((s) => s.split(",")).filter(Boolean);
            if (services.length === 0) return bad("services is required");
            const ready = statusOf(p) === "ACTIVE_HEALTHY" && ++p.healthPolls > (options.healthPollsUntilHealthy ?? 1);
            return {
                status: 200,
                body: services.map((name) => ({ name, healthy: ready, status: ready ? "ACTIVE_HEALTHY" : "COMING_UP" })),
            };
        }
        if (sub === "/api-keys" && method === "GET") {
            return {
                status: 200,
                body: [
                    { name: "anon", api_key: p.anonKey, id: "anon", type: "legacy", prefix: null, description: "Legacy anon API key" },
                    { name: "service_role", api_key: p.serviceRoleKey, id: "service_role", type: "legacy", prefix: null, description: "Legacy service_role API key" },
                ],
            };
        }
        if (sub === "/config/database/pooler" && method === "GET" && options.database) {
            const db = new URL(options.database.adminUrl);
            return {
                status: 200,
                body: [{ identifier: p.ref, database_type: "PRIMARY", is_using_scram_auth: true, db_user: "postgres", db_host: db.hostname, db_port: Number(db.port), db_name: "postgres", pool_mode: "session", default_pool_size: 15, max_client_conn: 200 }],
            };
        }
        if (sub === "/config/database/pooler" && method === "GET") {
            const host = `aws-0-${p.region}.pooler.supabase.com`;
            return {
                status: 200,
                body: [
                    {
                        identifier: p.ref,
                        database_type: "PRIMARY",
                        is_using_scram_auth: true,
                        db_user: "postgres",
                        db_host: host,
                        db_port: 6543,
                        db_name: "postgres",
                        connection_string: `postgresql://postgres.${p.ref}:[YOUR-PASSWORD]@${host}:6543/postgres`,
                        connectionString: `postgresql://postgres.${p.ref}:[YOUR-PASSWORD]@${host}:6543/postgres`,
                        default_pool_size: 15,
                        max_client_conn: 200,
                        pool_mode: "transaction",
                    },
                ],
            };
        }
        if (sub === "/database/backups" && method === "GET") return backupsReply(p);
        if (sub === "/database/backups/restore-pitr" && method === "POST") return restorePitrReply(p, body);
        if (sub === "/secrets") {
            if (method === "GET") {
                return { status: 200, body: [...p.secrets].map(([name, value]) => ({ name, value: sha256(value) })) };
            }
            if (method === "POST") {
                if (!Array.isArray(body)) return bad("body must be an array of {name, value}");
                for (const item of body as { name?: unknown; value?: unknown }[]) {
                    if (typeof item.name !== "string" || typeof item.value !== "string") return bad("each secret needs a name and a value");
                    if (item.name.startsWith("SUPABASE_")) return bad("Secret name must not start with the SUPABASE_ prefix.");
                }
                for (const item of body as { name: string; value: string }[]) p.secrets.set(item.name, item.value);
                return { status: 201 };
            }
            if (method === "DELETE") {
                if (!Array.isArray(body)) return bad("body must be an array of names");
                for (const name of body as string[]) p.secrets.delete(name);
                return { status: 200, body: {} };
            }
        }
        return { status: 404, body: { message: `Cannot ${method} ${path}` } };
    }

    function bad(message: string): Reply {
        return { status: 400, body: { message } };
    }

    // ---- backups and PITR ----------------------------------------------------------------------

    /** The restorable window of a PITR-backed project, read from its repository. */
    async function liveWindow(state: FakePitrState): Promise<{ earliestUnix?: number; latestUnix?: number; backups: FakeBackups["backups"] }> {
        const [stanza, segments] = await Promise.all([info(state.backing.ctx), listArchive(state.backing.ctx)]);
        const oldest = stanza.oldestBackup;
        const newestWal = segments.reduce((m, s) => Math.max(m, s.time.getTime()), 0);
        return {
            // Recovery can start at a backup's end at the earliest; it can reach the newest archived WAL.
            earliestUnix: oldest ? Math.ceil(oldest.stopTime.getTime() / 1000) : undefined,
            latestUnix: oldest && newestWal ? Math.floor(newestWal / 1000) : undefined,
            backups: stanza.backups.map((b, i) => ({ id: i + 1, inserted_at: b.stopTime.toISOString(), is_physical_backup: true, status: b.error ? "FAILED" : "COMPLETED" })),
        };
    }

    async function backupsOf(p: FakeProject): Promise<FakeBackups> {
        if (p.pitr) {
            const w = await liveWindow(p.pitr);
            return { pitrEnabled: p.pitr.pitrEnabled, walgEnabled: true, ...w };
        }
        return p.backups ?? { pitrEnabled: false, walgEnabled: true, backups: [] };
    }

    async function backupsReply(p: FakeProject): Promise<Reply> {
        const b = await backupsOf(p);
        const physical: Record<string, number> = {};
        // Like the API: without PITR there is no window, and the fields are left out (omitempty).
        if (b.pitrEnabled && b.earliestUnix !== undefined && b.latestUnix !== undefined) {
            physical.earliest_physical_backup_date_unix = b.earliestUnix;
            physical.latest_physical_backup_date_unix = b.latestUnix;
        }
        return {
            status: 200,
            body: { region: p.region, walg_enabled: b.walgEnabled ?? true, pitr_enabled: b.pitrEnabled, backups: b.backups ?? [], physical_backup_data: physical },
        };
    }

    async function restorePitrReply(p: FakeProject, body: unknown): Promise<Reply> {
        const t = (body as { recovery_time_target_unix?: unknown } | undefined)?.recovery_time_target_unix;
        if (typeof t !== "number" || !Number.isInteger(t) || t < 0) return bad("recovery_time_target_unix must be an integer ≥ 0");
        if (statusOf(p) !== "ACTIVE_HEALTHY") return bad(`Project is not ready for a restore (status ${statusOf(p)})`);
        const b = await backupsOf(p);
        if (!b.pitrEnabled) return bad("Point in time recovery is not enabled for this project");
        if (b.earliestUnix === undefined || b.latestUnix === undefined || t < b.earliestUnix || t > b.latestUnix) {
            const range = b.earliestUnix !== undefined && b.latestUnix !== undefined ? `${b.earliestUnix} and ${b.latestUnix}` : "the available backups (none)";
            return bad(`recovery_time_target_unix must be between ${range}`);
        }
        p.restoreTargets.push(t);
        if (p.pitr) startRestore(p.pitr, t);
        return { status: 201 };
    }

    /** In place: the project goes RESTORING and unreachable, its final WAL is archived, then a real PITR. */
    function startRestore(state: FakePitrState, t: number): void {
        state.restoring = true;
        state.restoreError = undefined;
        for (const s of state.sockets) s.destroy();
        state.sockets.clear();
        const source = state.backing.cluster;
        state.restoreDone = (async () => {
            try {
                // The platform stops the server for an in-place restore; its last WAL reaches the archive first.
                if (state.restored.length === 0) {
                    await withClient(source.url(), "fake project (final WAL)", async (c) => {
                        await c.query("select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend'");
                        const lsn = (await c.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0].lsn;
                        await waitForArchived(c, lsn);
                    });
                }
                const restored = await restoreToTarget({
                    settings: state.backing.settings,
                    secrets: state.backing.secrets,
                    target: { type: "time", time: new Date(t * 1000) },
                    superuser: source.user,
                });
                state.restored.push(restored);
                // The project keeps its database password across a restore: put it back.
                await withClient(restored.url(), "fake project (restored)", (c) =>
                    c.query(`alter role "${source.user}" with password '${source.password.replace(/'/g, "''")}'`),
                );
                state.backend = { host: restored.host, port: restored.port };
            } catch (err) {
                state.restoreError = (err as Error).message;
            } finally {
                state.restoring = false;
            }
        })();
    }

    async function seedPitrProject(p: Partial<FakeProject> & { name: string; backing: FakePitrBacking; pitrEnabled?: boolean }): Promise<FakeProject> {
        const { backing, pitrEnabled, ...rest } = p;
        const sockets = new Set<net.Socket>();
        const state: FakePitrState = {
            backing,
            pitrEnabled: pitrEnabled ?? true,
            backend: { host: "127.0.0.1", port: backing.cluster.port },
            proxy: net.createServer(),
            proxyPort: 0,
            sockets,
            restoring: false,
            restored: [],
        };
        state.proxy.on("connection", (client) => {
            if (state.restoring) {
                client.destroy();
                return;
            }
            const upstream = net.connect(state.backend.port, state.backend.host);
            for (const s of [client, upstream]) {
                sockets.add(s);
                s.on("error", () => undefined);
                s.on("close", () => {
                    sockets.delete(s);
                    client.destroy();
                    upstream.destroy();
                });
            }
            client.pipe(upstream).pipe(client);
        });
        await new Promise<void>((resolve) => state.proxy.listen(0, "127.0.0.1", resolve));
        state.proxyPort = (state.proxy.address() as AddressInfo).port;
        // polls past pollsUntilHealthy: a seeded project is up already.
        return newProject({ ...rest, pitr: state, polls: 1_000, dbPass: backing.cluster.password });
    }

    function keyRole(p: FakeProject, value: string | undefined): ProjectApiRequest["apikey"] {
        if (value === undefined || value === "") return "none";
        if (value === p.anonKey) return "anon";
        if (value === p.serviceRoleKey) return "service_role";
        return "invalid";
    }

    /** The project's gateway and the services behind it, as far as smoke tests need them. */
    async function projectApi(p: FakeProject, method: string, path: string, query: URLSearchParams, headers: http.IncomingHttpHeaders): Promise<Reply> {
        const apikey = keyRole(p, headers.apikey as string | undefined);
        const auth = headers.authorization;
        const authorization = auth === undefined ? "none" : keyRole(p, auth.replace(/^Bearer /, ""));
        // The gateway's answers (Kong key-auth): every route needs the project's key.
        if (apikey === "none") return { status: 401, body: { message: "No API key found in request" } };
        if (apikey === "invalid") return { status: 401, body: { message: "Invalid API key" } };
        if (authorization === "invalid") return { status: 401, body: { code: "PGRST301", message: "JWSError JWSInvalidSignature" } };
        if (method === "GET" && path === "/auth/v1/health") {
            return { status: 200, body: { version: "fake", name: "GoTrue", description: "GoTrue is a user registration and authentication API" } };
        }
        const table = path.match(/^\/rest\/v1\/([a-z_][a-z0-9_]*)$/);
        if (method === "GET" && table && options.database) {
            const columns = (query.get("select") ?? "*").split(",");
            const limit = Number(query.get("limit") ?? "100");
            if (!columns.every((c) => c === "*" || /^[a-z_][a-z0-9_]*$/.test(c)) || !Number.isInteger(limit) || limit < 0) {
                return { status: 400, body: { code: "PGRST100", message: "unsupported select or limit in this stand-in" } };
            }
            const list = columns.map((c) => (c === "*" ? "*" : `"${c}"`)).join(", ");
            try {
                const rows = await withClient(options.database.adminUrl, "fake project database", async (c) =>
                    (await c.query<{ rows: unknown[] | null }>(`select json_agg(t) as rows from (select ${list} from public."${table[1]}" limit ${limit}) t`)).rows[0].rows,
                );
                return { status: 200, body: rows ?? [] };
            } catch (err) {
                const missing = /does not exist/.test((err as Error).message);
                return { status: missing ? 404 : 500, body: { code: missing ? "42P01" : "XX000", message: (err as Error).message } };
            }
        }
        return { status: 404, body: { message: `no route for ${method} ${path}` } };
    }

    /** A project's gateway in front of its Storage: the project's service key in, the stand-in's key out. */
    function forwardToStorage(p: FakeProject | undefined, req: http.IncomingMessage, res: http.ServerResponse, path: string, body: Buffer): void {
        const reply = (status: number, message: string) => {
            res.writeHead(status, { "Content-Type": "application/json" });
            res.end(JSON.stringify({ message }));
        };
        if (!p) return reply(404, "no such project");
        const bearer = req.headers.authorization?.replace(/^Bearer /, "");
        if (req.headers.apikey !== p.serviceRoleKey || (bearer !== undefined && bearer !== p.serviceRoleKey)) return reply(401, "Invalid API key");
        const target = new URL(options.projectStorage!.url.replace(/\/+$/, "") + path);
        const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host, apikey: options.projectStorage!.serviceKey, authorization: `Bearer ${options.projectStorage!.serviceKey}` };
        delete headers["transfer-encoding"];
        headers["content-length"] = String(body.length);
        const upstream = http.request(target, { method: req.method, headers }, (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
        });
        upstream.on("error", (err) => reply(502, `storage stand-in unreachable: ${err.message}`));
        upstream.end(body);
    }

    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const url = new URL(req.url ?? "/", "http://127.0.0.1");
            const own = url.pathname.match(/^\/project-api\/([a-z]+)(\/.*)$/);
            const storagePath = own?.[2].match(/^\/storage\/v1(\/.*)$/);
            if (own && storagePath && options.projectStorage) {
                forwardToStorage(projects.get(own[1]), req, res, storagePath[1] + url.search, Buffer.concat(chunks));
                return;
            }
            if (own) {
                const p = projects.get(own[1]);
                const path = own[2];
                const reply: Promise<Reply> = p
                    ? projectApi(p, req.method ?? "GET", path, url.searchParams, req.headers)
                    : Promise.resolve({ status: 404, body: { message: `no project ${own[1]}` } });
                void reply.then((r) => {
                    if (p) {
                        const authorization = req.headers.authorization;
                        projectRequests.push({
                            ref: p.ref,
                            method: req.method ?? "GET",
                            path: path + url.search,
                            apikey: keyRole(p, req.headers.apikey as string | undefined),
                            authorization: authorization === undefined ? "none" : keyRole(p, authorization.replace(/^Bearer /, "")),
                            status: r.status,
                        });
                    }
                    res.writeHead(r.status, { "Content-Type": "application/json" });
                    res.end(JSON.stringify(r.body ?? {}));
                });
                return;
            }
            const raw = Buffer.concat(chunks).toString("utf8");
            let body: unknown;
            try {
                body = raw ? JSON.parse(raw) : undefined;
            } catch {
                body = raw;
            }
            const auth = req.headers.authorization ?? "";
            const arrived = Date.now();
            let pendingReply: Promise<Reply>;
            if (auth !== `Bearer ${token}`) {
                // Echoes what it got, as some gateways do: the client must redact it.
                pendingReply = Promise.resolve({ status: 401, body: { message: `Unauthorized: invalid access token '${auth.replace(/^Bearer /, "")}'` } });
            } else {
                pendingReply = Promise.resolve()
                    .then(() => route(req.method ?? "GET", url.pathname, url.searchParams, body))
                    .catch((err: unknown) => ({ status: 500, body: { message: `fake: ${(err as Error).message}` } }));
            }
            void pendingReply.then((reply) => {
                requests.push({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams, body, status: reply.status, at: arrived });
                const headers: Record<string, string> = { ...reply.headers };
                if (reply.body !== undefined) headers["Content-Type"] = "application/json";
                res.writeHead(reply.status, headers);
                res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
            });
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;

    return {
        url: `http://127.0.0.1:${port}`,
        token,
        requests,
        projectApiUrl: `http://127.0.0.1:${port}/project-api/{ref}`,
        projectRequests,
        projects,
        deleted,
        options,
        faults,
        seedProject: newProject,
        seedPitrProject,
        databaseUrl(ref) {
            const p = projects.get(ref);
            if (!p?.pitr) throw new Error(`fake: project ${ref} has no PITR backing`);
            const c = p.pitr.backing.cluster;
            return `postgresql://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@127.0.0.1:${p.pitr.proxyPort}/postgres`;
        },
        async restoreSettled(ref) {
            await projects.get(ref)?.pitr?.restoreDone;
        },
        secretDigests(ref) {
            const p = projects.get(ref);
            if (!p) throw new Error(`fake: no project ${ref}`);
            return Object.fromEntries([...p.secrets].map(([n, v]) => [n, sha256(v)]));
        },
        setSecret(ref, name, value) {
            const p = projects.get(ref);
            if (!p) throw new Error(`fake: no project ${ref}`);
            p.secrets.set(name, value);
        },
        count(method, pathPattern) {
            return requests.filter((r) => r.method === method && pathPattern.test(r.path)).length;
        },
        async settled() {
            await Promise.all(pending);
        },
        async close() {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
            for (const state of [...retiredPitr, ...[...projects.values()].flatMap((p) => (p.pitr ? [p.pitr] : []))]) {
                await state.restoreDone?.catch(() => undefined);
                for (const sock of state.sockets) sock.destroy();
                await new Promise<void>((resolve) => state.proxy.close(() => resolve()));
                for (const r of state.restored) await r.stop();
            }
        },
    };
}

export interface VirtualClock {
    now(): number;
    sleep(ms: number): Promise<void>;
    /** Every sleep asked for, in order (ms). */
    sleeps: number[];
}

/** A clock whose sleeps return at once and advance virtual time: retry and poll waits cost nothing. */
export function virtualClock(start = Date.parse("2025-01-01T00:00:00Z")): VirtualClock {
    let t = start;
    const sleeps: number[] = [];
    return {
        now: () => t,
        sleeps,
        async sleep(ms) {
            sleeps.push(ms);
            t += ms;
            await new Promise((resolve) => setImmediate(resolve));
        },
    };
}
