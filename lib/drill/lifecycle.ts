// The life of drill stacks on a shared backend: a drill creates its own stack (a name no other drill
// has, claimed by a tag), and removes it when done; a drill's first step cleans up the stacks of
// interrupted drills, never one another live drill holds (stackLocks.ts). Drills running at once on
// one backend see each other's half-written state files: backend errors that pass are retried.
import * as fs from "node:fs";
import * as path from "node:path";
import type { PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { timestampId } from "../backup/manifest";
import { backendWorkspace, inlineStack, type LocalBackend } from "../pulumi/engine";
import { formatClaim, KEEP_TAG, liveLocks, newClaim, OWNER_TAG, parseClaim, releaseClaim, stackHolder, stackLocks, type Holder, type OwnerClaim } from "./stackLocks";
import { RefusedError, UsageError } from "../errors";

export const PROJECT = "supabase-dr";

/**
 * The program of a stack that is only refreshed, destroyed or tagged: the engine never runs it (destroy
 * and refresh work from the state alone), so cleanup needs neither the drill's program nor its config.
 */
/** A stack's Pulumi program: what it returns are the stack's outputs. */
export type StackProgram = () => Record<string, unknown> | Promise<Record<string, unknown>>;

const STATE_ONLY_PROGRAM: PulumiFn = async () => {
    throw new Error("a drill stack being cleaned up has no program to run: only refresh and destroy are allowed");
};

export type BackendErrorKind = "gone" | "exists" | "locked" | "transient" | "other";

/**
 * What a failed engine command means for the caller. `transient`: the file backend lists a directory
 * while another run renames a temporary state file into place (lstat …: no such file or directory),
 * reads a file being replaced, or a remote backend throttles or drops the connection.
 */
export function classifyBackendError(err: unknown): BackendErrorKind {
    const e = err as { message?: string; commandResult?: { stderr?: string } };
    const text = `${e?.commandResult?.stderr ?? ""}\n${e?.message ?? String(err)}`;
    if (/no stack named .* found|stack .* does not exist/i.test(text)) return "gone";
    if (/stack '.*' already exists|already exists/i.test(text)) return "exists";
    if (/currently locked by \d+ lock|the stack is currently locked/i.test(text)) return "locked";
    if (
        /no such file or directory|ENOENT|\.tmp\b|unexpected end of JSON input|unexpected EOF|could not (read|parse|deserialize) .*(checkpoint|deployment|stack)|ECONNRESET|ETIMEDOUT|EAI_AGAIN|connection reset|i\/o timeout|TLS handshake timeout|TooManyRequests|SlowDown|RequestTimeout|ServiceUnavailable|InternalError|\b50[0234]\b|temporar(y|ily)/i.test(
            text,
        )
    ) {
        return "transient";
    }
    return "other";
}

export interface RetryOptions {
    /** Tries in all (default 5). */
    attempts?: number;
    /** First pause; doubled after each try (default 250 ms: 0.25 + 0.5 + 1 + 2 s in all). */
    delayMs?: number;
    sleep?: (ms: number) => Promise<void>;
    onRetry?: (attempt: number, err: unknown) => void;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs a backend command, again after a pause when it failed for a reason that passes. */
export async function withBackendRetry<T>(op: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
    const attempts = opts.attempts ?? 5;
    const sleep = opts.sleep ?? pause;
    let delay = opts.delayMs ?? 250;
    for (let attempt = 1; ; attempt++) {
        try {
            return await op();
        } catch (err) {
            if (attempt >= attempts || classifyBackendError(err) !== "transient") throw err;
            opts.onRetry?.(attempt, err);
            await sleep(delay);
            delay *= 2;
        }
    }
}

/** What cleanup needs of a backend; the engine's in production, a fake in unit tests. */
export interface DrillStackStore {
    /** Names of every stack of the project. */
    list(): Promise<string[]>;
    tags(name: string): Promise<Record<string, string>>;
    setTag(name: string, key: string, value: string): Promise<void>;
    removeTag(name: string, key: string): Promise<void>;
    /** The engine's live lock files of the stack (file backends). */
    liveLocks(name: string): string[];
    /** Selects the stack (never recreates it), destroys its resources and removes it. */
    destroy(name: string, interrupted: boolean, onOutput?: (t: string) => void): Promise<void>;
}

export async function backendStackStore(backend: LocalBackend): Promise<DrillStackStore> {
    const ws = await backendWorkspace(backend, PROJECT);
    return {
        list: async () => (await ws.listStacks()).map((s) => s.name.split("/").pop()!),
        tags: (name) => ws.listTags(name),
        setTag: (name, key, value) => ws.setTag(name, key, value),
        removeTag: (name, key) => ws.removeTag(name, key),
        liveLocks: (name) => liveLocks(backend, name),
        async destroy(name, interrupted, onOutput) {
            const stack = await withBackendRetry(() => inlineStack(backend, { projectName: PROJECT, stackName: name, program: STATE_ONLY_PROGRAM }, {}, "select"));
            await destroyAndRemove(stack, backend, onOutput, interrupted);
        },
    };
}

export interface LeftoverCleanup {
    cleaned: string[];
    /** Stacks that could not be cleaned (reason redacted by the caller); the next run retries. */
    failed: { stack: string; reason: string }[];
    /** Stacks skipped because a live drill holds them (its claim, or an engine lock of a live process). */
    running: string[];
    /** Set when the backend's stacks could not be listed, even after retries: nothing was cleaned. */
    listError?: string;
}

export interface CleanupOptions {
    except?: string;
    onOutput?: (t: string) => void;
    retry?: RetryOptions;
    now?: () => number;
}

/**
 * Destroys and removes every drill stack of this backend that is neither kept (--keep) nor held by a
 * live drill. One stack that cannot be cleaned does not stop the others, nor the new drill.
 */
export async function cleanupLeftovers(backend: LocalBackend, opts: CleanupOptions = {}): Promise<LeftoverCleanup> {
    return cleanLeftovers(await backendStackStore(backend), opts);
}

export async function cleanLeftovers(store: DrillStackStore, opts: CleanupOptions = {}): Promise<LeftoverCleanup> {
    const result: LeftoverCleanup = { cleaned: [], failed: [], running: [] };
    const retry = (op: () => Promise<unknown>) => withBackendRetry(op, opts.retry);
    const now = opts.now ?? Date.now;
    let names: string[];
    try {
        names = await withBackendRetry(() => store.list(), opts.retry);
    } catch (err) {
        result.listError = `listing the backend's stacks failed; the next run retries: ${(err as Error).message}`;
        opts.onOutput?.(`could not list the backend's drill stacks; leftovers are cleaned up by the next run\n`);
        return result;
    }
    for (const name of names) {
        if (!name.startsWith("drill-") || name === opts.except) continue;
        let tags: Record<string, string>;
        try {
            tags = await withBackendRetry(() => store.tags(name), opts.retry);
        } catch (err) {
            // Removed by its own drill since the listing: nothing left to clean.
            if (classifyBackendError(err) === "gone") continue;
            result.failed.push({ stack: name, reason: (err as Error).message });
            continue;
        }
        const holder = stackHolder(name, tags, store.liveLocks(name), now());
        if (holder?.kind === "kept") continue;
        if (holder) {
            result.running.push(name);
            continue;
        }
        const outcome = await takeOverAndDestroy(store, name, true, retry, opts.onOutput);
        if (outcome.kind === "cleaned") result.cleaned.push(name);
        else if (outcome.kind === "held") result.running.push(name);
        else if (outcome.kind === "failed") {
            result.failed.push({ stack: name, reason: outcome.reason });
            opts.onOutput?.(`could not clean up ${name}; the next run retries it\n`);
        }
    }
    return result;
}

type Outcome = { kind: "cleaned" } | { kind: "held" } | { kind: "gone" } | { kind: "failed"; reason: string };

/**
 * Claims the stack (so other drills leave it alone), checks the claim held — two cleaners may race —
 * then destroys it. A stack someone else locked meanwhile is theirs; one removed meanwhile is gone.
 */
async function takeOverAndDestroy(
    store: DrillStackStore,
    name: string,
    interrupted: boolean,
    retry: (op: () => Promise<unknown>) => Promise<unknown>,
    onOutput?: (t: string) => void,
): Promise<Outcome> {
    const claim = newClaim();
    try {
        await retry(() => store.setTag(name, OWNER_TAG, formatClaim(claim)));
        const current = parseClaim(((await retry(() => store.tags(name))) as Record<string, string>)[OWNER_TAG]);
        if (current?.token !== claim.token) return { kind: "held" };
        onOutput?.(`cleaning up ${interrupted ? "leftover " : ""}drill stack ${name}\n`);
        await store.destroy(name, interrupted, onOutput);
        return { kind: "cleaned" };
    } catch (err) {
        const kind = classifyBackendError(err);
        if (kind === "gone") return { kind: "gone" };
        // Another run got the engine's lock first: the stack is its now, and so is the claim tag.
        if (kind === "locked") return { kind: "held" };
        // Unclaim it (unless another cleaner's claim replaced ours), so that the next run retries it.
        const current = await store.tags(name).then((t) => parseClaim(t[OWNER_TAG]), () => undefined);
        if (current?.token === claim.token) await store.removeTag(name, OWNER_TAG).catch(() => undefined);
        return { kind: "failed", reason: (err as Error).message };
    } finally {
        releaseClaim(claim);
    }
}

function describeHolder(name: string, holder: Holder): string {
    switch (holder.kind) {
        case "owner":
            return `${name} belongs to a drill that is still running (pid ${holder.claim.pid} on ${holder.claim.host}, since ${holder.claim.at})`;
        case "engine-lock":
            return `${name} is locked by a running engine operation (${holder.files.map((f) => path.basename(f)).join(", ")})`;
        default:
            return `${name} is being created by a drill`;
    }
}

/**
 * Destroys and removes one drill stack (e.g. one kept with --keep). Refuses a stack a live drill
 * holds: its claim, or an engine lock of a live process.
 */
export async function cleanupStack(backend: LocalBackend, name: string, onOutput?: (t: string) => void): Promise<void> {
    const store = await backendStackStore(backend);
    let tags: Record<string, string>;
    try {
        tags = await withBackendRetry(() => store.tags(name));
    } catch (err) {
        if (classifyBackendError(err) === "gone") throw new UsageError(`no stack named ${name} on backend ${backend.url}`, { cause: err });
        throw err;
    }
    // Asked for by name: kept is what it is for, and a stack named with a recent time is not a reason to wait.
    const holder = stackHolder(name, { ...tags, [KEEP_TAG]: "false" }, store.liveLocks(name));
    if (holder && holder.kind !== "starting") throw new RefusedError(`${describeHolder(name, holder)}: not cleaning it up`, { code: "STACK_LOCKED" });
    const outcome = await takeOverAndDestroy(store, name, false, (op) => withBackendRetry(op), onOutput);
    switch (outcome.kind) {
        case "cleaned":
            return;
        case "gone":
            throw new Error(`${name} was removed by another run meanwhile`);
        case "held":
            throw new RefusedError(`${name} was taken by another run meanwhile: not cleaning it up`, { code: "STACK_LOCKED" });
        case "failed":
            throw new Error(`cleanup of ${name} failed: ${outcome.reason}`);
    }
}

/** Removes stale engine locks (only for a stack of an interrupted run), forgets half-created resources, destroys, removes. */
export async function destroyAndRemove(stack: Stack, backend: LocalBackend, onOutput?: (t: string) => void, interrupted = false): Promise<void> {
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

export interface DrillStack {
    stack: Stack;
    id: string;
    stackName: string;
    artifactsDir: string;
    claim: OwnerClaim;
}

/** How many seconds after its start a drill may take as its id when earlier ones are taken. */
const MAX_ID_SHIFT_SECONDS = 60;

/**
 * Creates this drill's stack drill-<env>-<id> and its artifacts directory, both new: the id is the
 * first second from `started` on that no other drill has taken on this backend (stack exists) or in
 * this backup dir (directory exists), so two drills started in the same second never share a stack
 * or a report. The stack is claimed right after it is created. `program` is the drill's Pulumi program
 * (programs/drill.ts), given by the caller: lib/ does not know the components it is made of.
 */
export async function createDrillStack(
    backend: LocalBackend,
    env: string,
    backupDir: string,
    started: Date,
    program: StackProgram,
    retry?: RetryOptions,
): Promise<DrillStack> {
    fs.mkdirSync(path.resolve(backupDir), { recursive: true });
    for (let shift = 0; shift < MAX_ID_SHIFT_SECONDS; shift++) {
        const id = timestampId(new Date(started.getTime() + shift * 1000));
        const stackName = `drill-${env}-${id}`;
        const artifactsDir = path.resolve(backupDir, `drill_${env}_${id}`);
        try {
            fs.mkdirSync(artifactsDir);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
            throw err;
        }
        let stack: Stack;
        try {
            stack = await withBackendRetry(() => inlineStack(backend, { projectName: PROJECT, stackName, program: async () => program() }, {}, "create"), retry);
        } catch (err) {
            fs.rmdirSync(artifactsDir);
            if (classifyBackendError(err) === "exists") continue;
            throw err;
        }
        const claim = newClaim();
        try {
            await withBackendRetry(() => stack.workspace.setTag(stackName, OWNER_TAG, formatClaim(claim)), retry);
        } catch (err) {
            // Unclaimed, it would look like a leftover once the start grace is over: remove it now.
            releaseClaim(claim);
            await stack.workspace.removeStack(stackName).catch(() => undefined);
            fs.rmdirSync(artifactsDir);
            throw err;
        }
        return { stack, id, stackName, artifactsDir, claim };
    }
    throw new Error(`no free drill id within ${MAX_ID_SHIFT_SECONDS}s of ${started.toISOString()} for env ${env}: stacks drill-${env}-… or directories ${backupDir}/drill_${env}_… are taken`);
}

/**
 * The drill is over but its stack stays (--keep, or its destroy failed): drop the claim so that it
 * no longer looks like a running drill (a kept stack is protected by its keep tag instead).
 */
export async function unclaim(stack: Stack, claim: OwnerClaim): Promise<void> {
    releaseClaim(claim);
    await withBackendRetry(() => stack.workspace.removeTag(stack.name, OWNER_TAG)).catch(() => undefined);
}

/** Keeps the stack for forensics: tagged first, so it is never unclaimed and unkept at once. */
export async function keepStack(stack: Stack, claim: OwnerClaim): Promise<void> {
    await withBackendRetry(() => stack.workspace.setTag(stack.name, KEEP_TAG, "true"));
    await unclaim(stack, claim);
}
