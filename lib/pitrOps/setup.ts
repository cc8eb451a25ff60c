// `npm run pitr -- setup`: what a server needs for the WAL archive. Dry run by default: prints the
// postgresql.conf settings, the pgBackRest configuration file (no secret) and the environment the
// server's archive_command needs. With --apply, and only on the server named by PITR_DB_URL — which
// must be the one the settings describe (same data directory and port) — it writes the configuration
// file, sets archive_command (ALTER SYSTEM, reload), checks wal_level and archive_mode, creates the
// stanza and runs `pgbackrest check`. It never restarts a server: settings that need one are named.
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { withClient } from "../postgres/connection";
import { renderConfig, serverSettingsHint } from "../pitr/config";
import { pgServerOf } from "../infra/pitrConfig";
import type { PgBackRestContext } from "../pitr/runner";
import { check, configureArchiving, stanzaCreate, type ArchivingState } from "../pitr/setup";
import type { PitrSettings } from "../pitr/settings";
import type { OpsSettings } from "./settings";
import { RefusedError, ToolMissingError } from "../errors";

export const SERVER_URL_ENV = "PITR_DB_URL";

/** The settings archive_command runs with on the server: the server's own credentials kind. */
export function serverSideSettings(settings: OpsSettings): PitrSettings {
    const { server: _server, ...pitr } = settings;
    if (pitr.repository.type !== "s3" || !settings.server.archiveKeyType) return pitr;
    return { ...pitr, repository: { ...pitr.repository, keyType: settings.server.archiveKeyType } };
}

/** The configuration file the server's archive_command reads. */
export function serverConfigFileText(settings: OpsSettings): string {
    const s = settings.server;
    return renderConfig(serverSideSettings(settings), pgServerOf(s), { logPath: s.logPath, lockPath: s.lockPath, spoolPath: s.spoolPath });
}

/** Names (never values) of what the server's environment must hold for archive_command. */
export function serverEnvironmentNames(settings: OpsSettings): string[] {
    const server = serverSideSettings(settings);
    const names: string[] = [];
    if (server.repository.type === "s3") {
        if (server.repository.keyType === "shared") names.push("PGBACKREST_REPO1_S3_KEY", "PGBACKREST_REPO1_S3_KEY_SECRET");
        // AWS_ROLE_ARN is the stack output pitrWriterRoleArn.
        if (server.repository.keyType === "web-id") names.push("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE");
    }
    // The stack secret pitrCipherPass.
    if (server.cipher !== "none") names.push("PGBACKREST_REPO1_CIPHER_PASS");
    return names;
}

/** The dry run's text. */
export function setupPlan(settings: OpsSettings): string {
    const s = settings.server;
    const hint = serverSettingsHint(settings.stanza, s.configFile);
    return [
        `# WAL archive setup for stanza ${settings.stanza} (${settings.env}); nothing was changed (--apply applies it to $${SERVER_URL_ENV}'s server)`,
        "",
        "## postgresql.conf (wal_level and archive_mode need a restart; archive_command a reload)",
        ...Object.entries(hint).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`),
        "",
        `## ${s.configFile} (owned by the server's OS user, mode 0640; no secret in it)`,
        serverConfigFileText(settings).trimEnd(),
        "",
        "## the server's environment (e.g. a systemd drop-in with EnvironmentFile= readable only by postgres;",
        "## the passphrase is the stack secret pitrCipherPass, AWS_ROLE_ARN the stack output pitrWriterRoleArn)",
        ...serverEnvironmentNames(settings).map((n) => `${n}=…`),
        "",
        "## then, once: pgbackrest stanza-create and pgbackrest check (npm run pitr -- setup --apply does both)",
    ].join("\n");
}

export interface ApplyResult {
    configFile: string;
    archiving: ArchivingState;
}

function owner(dir: string): { uid: number; gid: number } {
    const st = fs.statSync(dir);
    return { uid: st.uid, gid: st.gid };
}

/** Writes the config file and the log/lock/spool directories, owned by the data directory's owner. */
function writeServerFiles(settings: OpsSettings): void {
    const s = settings.server;
    const ids = owner(s.dataDir);
    const asRoot = process.getuid?.() === 0;
    for (const dir of [s.logPath, s.lockPath, s.spoolPath]) {
        if (!fs.existsSync(dir)) {
            fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
            if (asRoot) fs.chownSync(dir, ids.uid, ids.gid);
        }
    }
    fs.mkdirSync(path.dirname(s.configFile), { recursive: true, mode: 0o755 });
    const tmp = `${s.configFile}.tmp`;
    fs.writeFileSync(tmp, serverConfigFileText(settings), { mode: 0o640 });
    if (asRoot) fs.chownSync(tmp, ids.uid, ids.gid);
    fs.renameSync(tmp, s.configFile);
}

/**
 * Applies the setup to the server at `url`, refusing any other: its data_directory and port must be
 * the settings' server.dataDir and server.port.
 */
export async function applySetup(url: string, settings: OpsSettings, ctx: PgBackRestContext): Promise<ApplyResult> {
    const s = settings.server;
    const archiving = await withClient(url, `${SERVER_URL_ENV} server`, async (c) => {
        const { rows } = await c.query<{ data_directory: string; port: string }>("select current_setting('data_directory') as data_directory, current_setting('port') as port");
        const real = (p: string) => {
            try {
                return fs.realpathSync(p);
            } catch {
                return p;
            }
        };
        if (real(rows[0].data_directory) !== real(s.dataDir) || Number(rows[0].port) !== s.port) {
            throw new RefusedError(`refusing to set up ${SERVER_URL_ENV}'s server: it runs data directory ${rows[0].data_directory} on port ${rows[0].port}, the settings name server.dataDir ${s.dataDir} and server.port ${s.port}`);
        }
        writeServerFiles(settings);
        return configureArchiving(c, settings.stanza, s.configFile);
    });
    await stanzaCreate(ctx);
    await check(ctx);
    return { configFile: s.configFile, archiving };
}

/** pgBackRest is installed (the one check setup makes before touching anything). */
export function assertPgBackRestInstalled(): void {
    try {
        execFileSync("pgbackrest", ["version"], { stdio: "ignore" });
    } catch {
        throw new ToolMissingError("pgbackrest", "pgBackRest is not installed or not on PATH (Debian/Ubuntu: apt-get install pgbackrest)");
    }
}
