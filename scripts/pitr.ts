// `npm run pitr -- <command>`: operations of the WAL archive (issue 11): setup of a server, scheduled
// backups, check, verify, health (the alarm: stale archive, WAL gaps, backup age) and expire.
// .github/workflows/pitr-backup.yml runs it; lib/pitrOps/ holds the work.
import { runCli } from "../lib/cli/run";
import { archiveHealth } from "../lib/pitr/health";
import { info } from "../lib/pitr/info";
import { contextSecrets, runPgBackRest } from "../lib/pitr/runner";
import { assertSecretsPresent } from "../lib/pitr/settings";
import { check, verify } from "../lib/pitr/setup";
import { parsePitrArgs, UsageError, USAGE, type PitrArgs } from "../lib/pitrOps/args";
import { openContext } from "../lib/pitrOps/context";
import { expireWithReport, formatExpire } from "../lib/pitrOps/expire";
import { formatHealth, writeHealthFiles, type HealthRecord } from "../lib/pitrOps/health";
import { loadOpsSettings, secretsFromEnv, secretVariableNames, type OpsSettings } from "../lib/pitrOps/settings";
import { applySetup, assertPgBackRestInstalled, SERVER_URL_ENV, setupPlan } from "../lib/pitrOps/setup";

const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : text + "\n");

async function run(args: PitrArgs, settings: OpsSettings, secrets: ReturnType<typeof secretsFromEnv>): Promise<number> {
    if (args.command === "setup" && !args.apply) {
        out(setupPlan(settings));
        return 0;
    }
    try {
        assertSecretsPresent(settings, secrets);
    } catch (err) {
        throw new UsageError(`${(err as Error).message}; this command reads ${secretVariableNames(settings).join(", ")} from the environment`);
    }
    const needsServer = args.command === "setup" || args.command === "backup" || args.command === "check";
    const { ctx, close } = openContext(settings, secrets, process.env, needsServer);
    try {
        switch (args.command) {
            case "setup": {
                const url = process.env[SERVER_URL_ENV];
                if (!url) throw new UsageError(`setup --apply needs ${SERVER_URL_ENV}: the connection string of the one server to set up (a superuser); nothing else is touched`);
                assertPgBackRestInstalled();
                const res = await applySetup(url, settings, ctx);
                out(`setup: ${res.configFile} written; archive_command = ${res.archiving.archiveCommand}; stanza ${settings.stanza} created; pgbackrest check passed`);
                return 0;
            }
            case "backup": {
                // No automatic expire at the end: under Object Lock, retention is the expire step's
                // business (with its report of what the lock keeps), and a refused delete there must
                // not make a good backup look failed.
                await runPgBackRest(ctx, "backup", [`--type=${args.type!}`, "--no-expire-auto"]);
                const newest = (await info(ctx)).newestBackup;
                out(`backup: ${args.type} backup ${newest?.label ?? "?"} of stanza ${settings.stanza} done (WAL ${newest?.archiveStart ?? "?"} to ${newest?.archiveStop ?? "?"})`);
                return 0;
            }
            case "check":
                await check(ctx);
                out(`check: stanza ${settings.stanza}: archive_command delivered a WAL segment to the repository`);
                return 0;
            case "verify": {
                const v = await verify(ctx);
                if (v.ok) {
                    out(`verify: stanza ${settings.stanza}: PASS (every backup file and archived segment matches its checksum)`);
                    return 0;
                }
                out(`verify: stanza ${settings.stanza}: FAIL\n${v.problems.map((p) => `  ${p}`).join("\n")}`);
                return 1;
            }
            case "health": {
                const h = await archiveHealth(ctx);
                const record: HealthRecord = {
                    env: settings.env, stanza: settings.stanza, checkedAt: new Date().toISOString(),
                    rpoSeconds: settings.rpoSeconds, maxBackupAgeHours: settings.maxBackupAgeHours, ...h,
                };
                const files = writeHealthFiles(args.outDir ?? "pitr-artifacts", record);
                out(formatHealth(record));
                out(`health: wrote ${files.json} and ${files.textfile}`);
                return h.status === "FAIL" ? 1 : 0;
            }
            case "expire": {
                const r = await expireWithReport(ctx);
                out(formatExpire(r));
                return r.refused || r.stanzaStatus.code !== 0 ? 1 : 0;
            }
            default:
                throw new UsageError(`unknown command ${String(args.command)}`);
        }
    } finally {
        close();
    }
}

async function main(): Promise<number> {
    const args = parsePitrArgs(process.argv.slice(2));
    if (args.help) {
        out(USAGE);
        return 0;
    }
    const settings = loadOpsSettings(args.settingsFile, process.env);
    return run(args, settings, secretsFromEnv(process.env));
}

runCli("pitr", main, {
    secrets: () => [...contextSecrets({ secrets: secretsFromEnv(process.env), env: process.env.PGPASSWORD ? { PGPASSWORD: process.env.PGPASSWORD } : undefined }), process.env[SERVER_URL_ENV]],
    usage: USAGE,
});
