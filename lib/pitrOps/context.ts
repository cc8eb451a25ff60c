// A pgBackRest context for one CLI command: a private workspace with the generated config (no
// secret), run as the data directory's owner when we are root (pgBackRest, like PostgreSQL's tools,
// must run as that user to read PGDATA), secrets only in pgBackRest's environment.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { pgServerOf } from "../infra/pitrConfig";
import { createWorkspace, type PgBackRestContext } from "../pitr/runner";
import type { PitrSecrets } from "../pitr/settings";
import type { OpsSettings } from "./settings";
import { EnvironmentError } from "../errors";
import { toolEnvironment } from "../toolEnvironment";

export interface OpsContext {
    ctx: PgBackRestContext;
    close(): void;
}

/** The OS user owning `dir` when we are root (and may switch to it); undefined otherwise. */
export function ownerToRunAs(dir: string): string | undefined {
    if (process.getuid?.() !== 0) return undefined;
    let uid: number;
    try {
        uid = fs.statSync(dir).uid;
    } catch (err) {
        throw new EnvironmentError("PRECONDITION", `server.dataDir ${dir} is not readable here (${(err as NodeJS.ErrnoException).code}): backup and check run on the database host`);
    }
    if (uid === 0) throw new EnvironmentError("PRECONDITION", `server.dataDir ${dir} is owned by root: PostgreSQL's data directory belongs to its own OS user`);
    return execFileSync("id", ["-nu", String(uid)], { encoding: "utf8", env: toolEnvironment() }).trim();
}

/**
 * Opens a workspace for commands that need the server (backup, check, stanza-create, setup) or only
 * the repository (verify, info, health, expire: `needsServer` false, run as ourselves).
 */
export function openContext(settings: OpsSettings, secrets: PitrSecrets, env: NodeJS.ProcessEnv, needsServer: boolean): OpsContext {
    const runAs = needsServer ? ownerToRunAs(settings.server.dataDir) : undefined;
    const workspace = createWorkspace(settings, pgServerOf(settings.server), os.tmpdir(), runAs);
    const ctx: PgBackRestContext = {
        settings,
        secrets,
        configFile: workspace.configFile,
        runAs,
        cwd: workspace.dir,
        // A password for the server connection, when its pg_hba asks for one on the socket.
        env: env.PGPASSWORD ? { PGPASSWORD: env.PGPASSWORD } : undefined,
    };
    return { ctx, close: () => workspace.remove() };
}
