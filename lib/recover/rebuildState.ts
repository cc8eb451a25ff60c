// What lets `recover rebuild` be run again after a failure without creating a second project: a
// state file in the artifacts directory, written BEFORE the create call (so even a create whose
// answer was lost is found again, by its unique name) and updated after every step. The new
// project's database password is the one secret the rebuild makes; it is kept apart in a 0600 file
// (the operator needs it, and the state file may be pasted into a ticket).
import * as fs from "node:fs";
import * as path from "node:path";
import { EnvironmentError, RefusedError } from "../errors";

export const REBUILD_STATE_FILE = "rebuild-state.json";

export interface RebuildState {
    kind: "supabase-dr rebuild state";
    /** The project this rebuild creates (or created): its unique name, and its ref once known. */
    projectName: string;
    organization: string;
    region: string;
    ref?: string;
    /** Set just before the create call: a retry without a ref then looks the project up by name first. */
    createRequested?: boolean;
    /** sha256 naming the backup the database was (or is being) restored from. */
    backupSha256?: string;
    /** File holding the new project's database password (0600). */
    dbPasswordFile: string;
    startedAt: string;
    /** Steps finished, in order: "project", "database", "storage:<bucket>", "secrets". */
    done: string[];
    completedAt?: string;
}

export function statePath(artifactsDir: string): string {
    return path.resolve(artifactsDir, REBUILD_STATE_FILE);
}

export function readRebuildState(artifactsDir: string): RebuildState | undefined {
    const file = statePath(artifactsDir);
    if (!fs.existsSync(file)) return undefined;
    let state: RebuildState;
    try {
        state = JSON.parse(fs.readFileSync(file, "utf8")) as RebuildState;
    } catch (err) {
        // Refused rather than started afresh: the file may be all that names a project already created.
        throw new RefusedError(`refusing: ${file} is not a rebuild state file (${(err as Error).message}): move it away only if no project was created from it`);
    }
    if (state.kind !== "supabase-dr rebuild state" || typeof state.projectName !== "string" || !Array.isArray(state.done)) {
        throw new RefusedError(`refusing: ${file} is not a rebuild state file (kind '${String(state.kind)}')`);
    }
    return state;
}

/** Replaces the state file atomically (write, fsync, rename), mode 0600. */
export function writeRebuildState(artifactsDir: string, state: RebuildState): void {
    fs.mkdirSync(artifactsDir, { recursive: true });
    const file = statePath(artifactsDir);
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
        fs.writeSync(fd, JSON.stringify(state, null, 2) + "\n");
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
}

export function markDone(artifactsDir: string, state: RebuildState, step: string): void {
    if (!state.done.includes(step)) state.done.push(step);
    writeRebuildState(artifactsDir, state);
}

/** Writes the password once (O_EXCL, 0600); a later run reads it back. */
export function keepDbPassword(file: string, password: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, password + "\n", { mode: 0o600, flag: "wx" });
}

export function readDbPassword(file: string): string {
    if (!fs.existsSync(file)) throw new EnvironmentError("PRECONDITION", `the new project's database password file ${file} is gone: reset the password in the dashboard, write it there (mode 0600) and run again`);
    const password = fs.readFileSync(file, "utf8").trim();
    if (password.length < 16) throw new EnvironmentError("PRECONDITION", `${file} does not hold a database password (expected at least 16 characters)`);
    return password;
}
