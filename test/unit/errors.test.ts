// The exit code of every error comes from its class (lib/errors.ts), never from its text, and what a
// command prints for it (lib/cli/run.ts) is redacted, with the causes only under --verbose.
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "../../lib/cli/args";
import { errorReport, takeVerbose } from "../../lib/cli/run";
import { ConfigError } from "../../lib/config/errors";
import {
    CheckFailedError,
    classify,
    ERROR_CODES,
    EnvironmentError,
    EXIT_CODES,
    ExternalServiceError,
    RefusedError,
    SupabaseDrError,
    ToolMissingError,
    UsageError,
    withMessageSuffix,
    type ErrorCode,
} from "../../lib/errors";
import { PgBackRestError } from "../../lib/pitr/runner";
import { findPgTool } from "../../lib/postgres/binaries";
import { ApplyRefused } from "../../lib/recover/apply";
import { UsageError as RecoverUsageError } from "../../lib/recover/cliArgs";
import { UndoRefused } from "../../lib/recover/undo";
import { redactError } from "../../lib/redact";
import { SupabaseApiError } from "../../lib/supabase/client";
import { RetentionRefusedError } from "../../lib/vault/s3Store";

describe("exit codes by category", () => {
    it.each([
        [new CheckFailedError("sha256 differs"), "CHECK_FAILED", 1],
        [new UsageError("unknown flag --x"), "USAGE", 2],
        [new ConfigError([{ path: "supabase-dr:drill.restore.jobs", message: "expected a whole number" }]), "CONFIG_INVALID", 2],
        [new RefusedError("refusing to restore into the source", { code: "SOURCE_PROTECTED" }), "SOURCE_PROTECTED", 3],
        [new RefusedError("refusing"), "REFUSED", 3],
        [new ToolMissingError("pg_dump", "pg_dump was not found"), "TOOL_MISSING", 4],
        [new EnvironmentError("ENGINE_BUILD_FAILED", "the Pulumi engine could not be built"), "ENGINE_BUILD_FAILED", 4],
        [new ExternalServiceError("S3", "upload failed (SlowDown)"), "S3", 5],
        [new Error("undefined is not a function"), "INTERNAL", 70],
        [new TypeError("x"), "INTERNAL", 70],
        ["a thrown string", "INTERNAL", 70],
        [undefined, "INTERNAL", 70],
    ] as const)("%s → %s, exit %i", (err, code, exit) => {
        expect(classify(err)).toEqual({ code, category: ERROR_CODES[code].category, exitCode: exit });
    });

    it("the project's named classes carry their codes", () => {
        const cases: [unknown, ErrorCode, number][] = [
            [new SupabaseApiError("create project failed (HTTP 500)", "createProject", 500, 3), "SUPABASE_API", 5],
            [new RetentionRefusedError("delete refused (AccessDenied)", "AccessDenied"), "RETENTION_REFUSED", 3],
            [new PgBackRestError("pgbackrest backup exited with 56", "backup", 56, ""), "PGBACKREST_FAILED", 5],
            [new ApplyRefused("rolled back"), "APPLY_REFUSED", 3],
            [new UndoRefused("rolled back"), "UNDO_REFUSED", 3],
            [new RecoverUsageError("--table is required"), "USAGE", 2],
        ];
        for (const [err, code, exit] of cases) {
            expect(err).toBeInstanceOf(SupabaseDrError);
            expect(classify(err), String(err)).toMatchObject({ code, exitCode: exit });
        }
        // Fields of their own stay: the S3 code, pgBackRest's exit code.
        expect(new RetentionRefusedError("m", "AccessDenied").serviceCode).toBe("AccessDenied");
        expect(new PgBackRestError("m", "backup", 56, "").exitCode).toBe(56);
    });

    it("a text that looks like another category does not change the code", () => {
        expect(classify(new Error("refusing to restore into the source")).exitCode).toBe(70);
        expect(classify(new UsageError("pgbackrest is not installed")).exitCode).toBe(2);
        // A lookalike with a code but not of our classes (another library's `code`) is not ours.
        expect(classify(Object.assign(new Error("x"), { code: "USAGE" })).exitCode).toBe(70);
    });

    it("every code is documented with a category that has an exit code, and the codes are distinct per category", () => {
        for (const [code, info] of Object.entries(ERROR_CODES)) {
            expect(EXIT_CODES[info.category], code).toBeTypeOf("number");
            expect(info.meaning.length, code).toBeGreaterThan(10);
        }
        expect(new Set(Object.values(EXIT_CODES)).size).toBe(Object.keys(EXIT_CODES).length);
    });

    it("a missing PostgreSQL tool is TOOL_MISSING (exit 4), naming the tool", () => {
        let thrown: unknown;
        try {
            findPgTool("pg_dump", []);
        } catch (err) {
            thrown = err;
        }
        expect(thrown).toBeInstanceOf(ToolMissingError);
        expect((thrown as ToolMissingError).tool).toBe("pg_dump");
        expect(classify(thrown).exitCode).toBe(4);
    });

    it("an unknown flag of parseArgs is a usage error that names the flag", () => {
        let thrown: unknown;
        try {
            parseCliArgs({ args: ["--nope"], options: { env: { type: "string" } }, strict: true });
        } catch (err) {
            thrown = err;
        }
        expect(thrown).toBeInstanceOf(UsageError);
        expect((thrown as Error).message).toContain("--nope");
        expect((thrown as Error).cause).toMatchObject({ code: "ERR_PARSE_ARGS_UNKNOWN_OPTION" });
    });
});

describe("causes", () => {
    it("a wrapped error keeps its cause, and its code is the wrapper's", () => {
        const low = Object.assign(new Error("spawn az ENOENT"), { code: "ENOENT" });
        const err = new ToolMissingError("az", "the Azure CLI (az) is not installed", { cause: low });
        expect(err.cause).toBe(low);
        expect(classify(err).code).toBe("TOOL_MISSING");
        expect(new UsageError("no cause").cause).toBeUndefined();
        expect("cause" in new UsageError("no cause")).toBe(false);
    });

    it("a redacted copy keeps the class, code, fields and the (redacted) cause chain", () => {
        const cause = new Error("connect to postgresql://app:hunter22@db/x failed");
        const err = new SupabaseApiError("token sbp_secret123 rejected", "getProject", 401, 1, { cause });
        const clean = redactError(err, ["sbp_secret123"]);
        expect(clean).toBeInstanceOf(SupabaseApiError);
        expect(classify(clean)).toMatchObject({ code: "SUPABASE_API", exitCode: 5 });
        expect((clean as SupabaseApiError).status).toBe(401);
        expect(clean.message).toBe("token **** rejected");
        expect((clean.cause as Error).message).toBe("connect to postgresql://app:****@db/x failed");
        expect(err.message).toContain("sbp_secret123"); // the original is not changed
    });

    it("a note added to a message keeps the class", () => {
        const err = withMessageSuffix(new RefusedError("refusing", { code: "NOT_SCRATCH" }), " (the bucket was removed)");
        expect(err).toBeInstanceOf(RefusedError);
        expect(err.message).toBe("refusing (the bucket was removed)");
        expect(withMessageSuffix("text", "!").message).toBe("text!");
    });
});

describe("what a command prints", () => {
    const secret = "s3cr3t-token-value";

    it("`<command>: <CODE>: <message>`, redacted, with the usage text only after a usage error", () => {
        const usage = "Usage: npm run backup";
        const u = errorReport("backup", new UsageError(`unknown argument(s): --x ${secret}`), { secrets: [secret], usage });
        expect(u.exitCode).toBe(2);
        expect(u.text).toBe(`backup: USAGE: unknown argument(s): --x ****\n\n${usage}\n`);
        const r = errorReport("recover", new RefusedError("refusing: LIVE_DB_URL postgresql://u:pw12345@h/db is the temporary server"), { usage });
        expect(r.exitCode).toBe(3);
        expect(r.text).toBe("recover: REFUSED: refusing: LIVE_DB_URL postgresql://u:****@h/db is the temporary server\n");
    });

    it("an unknown error is INTERNAL, exit 70, its message redacted, no stack unless verbose", () => {
        const err = new Error(`boom with ${secret} and postgresql://a:b0b0b0@h/d`);
        const quiet = errorReport("drill", err, { secrets: [secret] });
        expect(quiet.exitCode).toBe(70);
        expect(quiet.text).toBe("drill: INTERNAL: boom with **** and postgresql://a:****@h/d\n");
        const loud = errorReport("drill", err, { secrets: [secret], verbose: true });
        expect(loud.text).toMatch(/^drill: INTERNAL: boom with \*{4}/);
        expect(loud.text).toMatch(/^\s+at /m);
        expect(loud.text).not.toContain(secret);
        expect(loud.text).not.toContain("b0b0b0");
    });

    it("--verbose shows the cause chain with codes, redacted, and a server error's primary message only", () => {
        const server = Object.assign(new Error('invalid input syntax for type integer: "4111-1111"'), { severity: "ERROR", code: "22P02" });
        const mid = new UsageError(`--where failed on the backup copy (token ${secret})`, { cause: server });
        const top = new RefusedError("apply refused", { code: "APPLY_REFUSED", cause: mid });
        const quiet = errorReport("recover", top, { secrets: [secret] });
        expect(quiet.text).toBe("recover: APPLY_REFUSED: apply refused\n");
        const loud = errorReport("recover", top, { secrets: [secret], verbose: true });
        expect(loud.text).toContain("  caused by UsageError [USAGE]: --where failed on the backup copy (token ****)");
        expect(loud.text).toContain('  caused by Error [22P02]: invalid input syntax for type integer: "…" (SQLSTATE 22P02)');
        expect(loud.text).not.toContain("4111-1111");
        expect(loud.text).not.toContain(secret);
    });

    it("--verbose is taken out of argv (anywhere after the script) or comes from SUPABASE_DR_VERBOSE", () => {
        const argv = ["node", "script.ts", "--env", "x", "--verbose", "--verbose"];
        expect(takeVerbose(argv, {})).toBe(true);
        expect(argv).toEqual(["node", "script.ts", "--env", "x"]);
        expect(takeVerbose(["node", "s.ts"], { SUPABASE_DR_VERBOSE: "1" })).toBe(true);
        expect(takeVerbose(["node", "s.ts", "--env", "x"], {})).toBe(false);
    });
});
