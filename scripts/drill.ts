// The drill command: `npm run drill -- [flags]`. Runs one restore drill as an ephemeral Pulumi stack
// (lib/drill/run.ts) and exits non-zero when the drill fails. Inputs follow runbook 003's names.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import * as yaml from "js-yaml";
import { CONFIG_NAMESPACE, type DrillSettings } from "../lib/drill/config";
import { cleanupStack, runDrill } from "../lib/drill/run";
import { localBackend } from "../lib/pulumi/engine";
import { redact } from "../lib/redact";
import { defaultSupabaseChecks } from "../lib/smoke";
import { REPO_ROOT } from "../lib/pulumi/engine";

const USAGE = `Usage: npm run drill -- [options]

Runs a restore drill as an ephemeral Pulumi stack drill-<env>-<yyyymmddHHMMss>: backup → scratch
database → restore → validation → [masking] → [smoke tests] → report, then destroys the stack.

Inputs (flags win over environment variables):
  --env NAME               environment; its Pulumi.<env>.yaml "${CONFIG_NAMESPACE}:drill" settings apply (default: staging)
  --source URL             SOURCE_DB_URL       database to dump now (a read replica is fine); with --backup it is
                                               protected and compared with when the backup has no fingerprint
  --backup PATH            BACKUP_PATH         adopt this backup instead (custom, .sql, .sql.gz, supabase db dump dir)
  --backup-taken-at ISO    BACKUP_TAKEN_AT     when an adopted backup's data was captured (default: its manifest or mtime)
  --target URL             TARGET_DB_URL       scratch server: a role that may CREATE DATABASE there
  --backup-dir DIR         BACKUP_DIR          where artifacts go (default: ./drill-artifacts)
  --api-url URL            TARGET_API_URL      restored environment's API base URL for smoke checks
                           API_BEARER_TOKEN    bearer token for protected smoke endpoints (environment only)
                           SUPABASE_ACCESS_TOKEN  Management API token when the settings' target is
                                               {kind: supabase-project, organization, region} (environment only)
                           SUPABASE_SERVICE_ROLE_KEY  service key for a storage restore (settings: storage)
                           MASKING_SALT        salt of the "hash" masking strategy (environment only)
  --settings FILE          JSON or YAML file of drill settings (validation, masking, smoke, targets, restore)
  --keep                   keep the stack and its scratch target for forensics
  --cleanup STACK          destroy and remove a kept drill stack, then exit
  --backend URL            PULUMI_BACKEND_URL  state backend (default: file://~/.supabase-dr/state)
  -h, --help

URLs given as flags must not hold passwords (the process list shows arguments): use the variables.
With --backend, PULUMI_CONFIG_PASSPHRASE is required (later runs must decrypt the drill stacks).`;

function fail(message: string): never {
    process.stderr.write(`drill: ${message}\n\n${USAGE}\n`);
    process.exit(2);
}

function readSettingsFile(file: string): Partial<DrillSettings> {
    const text = fs.readFileSync(file, "utf8");
    const data = file.endsWith(".json") ? JSON.parse(text) : yaml.load(text);
    if (typeof data !== "object" || data === null) fail(`${file} must hold an object of drill settings`);
    return data as Partial<DrillSettings>;
}

/** The `supabase-dr:drill` settings of Pulumi.<env>.yaml, if that file exists. */
function environmentSettings(env: string): Partial<DrillSettings> {
    const file = path.join(REPO_ROOT, `Pulumi.${env}.yaml`);
    if (!fs.existsSync(file)) return {};
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | undefined;
    const value = doc?.config?.[`${CONFIG_NAMESPACE}:drill`];
    return (value && typeof value === "object" ? value : {}) as Partial<DrillSettings>;
}

/** The default backend keeps its passphrase beside its state, readable by this user only. */
function defaultBackend(): { url: string; passphrase?: string } {
    const root = path.join(os.homedir(), ".supabase-dr");
    const passFile = path.join(root, "passphrase");
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(passFile)) fs.writeFileSync(passFile, randomBytes(24).toString("hex"), { mode: 0o600 });
    return { url: `file://${path.join(root, "state")}`, passphrase: process.env.PULUMI_CONFIG_PASSPHRASE ?? fs.readFileSync(passFile, "utf8").trim() };
}

async function main(): Promise<number> {
    const { values } = parseArgs({
        options: {
            env: { type: "string" },
            source: { type: "string" },
            backup: { type: "string" },
            "backup-taken-at": { type: "string" },
            target: { type: "string" },
            "backup-dir": { type: "string" },
            "api-url": { type: "string" },
            settings: { type: "string" },
            keep: { type: "boolean" },
            cleanup: { type: "string" },
            backend: { type: "string" },
            help: { type: "boolean", short: "h" },
        },
        strict: true,
    });
    if (values.help) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const env = values.env ?? process.env.DRILL_ENV ?? "staging";
    if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(env)) fail(`--env '${env}' must be lowercase letters, digits and dashes`);
    for (const flag of ["source", "target"] as const) {
        const v = values[flag];
        if (v && /^[a-z]+:\/\/[^/@]*:[^/@]+@/i.test(v)) {
            fail(`--${flag} holds a password, which the process list would show: pass it in ${flag === "source" ? "SOURCE_DB_URL" : "TARGET_DB_URL"} instead`);
        }
    }
    const backendUrl = values.backend ?? process.env.PULUMI_BACKEND_URL;
    if (backendUrl && !process.env.PULUMI_CONFIG_PASSPHRASE) {
        fail("PULUMI_CONFIG_PASSPHRASE is required with --backend / PULUMI_BACKEND_URL: drill stacks must stay decryptable by later runs");
    }
    // Everything is checked before the engine is looked for (its first build takes minutes).
    const secrets = {
        sourceDbUrl: values.source ?? process.env.SOURCE_DB_URL,
        targetDbUrl: values.target ?? process.env.TARGET_DB_URL,
        supabaseAccessToken: process.env.SUPABASE_ACCESS_TOKEN,
        apiBearerToken: process.env.API_BEARER_TOKEN,
        maskingSalt: process.env.MASKING_SALT,
        storageServiceKey: process.env.SUPABASE_SERVICE_ROLE_KEY,
    };
    const backupPath = values.backup ?? process.env.BACKUP_PATH;
    const settings: Partial<DrillSettings> = {
        ...environmentSettings(env),
        ...(values.settings ? readSettingsFile(values.settings) : {}),
    };
    if (!values.cleanup) {
        const supabaseTarget = settings.target?.kind === "supabase-project";
        if (supabaseTarget && !secrets.supabaseAccessToken) fail("SUPABASE_ACCESS_TOKEN is required: the drill's target is a scratch Supabase project");
        if (!supabaseTarget && !secrets.targetDbUrl) fail("TARGET_DB_URL (or --target) is required: the scratch server's admin connection");
        if (!secrets.sourceDbUrl && !backupPath && !settings.vault) {
            fail("SOURCE_DB_URL (or --source), BACKUP_PATH (or --backup) or a vault in the settings is required");
        }
        if (backupPath) {
            // Adopt: the source (if given) is not dumped; it is protected, and compared with when the
            // backup carries no fingerprint of its own.
            if (!fs.existsSync(backupPath)) fail(`backup not found: ${backupPath}`);
            settings.backupPath = path.resolve(backupPath);
        }
        const takenAt = values["backup-taken-at"] ?? process.env.BACKUP_TAKEN_AT;
        if (takenAt) settings.backupTakenAt = takenAt;
        const apiUrl = values["api-url"] ?? process.env.TARGET_API_URL;
        if (apiUrl) settings.smoke = { ...(settings.smoke ?? {}), baseUrl: apiUrl, checks: settings.smoke?.checks ?? defaultSupabaseChecks };
    }

    const backend = localBackend(backendUrl ? { url: backendUrl } : defaultBackend());
    const write = (t: string) => process.stdout.write(t);
    try {
        if (values.cleanup) {
            await cleanupStack(backend, values.cleanup, write);
            write(`removed ${values.cleanup}\n`);
            return 0;
        }
        const result = await runDrill({
            env,
            backend,
            backupDir: values["backup-dir"] ?? process.env.BACKUP_DIR ?? path.resolve("drill-artifacts"),
            secrets,
            settings,
            keep: values.keep,
            onOutput: write,
        });
        write(`\n${fs.readFileSync(result.summaryPath, "utf8")}\n`);
        write(`Drill ${result.status}. Artifacts: ${result.artifactsDir}\n`);
        if (result.error) process.stderr.write(`\n${result.error}\n`);
        return result.status === "PASS" ? 0 : 1;
    } finally {
        backend.cleanup();
    }
}

main().then(
    (code) => process.exit(code),
    (err) => {
        const secrets = [process.env.SOURCE_DB_URL, process.env.TARGET_DB_URL, process.env.SUPABASE_ACCESS_TOKEN, process.env.API_BEARER_TOKEN, process.env.MASKING_SALT];
        process.stderr.write(`drill: ${redact((err as Error).message ?? String(err), secrets)}\n`);
        process.exit(1);
    },
);
