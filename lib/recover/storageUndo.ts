// `recover storage-undo <before-image>`: puts live Storage back as it was before a `recover storage
// --into live --apply` (or before another storage-undo), from that write's before-image. Per object,
// live now is compared with what the write found and what it wrote (lib/recover/storageUndoPlan.ts):
// only objects that still hold the write's own content are put back; objects written by someone else
// since are named and left alone unless --force-changed; objects the write added are removed only with
// --remove-added. Dry run by default: it reads live and the before-image, and writes nothing.
// The apply, in this order:
//   1. checks every kept file it will upload against the index's sha256 (a damaged one refuses the
//      whole undo before anything is written: a partial undo of a damaged image is worse than none);
//   2. keeps its own before-image of every live object it will overwrite or remove (the content it
//      compared, spooled while hashing), with what it writes there: an undo can be undone;
//   3. uploads (upsert, the original content type and cache control, from the checked bytes) and
//      removes; 4. reads every written key back (sha256, content type, cache control, or absence);
//   5. writes an audit record, also when it fails or refuses. A retry finds nothing left to do.
// Storage has no conditional writes: an object rewritten between the comparison and the upload is
// overwritten. The window is the few milliseconds of one object's upload, and the undo's own
// before-image holds what it overwrote.
import * as fs from "node:fs";
import { CheckFailedError, RefusedError, withMessageSuffix } from "../errors";
import { redactError } from "../redact";
import { cacheControlOptions, isStorageNotFound, storageClient, storageFailure, unwrap } from "../storage/client";
import { forEachLimited } from "../storage/pool";
import { writeAuditFile } from "./audit";
import { storageLocation } from "./storage";
import {
    BEFORE_IMAGE_FORMAT,
    BEFORE_IMAGE_KIND,
    createBeforeImageDir,
    keepSpooled,
    writeBeforeImageIndex,
    type AddedEntry,
    type BeforeImageEntry,
    type StoredObjectState,
} from "./storageBeforeImage";
import { checkKeptFile, loadBeforeImage, withCheckedFile, type LoadedBeforeImage } from "./storageUndoIndex";
import { dropSpooled, readLiveStates, type LiveStates } from "./storageUndoLive";
import { classify, countItems, holds, planLine, summarize, type PlanContext, type UndoFlags, type UndoItem } from "./storageUndoPlan";

/** Keys per remove request: Storage deletes a list of paths per call. */
const REMOVE_BATCH = 100;

export interface StorageUndoOptions extends UndoFlags {
    /** `<SUPABASE_URL>/storage/v1` of the live project. */
    storageUrl: string;
    serviceKey: string;
    /** The before-image directory (or its index.json). */
    beforeImage: string;
    apply: boolean;
    artifactsDir: string;
    concurrency?: number;
    onProgress?: (message: string) => void;
}

export interface AppliedStorageUndo {
    uploaded: number;
    removed: number;
    bytes: number;
    /** The undo's own before-image (undo it with storage-undo again); absent when nothing was written. */
    beforeImage?: string;
    verified: number;
}

export interface StorageUndoResult {
    source: LoadedBeforeImage;
    items: UndoItem[];
    /** Object names, sizes and types only: safe for stdout and logs. */
    planText: string;
    summary: string;
    notes: string[];
    /** Keys written by someone else since the restore and left as they are. */
    leftChanged: string[];
    applied?: AppliedStorageUndo;
    audit?: string;
}

export interface StorageUndoAuditRecord {
    action: "recover storage-undo";
    storage: string;
    bucket: string;
    /** The before-image put back: its directory, the sha256 of its index, what made it and when. */
    undoes: { beforeImage: string; indexSha256: string; made: string; takenAt: string; recordsWrites: boolean };
    forceChanged: boolean;
    removeAdded: boolean;
    uploaded: number;
    removed: number;
    bytes: number;
    alreadyAsBefore: number;
    /** Keys changed since the restore and left as they are. */
    changedSince: string[];
    /** Keys changed since the restore and overwritten (--force-changed). */
    forced: string[];
    addedKept: number;
    /** The undo's own before-image, or why there is none. */
    beforeImage: string;
    verified?: { objects: number; failed: number };
    outcome: "completed" | "refused" | "failed";
    error?: string;
}

/** audit-recover-storage-undo-<time>-<random>.json (O_EXCL, 0600, fsynced): names and counts, never contents. */
function writeUndoAudit(artifactsDir: string, record: StorageUndoAuditRecord): string {
    return writeAuditFile(artifactsDir, record);
}

export async function recoverStorageUndo(opts: StorageUndoOptions): Promise<StorageUndoResult> {
    try {
        return await run(opts);
    } catch (err) {
        throw redactError(err, [opts.serviceKey]);
    }
}

function stateOf(entry: BeforeImageEntry): StoredObjectState {
    return { sha256: entry.sha256, bytes: entry.bytes, contentType: entry.contentType, ...(entry.cacheControl !== undefined ? { cacheControl: entry.cacheControl } : {}) };
}

/** One item per key of the index: the overwritten objects with their kept files, then the added ones. */
function classifyAll(source: LoadedBeforeImage, live: LiveStates, flags: UndoFlags): UndoItem[] {
    const items = [
        ...source.index.objects.map((o) => classify(o.key, o, o.written, live.get(o.key) ?? null, flags)),
        ...(source.index.added ?? []).map((a) => classify(a.key, null, a.written, live.get(a.key) ?? null, flags)),
    ];
    return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function notesOf(source: LoadedBeforeImage): string[] {
    const notes: string[] = [];
    if (!source.recordsWrites) {
        notes.push(
            `${source.dir} was written by an earlier version: it does not record what the restore wrote, nor which objects it added. ` +
                "Objects not already as before are reported as changed since; --force-changed puts them back (check them first), added objects cannot be told",
        );
    }
    if (source.index.made === "recover storage-undo") {
        notes.push(`this is the before-image of an undo${source.index.undoes ? ` (of ${source.index.undoes})` : ""}: applying it brings back what that undo replaced`);
    }
    return notes;
}

function writerOf(source: LoadedBeforeImage): PlanContext["writer"] {
    return source.index.made === "recover storage-undo" ? "undo" : "restore";
}

function planText(source: LoadedBeforeImage, storage: string, items: UndoItem[], apply: boolean): string {
    const { index } = source;
    const c = countItems(items);
    const writer = writerOf(source);
    const lines = [
        `# recover storage-undo: bucket ${index.bucket} in ${storage}, from ${source.dir}`,
        `#   before-image of ${index.made ?? "recover storage"} taken ${index.takenAt}; index.json sha256 ${source.indexSha256}`,
        `# ${items.length} object(s): ${c.upload} ${apply ? "put back" : "to put back"}, ${c.remove} ${apply ? "removed" : "to remove"}, ${c.already} already as before, ` +
            `${c.changed} changed since the ${writer}, ${c.addedKept} added by the ${writer} and kept`,
    ];
    for (const item of items) lines.push(planLine(item, { writer, recordsWrites: source.recordsWrites }));
    return lines.join("\n") + "\n";
}

async function run(opts: StorageUndoOptions): Promise<StorageUndoResult> {
    const progress = opts.onProgress ?? (() => undefined);
    const concurrency = opts.concurrency ?? 8;
    const source = loadBeforeImage(opts.beforeImage);
    const { index } = source;
    const storage = storageLocation(opts.storageUrl);
    if (index.storage !== storage) {
        throw new RefusedError(`refusing: ${source.dir} was made against Storage ${index.storage}, but STORAGE_URL points at ${storage}`);
    }
    const client = storageClient(opts.storageUrl, opts.serviceKey);
    const { data: bucket, error } = await client.getBucket(index.bucket);
    if (!bucket) {
        if (isStorageNotFound(error)) throw new RefusedError(`refusing: live bucket ${index.bucket} does not exist in ${storage}: storage-undo never creates a bucket`);
        throw storageFailure(`get live bucket ${index.bucket}`, error ?? "no answer");
    }

    const keys = [...index.objects.map((o) => o.key), ...(index.added ?? []).map((a) => a.key)];
    // Apply: what live holds is spooled into the undo's own before-image while it is compared.
    const spoolDir = opts.apply ? createBeforeImageDir(opts.artifactsDir, index.bucket, new Date(), "before-storage-undo") : undefined;
    let live: LiveStates;
    let items: UndoItem[];
    try {
        progress(`reading ${keys.length} object(s) of live bucket ${index.bucket}`);
        live = await readLiveStates(client, index.bucket, keys, { concurrency, spoolDir });
        items = classifyAll(source, live, opts);
        const uploads = items.filter((i) => i.action === "upload");
        progress(`checking ${uploads.length} before-image file(s) against the index's sha256`);
        await forEachLimited(uploads, concurrency, async (i) => {
            i.damaged = await checkKeptFile(source.dir, i.before!);
        });
    } catch (err) {
        if (spoolDir) fs.rmSync(spoolDir, { recursive: true, force: true });
        throw err;
    }
    const result: StorageUndoResult = {
        source,
        items,
        planText: planText(source, storage, items, opts.apply),
        summary: summarize(index.bucket, items, opts.apply, writerOf(source)),
        notes: notesOf(source),
        leftChanged: items.filter((i) => i.kind === "changed" && !i.action).map((i) => i.key),
    };
    if (!spoolDir) return result;

    const c = countItems(items);
    const audit: StorageUndoAuditRecord = {
        action: "recover storage-undo",
        storage,
        bucket: index.bucket,
        undoes: { beforeImage: source.dir, indexSha256: source.indexSha256, made: index.made ?? "recover storage", takenAt: index.takenAt, recordsWrites: source.recordsWrites },
        forceChanged: opts.forceChanged,
        removeAdded: opts.removeAdded,
        uploaded: 0,
        removed: 0,
        bytes: 0,
        alreadyAsBefore: c.already,
        changedSince: result.leftChanged,
        forced: items.filter((i) => i.kind === "changed" && i.action === "upload").map((i) => i.key),
        addedKept: c.addedKept,
        beforeImage: "none",
        outcome: "completed",
    };
    const damaged = items.filter((i) => i.damaged);
    if (damaged.length > 0) {
        fs.rmSync(spoolDir, { recursive: true, force: true });
        const lines = damaged.slice(0, 20).map((i) => `  ${i.key}: ${i.damaged}`);
        if (damaged.length > 20) lines.push(`  ... and ${damaged.length - 20} more`);
        const message = `refusing to undo: ${damaged.length} before-image file(s) of ${source.dir} are not what its index recorded; nothing was written:\n${lines.join("\n")}`;
        const auditFile = writeUndoAudit(opts.artifactsDir, { ...audit, beforeImage: "none: nothing was written", outcome: "refused", error: message });
        throw new CheckFailedError(`${message}\n(audit record ${auditFile})`);
    }

    const applied: AppliedStorageUndo = { uploaded: 0, removed: 0, bytes: 0, verified: 0 };
    result.applied = applied;
    const steps = items.filter((i) => i.action);
    if (steps.length === 0) {
        fs.rmSync(spoolDir, { recursive: true, force: true });
        result.audit = writeUndoAudit(opts.artifactsDir, { ...audit, beforeImage: "none: nothing needed putting back" });
        return result;
    }
    try {
        keepUndoImage(spoolDir, source, live, steps);
        applied.beforeImage = spoolDir;
        audit.beforeImage = spoolDir;
        await writeSteps(opts, client, source, steps, applied, audit);
        progress(`verifying ${steps.length} object(s): read back from live`);
        const after = await readLiveStates(client, index.bucket, steps.map((s) => s.key), { concurrency });
        const wrong = steps.filter((s) => !holds(after.get(s.key) ?? null, s.action === "upload" ? stateOf(s.before!) : null));
        audit.verified = { objects: steps.length, failed: wrong.length };
        applied.verified = steps.length - wrong.length;
        if (wrong.length > 0) {
            throw new CheckFailedError(`${wrong.length} object(s) of ${index.bucket} are not as the undo wrote them when read back: ${wrong.slice(0, 20).map((s) => s.key).join(", ")}`);
        }
        result.audit = writeUndoAudit(opts.artifactsDir, audit);
        return result;
    } catch (err) {
        // Failed before its index was written: live is untouched and the partial image is of no use.
        if (!applied.beforeImage) fs.rmSync(spoolDir, { recursive: true, force: true });
        const redacted = redactError(err, [opts.serviceKey]);
        const auditFile = writeUndoAudit(opts.artifactsDir, { ...audit, outcome: "failed", error: redacted.message });
        const kept = applied.beforeImage ? `; what the undo replaced is kept in ${applied.beforeImage}` : "";
        throw withMessageSuffix(redacted, `\n(${applied.uploaded} object(s) put back and ${applied.removed} removed before this${kept}; audit record ${auditFile})`);
    }
}

/** The undo's own before-image: what live holds for each key it writes, and what it writes there. */
function keepUndoImage(dir: string, source: LoadedBeforeImage, live: LiveStates, steps: UndoItem[]): void {
    const objects: BeforeImageEntry[] = [];
    const added: AddedEntry[] = [];
    for (const s of steps) {
        const now = live.get(s.key);
        const writes = s.action === "upload" ? stateOf(s.before!) : null;
        if (!now) {
            // Only an upload can meet an absent object (a forced put-back of one deleted since).
            added.push({ key: s.key, written: writes! });
            continue;
        }
        objects.push({
            key: s.key,
            file: keepSpooled(dir, now.spooled!),
            sha256: now.sha256,
            bytes: now.bytes,
            contentType: now.contentType,
            ...(now.cacheControl !== undefined ? { cacheControl: now.cacheControl } : {}),
            lastModified: now.lastModified,
            written: writes,
        });
    }
    dropSpooled(live, new Set(steps.map((s) => s.key)));
    writeBeforeImageIndex(dir, {
        kind: BEFORE_IMAGE_KIND,
        format: BEFORE_IMAGE_FORMAT,
        made: "recover storage-undo",
        undoes: source.dir,
        bucket: source.index.bucket,
        storage: source.index.storage,
        takenAt: new Date().toISOString(),
        objects,
        added,
    });
}

async function writeSteps(opts: StorageUndoOptions, client: ReturnType<typeof storageClient>, source: LoadedBeforeImage, steps: UndoItem[], applied: AppliedStorageUndo, audit: StorageUndoAuditRecord): Promise<void> {
    const bucket = source.index.bucket;
    const uploads = steps.filter((s) => s.action === "upload");
    const removals = steps.filter((s) => s.action === "remove").map((s) => s.key);
    opts.onProgress?.(`putting back ${uploads.length} object(s) into live bucket ${bucket} (upsert, original content type and cache control)`);
    await forEachLimited(uploads, opts.concurrency ?? 8, async (s) => {
        const before = s.before!;
        await withCheckedFile(source.dir, before, async (body) =>
            unwrap(`upload ${bucket}/${s.key}`, await client.from(bucket).upload(s.key, body, {
                upsert: true,
                contentType: before.contentType,
                ...cacheControlOptions(before.cacheControl !== undefined ? { cacheControl: before.cacheControl } : {}),
            })),
        );
        applied.uploaded++;
        applied.bytes += before.bytes;
        audit.uploaded = applied.uploaded;
        audit.bytes = applied.bytes;
    });
    for (let i = 0; i < removals.length; i += REMOVE_BATCH) {
        const batch = removals.slice(i, i + REMOVE_BATCH);
        opts.onProgress?.(`removing ${batch.length} object(s) the ${writerOf(source)} added from live bucket ${bucket}`);
        const removed = unwrap(`remove ${batch.length} object(s) from ${bucket}`, await client.from(bucket).remove(batch));
        applied.removed += removed.length;
        audit.removed = applied.removed;
    }
}
