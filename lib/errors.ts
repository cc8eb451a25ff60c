// The project's errors as classes. Each carries a stable `code` (what scripts, logs and tests look
// at: never the message) and the standard `cause` when it wraps another error. The code alone decides
// its category, and the category alone decides the exit code a command ends with (lib/cli/run.ts):
// ERROR_CODES and EXIT_CODES below are the one table of both (README "Exit codes").
//
// Messages are written to be shown to an operator: they name the problem and the key, path or
// object, never a password, a token or a row value. The CLI still redacts what it prints.

export type ErrorCategory = "check" | "usage" | "refused" | "environment" | "external" | "internal";

/** Exit code of each category. 0 is success; a command's own verdicts (PASS/FAIL) use 0 and 1 too. */
export const EXIT_CODES: Readonly<Record<ErrorCategory, number>> = {
    /** A check failed: a drill's FAIL verdict, a checksum or verification mismatch. */
    check: 1,
    /** The command is wrong: an unknown flag, a bad argument, environment variable or setting. */
    usage: 2,
    /** Refused for safety: it would touch the source or live data, a target that is not ours, a locked stack. */
    refused: 3,
    /** This machine lacks a precondition: a tool is not installed, the engine could not be built. */
    environment: 4,
    /** An external service failed: the Supabase Management or Storage API, S3, Azure, a database server. */
    external: 5,
    /** Unexpected: a bug (sysexits' EX_SOFTWARE). */
    internal: 70,
};

interface CodeInfo {
    category: ErrorCategory;
    meaning: string;
}

/** Every code an error of this project can carry, its category and what it means. */
export const ERROR_CODES = {
    USAGE: { category: "usage", meaning: "an unknown flag, a missing or malformed argument or environment variable" },
    CONFIG_INVALID: { category: "usage", meaning: "settings that do not validate; each issue names its property path" },
    REFUSED: { category: "refused", meaning: "an action refused for safety (the message says which and why)" },
    SOURCE_PROTECTED: { category: "refused", meaning: "the target is the source or live database (or its server)" },
    NOT_SCRATCH: { category: "refused", meaning: "the target was not created by supabase-dr, or is not empty: it is left untouched" },
    STACK_LOCKED: { category: "refused", meaning: "a drill stack is held by another run" },
    RETENTION_REFUSED: { category: "refused", meaning: "the vault refused to delete or overwrite an object under retention" },
    APPLY_REFUSED: { category: "refused", meaning: "recover rows rolled back its write to live; nothing changed" },
    UNDO_REFUSED: { category: "refused", meaning: "recover undo rolled back; nothing changed" },
    CHECK_FAILED: { category: "check", meaning: "a verification failed (checksum, content, restore)" },
    TOOL_MISSING: { category: "environment", meaning: "a required program (pg_dump, pgbackrest, az, …) is not installed or not on PATH" },
    ENGINE_BUILD_FAILED: { category: "environment", meaning: "the Pulumi engine could not be found or built" },
    PROVIDER_BUILD_FAILED: { category: "environment", meaning: "the supabase-dr provider plugin could not be built or installed" },
    PRECONDITION: { category: "environment", meaning: "a precondition of the machine or server is not met (login, server settings)" },
    SUPABASE_API: { category: "external", meaning: "a Supabase Management API call failed" },
    STORAGE_API: { category: "external", meaning: "a Supabase Storage API call failed" },
    S3: { category: "external", meaning: "an S3 (vault) request failed" },
    AZURE: { category: "external", meaning: "an Azure (archive) request failed" },
    DATABASE: { category: "external", meaning: "a database server could not be reached or failed" },
    PGBACKREST_FAILED: { category: "external", meaning: "a pgBackRest command failed" },
    INTERNAL: { category: "internal", meaning: "an unexpected error: please report it with --verbose output" },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
/** The codes of one category. */
export type CodeOf<C extends ErrorCategory> = { [K in ErrorCode]: (typeof ERROR_CODES)[K]["category"] extends C ? K : never }[ErrorCode];

export interface ErrorOptions {
    cause?: unknown;
}

/** Base class of the project's errors: a stable code (which decides the category) and a cause. */
export class SupabaseDrError extends Error {
    readonly code: ErrorCode;

    constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
        super(message, "cause" in options ? { cause: options.cause } : undefined);
        this.code = code;
        this.name = new.target.name;
    }

    get category(): ErrorCategory {
        return ERROR_CODES[this.code].category;
    }
}

/** A wrong command line, argument or environment variable (exit 2); the CLI adds its usage text. */
export class UsageError extends SupabaseDrError {
    constructor(message: string, options: ErrorOptions = {}) {
        super("USAGE", message, options);
    }
}

/** An action refused for safety (exit 3); nothing was changed by it. */
export class RefusedError extends SupabaseDrError {
    constructor(message: string, options: ErrorOptions & { code?: CodeOf<"refused"> } = {}) {
        super(options.code ?? "REFUSED", message, options);
    }
}

/** A verification that failed (exit 1). */
export class CheckFailedError extends SupabaseDrError {
    constructor(message: string, options: ErrorOptions = {}) {
        super("CHECK_FAILED", message, options);
    }
}

/** A program this command needs is not installed (exit 4). */
export class ToolMissingError extends SupabaseDrError {
    constructor(
        readonly tool: string,
        message: string,
        options: ErrorOptions = {},
    ) {
        super("TOOL_MISSING", message, options);
    }
}

/** The machine or a server lacks a precondition other than a missing tool (exit 4). */
export class EnvironmentError extends SupabaseDrError {
    constructor(code: CodeOf<"environment">, message: string, options: ErrorOptions = {}) {
        super(code, message, options);
    }
}

/** A call to an external service failed (exit 5). */
export class ExternalServiceError extends SupabaseDrError {
    constructor(code: CodeOf<"external">, message: string, options: ErrorOptions = {}) {
        super(code, message, options);
    }
}

export interface Classified {
    code: ErrorCode;
    category: ErrorCategory;
    exitCode: number;
}

/** Code, category and exit code of anything thrown: by class only; anything else is INTERNAL (70). */
export function classify(err: unknown): Classified {
    if (err instanceof SupabaseDrError && err.code in ERROR_CODES) {
        return { code: err.code, category: err.category, exitCode: EXIT_CODES[err.category] };
    }
    return { code: "INTERNAL", category: "internal", exitCode: EXIT_CODES.internal };
}

/** The error and the errors it wraps, outermost first (a cycle or a very deep chain is cut). */
export function causeChain(err: unknown): unknown[] {
    const chain: unknown[] = [];
    for (let current: unknown = err; current !== undefined && chain.length < 20 && !chain.includes(current); ) {
        chain.push(current);
        current = current instanceof Error ? current.cause : undefined;
    }
    return chain;
}

/**
 * The error with `suffix` added to its message (what was cleaned up after it, say), keeping its class
 * and code; anything else thrown becomes an Error with that text.
 */
export function withMessageSuffix(err: unknown, suffix: string): Error {
    if (err instanceof Error) {
        err.message += suffix;
        return err;
    }
    return new Error(`${String(err)}${suffix}`);
}
