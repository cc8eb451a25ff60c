// Command-line parsing for `recover` (scripts/recover.ts), kept apart so it is tested without a
// database. Any usage problem is a UsageError (exit 2). Connection strings and keys never come from
// argv: they would show in `ps`, shell history and CI logs. LIVE_DB_URL, STORAGE_URL and
// SUPABASE_SERVICE_ROLE_KEY are read from the environment, as is rebuild's SUPABASE_ACCESS_TOKEN.
import { parseArgs } from "node:util";
import { UsageError } from "../errors";
import { parseColumnList, parseTableName, type TableName } from "./identifiers";
import { DEFAULT_FREEZE_ROLES } from "./freeze";
import type { StorageFilter } from "./storageSelect";
import type { SnapshotChoice } from "./storageSource";
import { parseVaultBackupArg } from "./vaultBackup";

// The project-wide UsageError (lib/errors.ts, exit 2), re-exported for recover's callers.
export { UsageError };

export const DEFAULT_ARTIFACTS_DIR = "recover-artifacts";

export type RecoverCommand =
    | {
          command: "rows";
          backup: string;
          /** Set when --backup is vault or vault:<key>. */
          vault?: { key?: string };
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
    | {
          command: "storage";
          bucket: string;
          snapshot: SnapshotChoice;
          filter: StorageFilter;
          into: "live" | "review";
          onlyMissing: boolean;
          signedUrlSample: number;
          apply: boolean;
          artifactsDir: string;
      }
    | {
          command: "storage-undo";
          /** The before-image directory of a recover storage --into live --apply (or of a storage-undo). */
          beforeImage: string;
          /** Also put back objects written by someone else since the restore. */
          forceChanged: boolean;
          /** Also remove objects the restore added (only while they hold what it wrote). */
          removeAdded: boolean;
          apply: boolean;
          artifactsDir: string;
      }
    | {
          command: "schema";
          backup: string;
          /** Set when --backup is vault or vault:<key>. */
          vault?: { key?: string };
          migrations: string;
          to?: string;
          baseline?: string;
          apply: boolean;
          artifactsDir: string;
      }
    | {
          command: "rebuild";
          backup: string;
          /** Set when --backup is vault or vault:<key>. */
          vault?: { key?: string };
          migrations: string;
          baseline?: string;
          storageEnv: string;
          buckets?: string[];
          projectName?: string;
          region?: string;
          organization?: string;
          oldProject?: string;
          secretValues?: string;
          apply: boolean;
          artifactsDir: string;
      }
    | { command: "help"; topic?: string };

const COMMON = {
    apply: { type: "boolean" },
    artifacts: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

const URL_LIKE = /^(--?)(live|db|database|url|dsn|password|live-db-url|conn(ection)?)(=|$)/i;
// Flags that would carry the service key (or another token) and values that look like one: a JWT
// (Supabase's legacy service_role key) or a new-style secret key (sb_secret_…).
// A Management API personal access token (sbp_…) likewise.
const KEY_FLAG = /^--?(service[-_]?(role[-_]?)?key|api[-_]?key|secret[-_]?key|(access[-_]?)?token|jwt|bearer|storage[-_]url)(=|$)/i;
const KEY_VALUE = /(^|=)(eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.|sb_secret_|sbp_[0-9a-f]{16})/;

function parse(argv: string[], options: Record<string, { type: "string" | "boolean"; short?: string }>, positionals: number) {
    const secretFlag = argv.find((a) => URL_LIKE.test(a) || /postgres(ql)?:\/\//i.test(a));
    if (secretFlag) {
        throw new UsageError(
            "the live database comes from the LIVE_DB_URL environment variable only, the schema target from TARGET_DB_URL, " +
                "never from the command line (argv is visible to every process)",
        );
    }
    // The argument itself is not repeated in the message: it may be the key.
    if (argv.some((a) => KEY_FLAG.test(a) || KEY_VALUE.test(a))) {
        throw new UsageError(
            "the Storage API and its key come from STORAGE_URL and SUPABASE_SERVICE_ROLE_KEY in the environment only (the Management API token from SUPABASE_ACCESS_TOKEN), " +
                "never from the command line (argv is visible to every process); rotate the key if it was typed into a shared shell",
        );
    }
    let parsed;
    try {
        parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    } catch (err) {
        throw new UsageError((err as Error).message, { cause: err });
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

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/** An ISO date (midnight UTC) or date-time with a zone; a time without a zone would depend on the machine's. */
export function parseIsoTime(value: string, flag: string): Date {
    const t = ISO_TIME.test(value) ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(t.getTime())) throw new UsageError(`${flag} must be an ISO date (YYYY-MM-DD, UTC) or date-time with a zone (2026-03-01T12:00:00Z) (got '${value}')`);
    return t;
}

/** "YYYY-MM" as the first day of that month (UTC). */
export function parseMonth(value: string, flag: string): Date {
    const m = /^(\d{4})-(\d{2})$/.exec(value);
    const month = m ? Number(m[2]) : 0;
    if (!m || month < 1 || month > 12) throw new UsageError(`${flag} must be YYYY-MM (got '${value}')`);
    return new Date(Date.UTC(Number(m[1]), month - 1, 1));
}

function parseStorage(rest: string[]): RecoverCommand {
    const { values } = parse(
        rest,
        {
            ...COMMON,
            bucket: { type: "string" },
            from: { type: "string" },
            monthly: { type: "string" },
            since: { type: "string" },
            until: { type: "string" },
            prefix: { type: "string" },
            into: { type: "string" },
            "only-missing": { type: "boolean" },
            "signed-url-sample": { type: "string" },
        },
        0,
    );
    const bucket = str(values.bucket);
    if (!bucket) throw new UsageError("storage needs --bucket <name>");
    // The rest of a bucket name is checked where it becomes a vault key (lib/vault/keys.ts).
    if (bucket.includes("/")) throw new UsageError(`--bucket '${bucket}' is not a bucket name (it holds a '/')`);
    const into = str(values.into);
    if (into !== "live" && into !== "review") throw new UsageError("storage needs --into live (restore into the live bucket) or --into review (into restored-<bucket>-<yyyyMMdd>)");
    if (values.from !== undefined && values.monthly !== undefined) throw new UsageError("--from names a daily snapshot and --monthly a monthly archive: give one of them");
    let snapshot: SnapshotChoice = { kind: "newest" };
    const from = str(values.from);
    if (values.monthly !== undefined) snapshot = { kind: "monthly", month: parseMonth(str(values.monthly) ?? "", "--monthly") };
    else if (from !== undefined && from !== "newest") snapshot = { kind: "day", day: parseIsoTime(from, "--from") };
    const filter: StorageFilter = {};
    if (values.since !== undefined) filter.since = parseIsoTime(str(values.since) ?? "", "--since");
    if (values.until !== undefined) filter.until = parseIsoTime(str(values.until) ?? "", "--until");
    if (filter.since && filter.until && filter.since >= filter.until) throw new UsageError("--since must be before --until (--until is exclusive)");
    if (values.prefix !== undefined) {
        const prefix = str(values.prefix) ?? "";
        if (prefix === "" || prefix.startsWith("/")) throw new UsageError("--prefix must be a non-empty key prefix without a leading '/' (e.g. users/42/)");
        filter.prefix = prefix;
    }
    let signedUrlSample = 5;
    if (values["signed-url-sample"] !== undefined) {
        signedUrlSample = Number(values["signed-url-sample"]);
        if (!Number.isInteger(signedUrlSample) || signedUrlSample < 0 || signedUrlSample > 100) {
            throw new UsageError(`--signed-url-sample must be a whole number from 0 to 100 (got '${String(values["signed-url-sample"])}')`);
        }
    }
    return {
        command: "storage",
        bucket,
        snapshot,
        filter,
        into,
        onlyMissing: values["only-missing"] === true,
        signedUrlSample,
        apply: values.apply === true,
        artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR,
    };
}

const VERSION = /^[0-9]+$/;

function parseSchema(rest: string[]): RecoverCommand {
    const { values } = parse(
        rest,
        { ...COMMON, backup: { type: "string" }, migrations: { type: "string" }, to: { type: "string" }, baseline: { type: "string" } },
        0,
    );
    const backup = str(values.backup);
    if (!backup) throw new UsageError("schema needs --backup <path | vault | vault:<key>>");
    const migrations = str(values.migrations);
    if (!migrations) throw new UsageError("schema needs --migrations <dir> (the project's supabase/migrations)");
    for (const flag of ["to", "baseline"] as const) {
        const v = values[flag];
        if (v !== undefined && (typeof v !== "string" || !VERSION.test(v))) {
            throw new UsageError(`--${flag} must be a migration version: the digits before '_' in its file name (got '${String(v)}')`);
        }
    }
    const vault = vaultBackupArg(backup);
    return {
        command: "schema",
        backup,
        vault,
        migrations,
        to: str(values.to),
        baseline: str(values.baseline),
        apply: values.apply === true,
        artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR,
    };
}

function parseRebuild(rest: string[]): RecoverCommand {
    const { values } = parse(
        rest,
        {
            ...COMMON,
            backup: { type: "string" },
            migrations: { type: "string" },
            baseline: { type: "string" },
            "storage-env": { type: "string" },
            buckets: { type: "string" },
            "project-name": { type: "string" },
            region: { type: "string" },
            org: { type: "string" },
            "old-project": { type: "string" },
            "secret-values": { type: "string" },
        },
        0,
    );
    const backup = str(values.backup);
    if (!backup) throw new UsageError("rebuild needs --backup <path | vault | vault:<key>>");
    const migrations = str(values.migrations);
    if (!migrations) throw new UsageError("rebuild needs --migrations <dir> (the project's supabase/migrations)");
    const storageEnv = str(values["storage-env"]);
    if (!storageEnv) throw new UsageError("rebuild needs --storage-env <env> (the BACKUP_ENV the nightly job snapshots Storage under)");
    const baseline = str(values.baseline);
    if (baseline !== undefined && !VERSION.test(baseline)) throw new UsageError(`--baseline must be a migration version: the digits before '_' in its file name (got '${baseline}')`);
    const name = str(values["project-name"]);
    // Supabase allows longer names; this keeps them printable and unambiguous in a search.
    if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/.test(name)) throw new UsageError(`--project-name must be 1-64 letters, digits, space, '_', '.', '-' starting with a letter or digit (got '${name}')`);
    const oldProject = str(values["old-project"]);
    if (oldProject !== undefined && !/^[a-z]{20}$/.test(oldProject)) throw new UsageError(`--old-project must be a project ref (20 lowercase letters) (got '${oldProject}')`);
    let buckets: string[] | undefined;
    if (values.buckets !== undefined) {
        buckets = (str(values.buckets) ?? "").split(",").map((b) => b.trim()).filter((b) => b !== "");
        if (buckets.length === 0 || buckets.some((b) => b.includes("/"))) throw new UsageError("--buckets must be a comma-separated list of bucket names");
    }
    const vault = vaultBackupArg(backup);
    return {
        command: "rebuild",
        backup,
        vault,
        migrations,
        baseline,
        storageEnv,
        buckets,
        projectName: name,
        region: str(values.region),
        organization: str(values.org),
        oldProject,
        secretValues: str(values["secret-values"]),
        apply: values.apply === true,
        artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR,
    };
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
                    vault: parseVaultBackupArg(str(values.backup)!),
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
                throw new UsageError((err as Error).message, { cause: err });
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
                    throw new UsageError((err as Error).message, { cause: err });
                }
            }
            return { command: "freeze", roles, apply: values.apply === true, artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR };
        }
        case "unfreeze": {
            const { values, positionals } = parse(rest, COMMON, 1);
            return { command: "unfreeze", artifact: positionals[0], apply: values.apply === true, artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR };
        }
        case "storage":
            return parseStorage(rest);
        case "storage-undo": {
            const { values, positionals } = parse(rest, { ...COMMON, "force-changed": { type: "boolean" }, "remove-added": { type: "boolean" } }, 1);
            if (positionals[0] === "") throw new UsageError("storage-undo needs the before-image directory (recover-artifacts/before-storage-<bucket>-…)");
            return {
                command: "storage-undo",
                beforeImage: positionals[0],
                forceChanged: values["force-changed"] === true,
                removeAdded: values["remove-added"] === true,
                apply: values.apply === true,
                artifactsDir: str(values.artifacts) ?? DEFAULT_ARTIFACTS_DIR,
            };
        }
        case "schema":
            return parseSchema(rest);
        case "rebuild":
            return parseRebuild(rest);
        default:
            throw new UsageError(`unknown command '${command}' (rows, undo, freeze, unfreeze, storage, storage-undo, schema, rebuild; --help documents each)`);
    }
}

/** `--backup vault[:<key>]` parsed, or undefined for a file path; a malformed one is a usage error. */
function vaultBackupArg(backup: string): ReturnType<typeof parseVaultBackupArg> {
    try {
        return parseVaultBackupArg(backup);
    } catch (err) {
        throw new UsageError((err as Error).message, { cause: err });
    }
}
