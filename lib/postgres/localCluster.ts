// A throw-away PostgreSQL cluster: initdb into a temp dir, start on a free loopback port, hand out
// connection strings, and always stop and delete it. Used by the tests, the demo and the benchmark.
//
// initdb and postgres refuse to run as root. When we are root (CI, our sessions) the cluster is
// created and run as an unprivileged OS user (the Debian package's `postgres` by default).
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { findPgTool } from "./binaries";
import { toolEnvironment } from "../toolEnvironment";
import { EnvironmentError, RefusedError } from "../errors";

const execFileAsync = promisify(execFile);

export interface LocalClusterOptions {
    /** OS user to run the server as when the current user is root. Default: postgres. */
    runAsUser?: string;
    /** Extra `-c name=value` server settings. */
    settings?: Record<string, string | number>;
    /** Where to create the data directory. Default: the OS temp dir. */
    baseDir?: string;
    /**
     * Leave the server running when this process exits (no exit hook): a drill's own cluster is created
     * by one engine run and removed by another (destroy, or --cleanup much later). The owner stops it with
     * stopDetachedCluster().
     */
    detached?: boolean;
    /**
     * Extra environment for the server processes (archive_command and restore_command inherit it):
     * pgBackRest takes its repository secrets from PGBACKREST_* variables, never from a command line.
     */
    env?: Record<string, string>;
}

export interface LocalCluster {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: string;
    readonly dataDir: string;
    /** The temp directory holding dataDir, the socket and server.log; removed by stop(). */
    readonly rootDir: string;
    /** The OS user the server runs as (root cannot run it), if not the current user. */
    readonly runAs?: string;
    /** postgresql://postgres:<password>@127.0.0.1:<port>/<database> */
    url(database?: string): string;
    /** Stops the server (immediate mode) and deletes the data directory. Safe to call twice. */
    stop(): Promise<void>;
}

const live = new Set<LocalCluster>();
let exitHookInstalled = false;

function installExitHook(): void {
    if (exitHookInstalled) return;
    exitHookInstalled = true;
    // Last line of defence: a process that dies without calling stop() still takes its clusters down.
    const stopAllSync = () => {
        for (const c of live) stopSync(c);
    };
    process.once("exit", stopAllSync);
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => {
            stopAllSync();
            // Die of the same signal (exit code 130/143), as if we had not been listening.
            process.kill(process.pid, sig);
        });
    }
}

function uidOf(user: string): { uid: number; gid: number } {
    // `id` needs none of our secrets (a drill's provider holds its vault keys in its environment).
    const out = execFileSync("id", ["-u", user], { encoding: "utf8", env: toolEnvironment() }).trim();
    const gid = execFileSync("id", ["-g", user], { encoding: "utf8", env: toolEnvironment() }).trim();
    return { uid: Number(out), gid: Number(gid) };
}

/**
 * Runs a server-side tool, as `runAs` when given (we are root), returning stdout. It runs in the
 * cluster's own directory: the caller's working directory may be one the unprivileged user cannot
 * enter (the engine's provider processes run in a private temp dir).
 */
async function runServerTool(runAs: string | undefined, tool: string, args: string[], cwd: string, env?: Record<string, string>): Promise<string> {
    const [cmd, argv] = runAs ? ["runuser", ["-u", runAs, "--", tool, ...args]] : [tool, args];
    try {
        const { stdout } = await execFileAsync(cmd, argv, {
            encoding: "utf8",
            maxBuffer: 16 * 1024 * 1024,
            cwd,
            // The server keeps its start-up environment for its whole life: no secret it does not need.
            env: toolEnvironment(env),
        });
        return stdout;
    } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        throw new EnvironmentError("PRECONDITION", `${path.basename(tool)} failed: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: err });
    }
}

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            const port = typeof addr === "object" && addr ? addr.port : 0;
            srv.close(() => resolve(port));
        });
    });
}

function stopSync(c: LocalCluster): void {
    const internal = c as LocalClusterImpl;
    if (internal.stopped) return;
    internal.stopped = true;
    live.delete(c);
    stopAndRemove(internal.rootDir, internal.runAs);
}

/** Stops the server of `rootDir/data` (immediate mode, it is throw-away) and deletes rootDir. */
function stopAndRemove(rootDir: string, runAs: string | undefined): void {
    const pgCtl = findPgTool("pg_ctl");
    const dataDir = path.join(rootDir, "data");
    if (fs.existsSync(path.join(dataDir, "postmaster.pid"))) {
        try {
            const [cmd, argv] = runAs
                ? ["runuser", ["-u", runAs, "--", pgCtl, "-D", dataDir, "-m", "immediate", "-w", "stop"]]
                : [pgCtl, ["-D", dataDir, "-m", "immediate", "-w", "stop"]];
            execFileSync(cmd, argv, { stdio: "ignore", cwd: rootDir, env: toolEnvironment() });
        } catch {
            // already stopped
        }
    }
    fs.rmSync(rootDir, { recursive: true, force: true });
}

/**
 * Stops and deletes a cluster started with `detached: true`, given its root directory. The directory
 * must look like one of ours (a `supabase-dr-pg-` temp dir with a data directory, or already gone):
 * state edited by hand must not make us delete an arbitrary path.
 */
export function stopDetachedCluster(rootDir: string, runAs?: string): "stopped" | "already-gone" {
    if (!fs.existsSync(rootDir)) return "already-gone";
    if (!path.basename(rootDir).startsWith(ROOT_PREFIX) || !fs.existsSync(path.join(rootDir, "data", "PG_VERSION"))) {
        throw new RefusedError(`refusing to remove ${rootDir}: it is not a supabase-dr throw-away cluster directory`, { code: "NOT_SCRATCH" });
    }
    stopAndRemove(rootDir, runAs);
    return "stopped";
}

/** Whether the detached cluster's server is up (its postmaster.pid names a live process). */
export function detachedClusterRunning(rootDir: string): boolean {
    try {
        const pid = Number(fs.readFileSync(path.join(rootDir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

interface LocalClusterImpl extends LocalCluster {
    stopped: boolean;
}

const ROOT_PREFIX = "supabase-dr-pg-";

/** Creates and starts a cluster. The caller must call stop() (use try/finally or afterAll). */
export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
    const initdb = findPgTool("initdb");
    const pgCtl = findPgTool("pg_ctl");
    const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
    const runAs = isRoot ? (opts.runAsUser ?? "postgres") : undefined;

    const rootDir = fs.mkdtempSync(path.join(opts.baseDir ?? os.tmpdir(), ROOT_PREFIX));
    const dataDir = path.join(rootDir, "data");
    const pwFile = path.join(rootDir, "pwfile");
    const password = randomBytes(12).toString("hex");
    fs.writeFileSync(pwFile, password + "\n", { mode: 0o600 });
    if (runAs) {
        let ids: { uid: number; gid: number };
        try {
            ids = uidOf(runAs);
        } catch (err) {
            fs.rmSync(rootDir, { recursive: true, force: true });
            throw new EnvironmentError(
                "PRECONDITION",
                `running as root, and initdb refuses root: the unprivileged user '${runAs}' does not exist ` +
                    `(install the postgresql package, which creates it, or: useradd --system ${runAs})`,
                { cause: err },
            );
        }
        fs.chownSync(rootDir, ids.uid, ids.gid);
        fs.chownSync(pwFile, ids.uid, ids.gid);
    }

    const cluster: LocalClusterImpl = {
        host: "127.0.0.1",
        port: 0,
        user: "postgres",
        password,
        dataDir,
        stopped: false,
        runAs,
        rootDir,
        url(database = "postgres") {
            return `postgresql://${this.user}:${this.password}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
        },
        async stop() {
            stopSync(this);
        },
    };
    if (!opts.detached) {
        installExitHook();
        live.add(cluster);
    }

    try {
        await runServerTool(runAs, initdb, [
            "-D", dataDir,
            "-U", "postgres",
            "--pwfile", pwFile,
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ], rootDir);
        fs.rmSync(pwFile, { force: true });
        const settings: Record<string, string | number> = {
            listen_addresses: "127.0.0.1",
            unix_socket_directories: rootDir,
            fsync: "off",
            synchronous_commit: "off",
            full_page_writes: "off",
            max_connections: 100,
            ...opts.settings,
        };
        // A port taken between freePort() and the server's bind is retried with another.
        let lastError: unknown;
        for (let attempt = 0; attempt < 5; attempt++) {
            const port = await freePort();
            const serverOpts = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
            try {
                await runServerTool(runAs, pgCtl, [
                    "-D", dataDir, "-l", path.join(rootDir, "server.log"), "-o", serverOpts, "-w", "-t", "60", "start",
                ], rootDir, opts.env);
                (cluster as { port: number }).port = port;
                return cluster;
            } catch (err) {
                lastError = err;
            }
        }
        const log = readTail(path.join(rootDir, "server.log"));
        throw new EnvironmentError("PRECONDITION", `PostgreSQL did not start: ${String(lastError)}\n${log}`, { cause: lastError });
    } catch (err) {
        stopSync(cluster);
        throw err;
    }
}

function readTail(file: string, lines = 20): string {
    try {
        return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
        return "";
    }
}
