// Consistent points for hosted PITR. A mark (lib/pitr/marks.ts) is exact at an LSN, but hosted PITR
// restores to a TIME, in whole seconds (recovery_time_target_unix). Recovery to time T replays every
// commit whose timestamp is ≤ T and stops before the first one after T; so a restore to T reproduces the
// mark exactly if no transaction committed between the mark's consistent point and T. That is proved,
// not assumed, with two readings of pg_current_snapshot() around the mark:
//
//   A, before the mark:  xmin:xmax:xip   (xip lists the transactions still running below xmax)
//   B, ≥ 2 s after T:    xmax again
//
// xmax is one past the newest completed transaction id. If A's xip is empty and B's xmax equals A's,
// no transaction (read-write; read-only ones have no id and change nothing) completed between A and B:
// one that had its id before A would have been in A's xip, one that got it later would have moved xmax.
// Aborts move xmax too, which only makes the check stricter. A commit's timestamp is taken just before
// its WAL record is written, so any commit stamped ≤ T + 2 s had completed by B. Hence every whole second
// from the first one after the mark up to B − 2 s reproduces the mark: that range is stored with it.
//
// A busy moment (a transaction in between) is not an error of the project, just not a usable mark:
// another attempt follows, up to the configured number.
import type { ClientBase } from "pg";
import { connect } from "../postgres/connection";
import { ensureHeartbeatTable, HEARTBEAT_TABLE } from "../pitr/heartbeat";
import { takeMark, type ConsistentMark } from "../pitr/marks";
import type { PitrSettings } from "../pitr/settings";
import type { FingerprintOptions } from "../validate/types";
import { DrillRefused } from "./pitrGuard";

export const HOSTED_MARK_FORMAT = 1;
/** Seconds between T and reading B: a commit stamped ≤ T has written its WAL record by then. */
export const COMMIT_STAMP_SLACK_SECONDS = 2;

export interface SnapshotReading {
    /** pg_current_snapshot() as text: xmin:xmax:xip,… */
    snapshot: string;
    /** Server time of the reading. */
    at: string;
}

export interface HostedMark {
    formatVersion: typeof HOSTED_MARK_FORMAT;
    kind: "supabase-hosted-pitr-mark";
    project: string;
    mark: ConsistentMark;
    /** The first whole second after the mark (Unix seconds): the PITR target a drill uses. */
    targetUnix: number;
    /** The last whole second that still reproduces the mark (nothing committed up to B). */
    quietUntilUnix: number;
    before: SnapshotReading;
    after: SnapshotReading;
    fingerprintOptions: FingerprintOptions;
    /** A heartbeat row written after B: a restore to any T in the quiet range must not contain it. */
    tick?: { table: string; id: number; writtenAt: string };
}

export interface ParsedSnapshot {
    xmin: bigint;
    xmax: bigint;
    xip: bigint[];
}

export function parseSnapshot(text: string): ParsedSnapshot {
    const m = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim());
    if (!m) throw new Error(`not a pg_snapshot: ${JSON.stringify(text)}`);
    return { xmin: BigInt(m[1]), xmax: BigInt(m[2]), xip: m[3] ? m[3].split(",").map((x) => BigInt(x)) : [] };
}

/** Why the interval between two readings is not quiet, or undefined when it is. */
export function quietProblem(before: SnapshotReading, after: SnapshotReading): string | undefined {
    const a = parseSnapshot(before.snapshot);
    const b = parseSnapshot(after.snapshot);
    if (a.xip.length > 0) return `${a.xip.length} transaction(s) were running when the mark started (xip ${a.xip.join(",")})`;
    if (b.xmax !== a.xmax) return `${b.xmax - a.xmax} transaction id(s) completed between the mark and T + ${COMMIT_STAMP_SLACK_SECONDS} s (xmax ${a.xmax} → ${b.xmax})`;
    return undefined;
}

async function readSnapshot(client: ClientBase): Promise<SnapshotReading> {
    const row = (await client.query<{ s: string; t: Date }>("select pg_current_snapshot()::text as s, clock_timestamp() as t")).rows[0];
    return { snapshot: row.s, at: row.t.toISOString() };
}

async function serverNowMs(client: ClientBase): Promise<number> {
    return (await client.query<{ t: Date }>("select clock_timestamp() as t")).rows[0].t.getTime();
}

export interface RecordMarkOptions {
    project: string;
    /** Environment name stored in the mark (lib/pitr marks carry one). */
    env: string;
    fingerprint: FingerprintOptions;
    attempts: number;
    /** Write the heartbeat tick after B (default true): it moves WAL past T and checks the restore undid it. */
    tick?: boolean;
    onAttempt?: (attempt: number, problem: string | undefined) => void;
    sleep?: (ms: number) => Promise<void>;
}

export class NoQuietMoment extends Error {
    constructor(message: string) {
        super(message);
        this.name = "NoQuietMoment";
    }
}

/**
 * Takes marks on the project's database (a direct connection whose role has REPLICATION; wal_level is
 * logical on Supabase) until one falls in a quiet moment, and returns it with its quiet range.
 */
export async function recordHostedMark(url: string, opts: RecordMarkOptions): Promise<HostedMark> {
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const client = await connect(url, `project ${opts.project} (mark session)`);
    try {
        const problems: string[] = [];
        for (let attempt = 1; attempt <= opts.attempts; attempt++) {
            const before = await readSnapshot(client);
            // takeMark reads only env and stanza of the archive settings: a hosted project has no
            // pgBackRest stanza, the project ref names the mark's origin instead.
            const mark = await takeMark(url, { env: opts.env, stanza: opts.project } as PitrSettings, { fingerprint: opts.fingerprint });
            const targetUnix = Math.floor(Date.parse(mark.time) / 1000) + 1;
            const readAt = (targetUnix + COMMIT_STAMP_SLACK_SECONDS) * 1000;
            for (let now = await serverNowMs(client); now <= readAt; now = await serverNowMs(client)) await sleep(readAt - now + 20);
            const after = await readSnapshot(client);
            const problem = quietProblem(before, after);
            opts.onAttempt?.(attempt, problem);
            if (!problem) {
                const hosted: HostedMark = {
                    formatVersion: HOSTED_MARK_FORMAT,
                    kind: "supabase-hosted-pitr-mark",
                    project: opts.project,
                    mark,
                    targetUnix,
                    quietUntilUnix: Math.floor(Date.parse(after.at) / 1000) - COMMIT_STAMP_SLACK_SECONDS,
                    before,
                    after,
                    fingerprintOptions: opts.fingerprint,
                };
                if (opts.tick !== false) {
                    await ensureHeartbeatTable(client);
                    const row = (await client.query<{ id: string; written_at: Date }>(`insert into ${HEARTBEAT_TABLE} default values returning id, written_at`)).rows[0];
                    hosted.tick = { table: HEARTBEAT_TABLE, id: Number(row.id), writtenAt: row.written_at.toISOString() };
                }
                return hosted;
            }
            problems.push(`attempt ${attempt}: ${problem}`);
            await sleep(500);
        }
        throw new NoQuietMoment(
            `no quiet moment for a mark on project ${opts.project} in ${opts.attempts} attempt(s): ${problems.join("; ")}. ` +
                "A PITR by time reproduces a mark only if nothing commits between the mark and T: pause writers on the staging project " +
                "(application traffic, pg_cron jobs) for a few seconds, or raise drill.markAttempts",
        );
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** Throws naming the problem when `t` (Unix seconds) is not a target that reproduces the mark. */
export function assertTargetReproducesMark(mark: HostedMark, t: number): void {
    if (t < mark.targetUnix || t > mark.quietUntilUnix) {
        throw new DrillRefused(
            `recovery target ${new Date(t * 1000).toISOString()} is outside the mark's quiet range ` +
                `${new Date(mark.targetUnix * 1000).toISOString()} … ${new Date(mark.quietUntilUnix * 1000).toISOString()}: ` +
                "a restore there cannot be compared exactly with the mark",
        );
    }
}

/** Reads a mark file written by `supabase-pitr mark`; errors name the file and what is wrong. */
export function parseHostedMark(text: string, file: string): HostedMark {
    let doc: HostedMark;
    try {
        doc = JSON.parse(text) as HostedMark;
    } catch {
        throw new Error(`mark file ${file} is not JSON`);
    }
    const problems: string[] = [];
    if (doc?.kind !== "supabase-hosted-pitr-mark" || doc.formatVersion !== HOSTED_MARK_FORMAT) problems.push(`not a hosted PITR mark of format ${HOSTED_MARK_FORMAT}`);
    else {
        if (typeof doc.project !== "string") problems.push("project missing");
        if (!Number.isInteger(doc.targetUnix) || !Number.isInteger(doc.quietUntilUnix)) problems.push("targetUnix/quietUntilUnix missing");
        if (typeof doc.mark?.lsn !== "string" || typeof doc.mark?.fingerprint !== "object") problems.push("mark.lsn/mark.fingerprint missing");
        if (typeof doc.fingerprintOptions !== "object") problems.push("fingerprintOptions missing");
    }
    if (problems.length) throw new Error(`mark file ${file}: ${problems.join("; ")}`);
    return doc;
}
