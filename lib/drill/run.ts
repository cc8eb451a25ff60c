// Runs one drill as an ephemeral stack through the Automation API:
//   clean up leftovers of interrupted drills → create drill-<env>-<yyyymmddHHMMss> → set its config →
//   up (progress streamed) → report → ALWAYS destroy and remove the stack (artifacts are kept) —
//   unless --keep, which leaves the stack (and its scratch target) for forensics (runbook 001).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { redact } from "../redact";
import { backendWorkspace, inlineStack, type LocalBackend } from "../pulumi/engine";
import { timestampId } from "../backup/manifest";
import { CONFIG_NAMESPACE, DEFAULT_NEXT_DRILL_DAYS, DEFAULT_TARGETS, type DrillSecrets, type DrillSettings } from "./config";
import { drillProgram } from "./program";
import { writeDrillReport, type DrillReport } from "./report";

export const PROJECT = "supabase-dr";
// A stack tag, not config: tags live in the backend, config files in a work dir that may be gone.
const KEEP_TAG = "supabase-dr-keep";
// A lock from another machine may belong to a drill still running there; after this long it cannot.
const FOREIGN_LOCK_MAX_AGE_MS = 24 * 3600_000;

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
    leftovers: LeftoverCleanup;
}

function secretValues(s: DrillSecrets): string[] {
    return [s.sourceDbUrl, s.targetDbUrl, s.supabaseAccessToken, s.apiBearerToken, s.maskingSalt, s.storageServiceKey].filter((v): v is string => !!v);
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

export interface LeftoverCleanup {
    cleaned: string[];
    /** Stacks that could not be cleaned (reason redacted by the caller); the next run retries. */
    failed: { stack: string; reason: string }[];
    /** Stacks skipped because a live process holds their lock (a drill still running). */
    running: string[];
}

/**
 * Destroys and removes every drill stack of this backend that is neither kept (--keep) nor locked by
 * a live drill. One stack that cannot be cleaned does not stop the others, nor the new drill.
 */
export async function cleanupLeftovers(backend: LocalBackend, opts: { except?: string; onOutput?: (t: string) => void } = {}): Promise<LeftoverCleanup> {
    const ws = await backendWorkspace(backend, PROJECT);
    const result: LeftoverCleanup = { cleaned: [], failed: [], running: [] };
    for (const summary of await ws.listStacks()) {
        const name = summary.name.split("/").pop()!;
        if (!name.startsWith("drill-") || name === opts.except) continue;
        const tags = await ws.listTags(name).catch(() => ({}) as Record<string, string>);
        if (tags[KEEP_TAG] === "true") continue;
        if (liveLocks(backend, name).length > 0) {
            result.running.push(name);
            continue;
        }
        opts.onOutput?.(`cleaning up leftover drill stack ${name}\n`);
        try {
            await cleanupStack(backend, name, opts.onOutput, true);
            result.cleaned.push(name);
        } catch (err) {
            result.failed.push({ stack: name, reason: (err as Error).message });
            opts.onOutput?.(`could not clean up ${name}; the next run retries it\n`);
        }
    }
    return result;
}

/** Destroys and removes one drill stack (e.g. one kept with --keep). */
export async function cleanupStack(backend: LocalBackend, name: string, onOutput?: (t: string) => void, interrupted = false): Promise<void> {
    const stack = await inlineStack(backend, { projectName: PROJECT, stackName: name, program: async () => drillProgram() });
    await destroyAndRemove(stack, backend, onOutput, interrupted);
}

interface LockFile {
    file: string;
    live: boolean;
}

/** The lock files of a stack in a file backend, each judged live (its process may still run) or stale. */
function stackLocks(backend: LocalBackend, stackName: string): LockFile[] {
    if (!backend.url.startsWith("file://")) return [];
    const root = path.join(backend.url.slice("file://".length), ".pulumi", "locks");
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
    return found.map((file) => ({ file, live: lockIsLive(file) }));
}

function lockIsLive(file: string): boolean {
    try {
        const lock = JSON.parse(fs.readFileSync(file, "utf8")) as { pid?: number; hostname?: string; timestamp?: string };
        if (lock.hostname && lock.hostname !== os.hostname()) {
            return Date.now() - Date.parse(lock.timestamp ?? "") < FOREIGN_LOCK_MAX_AGE_MS;
        }
        if (!lock.pid) return true;
        process.kill(lock.pid, 0);
        return true;
    } catch (err) {
        // ESRCH: no such process, the lock is stale. EPERM: the process exists (another user's).
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

function liveLocks(backend: LocalBackend, stackName: string): string[] {
    return stackLocks(backend, stackName).filter((l) => l.live).map((l) => l.file);
}

async function destroyAndRemove(stack: Stack, backend: LocalBackend, onOutput?: (t: string) => void, interrupted = false): Promise<void> {
    if (interrupted) {
        for (const lock of stackLocks(backend, stack.name).filter((l) => !l.live)) {
            onOutput?.(`removing the stale lock of an interrupted run: ${path.basename(lock.file)}\n`);
            fs.rmSync(lock.file, { force: true });
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
    const artifactsDir = path.resolve(opts.backupDir, `drill_${opts.env}_${id}`);
    const secrets = secretValues(opts.secrets);
    const out = opts.onOutput ?? (() => undefined);
    fs.mkdirSync(artifactsDir, { recursive: true });

    const leftovers = await cleanupLeftovers(opts.backend, { except: stackName, onOutput: out });
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
        storageBuckets: settings.storage?.buckets,
    };

    out(`drill ${stackName}: artifacts in ${artifactsDir}\n`);
    const stack = await inlineStack(opts.backend, { projectName: PROJECT, stackName, program: async () => drillProgram() });
    let error: string | undefined;
    try {
        // Smoke checks may carry header values (an apikey): then the whole settings object is secret.
        const headers = JSON.stringify(settings.smoke?.checks ?? []).includes('"headers"');
        const config: Record<string, { value: string; secret?: boolean }> = {
            [`${CONFIG_NAMESPACE}:drill`]: { value: JSON.stringify(settings), secret: headers },
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
        await stack.workspace.setTag(stackName, KEEP_TAG, "true");
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
    return { status: report.status, stackName, artifactsDir, report, summaryPath, jsonPath, error, kept, leftovers };
}
