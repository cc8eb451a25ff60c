// Setting a server up for the WAL archive and running the archive's routine commands: stanza-create,
// check, full/differential backups and verify. `pitr-setup` prints serverSettingsHint() for servers we
// do not manage; configureArchiving() applies archive_command to one we connect to as superuser.
import type { ClientBase } from "pg";
import { quoteLiteral } from "../postgres/connection";
import { archiveCommand, type PgServer } from "./config";
import { runPgBackRest, type PgBackRestContext, type RunResult } from "./runner";

/** The pg1-* description of a cluster started by startLocalCluster (socket in its root directory). */
export function serverOf(cluster: { dataDir: string; port: number; rootDir: string; user: string }): PgServer {
    return { dataDir: cluster.dataDir, port: cluster.port, socketDir: cluster.rootDir, user: cluster.user };
}

export interface ArchivingState {
    walLevel: string;
    archiveMode: string;
    archiveCommand: string;
}

/**
 * Sets archive_command (reloadable) and checks the settings that need a restart: wal_level must be
 * logical (Supabase's, and the marks need it) and archive_mode on. Throws naming what to change.
 */
export async function configureArchiving(client: ClientBase, stanza: string, configFile: string): Promise<ArchivingState> {
    const command = archiveCommand(stanza, configFile);
    // ALTER SYSTEM takes no bind parameters.
    await client.query(`alter system set archive_command = ${quoteLiteral(command)}`);
    await client.query("select pg_reload_conf()");
    const state = await readArchivingState(client);
    const problems: string[] = [];
    if (state.walLevel !== "logical") problems.push(`wal_level is ${state.walLevel}, expected logical (restart needed)`);
    if (state.archiveMode !== "on" && state.archiveMode !== "always") problems.push(`archive_mode is ${state.archiveMode}, expected on (restart needed)`);
    if (problems.length) throw new Error(`server is not ready for WAL archiving: ${problems.join("; ")}`);
    // pg_reload_conf() signals; the setting is visible to new sessions once the postmaster re-read it.
    for (let i = 0; i < 50 && (await readArchivingState(client)).archiveCommand !== command; i++) await new Promise((r) => setTimeout(r, 100));
    return readArchivingState(client);
}

export async function readArchivingState(client: ClientBase): Promise<ArchivingState> {
    const { rows } = await client.query<{ name: string; setting: string }>(
        "select name, setting from pg_settings where name in ('wal_level', 'archive_mode', 'archive_command')",
    );
    const get = (n: string) => rows.find((r) => r.name === n)?.setting ?? "";
    return { walLevel: get("wal_level"), archiveMode: get("archive_mode"), archiveCommand: get("archive_command") };
}

/** Creates the stanza in the repository (idempotent when the stanza already matches this server). */
export function stanzaCreate(ctx: PgBackRestContext): Promise<RunResult> {
    return runPgBackRest(ctx, "stanza-create");
}

/** `pgbackrest check`: the archive_command works end to end (it forces and waits for a WAL switch). */
export function check(ctx: PgBackRestContext): Promise<RunResult> {
    return runPgBackRest(ctx, "check");
}

export type BackupType = "full" | "diff" | "incr";

/** A backup of the given type; pgBackRest waits until the WAL needed for consistency is archived. */
export function backup(ctx: PgBackRestContext, type: BackupType): Promise<RunResult> {
    return runPgBackRest(ctx, "backup", [`--type=${type}`]);
}

/** Expires backups (and their WAL) beyond the configured retention. */
export function expire(ctx: PgBackRestContext): Promise<RunResult> {
    return runPgBackRest(ctx, "expire");
}

export interface VerifyResult {
    ok: boolean;
    /** pgBackRest's own lines naming invalid or missing files (redacted). */
    problems: string[];
    output: string;
}

/**
 * `pgbackrest verify`: reads every backup file and archived segment and checks its checksum (after
 * decryption). It exits non-zero when something is invalid; that is a finding, not a crash.
 */
export async function verify(ctx: PgBackRestContext): Promise<VerifyResult> {
    try {
        const res = await runPgBackRest(ctx, "verify", ["--log-level-console=info"]);
        const output = res.stdout + res.stderr;
        const problems = verifyProblems(output);
        return { ok: problems.length === 0, problems, output };
    } catch (err) {
        const output = (err as { output?: string }).output ?? (err as Error).message;
        const problems = verifyProblems(output);
        return { ok: false, problems: problems.length ? problems : [(err as Error).message], output };
    }
}

/** The lines of verify's output that report a problem: warnings, errors, and result lines with a non-zero count. */
export function verifyProblems(output: string): string[] {
    return output
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /\b(WARN|ERROR):/.test(l) || /\b(checksum invalid|size invalid|missing|other): [1-9]/.test(l));
}
