// Parsing and describing PostgreSQL connection URIs without ever exposing the password.
import { Client, type ClientConfig } from "pg";
import { ExternalServiceError, UsageError } from "../errors";
import { redact, redactError } from "../redact";

export interface ConnectionInfo {
    host: string;
    port: number;
    database: string;
    user: string;
    password?: string;
}

/** Parses a postgres:// URI; throws a readable error (without the password) when it is malformed. */
export function parseConnectionString(uri: string, label = "connection string"): ConnectionInfo {
    let url: URL;
    try {
        url = new URL(uri);
    } catch {
        throw new UsageError(`${label} is not a valid URI (expected postgresql://user:password@host:port/database)`);
    }
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
        throw new UsageError(`${label} must start with postgresql:// or postgres:// (got ${url.protocol}//)`);
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
    if (!url.hostname) throw new UsageError(`${label} has no host`);
    if (!database) throw new UsageError(`${label} names no database (add /<database> after the host)`);
    return {
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port ? Number(url.port) : 5432,
        database,
        user: decodeURIComponent(url.username || "postgres"),
        password: url.password ? decodeURIComponent(url.password) : undefined,
    };
}

/** "host:port/database" — safe for logs and error messages. */
export function describe(info: Pick<ConnectionInfo, "host" | "port" | "database">): string {
    return `${info.host}:${info.port}/${info.database}`;
}

/** The same server and credentials with another database name. */
export function withDatabase(uri: string, database: string): string {
    const url = new URL(uri);
    url.pathname = "/" + encodeURIComponent(database);
    return url.toString();
}

/**
 * Connects a pg Client; on failure throws an error naming host, port and database and the
 * server's reason, never the password.
 */
export async function connect(uri: string, label = "database", extra: Partial<ClientConfig> = {}): Promise<Client> {
    const info = parseConnectionString(uri, label);
    const client = new Client({ connectionString: uri, connectionTimeoutMillis: 10_000, ...extra });
    try {
        await client.connect();
    } catch (err) {
        await client.end().catch(() => undefined);
        const reason = err instanceof Error ? err.message : String(err);
        throw new ExternalServiceError("DATABASE", `cannot connect to ${label} at ${describe(info)}: ${redact(reason, [info.password])}`, { cause: redactError(err, [info.password]) });
    }
    // An idle client can still emit 'error' (e.g. the server was terminated); surface it where
    // the next query fails instead of crashing the process.
    client.on("error", () => undefined);
    return client;
}

/** Runs fn with a connected client and always closes it. */
export async function withClient<T>(uri: string, label: string, fn: (c: Client) => Promise<T>): Promise<T> {
    const client = await connect(uri, label);
    try {
        return await fn(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** Double-quotes an identifier for SQL. */
export function quoteIdent(name: string): string {
    return '"' + name.replace(/"/g, '""') + '"';
}

/** Single-quotes a literal for SQL (for statements that take no parameters, like COMMENT ON). */
export function quoteLiteral(value: string): string {
    return "'" + value.replace(/'/g, "''") + "'";
}
