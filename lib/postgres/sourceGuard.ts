// Never restore into, mask or drop the source. A target is refused when it is the same database as a
// protected source by endpoint (host, port and database, with localhost/127.0.0.1/::1 treated as one),
// or by server identity: the same cluster (pg_control_system's system identifier) and the same
// database name catches aliases such as another hostname, a pooler port or an IP for the same server.
// A different database on the same cluster is allowed: that is what a scratch database is.
import type { Client } from "pg";
import { describe, parseConnectionString, withClient } from "./connection";
import { RefusedError } from "../errors";

export interface DatabaseIdentity {
    host: string;
    port: number;
    database: string;
    systemIdentifier?: string;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "0.0.0.0"]);

function normalHost(host: string): string {
    const h = host.toLowerCase().replace(/\.$/, "");
    return LOOPBACK.has(h) ? "loopback" : h;
}

/**
 * The cluster's system identifier, or undefined when this role may not read it. pg_control_system()
 * can be revoked from non-superusers (managed platforms do): the privilege is checked first, because a
 * call that is refused is an ERROR line in the source server's log, on every drill.
 */
export async function systemIdentifier(client: Pick<Client, "query">): Promise<string | undefined> {
    const allowed = await client.query<{ ok: boolean }>(
        "select pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') as ok",
    );
    if (!allowed.rows[0]?.ok) return undefined;
    const r = await client.query<{ id: string }>("select system_identifier::text as id from pg_catalog.pg_control_system()");
    return r.rows[0]?.id;
}

/** Identity of the database a URI points at; connects to learn the system identifier. */
export async function identify(url: string, label: string): Promise<DatabaseIdentity> {
    const info = parseConnectionString(url, label);
    const id = await withClient(url, label, async (c) => ({
        systemIdentifier: await systemIdentifier(c),
        database: (await c.query<{ db: string }>("select current_database() as db")).rows[0].db,
    }));
    return { host: info.host, port: info.port, database: id.database, systemIdentifier: id.systemIdentifier };
}

/** Identity recorded in a backup manifest ("host:port/database" + system identifier). */
export function identityFromEndpoint(endpoint: string, systemIdentifier?: string): DatabaseIdentity {
    const m = /^(.*):(\d+)\/(.+)$/.exec(endpoint);
    if (!m) throw new Error(`malformed endpoint '${endpoint}' (expected host:port/database)`);
    return { host: m[1], port: Number(m[2]), database: m[3], systemIdentifier };
}

/** Same PostgreSQL server (cluster): same system identifier, or the same host and port. */
export function sameServer(a: DatabaseIdentity, b: DatabaseIdentity): boolean {
    if (a.systemIdentifier && b.systemIdentifier) return a.systemIdentifier === b.systemIdentifier;
    return normalHost(a.host) === normalHost(b.host) && a.port === b.port;
}

export function sameDatabase(a: DatabaseIdentity, b: DatabaseIdentity): boolean {
    if (a.database !== b.database) return false;
    if (normalHost(a.host) === normalHost(b.host) && a.port === b.port) return true;
    return !!a.systemIdentifier && a.systemIdentifier === b.systemIdentifier;
}

/** Throws when the target is one of the protected sources. */
export function assertNotSource(target: DatabaseIdentity, sources: DatabaseIdentity[], action = "restore into"): void {
    for (const source of sources) {
        if (sameDatabase(target, source)) {
            const how =
                normalHost(target.host) === normalHost(source.host) && target.port === source.port
                    ? "same host, port and database"
                    : "same server (system identifier) and database";
            throw new RefusedError(
                `refusing to ${action} ${describe(target)}: it is the source database (${how}). ` +
                    `Point the target at a scratch database or project.`,
                { code: "SOURCE_PROTECTED" },
            );
        }
    }
}

/**
 * Connects to the target (and each source, when reachable) and throws when the target is one of
 * the sources. An unreachable source still guards by its endpoint.
 */
export async function assertTargetIsNotSource(targetUrl: string, sourceUrls: string[], action = "restore into"): Promise<DatabaseIdentity> {
    const target = await identify(targetUrl, "target database");
    const sources: DatabaseIdentity[] = [];
    for (const url of sourceUrls) {
        sources.push(
            await identify(url, "source database").catch(() => {
                const { host, port, database } = parseConnectionString(url, "source database");
                return { host, port, database };
            }),
        );
    }
    assertNotSource(target, sources, action);
    return target;
}
