// Triage: put the application roles in read-only mode, and back. `ALTER ROLE r IN DATABASE <live db>
// SET default_transaction_read_only = on` — the per-database role setting, which outranks a role-wide
// or database-wide one (pg_db_role_setting precedence), and touches no other database of the server.
//
// What it does and does not stop (printed with every freeze):
//   - it applies to sessions that LOG IN as a frozen role after the freeze (role settings are read at
//     login; SET ROLE does not read them). Sessions already open keep writing until they reconnect:
//     their count is reported per role;
//   - a transaction that asks for READ WRITE explicitly is not stopped. PostgREST opens every write
//     request with an explicit access mode, so on Supabase the REST API's writes need the runbook's
//     application-level read-only switch as well; direct SQL clients, ORMs and jobs that log in as a
//     frozen role are stopped.
// Default roles, from Supabase's own setup (supabase/postgres init scripts): the request roles anon,
// authenticated, service_role and PostgREST's login role authenticator. Never a superuser, and never
// the role LIVE_DB_URL logs in as (the tool would lock itself out of unfreezing).
//
// The before-image (each role's previous per-database value, or none) is written before anything is
// changed; unfreeze puts exactly that back, and refuses when a role's setting is no longer what the
// freeze set (someone changed it meanwhile).
import * as fs from "node:fs";
import * as path from "node:path";
import type { Client } from "pg";
import { connect, describe, parseConnectionString, quoteIdent, quoteLiteral } from "../postgres/connection";
import { artifactName, writeAudit } from "./audit";
import { RefusedError, UsageError } from "../errors";

export const DEFAULT_FREEZE_ROLES = ["anon", "authenticated", "service_role", "authenticator"] as const;
export const FREEZE_SETTING = "default_transaction_read_only";
const FREEZE_KIND = "supabase-dr recover freeze";

export interface RoleState {
    role: string;
    /** The role's per-database value before the freeze; null: it had none. */
    previous: string | null;
    /** Sessions of the role on the live database right now (they keep their settings until they reconnect). */
    openSessions: number;
}

export interface FreezeArtifact {
    kind: typeof FREEZE_KIND;
    version: 1;
    live: string;
    database: string;
    setting: typeof FREEZE_SETTING;
    roles: { role: string; previous: string | null }[];
    frozenAt: string;
}

interface DbRoleState {
    role: string;
    exists: boolean;
    superuser: boolean;
    value: string | null;
    sessions: number;
}

async function readRoleStates(client: Client, roles: string[]): Promise<{ database: string; sessionUser: string; states: DbRoleState[] }> {
    const who = await client.query<{ db: string; su: string }>("select current_database() as db, session_user::text as su");
    const { db, su } = who.rows[0];
    const r = await client.query<{ role: string; exists: boolean; superuser: boolean; value: string | null; sessions: string }>(
        `select w.role,
                r.oid is not null as exists,
                coalesce(r.rolsuper, false) as superuser,
                (select substr(c, length($2) + 2)
                   from pg_catalog.pg_db_role_setting s, unnest(s.setconfig) c
                  where s.setrole = r.oid
                    and s.setdatabase = (select oid from pg_catalog.pg_database where datname = current_database())
                    and c like $2 || '=%') as value,
                (select count(*) from pg_catalog.pg_stat_activity a
                  where a.usename = w.role and a.datname = current_database() and a.pid <> pg_backend_pid())::text as sessions
           from unnest($1::text[]) with ordinality as w(role, ord)
           left join pg_catalog.pg_roles r on r.rolname = w.role
          order by w.ord`,
        [roles, FREEZE_SETTING],
    );
    return { database: db, sessionUser: su, states: r.rows.map((x) => ({ ...x, sessions: Number(x.sessions) })) };
}

function assertFreezable(states: DbRoleState[], sessionUser: string): void {
    const missing = states.filter((s) => !s.exists).map((s) => s.role);
    if (missing.length > 0) throw new RefusedError(`refusing: no role ${missing.join(", ")} on live (name the application roles with --roles)`);
    const superusers = states.filter((s) => s.superuser).map((s) => s.role);
    if (superusers.length > 0) throw new RefusedError(`refusing: ${superusers.join(", ")} is a superuser; only application roles are frozen`);
    if (states.some((s) => s.role === sessionUser)) {
        throw new RefusedError(`refusing: LIVE_DB_URL logs in as ${sessionUser}; freezing it would leave this tool unable to unfreeze`);
    }
}

export function freezeStatements(database: string, roles: string[]): string[] {
    return roles.map((r) => `ALTER ROLE ${quoteIdent(r)} IN DATABASE ${quoteIdent(database)} SET ${FREEZE_SETTING} = on;`);
}

function restoreStatement(database: string, role: string, previous: string | null): string {
    const head = `ALTER ROLE ${quoteIdent(role)} IN DATABASE ${quoteIdent(database)}`;
    return previous === null ? `${head} RESET ${FREEZE_SETTING};` : `${head} SET ${FREEZE_SETTING} = ${quoteLiteral(previous)};`;
}

export interface FreezeOptions {
    liveUrl: string;
    roles: string[];
    apply: boolean;
    artifactsDir: string;
    /** Receives the statements before anything is executed. */
    print: (text: string) => void;
}

export interface FreezeResult {
    statements: string[];
    states: RoleState[];
    artifact?: string;
    audit?: string;
}

const LIMITS =
    "note: applies to sessions that log in as these roles from now on; open sessions keep writing until they reconnect, " +
    "and a transaction that asks for READ WRITE explicitly (PostgREST's write requests do) is not stopped: switch the " +
    "application to read-only as well (runbook 001, common triage)";

export async function freeze(opts: FreezeOptions): Promise<FreezeResult> {
    const live = describe(parseConnectionString(opts.liveUrl, "LIVE_DB_URL"));
    const client = await connect(opts.liveUrl, "live database (LIVE_DB_URL)");
    try {
        const { database, sessionUser, states } = await readRoleStates(client, opts.roles);
        assertFreezable(states, sessionUser);
        const statements = freezeStatements(database, opts.roles);
        const roleStates = states.map((s) => ({ role: s.role, previous: s.value, openSessions: s.sessions }));
        opts.print(
            [
                `${opts.apply ? "applying" : "dry run (add --apply to run)"} on ${live}:`,
                ...statements.map((s) => `  ${s}`),
                ...roleStates.map((s) => `  ${s.role}: previous ${FREEZE_SETTING} ${s.previous === null ? "(none)" : s.previous}, ${s.openSessions} open session(s)`),
                LIMITS,
            ].join("\n"),
        );
        if (!opts.apply) return { statements, states: roleStates };
        const artifact: FreezeArtifact = {
            kind: FREEZE_KIND,
            version: 1,
            live,
            database,
            setting: FREEZE_SETTING,
            roles: roleStates.map(({ role, previous }) => ({ role, previous })),
            frozenAt: new Date().toISOString(),
        };
        fs.mkdirSync(opts.artifactsDir, { recursive: true });
        const file = path.resolve(opts.artifactsDir, artifactName(`freeze-${database}`, "json"));
        const fd = fs.openSync(file, "wx", 0o600);
        try {
            fs.writeSync(fd, JSON.stringify(artifact, null, 2) + "\n");
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        await runInTransaction(client, statements);
        const audit = writeAudit(opts.artifactsDir, { action: "recover freeze", live, roles: opts.roles, beforeImage: file, outcome: "committed" });
        return { statements, states: roleStates, artifact: file, audit };
    } finally {
        await client.end().catch(() => undefined);
    }
}

async function runInTransaction(client: Client, statements: string[]): Promise<void> {
    await client.query("begin");
    try {
        for (const s of statements) await client.query(s);
        await client.query("commit");
    } catch (err) {
        await client.query("rollback").catch(() => undefined);
        throw err;
    }
}

export function readFreezeArtifact(file: string): FreezeArtifact {
    let data: Partial<FreezeArtifact>;
    try {
        data = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<FreezeArtifact>;
    } catch (err) {
        throw new UsageError(`cannot read the freeze artifact ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (data.kind !== FREEZE_KIND || data.version !== 1 || !Array.isArray(data.roles) || !data.database || !data.live) {
        throw new UsageError(`${file} is not a supabase-dr freeze artifact`);
    }
    return data as FreezeArtifact;
}

export interface UnfreezeOptions {
    liveUrl: string;
    artifactPath: string;
    apply: boolean;
    artifactsDir: string;
    print: (text: string) => void;
}

export async function unfreeze(opts: UnfreezeOptions): Promise<{ statements: string[]; audit?: string }> {
    const artifact = readFreezeArtifact(opts.artifactPath);
    const live = describe(parseConnectionString(opts.liveUrl, "LIVE_DB_URL"));
    if (artifact.live !== live) throw new RefusedError(`refusing: ${opts.artifactPath} froze ${artifact.live}, but LIVE_DB_URL points at ${live}`);
    const client = await connect(opts.liveUrl, "live database (LIVE_DB_URL)");
    try {
        const roles = artifact.roles.map((r) => r.role);
        const { database, states } = await readRoleStates(client, roles);
        if (database !== artifact.database) throw new RefusedError(`refusing: the artifact is for database ${artifact.database}, LIVE_DB_URL's is ${database}`);
        const changed = states.filter((s) => !s.exists || s.value !== "on").map((s) => s.role);
        if (changed.length > 0) {
            throw new RefusedError(
                `refusing to unfreeze: the ${FREEZE_SETTING} setting of ${changed.join(", ")} is no longer the freeze's (changed or removed since); nothing was changed`,
            );
        }
        const statements = artifact.roles.map((r) => restoreStatement(database, r.role, r.previous));
        opts.print([`${opts.apply ? "applying" : "dry run (add --apply to run)"} on ${live}:`, ...statements.map((s) => `  ${s}`)].join("\n"));
        if (!opts.apply) return { statements };
        await runInTransaction(client, statements);
        const audit = writeAudit(opts.artifactsDir, { action: "recover unfreeze", live, roles, beforeImage: path.resolve(opts.artifactPath), outcome: "committed" });
        return { statements, audit };
    } finally {
        await client.end().catch(() => undefined);
    }
}
