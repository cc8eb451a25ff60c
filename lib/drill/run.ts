// Runs one drill as an ephemeral stack through the Automation API:
//   clean up leftovers of interrupted drills → create drill-<env>-<yyyymmddHHMMss> → set its config →
//   up (progress streamed) → report → ALWAYS destroy and remove the stack (artifacts are kept) —
//   unless --keep, which leaves the stack (and its scratch target) for forensics (runbook 001).
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { redact } from "../redact";
import { backendWorkspace, inlineStack, type LocalBackend } from "../pulumi/engine";
import { timestampId } from "../backup/manifest";
import { CONFIG_NAMESPACE, DEFAULT_NEXT_DRILL_DAYS, DEFAULT_TARGETS, type DrillSecrets, type DrillSettings } from "./config";
import { drillProgram } from "./program";
import { writeDrillReport, type DrillReport } from "./report";

export const PROJECT = "supabase-dr";
const KEEP_KEY = `${CONFIG_NAMESPACE}:keep`;

export interface RunDrillOptions {
    env: string;
    backend: LocalBackend;
    /** BACKUP_DIR: artifacts go to <backupDir>/drill_<id>/. */
    backupDir: string;
    secrets: DrillSecrets;
    /** Non-secret settings from the environment's stack config and flags (validation, masking, smoke, targets, ...). */
    settings?: Partial<Omit<DrillSettings, "env" | "id" | "artifactsDir" | "startedAt">>;
    keep?: boolean;
    onOutput?: (text: string) => void;
    now?: Date;
}

export interface RunDrillResult {
    status: "PASS" | "FAIL";
    stackName: string;
    artifactsDir: string;
    report: DrillReport;
    summaryPath: string;
    jsonPath: string;
    /** Redacted reason when the stack failed or could not be cleaned up. */
    error?: string;
    kept: boolean;
    leftoversCleaned: string[];
}

function secretValues(s: DrillSecrets): string[] {
    return [s.sourceDbUrl, s.targetDbUrl, s.apiBearerToken, s.maskingSalt].filter((v): v is string => !!v);
}

/**
 * The engine's diagnostics (the errors our resources threw), without the Automation API's wrapping
 * and the engine's generic lines, redacted.
 */
export function explain(err: unknown, secrets: string[]): string {
    const e = err as { commandResult?: { stdout?: string; stderr?: string }; message?: string };
    const text = e.commandResult ? `${e.commandResult.stdout ?? ""}\n${e.commandResult.stderr ?? ""}` : String(e.message ?? err);
    const start = text.indexOf("Diagnostics:");
    const end = text.indexOf("\nResources:", start);
    const diagnostics = start >= 0 ? text.slice(start + "Diagnostics:".length, end > start ? end : undefined) : text;
    const lines = diagnostics
        .split("\n")
        .filter((l) => l.trim() && !/^\s*(pulumi:pulumi:Stack|pulumi-nodejs:dynamic|supabase-dr:)/.test(l))
        .filter((l) => !/error: update failed|error: destroy failed|^\s*[+-~]\s+\d+ (created|errored|deleted)/.test(l))
        .map((l) => l.replace(/^\s{4}/, ""))
        .slice(0, 60)
        .join("\n");
    return redact((lines || text).trim(), secrets).slice(0, 8000);
}

/** Destroys and removes every drill stack of this backend that is not marked `keep` (or not this one). */
export async function cleanupLeftovers(backend: LocalBackend, opts: { except?: string; onOutput?: (t: string) => void } = {}): Promise<string[]> {
    const ws = await backendWorkspace(backend, PROJECT);
    const cleaned: string[] = [];
    for (const summary of await ws.listStacks()) {
        const name = summary.name.split("/").pop()!;
        if (!name.startsWith("drill-") || name === opts.except) continue;
        const config = await ws.getAllConfig(name).catch(() => ({}) as Record<string, { value: string }>);
        if (config[KEEP_KEY]?.value === "true") continue;
        opts.onOutput?.(`cleaning up leftover drill stack ${name}\n`);
        await cleanupStack(backend, name, opts.onOutput, true);
        cleaned.push(name);
    }
    return cleaned;
}

/** Destroys and removes one drill stack (e.g. one kept with --keep). */
export async function cleanupStack(backend: LocalBackend, name: string, onOutput?: (t: string) => void, interrupted = false): Promise<void> {
    const stack = await inlineStack(backend, { projectName: PROJECT, stackName: name, program: async () => drillProgram() });
    await destroyAndRemove(stack, backend, onOutput, interrupted);
}

/** Lock files a killed process left behind (file backends keep them forever). */
function staleLocks(backend: LocalBackend, stackName: string): string[] {
    const root = path.join(backend.url.replace(/^file:\/\//, ""), ".pulumi", "locks");
    if (!fs.existsSync(root)) return [];
    const found: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(p);
            else if (p.includes(`${path.sep}${stackName}${path.sep}`) && p.endsWith(".json")) found.push(p);
        }
    };
    walk(root);
    return found.filter((file) => {
        try {
            const lock = JSON.parse(fs.readFileSync(file, "utf8")) as { pid?: number; hostname?: string };
            if (!lock.pid) return false;
            process.kill(lock.pid, 0); // throws when the process is gone
            return false;
        } catch {
            return true;
        }
    });
}

async function destroyAndRemove(stack: Stack, backend: LocalBackend, onOutput?: (t: string) => void, interrupted = false): Promise<void> {
    if (interrupted) {
        for (const lock of staleLocks(backend, stack.name)) {
            onOutput?.(`removing the stale lock of an interrupted run: ${path.basename(lock)}\n`);
            fs.rmSync(lock, { force: true });
        }
        // Forget resources a killed run never finished creating.
        await stack.refresh({ onOutput }).catch(() => undefined);
    }
    await stack.destroy({ onOutput });
    await stack.workspace.removeStack(stack.name);
}

export async function runDrill(opts: RunDrillOptions): Promise<RunDrillResult> {
    const started = opts.now ?? new Date();
    const id = timestampId(started);
    const stackName = `drill-${opts.env}-${id}`;
    const artifactsDir = path.resolve(opts.backupDir, `drill_${id}`);
    const secrets = secretValues(opts.secrets);
    const out = opts.onOutput ?? (() => undefined);
    fs.mkdirSync(artifactsDir, { recursive: true });

    const leftoversCleaned = await cleanupLeftovers(opts.backend, { except: stackName, onOutput: out });
    const settings: DrillSettings = {
        ...opts.settings,
        env: opts.env,
        id,
        artifactsDir,
        startedAt: started.toISOString(),
    };
    const meta = {
        id,
        env: opts.env,
        stack: stackName,
        artifactsDir,
        startedAt: settings.startedAt,
        targets: { ...DEFAULT_TARGETS, ...(settings.targets ?? {}) },
        nextDrillDays: settings.nextDrillDays ?? DEFAULT_NEXT_DRILL_DAYS,
        maskingConfigured: !!settings.masking,
        smokeConfigured: !!settings.smoke,
    };

    out(`drill ${stackName}: artifacts in ${artifactsDir}\n`);
    const stack = await inlineStack(opts.backend, { projectName: PROJECT, stackName, program: async () => drillProgram() });
    let error: string | undefined;
    try {
        const config: Record<string, { value: string; secret?: boolean }> = {
            [`${CONFIG_NAMESPACE}:drill`]: { value: JSON.stringify(settings) },
        };
        for (const [key, value] of Object.entries(opts.secrets)) {
            if (value) config[`${CONFIG_NAMESPACE}:${key}`] = { value, secret: true };
        }
        await stack.setAllConfig(config);
        await stack.up({ onOutput: (t) => out(redact(t, secrets)) });
    } catch (err) {
        error = explain(err, secrets);
    }

    // The Report resource wrote the report when every step ran; otherwise write it from what exists.
    let { report, summaryPath, jsonPath } = writeDrillReport({ ...meta, error }, secrets);
    let kept = false;
    if (opts.keep) {
        await stack.setConfig(KEEP_KEY, { value: "true" });
        kept = true;
        out(`--keep: stack ${stackName} and its scratch target are kept for forensics; remove them with: npm run drill -- --cleanup ${stackName}\n`);
    } else {
        try {
            await destroyAndRemove(stack, opts.backend, (t) => out(redact(t, secrets)));
        } catch (err) {
            const reason = `cleanup of ${stackName} failed; the next drill run retries it: ${explain(err, secrets)}`;
            error = error ? `${error}\n${reason}` : reason;
            ({ report, summaryPath, jsonPath } = writeDrillReport({ ...meta, error }, secrets));
        }
    }
    return { status: report.status, stackName, artifactsDir, report, summaryPath, jsonPath, error, kept, leftoversCleaned };
}
