// The real Pulumi engine for the Automation API: finds (or builds) it with scripts/ensure-pulumi.sh,
// and sets up local file backends. Never Pulumi Cloud: every workspace made here gets an explicit
// PULUMI_BACKEND_URL.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type InlineProgramArgs, type LocalWorkspaceOptions, type Stack } from "@pulumi/pulumi/automation";

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
            throw new Error(`SUPABASE_DR_PULUMI_BIN=${fromEnv} holds no 'pulumi' binary`);
        }
        return (cachedBinDir = fromEnv);
    }
    const script = path.join(REPO_ROOT, "scripts", "ensure-pulumi.sh");
    const out = execFileSync("bash", [script], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const lines = out.trim().split("\n");
    return (cachedBinDir = lines[lines.length - 1]);
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
 */
export function localBackend(opts: LocalBackendOptions = {}): LocalBackend {
    const binDir = ensureEngine();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-pulumi-"));
    const home = path.join(root, "home");
    const workDir = path.join(root, "work");
    for (const dir of [home, workDir]) fs.mkdirSync(dir, { recursive: true });
    let url = opts.url;
    if (!url) {
        const stateDir = path.join(root, "state");
        fs.mkdirSync(stateDir);
        url = "file://" + stateDir;
    } else if (url.startsWith("file://")) {
        fs.mkdirSync(url.slice("file://".length), { recursive: true });
    }
    if (/^https?:\/\/(api\.)?pulumi\.com|^https:\/\/app\.pulumi/.test(url)) {
        throw new Error("supabase-dr drills use a self-managed backend (file://, s3://, azblob://, gs://), not Pulumi Cloud");
    }
    const passphrase = opts.passphrase ?? process.env.PULUMI_CONFIG_PASSPHRASE ?? randomBytes(24).toString("hex");
    const envVars: Record<string, string> = {
        PULUMI_BACKEND_URL: url,
        PULUMI_CONFIG_PASSPHRASE: passphrase,
        PULUMI_HOME: home,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ""}`,
        // Inline programs run from a temp work dir: the dynamic-provider plugin finds our SDK here.
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
        workDir: backend.workDir,
        envVars: backend.envVars,
        pulumiCommand: command,
        projectSettings: { name: projectName, runtime: "nodejs", backend: { url: backend.url } },
    };
}

/** A workspace on the backend, for listing and inspecting stacks. */
export async function backendWorkspace(backend: LocalBackend, projectName: string): Promise<LocalWorkspace> {
    return LocalWorkspace.create(workspaceOptions(backend, projectName, await pulumiCommand()));
}

/** Creates (or selects) a stack running an inline program on the given backend. */
export async function inlineStack(
    backend: LocalBackend,
    args: InlineProgramArgs,
    extra: Partial<LocalWorkspaceOptions> = {},
): Promise<Stack> {
    return LocalWorkspace.createOrSelectStack(args, {
        ...workspaceOptions(backend, args.projectName, await pulumiCommand()),
        ...extra,
    });
}
