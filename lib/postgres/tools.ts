// Runs pg_dump, pg_restore and psql. The password travels in PGPASSWORD, never on the command line
// (where `ps` would show it); everything the tool prints is redacted and appended to a log file.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import type { Readable } from "node:stream";
import { findPgTool, type PgTool } from "./binaries";
import { parseConnectionString } from "./connection";
import { redact } from "../redact";

/** The URI without its password, for --dbname; libpq accepts URIs there. */
export function uriWithoutPassword(uri: string): string {
    const url = new URL(uri);
    url.password = "";
    return url.toString();
}

export interface RunToolOptions {
    /** Connection the tool talks to; its password goes to PGPASSWORD. */
    connection?: string;
    /** Appends the tool's stdout/stderr here (redacted). */
    logFile?: string;
    /** Piped to the tool's stdin. */
    stdin?: Readable;
    /** Called with each output line (redacted), for progress. */
    onLine?: (line: string) => void;
    /** Kill the tool after this long. */
    timeoutMs?: number;
}

export interface ToolResult {
    exitCode: number;
    /** Lines the tool printed (redacted), stdout and stderr interleaved. */
    lines: string[];
    durationMs: number;
}

export async function runPgTool(tool: PgTool, args: string[], opts: RunToolOptions = {}): Promise<ToolResult> {
    const bin = findPgTool(tool);
    const password = opts.connection ? parseConnectionString(opts.connection).password : undefined;
    const env: NodeJS.ProcessEnv = { ...process.env, PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? "10" };
    if (password) env.PGPASSWORD = password;
    const secrets = [password];
    const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: "a" }) : undefined;
    const lines: string[] = [];
    const started = Date.now();

    return new Promise((resolve, reject) => {
        const child = spawn(bin, args, { env, stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
        let timer: NodeJS.Timeout | undefined;
        if (opts.timeoutMs) timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs);
        const onData = (() => {
            let partial = "";
            return (chunk: Buffer) => {
                const text = partial + chunk.toString("utf8");
                const parts = text.split("\n");
                partial = parts.pop() ?? "";
                for (const raw of parts) emit(raw);
            };
        })();
        const emit = (raw: string) => {
            const line = redact(raw, secrets);
            // Keep memory bounded on chatty tools: the log file has everything.
            if (lines.length < 20_000) lines.push(line);
            log?.write(line + "\n");
            opts.onLine?.(line);
        };
        child.stdout!.on("data", onData);
        child.stderr!.on("data", onData);
        if (opts.stdin && child.stdin) {
            opts.stdin.on("error", (err) => child.kill() && reject(err));
            child.stdin.on("error", () => undefined); // the tool exited early; its exit code says why
            opts.stdin.pipe(child.stdin);
        }
        child.on("error", (err) => {
            if (timer) clearTimeout(timer);
            log?.end();
            reject(new Error(`could not run ${tool}: ${err.message}`));
        });
        child.on("close", (code, signal) => {
            if (timer) clearTimeout(timer);
            const finish = () =>
                resolve({ exitCode: code ?? (signal ? 128 : 1), lines, durationMs: Date.now() - started });
            if (log) log.end(finish);
            else finish();
        });
    });
}
