// Scratch databases: created on a PostgreSQL server for one drill, dropped afterwards.
//
// Ownership is proven, not assumed: every database we create carries a COMMENT with a random token
// that only our Pulumi state knows. Drop refuses any database whose comment does not carry that
// token, so a wrong name in state (or a hand-edited one) can never drop someone else's database.
import { randomBytes } from "node:crypto";
import type { Client } from "pg";
import { describe, parseConnectionString, quoteIdent, quoteLiteral, withClient, withDatabase } from "./connection";
import { RefusedError, UsageError } from "../errors";

export const OWNERSHIP_PREFIX = "supabase-dr scratch database; owner token ";
const NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

export interface ScratchDatabase {
    /** Database name on the server. */
    name: string;
    /** Random token written into the database comment; required to drop it. */
    ownerToken: string;
    /** Connection string to the scratch database (same credentials as the admin connection). */
    connectionString: string;
}

export function scratchName(prefix: string, now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:TZ.]/g, "").slice(0, 14);
    const name = `${prefix}_${stamp}_${randomBytes(3).toString("hex")}`.toLowerCase();
    if (!NAME_PATTERN.test(name)) {
        throw new UsageError(
            `scratch database prefix '${prefix}' gives an invalid name '${name}': use lowercase letters, digits and _ (max 40 characters)`,
        );
    }
    return name;
}

function ownershipComment(token: string): string {
    return OWNERSHIP_PREFIX + token;
}

async function serverMajor(client: Client): Promise<number> {
    const r = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
    return Math.floor(Number(r.rows[0].v) / 10000);
}

/** Creates a uniquely named database owned (by marker) by us. */
export async function createScratchDatabase(adminUrl: string, prefix = "drill"): Promise<ScratchDatabase> {
    const name = scratchName(prefix);
    const ownerToken = randomBytes(16).toString("hex");
    await withClient(adminUrl, "scratch database server", async (client) => {
        await client.query(`create database ${quoteIdent(name)}`);
        try {
            await client.query(`comment on database ${quoteIdent(name)} is ${quoteLiteral(ownershipComment(ownerToken))}`);
        } catch (err) {
            // Without the marker we could never drop it again: undo the create.
            await client.query(`drop database if exists ${quoteIdent(name)}`).catch(() => undefined);
            throw err;
        }
    });
    return { name, ownerToken, connectionString: withDatabase(adminUrl, name) };
}

export type OwnershipState = "ours" | "missing" | "foreign";

export async function checkOwnership(client: Client, name: string, ownerToken: string): Promise<OwnershipState> {
    const r = await client.query<{ comment: string | null }>(
        "select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1",
        [name],
    );
    if (r.rowCount === 0) return "missing";
    return r.rows[0].comment === ownershipComment(ownerToken) ? "ours" : "foreign";
}

/**
 * Throws unless the database the URI points at carries a supabase-dr scratch marker: the positive
 * guard for anything that rewrites a target (restore, masking). It holds even when the source is
 * unreachable or its server identity cannot be read.
 */
export async function assertScratchDatabase(url: string, action: string): Promise<void> {
    const info = parseConnectionString(url, "target database");
    const comment = await withClient(url, "target database", async (c) =>
        (await c.query<{ comment: string | null }>("select shobj_description(oid, 'pg_database') as comment from pg_database where datname = current_database()")).rows[0]?.comment,
    );
    if (!comment?.startsWith(OWNERSHIP_PREFIX)) {
        throw new RefusedError(`refusing to ${action} ${describe(info)}: it is not a supabase-dr scratch database (no ownership marker)`, { code: "NOT_SCRATCH" });
    }
}

export async function scratchDatabaseExists(adminUrl: string, name: string): Promise<boolean> {
    return withClient(adminUrl, "scratch database server", async (client) => {
        const r = await client.query("select 1 from pg_database where datname = $1", [name]);
        return (r.rowCount ?? 0) > 0;
    });
}

/**
 * Terminates the database's sessions and drops it — only when its ownership marker carries our
 * token. A database that is already gone is not an error (delete must be idempotent).
 */
export async function dropScratchDatabase(adminUrl: string, name: string, ownerToken: string): Promise<"dropped" | "already-gone"> {
    const admin = parseConnectionString(adminUrl, "scratch database server");
    if (admin.database === name) {
        throw new RefusedError(`refusing to drop ${name}: it is the admin connection's own database (${describe(admin)})`);
    }
    return withClient(adminUrl, "scratch database server", async (client) => {
        const ownership = await checkOwnership(client, name, ownerToken);
        if (ownership === "missing") return "already-gone";
        if (ownership === "foreign") {
            throw new RefusedError(
                `refusing to drop database '${name}' on ${admin.host}:${admin.port}: it was not created by this ` +
                    `supabase-dr resource (its ownership marker is missing or belongs to another resource)`,
                { code: "NOT_SCRATCH" },
            );
        }
        await client.query(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
            [name],
        );
        const force = (await serverMajor(client)) >= 13 ? " with (force)" : "";
        await client.query(`drop database if exists ${quoteIdent(name)}${force}`);
        return "dropped";
    });
}
