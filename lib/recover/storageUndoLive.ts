// What live Storage holds now for the keys of a before-image: absent, or the content's sha256 and size
// (the object streamed and hashed: only the content says whose write it is) with the content type,
// cache control and write time Storage lists for it. Only the folders that hold those keys are listed,
// page by page, not the whole bucket: an undo of a few objects in a large bucket stays a few requests.
// With a spool directory (apply) every object read is kept there while it is hashed, so the undo's own
// before-image is exactly the content that was classified.
import * as fs from "node:fs";
import type { StorageClient } from "@supabase/storage-js";
import { isStorageNotFound, LIST_PAGE_SIZE, unwrap } from "../storage/client";
import { forEachLimited } from "../storage/pool";
import { spoolLiveObject, type SpooledLive, type StoredObjectState } from "./storageBeforeImage";
import { hashLive } from "./storageCompare";

export interface LiveObject extends StoredObjectState {
    lastModified: string;
    /** Apply: the spooled copy of exactly these bytes (kept as the undo's before-image, or dropped). */
    spooled?: SpooledLive;
}

/** Key → what live holds (null: no such object). */
export type LiveStates = Map<string, LiveObject | null>;

interface Listed {
    contentType: string;
    cacheControl?: string;
    lastModified: string;
}

export interface ReadLiveOptions {
    concurrency?: number;
    spoolDir?: string;
}

function folderOf(key: string): string {
    const slash = key.lastIndexOf("/");
    return slash === -1 ? "" : key.slice(0, slash);
}

/** The wanted objects of one folder, as Storage lists them (folder placeholders skipped). */
async function listFolder(client: StorageClient, bucket: string, folder: string, wanted: Set<string>, into: Map<string, Listed>): Promise<void> {
    for (let offset = 0; ; offset += LIST_PAGE_SIZE) {
        const page = unwrap(`list ${bucket}/${folder}`, await client.from(bucket).list(folder, { limit: LIST_PAGE_SIZE, offset, sortBy: { column: "name", order: "asc" } }));
        for (const item of page) {
            if (item.id === null || item.metadata === null) continue;
            const key = folder ? `${folder}/${item.name}` : item.name;
            if (!wanted.has(key)) continue;
            const meta = (item.metadata ?? {}) as Record<string, unknown>;
            into.set(key, {
                contentType: typeof meta.mimetype === "string" ? meta.mimetype : "application/octet-stream",
                ...(typeof meta.cacheControl === "string" ? { cacheControl: meta.cacheControl } : {}),
                lastModified: String(meta.lastModified ?? item.updated_at ?? ""),
            });
        }
        if (page.length < LIST_PAGE_SIZE) return;
    }
}

/** A download that finds nothing: the object was removed between the listing and the read. */
function notFound(err: unknown): boolean {
    return isStorageNotFound((err as { cause?: unknown }).cause);
}

export async function readLiveStates(client: StorageClient, bucket: string, keys: string[], opts: ReadLiveOptions = {}): Promise<LiveStates> {
    const concurrency = opts.concurrency ?? 8;
    const wanted = new Set(keys);
    const listed = new Map<string, Listed>();
    await forEachLimited([...new Set(keys.map(folderOf))].sort(), concurrency, (folder) => listFolder(client, bucket, folder, wanted, listed));
    const states: LiveStates = new Map(keys.map((k) => [k, null]));
    await forEachLimited([...listed.keys()].sort(), concurrency, async (key) => {
        const facts = listed.get(key)!;
        try {
            if (opts.spoolDir) {
                const spooled = await spoolLiveObject(client, bucket, key, opts.spoolDir);
                states.set(key, { ...facts, sha256: spooled.sha256, bytes: spooled.bytes, spooled });
            } else {
                states.set(key, { ...facts, ...(await hashLive(client, bucket, key)) });
            }
        } catch (err) {
            if (!notFound(err)) throw err;
        }
    });
    return states;
}

/** Removes the spooled copies that are not kept (everything, when the run stops early). */
export function dropSpooled(states: LiveStates, keep: Set<string> = new Set()): void {
    for (const [key, state] of states) if (state?.spooled && !keep.has(key)) fs.rmSync(state.spooled.file, { force: true });
}
