// Command line of `npm run pitr`: a command and a few flags. Secrets are never flags (the usage says
// which environment variables carry them); an unknown flag is an error, not silently ignored.
export const COMMANDS = ["setup", "backup", "check", "verify", "health", "expire"] as const;
export type PitrCommand = (typeof COMMANDS)[number];

export interface PitrArgs {
    command?: PitrCommand;
    help: boolean;
    settingsFile?: string;
    apply: boolean;
    type?: "full" | "diff" | "incr";
    outDir?: string;
}

export const USAGE = `Usage: npm run pitr -- <command> [--settings <file>] [options]

Commands (the WAL archive, pgBackRest, in the vault under pitr/<env>/):
  setup [--apply]            print the server's archive settings and pgBackRest configuration (dry run);
                             --apply sets them on the server named by PITR_DB_URL (it must be the settings'
                             server.dataDir/port), creates the stanza and runs pgbackrest check
  backup --type full|diff|incr   a backup (on the database host)
  check                      pgbackrest check: archive_command works end to end (on the database host)
  verify                     pgbackrest verify: every backup file and archived segment checksummed
  health [--out <dir>]       stale archive vs the RPO target, WAL gaps (naming the segments), backup age;
                             writes pitr-health-<env>.json and pitr-health-<env>.prom into --out
                             (default ./pitr-artifacts); exits 1 on FAIL
  expire                     pgbackrest expire, and what Object Lock kept from it

Settings: --settings <file> (YAML or JSON), else $PITR_SETTINGS (JSON; the GitHub variable the stack
writes): the archive's settings (env, stanza, repository, cipher, retention, rpoSeconds, …) and server
{dataDir, port, socketDir, user, configFile, logPath, lockPath, spoolPath, archiveKeyType}.
Secrets, from the environment only: PITR_CIPHER_PASS (repository encryption); AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (repository.keyType shared); PGPASSWORD (server, if asked).
Exit codes (lib/errors.ts): 0 ok, 1 failed (FAIL, verify problems), 2 bad usage or settings, 3 refused,
4 missing tool, 5 pgBackRest or S3 error.`;

export { UsageError } from "../errors";
import { UsageError } from "../errors";

export function parsePitrArgs(argv: string[]): PitrArgs {
    const out: PitrArgs = { help: false, apply: false };
    const value = (i: number, flag: string): string => {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
        return v;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "-h" || a === "--help") out.help = true;
        else if (a === "--apply") out.apply = true;
        else if (a === "--settings") out.settingsFile = value(i++, a);
        else if (a === "--out") out.outDir = value(i++, a);
        else if (a === "--type") {
            const t = value(i++, a);
            if (t !== "full" && t !== "diff" && t !== "incr") throw new UsageError(`--type must be full, diff or incr (got ${JSON.stringify(t)})`);
            out.type = t;
        } else if (a.startsWith("-")) {
            throw new UsageError(`unknown option ${a.split("=")[0]}`);
        } else if (out.command === undefined) {
            if (!(COMMANDS as readonly string[]).includes(a)) throw new UsageError(`unknown command ${JSON.stringify(a)} (one of ${COMMANDS.join(", ")})`);
            out.command = a as PitrCommand;
        } else {
            throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
        }
    }
    if (out.help) return out;
    if (!out.command) throw new UsageError(`a command is required (one of ${COMMANDS.join(", ")})`);
    if (out.command === "backup" && !out.type) throw new UsageError("backup needs --type full|diff|incr");
    if (out.command !== "backup" && out.type) throw new UsageError("--type applies to backup only");
    if (out.command !== "setup" && out.apply) throw new UsageError("--apply applies to setup only");
    if (out.command !== "health" && out.outDir) throw new UsageError("--out applies to health only");
    return out;
}
