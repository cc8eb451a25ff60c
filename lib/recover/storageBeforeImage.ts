// Before-image of a live storage write (a `recover storage --into live --apply`, or a `recover
// storage-undo --apply`): the previous content of every live object the write overwrites, kept in the
// artifacts directory so the change can be undone (`recover storage-undo <dir>`). Files are named by
// their sha256 (object keys may hold anything, and equal contents are kept once); index.json maps each
// key to its file, content type and cache control and, since format 2, what the write put there
// (`written`; null: it removed the object) and the objects it created (`added`). Without `written`
// (indexes of earlier versions) an undo cannot tell the write's own content from a later one.
// Directory 0700, files 0600: they are production data. The index is written and fsynced before live
// is touched.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { sha256Tap } from "../backup/checksum";
import type { StorageClient } from "@supabase/storage-js";
import { downloadStream } from "../storage/client";
import { artifactName } from "./audit";

export const BEFORE_IMAGE_INDEX = "index.json";
export const BEFORE_IMAGE_KIND = "supabase-dr storage before-image";
/** Format 2 records what the write put over each object and the objects it created. */
export const BEFORE_IMAGE_FORMAT = 2;

/** An object's content and the headers Storage serves it with. */
export interface StoredObjectState {
    sha256: string;
    bytes: number;
    contentType: string;
    /** Absent when not known (a snapshot without it): then it is not compared. */
    cacheControl?: string;
}

export interface BeforeImageEntry {
    key: string;
    /** Relative to the before-image directory. */
    file: string;
    sha256: string;
    bytes: number;
    contentType: string;
    cacheControl?: string;
    /** When live last wrote it (Storage's lastModified). */
    lastModified: string;
    /** What the write put there; null: it removed the object. Absent in indexes before format 2. */
    written?: StoredObjectState | null;
}

/** An object that did not exist live before the write, and what the write created. */
export interface AddedEntry {
    key: string;
    written: StoredObjectState;
}

export interface BeforeImageIndex {
    kind: typeof BEFORE_IMAGE_KIND;
    /** Absent in the first format (no `written`, no `added`). */
    format?: typeof BEFORE_IMAGE_FORMAT;
    /** The command whose write this is the before-image of. */
    made?: "recover storage" | "recover storage-undo";
    /** An undo's before-image: the before-image directory it put back. */
    undoes?: string;
    bucket: string;
    /** Storage API host and path (no credentials) the write went to. */
    storage: string;
    takenAt: string;
    objects: BeforeImageEntry[];
    added?: AddedEntry[];
}

export interface SpooledLive {
    file: string;
    sha256: string;
    bytes: number;
}

/**
 * Creates `<artifacts>/<prefix>-<bucket>-<stamp>/objects/` (0700) and returns the directory: prefix
 * before-storage for a restore, before-storage-undo for an undo.
 */
export function createBeforeImageDir(artifactsDir: string, bucket: string, now = new Date(), prefix = "before-storage"): string {
    const dir = path.resolve(artifactsDir, artifactName(`${prefix}-${bucket}`, "d", now));
    fs.mkdirSync(path.join(dir, "objects"), { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    return dir;
}

/** Streams a live object into a 0600 file under `dir` while hashing it. */
export async function spoolLiveObject(client: StorageClient, bucket: string, key: string, dir: string): Promise<SpooledLive> {
    const file = path.join(dir, `.spool-${randomBytes(8).toString("hex")}`);
    const tap = sha256Tap();
    try {
        await pipeline(await downloadStream(client, bucket, key), tap.stream, fs.createWriteStream(file, { mode: 0o600 }));
    } catch (err) {
        fs.rmSync(file, { force: true });
        throw err;
    }
    return { file, sha256: tap.digest(), bytes: tap.bytes() };
}

/** Moves a spooled file to objects/<sha256> (kept once per content); returns its path relative to `dir`. */
export function keepSpooled(dir: string, spooled: SpooledLive): string {
    const rel = path.join("objects", spooled.sha256);
    const dest = path.join(dir, rel);
    const fd = fs.openSync(spooled.file, "r");
    try {
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    if (fs.existsSync(dest)) fs.rmSync(spooled.file, { force: true });
    else fs.renameSync(spooled.file, dest);
    return rel;
}

export function writeBeforeImageIndex(dir: string, index: BeforeImageIndex): string {
    const file = path.join(dir, BEFORE_IMAGE_INDEX);
    const fd = fs.openSync(file, "wx", 0o600);
    try {
        fs.writeSync(fd, JSON.stringify(index, null, 2) + "\n");
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    // The objects' directory entries must be durable too before live is overwritten.
    for (const d of [path.join(dir, "objects"), dir]) {
        const dfd = fs.openSync(d, "r");
        try {
            fs.fsyncSync(dfd);
        } finally {
            fs.closeSync(dfd);
        }
    }
    return file;
}
