// Every apply (rows, undo, freeze, unfreeze) leaves an audit record in the artifacts directory: who ran
// it ($GITHUB_ACTOR in CI, else the OS user), when, against what, how many rows, which before-image, and
// the sha256 of the backup used. Counts and names only, never row values.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface AuditRecord {
    action: "recover rows" | "recover undo" | "recover freeze" | "recover unfreeze";
    /** host:port/database of live (no credentials). */
    live: string;
    table?: string;
    inserted?: number;
    updated?: number;
    deleted?: number;
    roles?: string[];
    beforeImage: string;
    backup?: {
        path: string;
        sha256: Record<string, string>;
        /** When the backup came from the vault: its manifest's key and sha256, each file's key and sha256. */
        vault?: { location: string; manifestKey: string; manifestSha256: string; files: Record<string, string> };
    };
    outcome: "committed" | "rolled back";
    error?: string;
}

export function actor(env: NodeJS.ProcessEnv = process.env): string {
    if (env.GITHUB_ACTOR) return `${env.GITHUB_ACTOR} (GitHub Actions)`;
    try {
        return os.userInfo().username;
    } catch {
        return env.USER ?? "unknown";
    }
}

/** Writes audit-<action>-<time>-<random>.json (never overwrites one); returns its path. */
export function writeAudit(artifactsDir: string, record: AuditRecord, now = new Date()): string {
    return writeAuditFile(artifactsDir, record, now);
}

/**
 * Any recover command's audit record: who, when and where first, then the record; created with
 * O_EXCL, mode 0600 and fsynced, named audit-<action>-<time>-<random>.json.
 */
export function writeAuditFile(artifactsDir: string, record: { action: string }, now = new Date()): string {
    fs.mkdirSync(artifactsDir, { recursive: true });
    const file = path.resolve(artifactsDir, artifactName(`audit-${record.action.replace(/ /g, "-")}`, "json", now));
    const body = { who: actor(), when: now.toISOString(), host: os.hostname(), ...record };
    const fd = fs.openSync(file, "wx", 0o600);
    try {
        fs.writeSync(fd, JSON.stringify(body, null, 2) + "\n");
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    return file;
}

/**
 * A unique artifact file name: time to the millisecond plus a random part. Two applies in the same
 * second (a retry, an undo of an undo) must never collide; the files are created with O_EXCL.
 */
export function artifactName(prefix: string, ext: string, now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").replace(".", "-").replace("Z", "");
    return `${prefix}-${stamp}-${randomBytes(3).toString("hex")}.${ext}`;
}
