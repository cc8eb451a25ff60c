// A drill's own throw-away PostgreSQL server. Roles and server settings are cluster-wide: a scratch
// *database* on a shared server is not isolated from them, so `roles.sql` (and the Supabase platform
// roles) can only be restored safely into a server the drill created itself.
//
// Ownership is proven, not assumed: the cluster's directory carries a marker file with a random token
// that only the drill's state knows, and its system identifier is recorded at creation. Removal refuses
// a directory whose marker does not carry the token.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { withClient } from "./connection";
import { detachedClusterRunning, startLocalCluster, stopDetachedCluster } from "./localCluster";
import { systemIdentifier } from "./sourceGuard";
import { RefusedError } from "../errors";

/** The file in a drill cluster's directory holding the owner token of the stack that made it. */
export const MARKER_FILE = "supabase-dr-owner";

export interface ScratchCluster {
    /** Superuser URI of the cluster's `postgres` database (a secret: it holds the random password). */
    adminUrl: string;
    host: string;
    port: number;
    /** Temp directory holding the data directory, socket and server.log. */
    rootDir: string;
    runAs?: string;
    /** pg_control_system()'s system identifier: the server identity restore guards compare. */
    systemIdentifier: string;
    ownerToken: string;
}

/** Starts a detached cluster (it outlives this process) and marks it as ours. */
export async function createScratchCluster(opts: { baseDir?: string } = {}): Promise<ScratchCluster> {
    const cluster = await startLocalCluster({ detached: true, baseDir: opts.baseDir });
    try {
        const ownerToken = randomBytes(16).toString("hex");
        fs.writeFileSync(path.join(cluster.rootDir, MARKER_FILE), ownerToken + "\n", { mode: 0o600 });
        const sysid = await withClient(cluster.url(), "scratch cluster", async (c) => systemIdentifier(c));
        if (!sysid) throw new Error("the scratch cluster did not report its system identifier");
        return {
            adminUrl: cluster.url(),
            host: cluster.host,
            port: cluster.port,
            rootDir: cluster.rootDir,
            runAs: cluster.runAs,
            systemIdentifier: sysid,
            ownerToken,
        };
    } catch (err) {
        stopDetachedCluster(cluster.rootDir, cluster.runAs);
        throw err;
    }
}

export type ScratchClusterState = "running" | "stopped" | "missing";

export function scratchClusterState(c: Pick<ScratchCluster, "rootDir">): ScratchClusterState {
    if (!fs.existsSync(c.rootDir)) return "missing";
    return detachedClusterRunning(c.rootDir) ? "running" : "stopped";
}

/**
 * Stops the cluster and deletes its directory, only when the directory's marker carries our token.
 * A cluster that is already gone is not an error (delete must be idempotent).
 */
export function destroyScratchCluster(c: Pick<ScratchCluster, "rootDir" | "runAs" | "ownerToken">): "removed" | "already-gone" {
    if (!fs.existsSync(c.rootDir)) return "already-gone";
    let marker: string | undefined;
    try {
        marker = fs.readFileSync(path.join(c.rootDir, MARKER_FILE), "utf8").trim();
    } catch {
        marker = undefined;
    }
    if (marker !== c.ownerToken) {
        throw new RefusedError(
            `refusing to remove the PostgreSQL cluster in ${c.rootDir}: it was not created by this supabase-dr ` +
                `resource (its ownership marker is missing or belongs to another resource)`,
            { code: "NOT_SCRATCH" },
        );
    }
    stopDetachedCluster(c.rootDir, c.runAs);
    return "removed";
}
