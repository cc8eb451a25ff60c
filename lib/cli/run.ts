// The one way a command (scripts/*.ts) ends: its main() returns its verdict's exit code (0, or 1 for
// a FAIL verdict), and anything it throws is mapped to an exit code by the error's class
// (lib/errors.ts), never by its text. The error is printed as `<command>: <CODE>: <message>`, redacted;
// `--verbose` (anywhere on the command line) or SUPABASE_DR_VERBOSE=1 adds the chain of causes and the
// stack, redacted too. A usage error is followed by the command's usage text.
import { causeChain, classify, UsageError } from "../errors";
import { pgErrorText } from "../redact";

export const VERBOSE_FLAG = "--verbose";
export const VERBOSE_ENV = "SUPABASE_DR_VERBOSE";

export interface CliOptions {
    /** Values to mask wherever they appear in what is printed (read when an error is printed). */
    secrets?: () => Iterable<string | undefined>;
    /** Printed after the message of a UsageError. */
    usage?: string;
}

export interface ReportOptions {
    secrets?: Iterable<string | undefined>;
    verbose?: boolean;
    usage?: string;
}

/**
 * The message, redacted: a database server's error (a cause, typically) as its primary message and
 * SQLSTATE only, since its detail quotes row values; every message with the secrets and URI passwords masked.
 */
function messageOf(err: unknown, secrets: string[]): string {
    if (err instanceof Error) return pgErrorText(err, secrets);
    const text = typeof err === "string" ? err : `non-error value thrown: ${Object.prototype.toString.call(err)}`;
    return pgErrorText(text, secrets);
}

/** What the command prints for an error (ending in a newline), and the exit code it ends with. */
export function errorReport(command: string, err: unknown, opts: ReportOptions = {}): { text: string; exitCode: number } {
    const secrets = [...(opts.secrets ?? [])].filter((s): s is string => !!s);
    const { code, exitCode } = classify(err);
    const lines = [`${command}: ${code}: ${messageOf(err, secrets)}`];
    if (opts.verbose) {
        for (const cause of causeChain(err).slice(1)) {
            const name = cause instanceof Error ? cause.name : typeof cause;
            const causeCode = (cause as { code?: unknown } | null)?.code;
            lines.push(`  caused by ${name}${typeof causeCode === "string" ? ` [${causeCode}]` : ""}: ${messageOf(cause, secrets)}`);
        }
        const stack = err instanceof Error ? err.stack?.split("\n").filter((l) => /^\s+at /.test(l)) : undefined;
        // Frames only: the stack's first line repeats the message, unredacted.
        if (stack?.length) lines.push(pgErrorText(stack.join("\n"), secrets));
    }
    if (err instanceof UsageError && opts.usage) lines.push("", opts.usage);
    return { text: lines.join("\n") + "\n", exitCode };
}

/**
 * Takes --verbose out of process.argv (so each command's own parser never sees it) and says whether
 * verbose output is on.
 */
export function takeVerbose(argv: string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
    let verbose = env[VERBOSE_ENV] === "1" || env[VERBOSE_ENV] === "true";
    for (let i = argv.indexOf(VERBOSE_FLAG); i >= 2; i = argv.indexOf(VERBOSE_FLAG)) {
        argv.splice(i, 1);
        verbose = true;
    }
    return verbose;
}

/**
 * Exits once stdout and stderr have taken everything written so far (a pipe is asynchronous on some
 * systems: a plain process.exit could cut a long diff short). Exiting at all, rather than letting the
 * event loop drain, ends whatever a library left running (a pool's timer, an engine's child).
 */
function exitAfterFlush(code: number): void {
    process.exitCode = code;
    let pending = 2;
    const done = () => {
        if (--pending === 0) process.exit(code);
    };
    process.stdout.write("", done);
    process.stderr.write("", done);
}

/** Runs a command's main() and exits the process with its code, or with the code of what it threw. */
export function runCli(command: string, main: () => number | Promise<number>, opts: CliOptions = {}): void {
    const verbose = takeVerbose();
    const fail = (err: unknown) => {
        let secrets: (string | undefined)[] = [];
        try {
            secrets = [...(opts.secrets?.() ?? [])];
        } catch {
            // A broken environment must not hide the error being reported; URI passwords are masked anyway.
        }
        const report = errorReport(command, err, { secrets, verbose, usage: opts.usage });
        process.stderr.write(report.text);
        exitAfterFlush(report.exitCode);
    };
    let result: number | Promise<number>;
    try {
        result = main();
    } catch (err) {
        return fail(err);
    }
    Promise.resolve(result).then(exitAfterFlush, fail);
}
