// The drill command: `npm run drill -- [flags]`. Runs one restore drill as an ephemeral Pulumi stack
// (lib/drill/run.ts). Exit 0 PASS, 1 FAIL; an error exits with its class's code (lib/cli/run.ts: 2 bad
// flags or settings, 3 a refused cleanup, 4 the engine missing, …). Inputs follow runbook 003's names.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import * as yaml from "js-yaml";
import { parseCliArgs } from "../lib/cli/args";
import { runCli } from "../lib/cli/run";
import { UsageError } from "../lib/errors";
import { CONFIG_NAMESPACE, DRILL_CONFIG_KEY, drillSecretIssues, mergeDrillSettings, type DrillSecrets, type UserDrillSettings } from "../lib/drill/config";
import { pitrTargetFromFlags } from "../lib/drill/pitrTarget";
import { mergeRehearsals, parseRehearseRecoverFlag, type RehearseRecoverSetting } from "../lib/drill/rehearseRecover";
import { vaultAtBackupBucket } from "../lib/drill/vaultOverride";
import { defaultSupabaseChecks } from "../lib/smoke/checks";

// The drill engine (Automation API, the components and their providers) is loaded only once the
// input is known to be good: a settings error is reported without loading, or looking for, any of it.
const REPO_ROOT = path.resolve(__dirname, "..");

const USAGE = `Usage: npm run drill -- [options]

Runs a restore drill as an ephemeral Pulumi stack drill-<env>-<yyyymmddHHMMss>: backup → scratch
target → restore → validation → [recovery rehearsals] → [masking] → [smoke tests] → report, then
destroys the stack.
The scratch target is the drill's own throw-away PostgreSQL cluster, unless TARGET_DB_URL names a
server to create the scratch database on, or the settings' target is a scratch Supabase project.

Inputs (flags win over environment variables):
  --env NAME               environment; its Pulumi.<env>.yaml "${CONFIG_NAMESPACE}:drill" settings apply (default: staging)
  --source URL             SOURCE_DB_URL       database to dump now (a read replica is fine); with --backup it is
                                               protected and compared with when the backup has no fingerprint
  --backup PATH            BACKUP_PATH         adopt this backup instead (custom, .sql, .sql.gz, supabase db dump dir)
  --backup-taken-at ISO    BACKUP_TAKEN_AT     when an adopted backup's data was captured (default: its manifest or mtime)
  --target URL             TARGET_DB_URL       scratch server: a role that may CREATE DATABASE there
                                               (default: the drill starts its own PostgreSQL cluster)
  --backup-dir DIR         BACKUP_DIR          where artifacts go (default: ./drill-artifacts)
                           BACKUP_BUCKET       the vault the nightly job writes (bucket name, or file:///dir):
                                               replaces the location of the settings' vault (not used without one);
                                               S3_ENDPOINT for an S3-compatible server
  --api-url URL            TARGET_API_URL      restored environment's API base URL for smoke checks
                           API_BEARER_TOKEN    bearer token for protected smoke endpoints (environment only)
                           SUPABASE_ACCESS_TOKEN  Management API token when the settings' target is
                                               {kind: supabase-project, organization, region} (environment only)
                           SUPABASE_SERVICE_ROLE_KEY  service key for a storage restore (settings: storage)
                           MASKING_SALT        salt of the "hash" masking strategy (environment only)
  --settings FILE          JSON or YAML file of drill settings (validation, masking, smoke, targets, restore);
                           its top-level keys replace the environment's. Schema: schema/drill-settings.schema.json
Point-in-time recovery (runbooks 000, 004): the WAL archive of drill.pitr.archive restored to a target into
the drill's own throw-away cluster, instead of a backup; then validation, masking, smoke, report as usual.
  --pitr ISO-TIME          recover to time T (with a zone, e.g. 2026-11-30T10:15:00Z); validated by heartbeat
                           ordering, read from SOURCE_DB_URL's heartbeat log (its only use)
  --pitr-lsn LSN           recover to a WAL position (heartbeat ordering at the last replayed commit)
  --pitr-name NAME         recover to a restore point (pg_create_restore_point)
  --pitr-mark KEY|latest   recover to a consistent-point mark: the restore must reproduce its fingerprint exactly
                           PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET, PGBACKREST_REPO1_S3_TOKEN,
                           PGBACKREST_REPO1_CIPHER_PASS  the archive's secrets (environment only)
Recovery rehearsal (runbook 001 path A, on the drill's scratch copy after validation, before masking):
  --rehearse-recover rows:<schema.table>
                           delete and change a sample of the table's rows on the scratch copy, recover them
                           from the drill's backup (dry run, apply, undo, re-apply) and check the table is
                           back as validated; repeatable. Settings: drill.rehearseRecover [{path, table, sample}]
  --keep                   keep the stack and its scratch target for forensics
  --cleanup STACK          destroy and remove a kept drill stack, then exit
  --backend URL            PULUMI_BACKEND_URL  state backend (default: file://~/.supabase-dr/state)
  -h, --help

URLs given as flags must not hold passwords (the process list shows arguments): use the variables.
With --backend, PULUMI_CONFIG_PASSPHRASE is required (later runs must decrypt the drill stacks).`;

function fail(message: string, cause?: unknown): never {
    throw new UsageError(message, cause === undefined ? {} : { cause });
}

// The drill stack's secret keys as this command's users know them.
const SECRET_SOURCES: Record<keyof DrillSecrets, string> = {
    sourceDbUrl: "SOURCE_DB_URL (--source)",
    targetDbUrl: "TARGET_DB_URL (--target)",
    supabaseAccessToken: "SUPABASE_ACCESS_TOKEN",
    apiBearerToken: "API_BEARER_TOKEN",
    maskingSalt: "MASKING_SALT",
    storageServiceKey: "SUPABASE_SERVICE_ROLE_KEY",
    pitrS3Key: "PGBACKREST_REPO1_S3_KEY",
    pitrS3KeySecret: "PGBACKREST_REPO1_S3_KEY_SECRET",
    pitrS3Token: "PGBACKREST_REPO1_S3_TOKEN",
    pitrCipherPass: "PGBACKREST_REPO1_CIPHER_PASS",
};

/** A settings file's content: YAML (JSON is YAML too) or, for *.json, strict JSON. */
function loadSettingsFile(file: string): unknown {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        fail(`cannot read settings file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
    try {
        return file.endsWith(".json") ? JSON.parse(text) : yaml.load(text);
    } catch (err) {
        fail(syntaxError(file, text, err));
    }
}

/**
 * `file:line:column: reason`. The parsers' own messages quote the text around the error, which may
 * be a smoke check's header value (an API key): only the position and the reason are shown.
 */
function syntaxError(file: string, text: string, err: unknown): string {
    if (err instanceof yaml.YAMLException && err.mark) {
        return `${file}:${err.mark.line + 1}:${err.mark.column + 1}: not valid YAML: ${err.reason}`;
    }
    const message = (err as Error).message ?? String(err);
    const position = /position (\d+)/.exec(message);
    // V8's reason ("Expected ',' or '}' after property value") unless it quotes the text.
    const reason = message.replace(/ in JSON at position.*$/s, "");
    const shown = reason && !reason.includes('"') && reason !== message ? `: ${reason}` : "";
    if (!position) return `${file}: not valid JSON${shown}`;
    const before = text.slice(0, Number(position[1])).split("\n");
    return `${file}:${before.length}:${before[before.length - 1].length + 1}: not valid JSON${shown}`;
}

/** The `supabase-dr:drill` settings of Pulumi.<env>.yaml, if that file exists and has them. */
function environmentSettings(file: string): unknown {
    if (!fs.existsSync(file)) return undefined;
    const doc = loadSettingsFile(file) as { config?: Record<string, unknown> } | null | undefined;
    return doc?.config?.[DRILL_CONFIG_KEY];
}

/**
 * Each source is checked on its own (so a problem is reported with the file it is in), then their
 * merge (top-level keys of later sources win), before anything else runs.
 */
/** The default backend keeps its passphrase beside its state, readable by this user only. */
function defaultBackend(): { url: string; passphrase?: string } {
    const root = path.join(os.homedir(), ".supabase-dr");
    const passFile = path.join(root, "passphrase");
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(passFile)) fs.writeFileSync(passFile, randomBytes(24).toString("hex"), { mode: 0o600 });
    return { url: `file://${path.join(root, "state")}`, passphrase: process.env.PULUMI_CONFIG_PASSPHRASE ?? fs.readFileSync(passFile, "utf8").trim() };
}

async function main(): Promise<number> {
    const { values } = parseCliArgs({
        options: {
            env: { type: "string" },
            source: { type: "string" },
            backup: { type: "string" },
            "backup-taken-at": { type: "string" },
            target: { type: "string" },
            "backup-dir": { type: "string" },
            "api-url": { type: "string" },
            settings: { type: "string" },
            pitr: { type: "string" },
            "pitr-lsn": { type: "string" },
            "pitr-name": { type: "string" },
            "pitr-mark": { type: "string" },
            "rehearse-recover": { type: "string", multiple: true },
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
        pitrS3Key: process.env.PGBACKREST_REPO1_S3_KEY,
        pitrS3KeySecret: process.env.PGBACKREST_REPO1_S3_KEY_SECRET,
        pitrS3Token: process.env.PGBACKREST_REPO1_S3_TOKEN,
        pitrCipherPass: process.env.PGBACKREST_REPO1_CIPHER_PASS,
    };
    let pitrTarget: ReturnType<typeof pitrTargetFromFlags>;
    try {
        pitrTarget = pitrTargetFromFlags({ pitr: values.pitr, pitrLsn: values["pitr-lsn"], pitrName: values["pitr-name"], pitrMark: values["pitr-mark"] });
    } catch (err) {
        fail((err as Error).message);
    }
    const backupPath = values.backup ?? process.env.BACKUP_PATH;
    let settings: UserDrillSettings = {};
    if (!values.cleanup) {
        // A cleanup needs no settings: a broken file must not keep a kept stack from being removed.
        const envFile = path.join(REPO_ROOT, `Pulumi.${env}.yaml`);
        settings = mergeDrillSettings([
            { label: `${path.relative(process.cwd(), envFile)} ${DRILL_CONFIG_KEY}`, value: environmentSettings(envFile) },
            ...(values.settings ? [{ label: values.settings, value: loadSettingsFile(values.settings) }] : []),
        ]);
        if (pitrTarget) {
            if (!settings.pitr) fail(`--pitr* needs the WAL archive's settings: ${DRILL_CONFIG_KEY}.pitr.archive in Pulumi.${env}.yaml or a --settings file`);
            settings.pitr = { ...settings.pitr, target: pitrTarget };
        }
        const pitrDrill = settings.pitr?.target !== undefined;
        const kind = settings.target?.kind;
        if (kind === "supabase-project" && !secrets.supabaseAccessToken) fail("SUPABASE_ACCESS_TOKEN is required: the drill's target is a scratch Supabase project");
        if (kind === "database" && !secrets.targetDbUrl) fail("TARGET_DB_URL (or --target) is required: the settings' target is a scratch database on that server");
        if (!pitrDrill && !secrets.sourceDbUrl && !backupPath && !settings.vault) {
            fail("SOURCE_DB_URL (or --source), BACKUP_PATH (or --backup) or a vault in the settings is required");
        }
        if (backupPath) {
            // Adopt: the source (if given) is not dumped; it is protected, and compared with when the
            // backup carries no fingerprint of its own.
            if (!fs.existsSync(backupPath)) fail(`backup not found: ${backupPath}`);
            settings.backupPath = path.resolve(backupPath);
        }
        const bucket = process.env.BACKUP_BUCKET;
        if (bucket) {
            let moved: ReturnType<typeof vaultAtBackupBucket>;
            try {
                moved = vaultAtBackupBucket(settings.vault, bucket, process.env);
            } catch (err) {
                fail((err as Error).message, err);
            }
            if (moved) settings.vault = moved.vault;
            process.stdout.write(`${moved ? moved.note : "BACKUP_BUCKET not used: the settings have no drill.vault (the drill dumps SOURCE_DB_URL now)"}\n`);
        }
        let rehearsals: RehearseRecoverSetting[];
        try {
            rehearsals = (values["rehearse-recover"] ?? []).map(parseRehearseRecoverFlag);
        } catch (err) {
            fail((err as Error).message);
        }
        const merged = mergeRehearsals(settings.rehearseRecover, rehearsals);
        if (merged) settings.rehearseRecover = merged;
        const takenAt = values["backup-taken-at"] ?? process.env.BACKUP_TAKEN_AT;
        if (takenAt) settings.backupTakenAt = takenAt;
        const apiUrl = values["api-url"] ?? process.env.TARGET_API_URL;
        if (apiUrl) settings.smoke = { ...(settings.smoke ?? {}), baseUrl: apiUrl, checks: settings.smoke?.checks ?? defaultSupabaseChecks };
        // The flags' values go through the same schema (an --api-url that is not a URL, a bad time).
        settings = mergeDrillSettings([{ label: "with flags and environment variables applied", value: settings }]);
        // The secrets' forms and what the settings need of them (e.g. a storage restore's service key).
        const secretIssues = drillSecretIssues(settings, secrets);
        if (secretIssues.length > 0) {
            const byKey = new Map(Object.entries(SECRET_SOURCES).map(([key, name]) => [`${CONFIG_NAMESPACE}:${key}`, name]));
            fail(secretIssues.map((i) => `${byKey.get(i.path) ?? i.path}: ${i.message}`).join("\n"));
        }
    }

    const [{ cleanupStack, runDrill }, { localBackend }, { drillProgram }] = await Promise.all([
        import("../lib/drill/run"),
        import("../lib/pulumi/engine"),
        import("../programs/drill"),
    ]);
    const backend = localBackend(backendUrl ? { url: backendUrl } : defaultBackend());
    const write = (t: string) => process.stdout.write(t);
    try {
        if (values.cleanup) {
            await cleanupStack(backend, values.cleanup, write);
            write(`removed ${values.cleanup}\n`);
            return 0;
        }
        const result = await runDrill({
            program: drillProgram,
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

runCli("drill", main, {
    secrets: () => [
        process.env.SOURCE_DB_URL, process.env.TARGET_DB_URL, process.env.SUPABASE_ACCESS_TOKEN, process.env.API_BEARER_TOKEN, process.env.MASKING_SALT,
        process.env.SUPABASE_SERVICE_ROLE_KEY,
        process.env.PGBACKREST_REPO1_S3_KEY, process.env.PGBACKREST_REPO1_S3_KEY_SECRET, process.env.PGBACKREST_REPO1_S3_TOKEN, process.env.PGBACKREST_REPO1_CIPHER_PASS,
    ],
    usage: USAGE,
});
