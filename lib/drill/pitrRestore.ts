// The restore step of a point-in-time recovery drill: the WAL archive restored to the asked target into
// a throw-away cluster the drill owns (free loopback port, detached so that it outlives the provider
// process; the resource's delete removes it). Before anyone else connects, the source's scheduled work
// is stopped in it (lib/pitr/jobs.ts). What was asked and what recovery actually reached go to
// pitr_<id>.json for the report.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { describeDisabledJobs, disableScheduledJobs, RESTORED_SERVER_GUARDS, type DisabledJobs } from "../pitr/jobs";
import { markTarget } from "../pitr/marks";
import { openMarkStore, resolveMark } from "../pitr/markStore";
import { restoreToTarget, type RestoredCluster } from "../pitr/restore";
import { repositoryPath, type PitrSecrets, type PitrSettings } from "../pitr/settings";
import { describeTarget, type RecoveryTarget } from "../pitr/target";
import { destroyScratchCluster, MARKER_FILE } from "../postgres/scratchCluster";
import type { VaultSettings } from "../vault/openVault";
import { writeStepResult } from "./artifacts";
import type { DrillPitrTarget } from "./pitrTarget";

export type { DrillPitrTarget } from "./pitrTarget";

export interface PitrRestoreOptions {
    archive: PitrSettings;
    secrets: PitrSecrets;
    target: DrillPitrTarget;
    /** Where the marks are (default: beside an S3 archive). */
    marks?: VaultSettings;
    /** The database the later steps work on. */
    database: string;
    superuser?: string;
    timeoutMinutes?: number;
    /** Where the cluster's directory goes (default: the OS temp dir). */
    baseDir?: string;
    artifactsDir: string;
    drillId: string;
}

/** pitr_<id>.json: the report's source for T, the reached target and the durations. */
export interface PitrStep {
    target: DrillPitrTarget;
    /** "time 2026-…Z", "LSN 0/3000028 (exclusive)", "mark <key> (LSN …)". */
    targetAsked: string;
    /** The mark a mark target resolved to ("latest" → its key). */
    mark?: { key: string; lsn: string; time: string };
    stanza: string;
    /** "s3://bucket/path" or "posix:/dir": where the archive is (no secret). */
    repository: string;
    backupLabel: string;
    reached: { lsn: string; lastCommitTime: string | null };
    startedAt: string;
    finishedAt: string;
    durations: { restoreMs: number; replayMs: number; promoteMs: number; totalMs: number };
    jobs: DisabledJobs;
    jobsSummary: string;
    /** Tables of `database` the drill changed itself (jobs deactivated, queue emptied): validation says so. */
    changedTables: string[];
    database: string;
    /** The cluster's directory: the resource's delete removes it. */
    rootDir: string;
}

/** The drill's cluster, as the resource keeps it in state (adminUrl, connectionString, ownerToken are secrets). */
export interface PitrCluster {
    adminUrl: string;
    connectionString: string;
    host: string;
    port: number;
    rootDir: string;
    runAs?: string;
    ownerToken: string;
}

// destroyScratchCluster (lib/postgres/scratchCluster.ts) removes only a directory carrying this marker
// with the resource's token: the PITR cluster is owned exactly like a scratch cluster.

function describeRepository(settings: PitrSettings): string {
    const repo = settings.repository;
    return repo.type === "posix" ? `posix:${repositoryPath(settings)}` : `s3://${repo.bucket}${repositoryPath(settings)}`;
}

async function recoveryTarget(opts: PitrRestoreOptions): Promise<{ target: RecoveryTarget; mark?: PitrStep["mark"]; asked: string }> {
    const t = opts.target;
    switch (t.type) {
        case "time": {
            const target: RecoveryTarget = { type: "time", time: new Date(t.time) };
            return { target, asked: describeTarget(target) };
        }
        case "lsn": {
            const target: RecoveryTarget = { type: "lsn", lsn: t.lsn };
            return { target, asked: describeTarget(target) };
        }
        case "name": {
            const target: RecoveryTarget = { type: "name", name: t.name, ...(t.createdAt ? { createdAt: new Date(t.createdAt) } : {}) };
            return { target, asked: describeTarget(target) };
        }
        case "mark": {
            const { key, mark } = await resolveMark(openMarkStore(opts.archive, opts.secrets, opts.marks), opts.archive, t.mark);
            return { target: markTarget(mark), mark: { key, lsn: mark.lsn, time: mark.time }, asked: `mark ${key} (LSN ${mark.lsn}, taken ${mark.time})` };
        }
    }
}

function changedTables(jobs: DisabledJobs, database: string): string[] {
    const d = jobs.databases.find((x) => x.database === database);
    if (!d) return [];
    return [...(d.cronJobsDeactivated > 0 ? ["cron.job"] : []), ...(d.netRequestsDropped > 0 ? ["net.http_request_queue"] : [])];
}

/** Restores, stops the source's jobs in the copy, records the step; the caller owns the cluster. */
export async function runPitrRestore(opts: PitrRestoreOptions): Promise<{ cluster: PitrCluster; step: PitrStep }> {
    const started = new Date();
    const { target, mark, asked } = await recoveryTarget(opts);
    const restored: RestoredCluster = await restoreToTarget({
        settings: opts.archive,
        secrets: opts.secrets,
        target,
        baseDir: opts.baseDir,
        superuser: opts.superuser,
        database: opts.database,
        timeoutMs: (opts.timeoutMinutes ?? 60) * 60_000,
        detached: true,
        serverSettings: { ...RESTORED_SERVER_GUARDS },
    });
    try {
        const ownerToken = randomBytes(16).toString("hex");
        fs.writeFileSync(path.join(restored.rootDir, MARKER_FILE), ownerToken + "\n", { mode: 0o600 });
        const jobs = await disableScheduledJobs(restored.url());
        const finished = new Date();
        const step: PitrStep = {
            target: opts.target,
            targetAsked: asked,
            ...(mark ? { mark } : {}),
            stanza: opts.archive.stanza,
            repository: describeRepository(opts.archive),
            backupLabel: restored.backupLabel,
            reached: restored.reached,
            startedAt: started.toISOString(),
            finishedAt: finished.toISOString(),
            durations: restored.durations,
            jobs,
            jobsSummary: describeDisabledJobs(jobs),
            changedTables: changedTables(jobs, opts.database),
            database: opts.database,
            rootDir: restored.rootDir,
        };
        writeStepResult(opts.artifactsDir, opts.drillId, "pitr", step);
        return {
            cluster: {
                adminUrl: restored.url(),
                connectionString: restored.url(opts.database),
                host: restored.host,
                port: restored.port,
                rootDir: restored.rootDir,
                runAs: restored.runAs,
                ownerToken,
            },
            step,
        };
    } catch (err) {
        await restored.stop();
        throw err;
    }
}

/** Stops the cluster and deletes its directory (only ours: the marker must carry the token). */
export function removePitrCluster(c: Pick<PitrCluster, "rootDir" | "runAs" | "ownerToken">): "removed" | "already-gone" {
    return destroyScratchCluster(c);
}
