// `supabase-pitr`: hosted Supabase PITR from the command line (scripts/supabase-pitr.ts is its entry).
//   health  one line per check, exit 1 on FAIL; --prom writes a node_exporter textfile
//   mark    records a consistent point on a project's database (a quiet moment) into a JSON file
//   drill   in place on a drillable staging project (dry-run unless --apply), or, with
//           --target-project, runbook 000's validation of a project restored by hand in the dashboard
// The logic lives here (in-process, testable); the script only wires process.argv/env/exit.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as yaml from "js-yaml";
import { isConfigError } from "../config/errors";
import { redact } from "../redact";
import { DEFAULT_API_BASE_URL, SupabaseApi, type Clock } from "./client";
import { runInPlaceDrill, runScratchDrill, type PitrDrillReport } from "./pitrDrill";
import { DrillRefused } from "./pitrGuard";
import { assessPitrHealth, formatPitrHealth, pitrHealthPrometheus } from "./pitrHealth";
import { NoQuietMoment, parseHostedMark, recordHostedMark, type HostedMark } from "./pitrMark";
import { drillFingerprintOptions, loadHostedPitrSettings, parseHostedPitrSettings, PROJECT_REF, type HostedPitrSettings } from "./pitrSettings";

export const USAGE = `Usage: supabase-pitr <command> [--settings <file>] --project <ref> [options]

  health                          PITR enabled, latest recovery point within the RPO, window ≥ windowDays
        [--json] [--prom <file>]  (exit 1 on FAIL; --prom writes a Prometheus textfile)
  mark --out <file> [--env <name>]
                                  record a consistent point on the project's database (SUPABASE_DB_URL)
  drill --to <ISO time|mark> [--mark <file>] [--apply] [--report <file>] [--env <name>]
                                  in-place PITR drill on a drillable staging project; dry-run unless --apply
  drill --target-project <ref> --to <ISO time> --mark <file> [--delete-target] [--report <file>]
                                  runbook 000: validate a project restored by hand in the dashboard
                                  (TARGET_DB_URL), report, delete it within the hour or print the reminder

Settings: --settings <file> (YAML or JSON), else $SUPABASE_PITR_SETTINGS (the same text; the GitHub
variable the scheduled health check reads).
Environment: SUPABASE_ACCESS_TOKEN (required), SUPABASE_API_URL (default ${DEFAULT_API_BASE_URL}),
SUPABASE_DB_URL (the project's database: a direct connection, a role with REPLICATION for marks),
TARGET_DB_URL (the scratch project's database), NOW (ISO time, health only, for rehearsals).
Exit codes: 0 PASS (or dry-run), 1 FAIL or error, 2 usage or settings, 3 refused by a guard.`;

export interface CliIo {
    out(text: string): void;
    err(text: string): void;
}

export interface CliDeps {
    clock?: Clock;
    /** Retry settings for the API client (tests shorten them). */
    retry?: ConstructorParameters<typeof SupabaseApi>[0]["retry"];
}

class UsageError extends Error {}

/** The variable a workflow hands the settings in when no file is checked out (YAML or JSON text). */
export const SETTINGS_ENV = "SUPABASE_PITR_SETTINGS";

/** From --settings <file> when given, else from $SUPABASE_PITR_SETTINGS; errors name the source. */
function loadSettings(file: string | undefined, env: NodeJS.ProcessEnv): HostedPitrSettings {
    if (file) return loadHostedPitrSettings(file);
    const text = env[SETTINGS_ENV];
    if (!text?.trim()) throw new UsageError(`--settings <file> or $${SETTINGS_ENV} is required`);
    let doc: unknown;
    try {
        doc = yaml.load(text);
    } catch (err) {
        throw new UsageError(`$${SETTINGS_ENV} is not valid YAML or JSON: ${(err as Error).message.split("\n")[0]}`);
    }
    return parseHostedPitrSettings(doc, `$${SETTINGS_ENV}`);
}

function writeAtomically(file: string, content: string): void {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content);
    // node_exporter may read the file at any moment: it must never see half of it.
    fs.renameSync(tmp, file);
}

function readMarkFile(file: string): HostedMark {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new UsageError(`cannot read mark file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return parseHostedMark(text, file);
}

function parseTime(text: string, flag: string): Date {
    const t = new Date(text);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(t.getTime())) throw new UsageError(`${flag} must be an ISO 8601 time such as 2026-11-30T03:30:00Z (got ${JSON.stringify(text)})`);
    return t;
}

function reportLines(r: PitrDrillReport): string[] {
    const lines = [`${r.status} PITR drill (${r.mode}) of project ${r.project}${r.targetProject ? ` into ${r.targetProject}` : ""}`];
    if (r.recoveryTarget) lines.push(`  recovery target  ${r.recoveryTarget.iso}`);
    if (r.mark) lines.push(`  mark             LSN ${r.mark.lsn} at ${r.mark.time}`);
    if (r.durations_seconds.restore !== undefined) lines.push(`  restore          ${r.durations_seconds.restore.toFixed(1)} s until healthy`);
    if (r.validation) lines.push(`  validation       ${r.validation.status}${r.validation.differingTables.length ? ` (tables differing: ${r.validation.differingTables.join(", ")})` : ""}`);
    for (const issue of r.issues) lines.push(`  issue: ${issue}`);
    if (r.cleanup) lines.push(`  cleanup: ${r.cleanup.detail}`);
    return lines;
}

/** Runs one command; returns the exit code. */
export async function runPitrCli(argv: string[], env: NodeJS.ProcessEnv, io: CliIo, deps: CliDeps = {}): Promise<number> {
    const secrets = [env.SUPABASE_ACCESS_TOKEN, env.SUPABASE_DB_URL, env.TARGET_DB_URL];
    try {
        return await dispatch(argv, env, io, deps);
    } catch (err) {
        const message = redact((err as Error).message ?? String(err), secrets);
        if (err instanceof UsageError || isConfigError(err)) {
            io.err(`supabase-pitr: ${message}\n\n${USAGE}\n`);
            return 2;
        }
        if (err instanceof DrillRefused || err instanceof NoQuietMoment) {
            io.err(`supabase-pitr: REFUSED: ${message}\n`);
            return 3;
        }
        io.err(`supabase-pitr: ${message}\n`);
        return 1;
    }
}

async function dispatch(argv: string[], env: NodeJS.ProcessEnv, io: CliIo, deps: CliDeps): Promise<number> {
    const [command, ...rest] = argv;
    if (!command || command === "-h" || command === "--help") {
        io.out(USAGE + "\n");
        return command ? 0 : 2;
    }
    let values: Record<string, string | boolean | undefined>;
    try {
        values = parseArgs({
            args: rest,
            strict: true,
            options: {
                settings: { type: "string" },
                project: { type: "string" },
                json: { type: "boolean" },
                prom: { type: "string" },
                out: { type: "string" },
                env: { type: "string" },
                to: { type: "string" },
                mark: { type: "string" },
                apply: { type: "boolean" },
                report: { type: "string" },
                "target-project": { type: "string" },
                "delete-target": { type: "boolean" },
            },
        }).values;
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
    if (!["health", "mark", "drill"].includes(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    const project = values.project as string | undefined;
    if (!project || !PROJECT_REF.test(project)) throw new UsageError(`--project must be a project ref (20 lowercase letters), got ${JSON.stringify(project ?? "")}`);
    const settings = loadSettings(values.settings as string | undefined, env);
    if (!env.SUPABASE_ACCESS_TOKEN) throw new UsageError("SUPABASE_ACCESS_TOKEN is required (a personal access token, sbp_…)");
    const api = new SupabaseApi({ accessToken: env.SUPABASE_ACCESS_TOKEN, apiBaseUrl: env.SUPABASE_API_URL || undefined, clock: deps.clock, retry: deps.retry });
    const envName = (values.env as string | undefined) ?? "staging";
    const log = (line: string) => io.err(`supabase-pitr: ${line}\n`);

    if (command === "health") {
        const now = env.NOW ? parseTime(env.NOW, "NOW") : new Date(api.clock.now());
        const health = assessPitrHealth(project, await api.listBackups(project), settings, now);
        io.out((values.json ? JSON.stringify(health, null, 2) : formatPitrHealth(health)) + "\n");
        if (values.prom) writeAtomically(values.prom as string, pitrHealthPrometheus(health));
        return health.status === "FAIL" ? 1 : 0;
    }

    if (command === "mark") {
        if (!values.out) throw new UsageError("mark needs --out <file>");
        if (!env.SUPABASE_DB_URL) throw new UsageError("SUPABASE_DB_URL is required: the project's database (direct connection)");
        const mark = await recordHostedMark(env.SUPABASE_DB_URL, {
            project,
            env: envName,
            fingerprint: drillFingerprintOptions(settings),
            attempts: settings.drill.markAttempts,
            onAttempt: (n, problem) => log(problem ? `mark attempt ${n}: not quiet (${problem})` : `mark attempt ${n}: quiet`),
        });
        writeAtomically(values.out as string, JSON.stringify(mark, null, 2) + "\n");
        io.out(`mark of project ${project}: LSN ${mark.mark.lsn} at ${mark.mark.time}; restore to any second from ${new Date(mark.targetUnix * 1000).toISOString()} to ${new Date(mark.quietUntilUnix * 1000).toISOString()} reproduces it (${values.out})\n`);
        return 0;
    }

    // drill
    const to = values.to as string | undefined;
    if (!to) throw new UsageError("drill needs --to <ISO time> or --to mark");
    let report: PitrDrillReport;
    const targetProject = values["target-project"] as string | undefined;
    if (targetProject !== undefined) {
        if (!PROJECT_REF.test(targetProject)) throw new UsageError(`--target-project must be a project ref (20 lowercase letters), got ${JSON.stringify(targetProject)}`);
        if (to === "mark") throw new UsageError("with --target-project, --to is the time chosen in the dashboard (an ISO time)");
        if (!values.mark) throw new UsageError("with --target-project, --mark <file> (recorded on the source project) is required");
        if (!env.TARGET_DB_URL) throw new UsageError("TARGET_DB_URL is required: the scratch project's database");
        report = await runScratchDrill(
            {
                settings,
                project,
                targetProject,
                targetDbUrl: env.TARGET_DB_URL,
                time: parseTime(to, "--to"),
                mark: readMarkFile(values.mark as string),
                deleteTarget: values["delete-target"] === true,
            },
            { api, log },
        );
    } else {
        if (values["delete-target"]) throw new UsageError("--delete-target applies to --target-project only");
        const target = to === "mark" ? ({ kind: "mark" } as const) : { kind: "time" as const, time: parseTime(to, "--to"), mark: values.mark ? readMarkFile(values.mark as string) : undefined };
        if (target.kind === "time" && !target.mark) throw new UsageError("--to <ISO time> needs --mark <file> (a mark recorded on the project whose quiet range holds that time); or use --to mark");
        report = await runInPlaceDrill(
            { settings, project, env: envName, target: target.kind === "mark" ? target : { kind: "time", time: target.time, mark: target.mark! }, dbUrl: env.SUPABASE_DB_URL, apply: values.apply === true },
            { api, log },
        );
    }
    if (values.report) writeAtomically(values.report as string, JSON.stringify(report, null, 2) + "\n");
    io.out((values.json ? JSON.stringify(report, null, 2) : reportLines(report).join("\n")) + "\n");
    return report.status === "FAIL" ? 1 : 0;
}
