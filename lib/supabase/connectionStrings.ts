// Connection strings of a Supabase project, built from the Management API's fields.
//
// CI runners (GitHub-hosted) have no IPv6 and the direct host db.<ref>.supabase.co is IPv6-only
// unless the IPv4 add-on is bought, so drills connect through the shared Supavisor pooler. It is
// multi-tenant: the tenant is named in the user, `postgres.<ref>`. Session mode (port 5432) keeps
// a server connection per client, which pg_restore and psql need (SET, temp tables, advisory
// locks); transaction mode (6543) does not, so it is not the default here.
import type { SupavisorConfigResponse } from "supabase-management-js";

export type PoolMode = "session" | "transaction";

const SESSION_PORT = 5432;
const TRANSACTION_PORT = 6543;

function postgresUrl(user: string, password: string, host: string, port: number, database: string): string {
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
}

/** The shared pooler's tenant-qualified user: `postgres.<ref>` (kept as is when the API already qualifies it). */
export function poolerUser(dbUser: string, ref: string): string {
    return dbUser.endsWith(`.${ref}`) ? dbUser : `${dbUser}.${ref}`;
}

/**
 * The pooler URL for the primary database. The API lists one entry per database (and, on some
 * projects, per mode); we take the primary's entry in the wanted mode, else its only entry, whose
 * port we move to the wanted mode's port (Supavisor serves both modes on the same host).
 */
export function poolerUrl(ref: string, password: string, configs: SupavisorConfigResponse[], mode: PoolMode = "session"): string {
    const primaries = configs.filter((c) => c.database_type === "PRIMARY");
    if (primaries.length === 0) {
        throw new Error(`project ${ref} reports no PRIMARY pooler configuration (got ${configs.length} entries)`);
    }
    const exact = primaries.find((c) => c.pool_mode === mode);
    const entry = exact ?? primaries[0];
    if (!entry.db_host) throw new Error(`project ${ref}'s pooler configuration has no db_host`);
    let port = entry.db_port;
    if (!exact) port = mode === "session" ? SESSION_PORT : TRANSACTION_PORT;
    return postgresUrl(poolerUser(entry.db_user || "postgres", ref), password, entry.db_host, port, entry.db_name || "postgres");
}

/** The direct URL (IPv6 unless the project has the IPv4 add-on): for runners that have IPv6. */
export function directUrl(dbHost: string, password: string): string {
    return postgresUrl("postgres", password, dbHost, SESSION_PORT, "postgres");
}

/**
 * Where a platform serves its projects' REST/Auth/Storage API: `{ref}` stands for the project ref.
 * Supabase's is https://<ref>.supabase.co; other platforms pair another Management API with another
 * project host (the CLI's profiles: supabase.red beside api.supabase.green, snapcloud.dev beside
 * cloudapi.snap.com), and a local stand-in serves it elsewhere.
 */
export const DEFAULT_PROJECT_API_URL = "https://{ref}.supabase.co";

/** Why a project API URL template is unusable, or undefined when it is fine. */
export function projectApiUrlProblem(template: string): string | undefined {
    if (!template.includes("{ref}")) return `must contain {ref}, the place of the project ref (e.g. ${DEFAULT_PROJECT_API_URL}); got '${template}'`;
    try {
        const url = new URL(template.replace(/\{ref\}/g, "abcdefghijklmnopqrst"));
        if (url.protocol !== "https:" && url.protocol !== "http:") return `must be an http(s) URL (got '${template}')`;
    } catch {
        return `must be an http(s) URL with {ref} (got '${template}')`;
    }
    return undefined;
}

/** The project's REST/Auth/Storage base URL, without a trailing slash. */
export function projectApiUrl(ref: string, template: string = DEFAULT_PROJECT_API_URL): string {
    return template.replace(/\{ref\}/g, ref).replace(/\/+$/, "");
}
