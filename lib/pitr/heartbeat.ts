// Heartbeat markers for checking a PITR to an arbitrary time T. A writer inserts one row per interval
// and remembers, for each, the server time before the insert (written_at, in the row) and the server
// time after its commit was acknowledged (acked). Recovery to time T replays exactly the transactions
// that committed at or before T, and written_at < commit ≤ acked, so after a PITR to T:
//   every marker with acked ≤ T must be present, and no marker with written_at > T may be.
// Markers in between (written before T, committed after) may go either way and are not judged.
// The writer also records each marker's ack time in the row itself (acked_at, set by a second
// transaction once the commit was acknowledged), so the log outlives the writer: a drill reads it from
// the source (readHeartbeatLog), an append-only history that does not move with the source's state.
import type { ClientBase } from "pg";
import { connect } from "../postgres/connection";

export const HEARTBEAT_TABLE = "supabase_dr.pitr_heartbeat";

export interface HeartbeatMarker {
    id: number;
    writtenAt: Date;
    acked: Date;
}

export interface HeartbeatWriter {
    readonly markers: readonly HeartbeatMarker[];
    /** Stops writing and closes the connection; rejects with the first write error, if any. */
    stop(): Promise<HeartbeatMarker[]>;
}

export async function ensureHeartbeatTable(client: ClientBase): Promise<void> {
    await client.query("create schema if not exists supabase_dr");
    await client.query(`create table if not exists ${HEARTBEAT_TABLE} (id bigint generated always as identity primary key, written_at timestamptz not null default clock_timestamp())`);
    // Tables of an earlier version lack it; nullable: a restore may stop between the insert and the ack.
    await client.query(`alter table ${HEARTBEAT_TABLE} add column if not exists acked_at timestamptz`);
}

/** Writes one marker per `intervalMs` (default 1 s) into the database at `url` until stopped. */
export async function startHeartbeat(url: string, intervalMs = 1000): Promise<HeartbeatWriter> {
    const client = await connect(url, "heartbeat writer");
    await ensureHeartbeatTable(client);
    const markers: HeartbeatMarker[] = [];
    let error: Error | undefined;
    let stopped = false;
    const beat = async () => {
        const row = (await client.query<{ id: string; written_at: Date }>(`insert into ${HEARTBEAT_TABLE} default values returning id, written_at`)).rows[0];
        // Rounded UP to the millisecond (a JS Date holds no microseconds): "acked ≤ T" must never be
        // claimed for a commit that happened a fraction of a millisecond after T. written_at is rounded
        // down by the driver, which keeps "written_at > T" as strict.
        const ackedMs = (await client.query<{ ms: string }>("select ceil(extract(epoch from clock_timestamp()) * 1000)::bigint as ms")).rows[0].ms;
        const acked = new Date(Number(ackedMs));
        markers.push({ id: Number(row.id), writtenAt: row.written_at, acked });
        await client.query(`update ${HEARTBEAT_TABLE} set acked_at = $1 where id = $2`, [acked, row.id]);
    };
    const loop = (async () => {
        while (!stopped) {
            const started = Date.now();
            try {
                await beat();
            } catch (err) {
                error = new Error(`heartbeat write failed: ${(err as Error).message}`);
                return;
            }
            await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
        }
    })();
    return {
        markers,
        async stop() {
            stopped = true;
            await loop;
            await client.end().catch(() => undefined);
            if (error) throw error;
            return markers;
        },
    };
}

export interface OrderingResult {
    ok: boolean;
    target: string;
    /** Markers acknowledged at or before T that the restore lacks. */
    missing: number[];
    /** Markers written after T that the restore has. */
    unexpected: number[];
    /** How many markers each rule judged (a check that judged none proves nothing). */
    judgedBefore: number;
    judgedAfter: number;
}

/** Checks the heartbeat ordering on a restored database against the writer's record. */
export async function checkHeartbeatOrdering(restored: ClientBase, markers: readonly HeartbeatMarker[], target: Date): Promise<OrderingResult> {
    const present = new Set(
        (await restored.query<{ id: string }>(`select id from ${HEARTBEAT_TABLE}`)).rows.map((r) => Number(r.id)),
    );
    const before = markers.filter((m) => m.acked.getTime() <= target.getTime());
    const after = markers.filter((m) => m.writtenAt.getTime() > target.getTime());
    const missing = before.filter((m) => !present.has(m.id)).map((m) => m.id);
    const unexpected = after.filter((m) => present.has(m.id)).map((m) => m.id);
    return {
        ok: missing.length === 0 && unexpected.length === 0 && before.length > 0 && after.length > 0,
        target: target.toISOString(),
        missing,
        unexpected,
        judgedBefore: before.length,
        judgedAfter: after.length,
    };
}

/**
 * The writer's record as the source keeps it: every marker whose ack was recorded, written within
 * `window` (default: all). Used by a drill, which cannot share the writer's memory.
 */
export async function readHeartbeatLog(source: ClientBase, window: { from?: Date; to?: Date } = {}): Promise<HeartbeatMarker[]> {
    const exists = (await source.query<{ t: string | null }>(`select to_regclass('${HEARTBEAT_TABLE}')::text as t`)).rows[0].t;
    if (!exists) throw new Error(`the source has no heartbeat table ${HEARTBEAT_TABLE}: start the heartbeat job (lib/pitr/heartbeat.ts) before taking the base backup`);
    const { rows } = await source.query<{ id: string; written_at: Date; acked_at: Date }>(
        `select id, written_at, acked_at from ${HEARTBEAT_TABLE} where acked_at is not null ` +
            "and ($1::timestamptz is null or written_at >= $1) and ($2::timestamptz is null or written_at <= $2) order by id",
        [window.from ?? null, window.to ?? null],
    );
    return rows.map((r) => ({ id: Number(r.id), writtenAt: r.written_at, acked: r.acked_at }));
}
