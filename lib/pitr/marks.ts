// Consistent points ("marks"): a fingerprint of the source taken in exactly the state that a WAL
// position represents, so a PITR to that position can be validated EXACTLY (comparing with the live
// source is meaningless: it has moved on). A temporary logical replication slot created with an
// exported snapshot gives both halves at once: its consistent_point is the LSN, and the snapshot shows
// precisely the transactions committed before it. Another session adopts the snapshot (SET TRANSACTION
// SNAPSHOT) and fingerprints; the slot is temporary, so it disappears when the replication connection
// closes and never holds WAL back afterwards.
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import type { ClientConfig } from "pg";
import { connect, quoteLiteral } from "../postgres/connection";
import { takeFingerprint, type Fingerprint, type FingerprintOptions } from "../validate/fingerprint";
import type { BlobStore } from "../vault/blobStore";
import { repositoryPath, type PitrSettings } from "./settings";
import type { RecoveryTarget } from "./target";

export const MARK_FORMAT = 1;

export interface ConsistentMark {
    formatVersion: typeof MARK_FORMAT;
    env: string;
    stanza: string;
    /** The slot's consistent_point: recover to this LSN to see exactly the fingerprinted state. */
    lsn: string;
    /** Wall-clock time (server) when the slot was created. */
    time: string;
    slot: string;
    fingerprint: Fingerprint;
}

interface SlotRow {
    slot_name: string;
    consistent_point: string;
    snapshot_name: string;
    output_plugin: string;
}

/** The recovery target that reproduces a mark: its LSN, stopping before the record found there. */
export function markTarget(mark: Pick<ConsistentMark, "lsn">): RecoveryTarget {
    return { type: "lsn", lsn: mark.lsn, exclusive: true };
}

/**
 * The vault prefix of an environment's marks: beside its WAL archive in the same bucket, e.g.
 * pitr/prod/marks/. A posix repository is a directory outside any vault: its marks go to the store
 * the caller names, under pitr/<env>/marks/.
 */
export function marksPrefix(settings: PitrSettings): string {
    if (settings.repository.type === "posix") return `pitr/${settings.env}/marks/`;
    return `${repositoryPath(settings).replace(/^\//, "")}/marks/`;
}

/** A mark's key: sortable by time, unique by slot name. */
export function markKey(settings: PitrSettings, mark: Pick<ConsistentMark, "time" | "slot">): string {
    return `${marksPrefix(settings)}${mark.time.replace(/[:.]/g, "-")}-${mark.slot}.json`;
}

/**
 * Takes a mark of the database at `url` (a role with REPLICATION, wal_level = logical). The
 * replication connection stays open, idle, until the fingerprint is done: the exported snapshot lives
 * only as long as the slot-creating session runs no other command.
 */
export async function takeMark(
    url: string,
    settings: PitrSettings,
    opts: { fingerprint?: FingerprintOptions; slotName?: string } = {},
): Promise<ConsistentMark> {
    const slot = opts.slotName ?? `supabase_dr_mark_${randomBytes(6).toString("hex")}`;
    if (!/^[a-z0-9_]{1,63}$/.test(slot)) throw new Error(`replication slot name must be 1-63 lowercase letters, digits or _ (got ${JSON.stringify(slot)})`);
    // node-postgres supports the replication startup parameter; its ClientConfig type does not declare it.
    const replication = await connect(url, "source (replication connection)", { replication: "database" } as Partial<ClientConfig>);
    try {
        let created: SlotRow;
        try {
            created = (await replication.query<SlotRow>(`CREATE_REPLICATION_SLOT ${slot} TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT`)).rows[0];
        } catch (err) {
            throw new Error(`creating the temporary replication slot ${slot} failed: ${(err as Error).message} (needs wal_level = logical, a free max_replication_slots entry and a role with REPLICATION)`);
        }
        const session = await connect(url, "source (mark snapshot)");
        try {
            await session.query("begin isolation level repeatable read read only");
            // SET TRANSACTION SNAPSHOT takes no bind parameters; the id comes from the server.
            await session.query(`set transaction snapshot ${quoteLiteral(created.snapshot_name)}`);
            const time = (await session.query<{ t: Date }>("select clock_timestamp() as t")).rows[0].t.toISOString();
            const fingerprint = await takeFingerprint(session, opts.fingerprint);
            await session.query("rollback");
            return { formatVersion: MARK_FORMAT, env: settings.env, stanza: settings.stanza, lsn: created.consistent_point, time, slot, fingerprint };
        } finally {
            await session.end().catch(() => undefined);
        }
    } finally {
        // Closing the replication connection drops the temporary slot.
        await replication.end().catch(() => undefined);
    }
}

/** Stores a mark as JSON in the vault beside the archive (locked until retainUntil when given). */
export async function storeMark(store: BlobStore, settings: PitrSettings, mark: ConsistentMark, retainUntil?: Date): Promise<string> {
    const key = markKey(settings, mark);
    const body = Buffer.from(JSON.stringify(mark, null, 2) + "\n", "utf8");
    await store.put(key, Readable.from([body]), {
        sha256: createHash("sha256").update(body).digest("hex"),
        bytes: body.length,
        contentType: "application/json",
        metadata: { lsn: mark.lsn, stanza: mark.stanza },
        ...(retainUntil ? { retainUntil } : {}),
    });
    return key;
}

async function readAll(stream: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
    return Buffer.concat(chunks);
}

/** Reads one stored mark; throws naming the key when it is not a mark of this format. */
export async function readMark(store: BlobStore, key: string): Promise<ConsistentMark> {
    const text = (await readAll(await store.get(key))).toString("utf8");
    let mark: ConsistentMark;
    try {
        mark = JSON.parse(text) as ConsistentMark;
    } catch {
        throw new Error(`${store.location}/${key} is not JSON`);
    }
    if (mark?.formatVersion !== MARK_FORMAT || typeof mark.lsn !== "string" || typeof mark.fingerprint !== "object") {
        throw new Error(`${store.location}/${key} is not a consistent-point mark of format ${MARK_FORMAT}`);
    }
    return mark;
}

/** Every stored mark's key for the environment, oldest first. */
export async function listMarks(store: BlobStore, settings: PitrSettings): Promise<string[]> {
    const keys: string[] = [];
    for await (const o of store.list(marksPrefix(settings))) if (o.key.endsWith(".json")) keys.push(o.key);
    return keys.sort();
}
