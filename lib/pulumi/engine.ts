// The real Pulumi engine for the Automation API: finds (or builds) it with scripts/ensure-pulumi.sh,
// and sets up local file backends. Never Pulumi Cloud: every workspace made here gets an explicit
// PULUMI_BACKEND_URL.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type InlineProgramArgs, type LocalWorkspaceOptions, type Stack } from "@pulumi/pulumi/automation";
import { EnvironmentError, UsageError } from "../errors";
import { omitSourcePositions } from "./sourcePositions";
import { toolEnvironment } from "../toolEnvironment";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

let cachedBinDir: string | undefined;

/**
 * Directory holding pulumi, pulumi-language-nodejs and pulumi-resource-pulumi-nodejs.
 * $SUPABASE_DR_PULUMI_BIN wins; otherwise scripts/ensure-pulumi.sh (cached after the first build).
 */
export function ensureEngine(): string {
    if (cachedBinDir) return cachedBinDir;
    const fromEnv = process.env.SUPABASE_DR_PULUMI_BIN;
    if (fromEnv) {
        if (!fs.existsSync(path.join(fromEnv, "pulumi"))) {
            throw new EnvironmentError("ENGINE_BUILD_FAILED", `SUPABASE_DR_PULUMI_BIN=${fromEnv} holds no 'pulumi' binary`);
        }
        return (cachedBinDir = fromEnv);
    }
    const script = path.join(REPO_ROOT, "scripts", "ensure-pulumi.sh");
    // Drill runs get the provider plugin from ensureProviderPlugin, not from the CLI's ~/.pulumi.
    // A build script needs none of the command's secrets (a drill has them all in its environment).
    const env = toolEnvironment({ SUPABASE_DR_SKIP_CLI_PLUGIN: "1" });
    const out = buildStep("ENGINE_BUILD_FAILED", "the Pulumi engine", () => execFileSync("bash", [script], { encoding: "utf8", env, stdio: ["ignore", "pipe", "inherit"] }));
    const lines = out.trim().split("\n");
    return (cachedBinDir = lines[lines.length - 1]);
}

let cachedPluginsDir: string | undefined;

/**
 * The plugin directory holding the supabase-dr resource provider plugin at this package's version,
 * built and installed (when missing or outdated) by scripts/ensure-provider.sh. It is a stable
 * directory outside the checkout (~/.cache/supabase-dr/plugin-sets/<sources hash>, or
 * $SUPABASE_DR_PLUGINS_DIR), never a temp dir: a stack names only the plugin's version, so any later run,
 * from any checkout at that version, finds one.
 */
export function ensureProviderPlugin(): string {
    if (cachedPluginsDir) return cachedPluginsDir;
    const script = path.join(REPO_ROOT, "scripts", "ensure-provider.sh");
    const out = buildStep("PROVIDER_BUILD_FAILED", "the supabase-dr provider plugin", () => execFileSync("bash", [script], { encoding: "utf8", env: toolEnvironment(), stdio: ["ignore", "pipe", "inherit"] }));
    const lines = out.trim().split("\n");
    return (cachedPluginsDir = lines[lines.length - 1]);
}

/** Runs an ensure-*.sh script; its own output (on stderr) says what failed, the error says which step. */
function buildStep(code: "ENGINE_BUILD_FAILED" | "PROVIDER_BUILD_FAILED", what: string, run: () => string): string {
    try {
        return run();
    } catch (err) {
        const status = (err as { status?: number | null }).status;
        throw new EnvironmentError(code, `${what} could not be built or found (${status == null ? (err as Error).message : `exit ${status}`}; its output is above)`, { cause: err });
    }
}

export interface LocalBackend {
    /** file:// URL of the state directory. */
    url: string;
    /** Environment for the engine: backend, passphrase, PULUMI_HOME, PATH with the engine first. */
    envVars: Record<string, string>;
    /** Temporary work directory for inline programs. */
    workDir: string;
    /** Deletes everything this backend created (only when it owns the state directory). */
    cleanup(): void;
}

export interface LocalBackendOptions {
    /** Any backend URL (file://, s3://, ...); default: a fresh file:// state dir removed by cleanup(). */
    url?: string;
    /** Passphrase for the passphrase secrets provider; default: $PULUMI_CONFIG_PASSPHRASE or random. */
    passphrase?: string;
}

/**
 * A backend with its own PULUMI_HOME and work dir, so no state or credentials leak between runs.
 * Without a URL it is a fresh local file backend that cleanup() deletes (tests, demo).
 * The private PULUMI_HOME's `plugins` is a link to the stable plugin directory of ensureProviderPlugin:
 * the engine finds the supabase-dr plugin there like any installed plugin, at the version a resource
 * asks for, and nothing is copied per run.
 */
export function localBackend(opts: LocalBackendOptions = {}): LocalBackend {
    const binDir = ensureEngine();
    const pluginsDir = ensureProviderPlugin();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-pulumi-"));
    const home = path.join(root, "home");
    const workDir = path.join(root, "work");
    for (const dir of [home, workDir]) fs.mkdirSync(dir, { recursive: true });
    fs.symlinkSync(pluginsDir, path.join(home, "plugins"), "dir");
    let url = opts.url;
    if (!url) {
        const stateDir = path.join(root, "state");
        fs.mkdirSync(stateDir);
        url = "file://" + stateDir;
    } else if (url.startsWith("file://")) {
        fs.mkdirSync(url.slice("file://".length), { recursive: true });
    }
    if (/^https?:\/\/(api\.)?pulumi\.com|^https:\/\/app\.pulumi/.test(url)) {
        throw new UsageError("supabase-dr drills use a self-managed backend (file://, s3://, azblob://, gs://), not Pulumi Cloud");
    }
    const passphrase = opts.passphrase ?? process.env.PULUMI_CONFIG_PASSPHRASE ?? randomBytes(24).toString("hex");
    const envVars: Record<string, string> = {
        PULUMI_BACKEND_URL: url,
        PULUMI_CONFIG_PASSPHRASE: passphrase,
        PULUMI_HOME: home,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PATH: enginePath(binDir),
        // Only for stacks made before the provider package (dynamic resources, README "Upgrading from
        // dynamic providers"): the dynamic-provider plugin finds @pulumi/pulumi here.
        SUPABASE_DR_NODE_MODULES: path.join(REPO_ROOT, "node_modules"),
    };
    return {
        url: envVars.PULUMI_BACKEND_URL,
        envVars,
        workDir,
        cleanup() {
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}

let cachedCommand: Promise<PulumiCommand> | undefined;

/** The engine's CLI for the Automation API (version-checked against the SDK). */
export function pulumiCommand(): Promise<PulumiCommand> {
    cachedCommand ??= PulumiCommand.get({ root: path.dirname(ensureEngine()) });
    return cachedCommand;
}

function workspaceOptions(backend: LocalBackend, projectName: string, command: PulumiCommand): LocalWorkspaceOptions {
    return {
        // A directory of its own per workspace: creating a workspace rewrites Pulumi.yaml, and the engine
        // keeps the selected stack per project directory, so workspaces of drills running at once on one
        // backend would otherwise read each other's half-written files.
        workDir: fs.mkdtempSync(path.join(backend.workDir, `${projectName}-`)),
        envVars: backend.envVars,
        pulumiCommand: command,
        projectSettings: { name: projectName, runtime: "nodejs", backend: { url: backend.url } },
    };
}

/** A workspace on the backend, for listing and inspecting stacks. */
export async function backendWorkspace(backend: LocalBackend, projectName: string): Promise<LocalWorkspace> {
    return LocalWorkspace.create(workspaceOptions(backend, projectName, await pulumiCommand()));
}

/**
 * A stack running an inline program on the given backend: created or selected (default), only
 * created (fails when it exists: never share a stack with another run), or only selected (fails when
 * it is gone: never recreate a stack another run removed).
 */
export async function inlineStack(
    backend: LocalBackend,
    args: InlineProgramArgs,
    extra: Partial<LocalWorkspaceOptions> = {},
    mode: "createOrSelect" | "create" | "select" = "createOrSelect",
): Promise<Stack> {
    const opts = { ...workspaceOptions(backend, args.projectName, await pulumiCommand()), ...extra };
    // Before the engine runs the program: the automation runtime registers the stack resource itself.
    omitSourcePositions();
    switch (mode) {
        case "create":
            return LocalWorkspace.createStack(args, opts);
        case "select":
            return LocalWorkspace.selectStack(args, opts);
        case "createOrSelect":
            return LocalWorkspace.createOrSelectStack(args, opts);
    }
}

export interface ConfigEntry {
    value: string;
    secret?: boolean;
}

/**
 * Sets stack config without putting any value on a command line: `pulumi config set <key>` reads the
 * value from its standard input, and the stack's own secrets provider encrypts secret ones (whichever
 * provider the stack has). The Automation API's setConfig/setAllConfig pass values as arguments, which
 * every user of the machine can read in the process list. Keys are set one after another: each run
 * rewrites the stack's config file.
 */
export async function setStackConfig(stack: Stack, config: Record<string, ConfigEntry>): Promise<void> {
    const ws = stack.workspace as LocalWorkspace;
    for (const [key, entry] of Object.entries(config)) {
        await configSetFromStdin(ws, stack.name, key, entry);
    }
}

function configSetFromStdin(ws: LocalWorkspace, stackName: string, key: string, entry: ConfigEntry): Promise<void> {
    const args = ["config", "set", key, "--stack", stackName, entry.secret ? "--secret" : "--plaintext", "--raw", "--non-interactive"];
    const env: Record<string, string | undefined> = {
        ...process.env,
        ...(ws.pulumiHome ? { PULUMI_HOME: ws.pulumiHome } : {}),
        ...ws.envVars,
        PULUMI_AUTOMATION_API: "true",
    };
    return new Promise((resolve, reject) => {
        const child = spawn(ws.pulumiCommand.command, args, { cwd: ws.workDir, env, stdio: ["pipe", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", (err) => reject(new Error(`cannot run pulumi config set for ${key}: ${err.message}`)));
        child.on("close", (code, signal) => {
            if (code === 0) return resolve();
            // The engine's message names the key and the problem; it never echoes a value read from stdin.
            reject(new Error(`pulumi config set ${key} on stack ${stackName} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
        });
        // EPIPE when the CLI exits before reading (e.g. a bad flag): the close handler reports why.
        child.stdin.on("error", () => undefined);
        child.stdin.end(entry.value);
    });
}

/**
 * Engine plugins (dynamic providers, the language host) run `node` from PATH: make it the Node running
 * this orchestrator — started any other way than scripts/with-node.sh, PATH may name an older one —
 * without putting its directory ahead of everything when it already is the first `node` on PATH.
 */
function enginePath(binDir: string): string {
    const rest = process.env.PATH ?? "";
    const onPath = rest.split(path.delimiter).filter(Boolean).map((d) => path.join(d, "node")).find((f) => fs.existsSync(f));
    const same = onPath !== undefined && fs.realpathSync(onPath) === fs.realpathSync(process.execPath);
    return [binDir, ...(same ? [] : [path.dirname(process.execPath)]), rest].join(path.delimiter);
}
