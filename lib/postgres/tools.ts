// Runs pg_dump, pg_restore and psql. The password travels in PGPASSWORD, never on the command line
// (where `ps` would show it); everything the tool prints is redacted (secrets, and the row values that
// server errors quote: lib/redact.ts) and appended to a log file.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { findPgTool, type PgTool } from "./binaries";
import { parseConnectionString } from "./connection";
import { PgOutputRedactor, redact } from "../redact";
import { ToolMissingError } from "../errors";
import { toolEnvironment } from "../toolEnvironment";

/** The URI without any password (user info or query parameter), for --dbname; libpq accepts URIs there. */
export function uriWithoutPassword(uri: string): string {
    const url = new URL(uri);
    url.password = "";
    for (const key of [...url.searchParams.keys()]) {
        if (/^(password|sslpassword)$/i.test(key)) url.searchParams.delete(key);
    }
    return url.toString();
}

function passwordOf(uri: string): string | undefined {
    const info = parseConnectionString(uri);
    return info.password ?? new URL(uri).searchParams.get("password") ?? undefined;
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
    /** Lines matching this are kept in `matched`, however many there are (e.g. error lines). */
    keep?: RegExp;
    /** Kill the tool after this long (SIGTERM, then SIGKILL). Default: 6 hours. */
    timeoutMs?: number;
}

export interface ToolResult {
    exitCode: number;
    /** The last lines the tool printed (redacted), stdout and stderr each line-buffered. */
    lines: string[];
    /** Every line matching options.keep (redacted). */
    matched: string[];
    /**
     * For each matched line, the lines the tool printed with it (DETAIL, HINT, CONTEXT, LINE, Command
     * was; redacted): they name the constraint, table, column and line that an error line alone does not.
     */
    matchedContext: string[][];
    durationMs: number;
}

const TAIL_LINES = 2000;
// The fields libpq prints after an error's first line, and psql's caret under a LINE echo.
const CONTEXT_LINE = /^(?:(?:DETAIL|HINT|CONTEXT|QUERY|LINE \d+|Command was):|\s*\^\s*$)/;
const DEFAULT_TIMEOUT_MS = 6 * 3600_000;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

// A tool must not outlive us: a pg_dump left running after Ctrl-C keeps loading production.
function killChildrenOnExit(): void {
    if (exitHookInstalled) return;
    exitHookInstalled = true;
    process.once("exit", () => {
        for (const child of running) child.kill("SIGKILL");
    });
}

export async function runPgTool(tool: PgTool, args: string[], opts: RunToolOptions = {}): Promise<ToolResult> {
    const bin = findPgTool(tool);
    const password = opts.connection ? passwordOf(opts.connection) : undefined;
    // psql reads a script in the client encoding until the script sets one: pin it, so it splits the
    // script where the SQL safety scan did (a GBK/SJIS locale would move quotes).
    // The tool gets the password of the one server it talks to, and no other secret (lib/toolEnvironment.ts).
    const env = toolEnvironment({ PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? "10", PGCLIENTENCODING: "UTF8", PGPASSWORD: password });
    const secrets = [password];
    const lines: string[] = [];
    const matched: string[] = [];
    const matchedContext: string[][] = [];
    const started = Date.now();
    let logError: Error | undefined;
    const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: "a" }) : undefined;
    log?.on("error", (err) => (logError = err)); // e.g. a full disk: reported once the tool ends

    // One redactor per stream: a value spanning lines is followed through that stream's lines.
    const emitter = () => {
        const rows = new PgOutputRedactor();
        let context: string[] | undefined; // the current matched line's context lines, while they follow
        return (raw: string) => {
            const line = rows.line(redact(raw, secrets));
            if (line === undefined) return;
            lines.push(line);
            if (lines.length > TAIL_LINES) lines.shift();
            if (opts.keep?.test(line)) {
                matched.push(line);
                matchedContext.push((context = []));
            } else if (context && CONTEXT_LINE.test(line)) {
                context.push(line);
            } else {
                context = undefined;
            }
            if (!logError) log?.write(line + "\n");
            opts.onLine?.(line);
        };
    };
    const emitOwn = emitter();
    // One decoder and one partial line per stream: interleaving stdout and stderr byte-wise would
    // splice their lines (breaking error matching and, worse, splitting secrets past redaction).
    const lineReader = () => {
        const decoder = new StringDecoder("utf8");
        const emit = emitter();
        let partial = "";
        return {
            push(chunk: Buffer) {
                const parts = (partial + decoder.write(chunk)).split("\n");
                partial = parts.pop() ?? "";
                for (const p of parts) emit(p);
            },
            flush() {
                const rest = partial + decoder.end();
                partial = "";
                if (rest) emit(rest);
            },
        };
    };

    killChildrenOnExit();
    return new Promise((resolve, reject) => {
        const child = spawn(bin, args, { env, stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
        running.add(child);
        const out = lineReader();
        const err = lineReader();
        child.stdout!.on("data", out.push);
        child.stderr!.on("data", err.push);
        const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        let killTimer: NodeJS.Timeout | undefined;
        const timer = setTimeout(() => {
            emitOwn(`${tool} did not finish within ${Math.round(timeoutMs / 1000)} s: stopping it`);
            child.kill("SIGTERM");
            killTimer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        }, timeoutMs);
        if (opts.stdin && child.stdin) {
            child.stdin.on("error", () => undefined); // the tool exited early; its exit code says why
            opts.stdin.on("error", (e) => {
                emitOwn(`cannot read the input of ${tool}: ${e.message}`);
                child.kill("SIGTERM");
            });
            opts.stdin.pipe(child.stdin);
        }
        child.on("error", (e) => {
            clearTimeout(timer);
            running.delete(child);
            log?.end();
            const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
            reject(missing ? new ToolMissingError(tool, `could not run ${tool}: ${e.message}`, { cause: e }) : new Error(`could not run ${tool}: ${e.message}`, { cause: e }));
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            if (killTimer) clearTimeout(killTimer);
            running.delete(child);
            out.flush();
            err.flush();
            const finish = () => {
                if (logError) return reject(new Error(`cannot write the ${tool} log ${opts.logFile}: ${logError.message}`));
                resolve({ exitCode: code ?? (signal ? 128 : 1), lines, matched, matchedContext, durationMs: Date.now() - started });
            };
            if (log) log.end(finish);
            else finish();
        });
    });
}
