// node:util's parseArgs for the commands: its own errors (an unknown flag, a missing value) become
// UsageErrors (exit 2) by their ERR_PARSE_ARGS_* code. Its message names the flag.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors";

export function isParseArgsError(err: unknown): boolean {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

export function parseCliArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
    try {
        return parseArgs(config);
    } catch (err) {
        if (isParseArgsError(err)) throw new UsageError((err as Error).message, { cause: err });
        throw err;
    }
}
