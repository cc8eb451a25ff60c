// Command-line parsing for `recover` (scripts/recover.ts), kept apart so it is tested without a
// database. Any usage problem is a UsageError (exit 2). Connection strings never come from argv:
// they would show in `ps`, shell history and CI logs. LIVE_DB_URL is read from the environment.
import { parseArgs } from "node:util";
import { parseColumnList, parseTableName, type TableName } from "./identifiers";
import { DEFAULT_FREEZE_ROLES } from "./freeze";

export class UsageError extends Error {}

export const DEFAULT_ARTIFACTS_DIR = "recover-artifacts";

export type RecoverCommand =
    | {
          command: "rows";
          backup: string;
          table: TableName;
          key: string[];
          keysFile?: string;
          where?: string;
          columns?: string[];
          apply: boolean;
          artifactsDir: string;
          diffOut?: string;
          lockTimeoutMs: number;
      }
    | { command: "undo"; artifact: string; apply: boolean; artifactsDir: string; lockTimeoutMs: number }
    | { command: "freeze"; roles: string[]; apply: boolean; artifactsDir: string }
    | { command: "unfreeze"; artifact: string; apply: boolean; artifactsDir: string }
    | { command: "help"; topic?: string };

const COMMON = {
    apply: { type: "boolean" },
    artifacts: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

const URL_LIKE = /^(--?)(live|db|database|url|dsn|password|live-db-url|conn(ection)?)(=|$)/i;

function parse(argv: string[], options: Record<string, { type: "string" | "boolean"; short?: string }>, positionals: number) {
    const secretFlag = argv.find((a) => URL_LIKE.test(a) || /^postgres(ql)?:\/\//i.test(a));
    if (secretFlag) {
        throw new UsageError("the live database comes from the LIVE_DB_URL environment variable only, never from the command line (argv is visible to every process)");
    }
    let parsed;
    try {
        parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
    if (parsed.positionals.length !== positionals) {
        throw new UsageError(
            positionals === 0 ? `unexpected argument '${parsed.positionals[0]}'` : `expected ${positionals} argument(s), got ${parsed.positionals.length}`,
        );
    }
    return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}

function lockTimeout(value: string | boolean | undefined): number {
    if (value === undefined) return 10_000;
    const s = Number(value);
    if (!Number.isFinite(s) || s <= 0) throw new UsageError(`--lock-timeout must be a number of seconds above 0 (got '${String(value)}')`);
    return Math.round(s * 1000);
}

function str(v: string | boolean | undefined): string | undefined {
    return typeof v === "string" ? v : undefined;
}

export function parseRecoverArgs(argv: string[]): RecoverCommand {
    const [command, ...rest] = argv;
    if (!command || command === "--help" || command === "-h" || command === "help") return { command: "help", topic: rest[0] };
    if (rest.includes("--help") || rest.includes("-h")) return { command: "help", topic: command };
    switch (command) {
        case "rows": {
            const { values } = parse(
                rest,
                {
                    ...COMMON,
                    backup: { type: "string" },
                    table: { type: "string" },
                    key: { type: "string" },
                    keys: { type: "string" },
                    where: { type: "string" },
                    columns: { type: "string" },
                    "diff-out": { type: "string" },
                    "lock-timeout": { type: "string" },
                },
                0,
            );
            for (const required of ["backup", "table", "key"]) {
                if (!str(values[required])) throw new UsageError(`rows needs --${required}`);
            }
            if (!!values.keys === !!values.where) throw new UsageError("rows needs exactly one of --keys <file.csv> and --where \"<predicate>\"");
            try {
                return {
                    command: "rows",
                    backup: str(values.backup)!,
                    table: parseTableName(str(values.table)!),
                    key: parseColumnList(str(values.key)!, "--key"),
                    keysFile: str(values.keys),
                    where: str(values.where),
                    columns: values.columns ? parseColumnList(str(values.columns)!, "--columns") : undefined,
                    apply: values.apply === true,
                    artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR,
                    diffOut: str(values["diff-out"]),
                    lockTimeoutMs: lockTimeout(values["lock-timeout"]),
                };
            } catch (err) {
                if (err instanceof UsageError) throw err;
                throw new UsageError((err as Error).message);
            }
        }
        case "undo": {
            const { values, positionals } = parse(rest, { ...COMMON, "lock-timeout": { type: "string" } }, 1);
            return {
                command: "undo",
                artifact: positionals[0],
                apply: values.apply === true,
                artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR,
                lockTimeoutMs: lockTimeout(values["lock-timeout"]),
            };
        }
        case "freeze": {
            const { values } = parse(rest, { ...COMMON, roles: { type: "string" } }, 0);
            let roles: string[] = [...DEFAULT_FREEZE_ROLES];
            if (values.roles !== undefined) {
                try {
                    roles = parseColumnList(str(values.roles) ?? "", "--roles");
                } catch (err) {
                    throw new UsageError((err as Error).message);
                }
            }
            return { command: "freeze", roles, apply: values.apply === true, artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR };
        }
        case "unfreeze": {
            const { values, positionals } = parse(rest, COMMON, 1);
            return { command: "unfreeze", artifact: positionals[0], apply: values.apply === true, artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR };
        }
        default:
            throw new UsageError(`unknown command '${command}' (rows, undo, freeze, unfreeze; --help documents each)`);
    }
}
