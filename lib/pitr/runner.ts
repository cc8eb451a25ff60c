// Runs pgBackRest commands. pgBackRest must run as the OS user that owns the data directory (we are
// often root, which PostgreSQL's tools refuse), so the command goes through `runuser` as that user.
// Secrets reach it only through the environment (config.ts): argv carries the config path, the stanza,
// the command and non-secret options. Everything it prints is redacted before it reaches an error.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { ExternalServiceError, ToolMissingError } from "../errors";
import { redact } from "../redact";
import { toolEnvironment } from "../toolEnvironment";
import { renderConfig, secretEnvironment, secretValues, type PgServer } from "./config";
import { assertSecretsPresent, type PitrSecrets, type PitrSettings } from "./settings";

/** Everything needed to run pgBackRest against one stanza. */
export interface PgBackRestContext {
    settings: PitrSettings;
    secrets: PitrSecrets;
    /** The generated config file (no secrets). */
    configFile: string;
    /** OS user to run as when we are root (the data directory's owner). */
    runAs?: string;
    /** Working directory the runAs user can enter. */
    cwd: string;
    /** Extra environment, e.g. PGPASSWORD for the server connection. */
    env?: Record<string, string>;
}

export interface RunResult {
    stdout: string;
    stderr: string;
    durationMs: number;
}

/** A pgBackRest command that failed (code PGBACKREST_FAILED, exit 5); `exitCode` is pgBackRest's own. */
export class PgBackRestError extends ExternalServiceError {
    constructor(message: string, readonly command: string, readonly exitCode: number | null, readonly output: string) {
        super("PGBACKREST_FAILED", message);
        this.name = "PgBackRestError";
    }
}

const DEFAULT_TIMEOUT_MS = 30 * 60_000;

/** The process environment for pgBackRest: ours, minus other tools' secrets, plus the stanza's secrets. */
export function pgBackRestEnvironment(ctx: Pick<PgBackRestContext, "settings" | "secrets" | "env">): NodeJS.ProcessEnv {
    // pgBackRest needs none of the engine's or our other secrets (lib/toolEnvironment.ts); a PGBACKREST_*
    // left in our environment would silently override the generated configuration.
    const env = toolEnvironment();
    for (const key of Object.keys(env)) if (key.startsWith("PGBACKREST_")) delete env[key];
    return { ...env, ...ctx.env, ...secretEnvironment(ctx.settings, ctx.secrets) };
}

/** The secrets to scrub from any output: the stanza's, and a server password passed in env. */
export function contextSecrets(ctx: Pick<PgBackRestContext, "secrets" | "env">): string[] {
    return [...secretValues(ctx.secrets), ...(ctx.env?.PGPASSWORD ? [ctx.env.PGPASSWORD] : [])];
}

/** The argv (after runuser) for one pgBackRest command: never a secret, by construction and by test. */
export function pgBackRestArgs(
    ctx: Pick<PgBackRestContext, "configFile" | "settings">,
    command: string,
    options: string[] = [],
    positional: string[] = [],
): string[] {
    for (const opt of options) {
        if (/cipher-pass|key-secret|s3-key=|s3-token/i.test(opt)) throw new Error(`refusing to pass a secret option on the command line: ${opt.split("=")[0]}`);
    }
    return [`--config=${ctx.configFile}`, `--stanza=${ctx.settings.stanza}`, ...options, command, ...positional];
}

/** Runs `pgbackrest <command>`; resolves with its output, rejects with a redacted PgBackRestError. */
export async function runPgBackRest(
    ctx: PgBackRestContext,
    command: string,
    options: string[] = [],
    opts: { timeoutMs?: number; onSpawn?: (pid: number) => void; positional?: string[] } = {},
): Promise<RunResult> {
    assertSecretsPresent(ctx.settings, ctx.secrets);
    const args = pgBackRestArgs(ctx, command, options, opts.positional);
    const [cmd, argv] = ctx.runAs ? ["runuser", ["-u", ctx.runAs, "--", "pgbackrest", ...args]] : ["pgbackrest", args];
    const secrets = contextSecrets(ctx);
    const started = Date.now();
    return new Promise<RunResult>((resolve, reject) => {
        const child = spawn(cmd, argv, { env: pgBackRestEnvironment(ctx), cwd: ctx.cwd, stdio: ["ignore", "pipe", "pipe"] });
        if (child.pid) opts.onSpawn?.(child.pid);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
        child.on("error", (e) => {
            clearTimeout(timer);
            if ((e as NodeJS.ErrnoException).code === "ENOENT") {
                reject(new ToolMissingError("pgbackrest", `pgbackrest ${command} could not start: ${e.message} (is pgBackRest installed? apt-get install pgbackrest)`, { cause: e }));
            } else reject(new PgBackRestError(`pgbackrest ${command} could not start: ${e.message}`, command, null, ""));
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            const stdout = redact(Buffer.concat(out).toString("utf8"), secrets);
            const stderr = redact(Buffer.concat(err).toString("utf8"), secrets);
            if (code === 0) return resolve({ stdout, stderr, durationMs: Date.now() - started });
            const detail = (stderr.trim() || stdout.trim()).split("\n").slice(-15).join("\n");
            const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
            reject(new PgBackRestError(`pgbackrest ${command} (stanza ${ctx.settings.stanza}) ${why}: ${detail}`, command, code, stdout + stderr));
        });
    });
}

/** pgBackRest's version line, e.g. "pgBackRest 2.45"; throws with an install hint when missing. */
export function pgBackRestVersion(): string {
    try {
        return execFileSync("pgbackrest", ["version"], { encoding: "utf8" }).trim();
    } catch (err) {
        throw new ToolMissingError("pgbackrest", "pgBackRest is not installed or not on PATH (Debian: apt-get install pgbackrest)", { cause: err });
    }
}

/** A private directory with the config file and pgBackRest's log, lock and spool paths. */
export interface PgBackRestWorkspace {
    dir: string;
    configFile: string;
    remove(): void;
}

function ownerIds(user: string): { uid: number; gid: number } {
    return {
        uid: Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim()),
        gid: Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim()),
    };
}

/**
 * Writes the config (no secrets) for `server` into a new directory under baseDir, with log/lock/spool
 * directories, all owned by runAs when given. Workspaces are independent: two stanzas or two drills
 * never share a lock or log path.
 */
export function createWorkspace(settings: PitrSettings, server: PgServer, baseDir: string, runAs?: string): PgBackRestWorkspace {
    const dir = fs.mkdtempSync(path.join(baseDir, "supabase-dr-pgbackrest-"));
    const paths = { logPath: path.join(dir, "log"), lockPath: path.join(dir, "lock"), spoolPath: path.join(dir, "spool") };
    for (const p of Object.values(paths)) fs.mkdirSync(p, { mode: 0o750 });
    const configFile = path.join(dir, "pgbackrest.conf");
    fs.writeFileSync(configFile, renderConfig(settings, server, paths), { mode: 0o640 });
    if (runAs) {
        const { uid, gid } = ownerIds(runAs);
        for (const p of [dir, configFile, ...Object.values(paths)]) fs.chownSync(p, uid, gid);
    }
    return { dir, configFile, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
