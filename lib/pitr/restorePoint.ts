// Named restore points and waiting for WAL to reach the archive. A PITR can only reach a position
// whose WAL segment has been archived: a mark or restore point taken a moment ago still sits in the
// server's current segment, so drills and tests switch the segment and wait for the archiver.
import type { ClientBase } from "pg";
import { DEFAULT_WAL_SEGMENT_SIZE, parseSegmentName, segNoOfLsn } from "./walNames";

export interface RestorePoint {
    name: string;
    lsn: string;
    time: string;
}

/** pg_create_restore_point(name): a WAL record that `restore --type=name --target=<name>` stops at. */
export async function createRestorePoint(client: ClientBase, name: string): Promise<RestorePoint> {
    if (!name || name.length > 63) throw new Error("restore point name must be 1-63 characters");
    const row = (await client.query<{ lsn: string; t: Date }>("select pg_create_restore_point($1)::text as lsn, clock_timestamp() as t", [name])).rows[0];
    return { name, lsn: row.lsn, time: row.t.toISOString() };
}

/**
 * Switches the WAL segment (when `lsn` is in the current one) and waits until the archiver reports the
 * segment holding `lsn` archived. Throws naming the segment and the archiver's last failure on timeout.
 */
export async function waitForArchived(client: ClientBase, lsn: string, timeoutMs = 60_000, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): Promise<void> {
    const wanted = segNoOfLsn(lsn, segmentSize);
    const current = (await client.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0].lsn;
    if (segNoOfLsn(current, segmentSize) <= wanted) {
        // pg_switch_wal() does nothing in a segment with no WAL yet (lsn exactly at a segment start):
        // a small non-transactional WAL message makes sure there is something to switch away from.
        await client.query("select pg_logical_emit_message(false, 'supabase-dr', 'archive')");
        await client.query("select pg_switch_wal()");
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const s = (
            await client.query<{ last: string | null; failed: string | null }>(
                "select last_archived_wal as last, last_failed_wal as failed from pg_stat_archiver",
            )
        ).rows[0];
        if (s.last && /^[0-9A-F]{24}$/.test(s.last) && parseSegmentName(s.last, segmentSize).segNo >= wanted) return;
        if (Date.now() > deadline) {
            throw new Error(`WAL holding LSN ${lsn} was not archived within ${timeoutMs} ms (last archived ${s.last ?? "none"}, last failed ${s.failed ?? "none"})`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}
