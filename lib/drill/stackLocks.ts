// Who holds a drill stack right now. Two kinds of evidence, both needed:
//   - the engine's own lock files (file backends): an operation (up, destroy, refresh) is running;
//   - the drill's owner claim, a stack tag: the drill that created (or took over) the stack is alive.
//     A drill holds no engine lock between its operations (setting config, writing the report,
//     between destroy and rm), and a concurrent drill's leftover cleanup must not take those gaps for
//     an interrupted run. Tags live in the backend, so this works for every backend, not only file://.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LocalBackend } from "../pulumi/engine";

/** Stack tag holding the owner claim of a drill stack. */
export const OWNER_TAG = "supabase-dr-owner";
/** A stack tag, not config: tags live in the backend, config files in a work dir that may be gone. */
export const KEEP_TAG = "supabase-dr-keep";
// A claim (or lock) from another machine may belong to a drill still running there; after this long it cannot.
export const FOREIGN_CLAIM_MAX_AGE_MS = 24 * 3600_000;
// A drill creates its stack, then tags it: for this long after the time in its name, a stack without
// a claim is taken to be one that is being created, not a leftover.
export const STARTING_GRACE_MS = 10 * 60_000;

export interface OwnerClaim {
    host: string;
    pid: number;
    /** The process's start time (Linux: clock ticks since boot), so a reused pid is not taken for the owner. */
    procStart?: string;
    /** Unique per claim: within one process (several drills at once) only registered tokens are live. */
    token: string;
    /** When the claim was made (ISO). */
    at: string;
}

// The claims this process holds now. A claim of this process that is not here belongs to a drill of
// this process that has finished (or failed to remove its stack): it no longer protects the stack.
const heldTokens = new Set<string>();

/** /proc/<pid>/stat field 22 (starttime), or undefined off Linux or when the process is gone. */
export function processStartTime(pid: number): string | undefined {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return fields[19];
    } catch {
        return undefined;
    }
}

/** A new claim of this process, live until released. */
export function newClaim(now = new Date()): OwnerClaim {
    const claim: OwnerClaim = {
        host: os.hostname(),
        pid: process.pid,
        procStart: processStartTime(process.pid),
        token: randomBytes(8).toString("hex"),
        at: now.toISOString(),
    };
    heldTokens.add(claim.token);
    return claim;
}

/** This process no longer holds the claim (its drill ended); the tag, if still there, protects nothing. */
export function releaseClaim(claim: OwnerClaim): void {
    heldTokens.delete(claim.token);
}

export function formatClaim(claim: OwnerClaim): string {
    return JSON.stringify(claim);
}

/** The claim in a tag value, or undefined when there is none or it is not one of ours. */
export function parseClaim(value: string | undefined): OwnerClaim | undefined {
    if (!value) return undefined;
    try {
        const c = JSON.parse(value) as Partial<OwnerClaim>;
        if (typeof c.host !== "string" || typeof c.pid !== "number" || typeof c.token !== "string" || typeof c.at !== "string") return undefined;
        return { host: c.host, pid: c.pid, procStart: typeof c.procStart === "string" ? c.procStart : undefined, token: c.token, at: c.at };
    } catch {
        return undefined;
    }
}

/** Whether a process with this pid exists (EPERM: it does, as another user's). */
function processExists(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** Whether the drill that made this claim may still be running. */
export function claimIsLive(claim: OwnerClaim, now = Date.now()): boolean {
    if (claim.host !== os.hostname()) return now - Date.parse(claim.at) < FOREIGN_CLAIM_MAX_AGE_MS;
    if (claim.pid === process.pid) return heldTokens.has(claim.token);
    if (!processExists(claim.pid)) return false;
    const start = processStartTime(claim.pid);
    // Same pid, another start time: the pid was reused after the owner died.
    return !(claim.procStart && start && start !== claim.procStart);
}

/** The time in a drill stack's name (drill-<env>-<yyyymmddHHMMss>), if it has one. */
export function stackNameTime(name: string): number | undefined {
    const m = /-(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(name);
    if (!m) return undefined;
    const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    return Number.isNaN(t) ? undefined : t;
}

export type Holder = { kind: "kept" } | { kind: "owner"; claim: OwnerClaim } | { kind: "starting" } | { kind: "engine-lock"; files: string[] };

/**
 * Why a drill stack must not be cleaned up now, or undefined when it is a leftover. `tags` are the
 * stack's tags; `locks` its live engine lock files.
 */
export function stackHolder(name: string, tags: Record<string, string>, locks: string[], now = Date.now()): Holder | undefined {
    if (tags[KEEP_TAG] === "true") return { kind: "kept" };
    if (locks.length > 0) return { kind: "engine-lock", files: locks };
    const claim = parseClaim(tags[OWNER_TAG]);
    if (claim) return claimIsLive(claim, now) ? { kind: "owner", claim } : undefined;
    const created = stackNameTime(name);
    if (created !== undefined && Math.abs(now - created) < STARTING_GRACE_MS) return { kind: "starting" };
    return undefined;
}

export interface LockFile {
    file: string;
    live: boolean;
}

/** The engine's lock files of a stack in a file backend, each judged live (its process may still run) or stale. */
export function stackLocks(backend: Pick<LocalBackend, "url">, stackName: string): LockFile[] {
    if (!backend.url.startsWith("file://")) return [];
    const root = path.join(backend.url.slice("file://".length), ".pulumi", "locks");
    const found: string[] = [];
    const walk = (dir: string) => {
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch (err) {
            // A lock directory another drill removed between listing and reading it.
            if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
            throw err;
        }
        for (const entry of entries) {
            const p = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(p);
            else if (p.includes(`${path.sep}${stackName}${path.sep}`) && p.endsWith(".json")) found.push(p);
        }
    };
    walk(root);
    return found.flatMap((file) => {
        const live = lockIsLive(file);
        return live === undefined ? [] : [{ file, live }];
    });
}

/** true/false, or undefined when the lock file is gone (its operation ended while we looked). */
function lockIsLive(file: string): boolean | undefined {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        return true;
    }
    try {
        const lock = JSON.parse(text) as { pid?: number; hostname?: string; timestamp?: string };
        if (lock.hostname && lock.hostname !== os.hostname()) {
            return Date.now() - Date.parse(lock.timestamp ?? "") < FOREIGN_CLAIM_MAX_AGE_MS;
        }
        if (!lock.pid) return true;
        return processExists(lock.pid);
    } catch {
        // Half-written by the engine right now: an operation is starting.
        return true;
    }
}

export function liveLocks(backend: Pick<LocalBackend, "url">, stackName: string): string[] {
    return stackLocks(backend, stackName)
        .filter((l) => l.live)
        .map((l) => l.file);
}
