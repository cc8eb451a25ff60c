// Path C of runbook 001 as one command: for a bucket, take a storage snapshot from the vault (newest,
// one day's, or a monthly archive), select objects by key prefix and date range, compare them with the
// live bucket (missing, or content / content type / cache control differs: sha256 of the streamed
// live object against the manifest), and with apply restore them:
//   into live:   upsert into the live bucket with the original content type and cache control; the
//                previous content of every overwritten object is kept first (before-image, which
//                also records what this restore wrote and which objects it added, so that
//                `recover storage-undo` can put live back: lib/recover/storageUndo.ts); nothing
//                live is ever deleted;
//   into review: into restored-<bucket>-<yyyyMMdd>, a private bucket proven ours by the ownership
//                marker of lib/storage/restore.ts (a same-name bucket without our marker is refused).
// Either way every restored object is downloaded back and its sha256 checked, a sample is fetched
// through signed URLs, and an audit record is written. The dry run reads only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isStorageNotFound, storageClient, storageFailure } from "../storage/client";
import type { ManifestEntry } from "../storage/manifest";
import { forEachLimited } from "../storage/pool";
import { checkBucketOwnership, formatMismatches, newOwnerToken, restoredBucketName, restoreStorage, verifyRestoredObjects } from "../storage/restore";
import { redactError } from "../redact";
import type { BlobStore } from "../vault/blobStore";
import { BEFORE_IMAGE_FORMAT, BEFORE_IMAGE_KIND, createBeforeImageDir, writeBeforeImageIndex, type StoredObjectState } from "./storageBeforeImage";
import { writeStorageAudit, type StorageAuditRecord } from "./storageAudit";
import { compareWithLive, type LiveComparison } from "./storageCompare";
import { describeFilter, printableKey, selectEntries, type StorageFilter, type StorageSelection } from "./storageSelect";
import { checkSignedUrls, sampleEntries, type SignedUrlCheck } from "./storageSignedUrl";
import { loadSnapshot, type ChosenSnapshot, type SnapshotChoice } from "./storageSource";
import { uploadFromVault } from "./storageUpload";
import { CheckFailedError, RefusedError, UsageError, withMessageSuffix } from "../errors";

export const DEFAULT_SIGNED_URL_SAMPLE = 5;

export interface RecoverStorageOptions {
    /** `<SUPABASE_URL>/storage/v1` of the live project. */
    storageUrl: string;
    serviceKey: string;
    /** The vault the nightly snapshots are in. */
    store: BlobStore;
    env: string;
    bucket: string;
    snapshot: SnapshotChoice;
    /** Today for "newest" and for the review bucket's name. */
    now: Date;
    filter: StorageFilter;
    /** Restore only objects missing live; changed ones are listed but left as they are. */
    onlyMissing: boolean;
    into: "live" | "review";
    apply: boolean;
    artifactsDir: string;
    signedUrlSample?: number;
    concurrency?: number;
    onProgress?: (message: string) => void;
}

export interface AppliedStorage {
    target: string;
    objects: number;
    bytes: number;
    /** Directory with the previous content of overwritten live objects and the list of added ones. */
    beforeImage?: string;
    beforeImageObjects: number;
    /** Objects missing live that the restore created (listed in the before-image, for an undo). */
    beforeImageAdded: number;
    verified: number;
    signedUrls: SignedUrlCheck[];
    /** Review mode: the file holding the review bucket's owner token (to resume, or remove it later). */
    ownerTokenFile?: string;
}

export interface RecoverStorageResult {
    snapshot: ChosenSnapshot;
    selection: StorageSelection;
    comparison: LiveComparison;
    target: string;
    /** What apply restores (or restored), by key. */
    toRestore: ManifestEntry[];
    /** Object names and counts only: safe for stdout and logs. */
    planText: string;
    summary: string;
    notes: string[];
    applied?: AppliedStorage;
    audit?: string;
}

/** Where the owner token of a review bucket is kept between runs (0600): a retry reuses the bucket. */
export function ownerTokenFile(artifactsDir: string, target: string): string {
    return path.resolve(artifactsDir, `review-owner-${target}.token`);
}

function readOwnerToken(file: string): string | undefined {
    if (!fs.existsSync(file)) return undefined;
    const token = fs.readFileSync(file, "utf8").trim();
    if (!/^[0-9a-f]{64}$/.test(token)) throw new UsageError(`${file} is not a review bucket owner token (64 hex digits)`);
    return token;
}

/** STORAGE_URL as host and path: what audit records and before-images name (it carries no credentials). */
export function storageLocation(storageUrl: string): string {
    const u = new URL(storageUrl);
    return `${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

function planText(o: RecoverStorageOptions, snap: ChosenSnapshot, sel: StorageSelection, cmp: LiveComparison, target: string, toRestore: ManifestEntry[]): string {
    const m = snap.manifest;
    const lines = [
        `# recover storage: bucket ${o.bucket} from ${snap.location}/${snap.manifestKey}`,
        `#   snapshot taken ${m.takenAt}${m.tier === "monthly" ? " (monthly archive)" : ""}, manifest sha256 ${snap.manifestSha256}`,
        `# selection: ${sel.entries.length} of ${m.objects.length} snapshot object(s), ${describeFilter(o.filter)}` +
            (sel.untimed > 0 ? `; ${sel.untimed} without a recorded timestamp included` : ""),
    ];
    const compared = cmp.liveBucketExists
        ? `${cmp.missing.length} missing live, ${cmp.changed.length} changed, ${cmp.identical} identical; ${cmp.liveOnly} live object(s) outside the selection are left alone`
        : `live bucket ${o.bucket} does not exist: every selected object is missing`;
    lines.push(`# compared with live bucket ${o.bucket}: ${compared}`);
    lines.push(`# ${o.apply ? "restored" : "to restore"} into ${o.into === "live" ? `LIVE bucket ${target}` : `review bucket ${target}`}: ${toRestore.length} object(s)` +
        (o.onlyMissing && cmp.changed.length > 0 ? ` (--only-missing: ${cmp.changed.length} changed object(s) left as they are)` : ""));
    for (const e of cmp.missing) lines.push(`+ missing  ${printableKey(e.key)}  (${e.bytes} bytes, ${e.contentType})`);
    const takenAt = new Date(m.takenAt).getTime();
    for (const c of cmp.changed) {
        const written = new Date(c.live.lastModified).getTime();
        const when = Number.isNaN(written) ? "" : `, live written ${c.live.lastModified}${written > takenAt ? " (after the snapshot)" : ""}`;
        lines.push(`${o.onlyMissing ? "= kept   " : "~ changed"}  ${printableKey(c.entry.key)}  (${c.reasons.join(", ")} differ${c.reasons.length === 1 ? "s" : ""}; live ${c.live.bytes} bytes, ${c.live.contentType}${when})`);
    }
    return lines.join("\n") + "\n";
}

function summaryOf(o: RecoverStorageOptions, cmp: LiveComparison, target: string, toRestore: ManifestEntry[]): string {
    const bytes = toRestore.reduce((n, e) => n + e.bytes, 0);
    const where = o.into === "live" ? `live bucket ${target}` : `review bucket ${target}`;
    return `${toRestore.length} object(s), ${bytes} bytes, to restore into ${where} (${cmp.missing.length} missing, ${cmp.changed.length} changed${o.onlyMissing ? " and kept" : ""}, ${cmp.identical} identical)`;
}

async function liveBucketExists(client: ReturnType<typeof storageClient>, bucket: string): Promise<boolean> {
    const { data, error } = await client.getBucket(bucket);
    if (data) return true;
    // Only "not found" means missing: a rejected key or an outage must stop the run.
    if (isStorageNotFound(error)) return false;
    throw storageFailure(`get live bucket ${bucket}`, error ?? "no answer");
}

export async function recoverStorage(opts: RecoverStorageOptions): Promise<RecoverStorageResult> {
    try {
        return await run(opts);
    } catch (err) {
        throw redactError(err, [opts.serviceKey]);
    }
}

async function run(opts: RecoverStorageOptions): Promise<RecoverStorageResult> {
    const progress = opts.onProgress ?? (() => undefined);
    const concurrency = opts.concurrency ?? 8;
    progress(`reading the snapshot of ${opts.bucket} from ${opts.store.location}`);
    const snapshot = await loadSnapshot(opts.store, opts.env, opts.bucket, opts.snapshot, opts.now);
    const selection = selectEntries(snapshot.manifest, opts.filter);
    const client = storageClient(opts.storageUrl, opts.serviceKey);
    const exists = await liveBucketExists(client, opts.bucket);
    const target = opts.into === "live" ? opts.bucket : restoredBucketName(opts.bucket, opts.now);
    const notes: string[] = [];
    if (opts.into === "live" && !exists) {
        const refusal = `live bucket ${opts.bucket} does not exist in ${storageLocation(opts.storageUrl)}: recover storage never creates a live bucket. ` +
            `Create it (the snapshot recorded it as ${snapshot.manifest.public ? "public" : "private"}) and run again, or restore with --into review`;
        if (opts.apply) throw new RefusedError(`refusing: ${refusal}`);
        notes.push(refusal);
    }

    let tokenFile: string | undefined;
    let ownerToken: string | undefined;
    if (opts.into === "review") {
        tokenFile = ownerTokenFile(opts.artifactsDir, target);
        ownerToken = readOwnerToken(tokenFile);
        const ownership = await checkBucketOwnership(client, target, ownerToken ?? newOwnerToken());
        if (ownership.state === "foreign") {
            const refusal = `review bucket ${target} exists and ${ownership.reason}; it is somebody else's (perhaps a restore made by hand today) and is left untouched`;
            if (opts.apply) throw new RefusedError(`refusing: ${refusal}`);
            notes.push(`apply would refuse: ${refusal}`);
        } else if (ownership.state === "ours") {
            notes.push(`review bucket ${target} exists and is ours (owner token ${tokenFile}): objects are upserted into it`);
        }
    }

    // Only a live apply that may overwrite needs the before-image (spooled while comparing).
    const keepBefore = opts.apply && opts.into === "live" && !opts.onlyMissing;
    const beforeDir = keepBefore ? createBeforeImageDir(opts.artifactsDir, opts.bucket, opts.now) : undefined;
    let comparison: LiveComparison;
    try {
        comparison = await compareWithLive(client, opts.bucket, selection.entries, { concurrency, onProgress: progress, beforeImageDir: beforeDir, liveBucketExists: exists });
    } catch (err) {
        if (beforeDir) fs.rmSync(beforeDir, { recursive: true, force: true });
        throw err;
    }
    const toRestore = [...comparison.missing, ...(opts.onlyMissing ? [] : comparison.changed.map((c) => c.entry))].sort((a, b) => (a.key < b.key ? -1 : 1));
    const result: RecoverStorageResult = {
        snapshot,
        selection,
        comparison,
        target,
        toRestore,
        planText: planText(opts, snapshot, selection, comparison, target, toRestore),
        summary: summaryOf(opts, comparison, target, toRestore),
        notes,
    };
    if (!opts.apply) return result;

    const audit: StorageAuditRecord = {
        action: "recover storage",
        into: opts.into,
        storage: storageLocation(opts.storageUrl),
        bucket: opts.bucket,
        target,
        filter: describeFilter(opts.filter) + (opts.onlyMissing ? "; only objects missing live" : ""),
        snapshot: { vault: snapshot.location, manifestKey: snapshot.manifestKey, manifestSha256: snapshot.manifestSha256, takenAt: snapshot.manifest.takenAt },
        objects: 0,
        bytes: 0,
        missingBefore: comparison.missing.length,
        changedBefore: comparison.changed.length,
        beforeImage: "none",
        outcome: "completed",
    };
    const applied: AppliedStorage = { target, objects: 0, bytes: 0, beforeImageObjects: 0, beforeImageAdded: 0, verified: 0, signedUrls: [] };
    result.applied = applied;
    try {
        if (opts.into === "live") await applyLive(opts, client, result, applied, audit, beforeDir);
        else await applyReview(opts, result, applied, audit, tokenFile!, ownerToken);
        if (applied.objects > 0) {
            applied.signedUrls = await checkSignedUrls(client, target, sampleEntries(toRestore, opts.signedUrlSample ?? DEFAULT_SIGNED_URL_SAMPLE));
            audit.signedUrls = { checked: applied.signedUrls.length, reachable: applied.signedUrls.filter((s) => s.reachable).length };
        }
        result.audit = writeStorageAudit(opts.artifactsDir, audit, new Date());
        return result;
    } catch (err) {
        const redacted = redactError(err, [opts.serviceKey, ownerToken]);
        const auditFile = writeStorageAudit(opts.artifactsDir, { ...audit, outcome: "failed", error: redacted.message }, new Date());
        const kept = applied.beforeImage ? `; previous content of the live objects it overwrote is kept in ${applied.beforeImage} (undo: npm run recover -- storage-undo ${applied.beforeImage})` : "";
        // The error keeps its class: it decides the exit code (a Storage outage 5, a failed check 1).
        throw withMessageSuffix(redacted, `\n(${applied.objects} object(s) uploaded before this${kept}; audit record ${auditFile})`);
    }
}

async function applyLive(opts: RecoverStorageOptions, client: ReturnType<typeof storageClient>, result: RecoverStorageResult, applied: AppliedStorage, audit: StorageAuditRecord, beforeDir: string | undefined): Promise<void> {
    const progress = opts.onProgress ?? (() => undefined);
    const overwritten = result.comparison.changed.filter((c) => c.beforeImage);
    if (beforeDir) {
        if (result.toRestore.length > 0) {
            // What this restore writes is recorded with what it replaces: an undo puts an object back
            // only while live still holds exactly this restore's write, never a later one.
            writeBeforeImageIndex(beforeDir, {
                kind: BEFORE_IMAGE_KIND,
                format: BEFORE_IMAGE_FORMAT,
                made: "recover storage",
                bucket: opts.bucket,
                storage: audit.storage,
                takenAt: new Date().toISOString(),
                objects: overwritten.map((c) => ({ ...c.beforeImage!, written: writtenBy(c.entry) })),
                added: result.comparison.missing.map((e) => ({ key: e.key, written: writtenBy(e) })),
            });
            applied.beforeImage = beforeDir;
            applied.beforeImageObjects = overwritten.length;
            applied.beforeImageAdded = result.comparison.missing.length;
            audit.beforeImage = beforeDir;
        } else {
            fs.rmSync(beforeDir, { recursive: true, force: true });
            audit.beforeImage = "none: no live object was overwritten";
        }
    } else {
        audit.beforeImage = "none: --only-missing overwrites nothing";
    }
    if (result.toRestore.length === 0) return;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-recover-storage-"));
    try {
        progress(`uploading ${result.toRestore.length} object(s) into live bucket ${opts.bucket} (upsert; nothing is deleted)`);
        await forEachLimited(result.toRestore, opts.concurrency ?? 8, async (entry) => {
            await uploadFromVault(client, opts.store, opts.bucket, entry, tmp);
            applied.objects++;
            applied.bytes += entry.bytes;
            audit.objects = applied.objects;
            audit.bytes = applied.bytes;
        });
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    progress(`verifying ${result.toRestore.length} object(s): download and sha256`);
    const problems = await verifyRestoredObjects(client, opts.bucket, result.toRestore, opts.concurrency ?? 8);
    audit.verified = { objects: result.toRestore.length, failed: problems.length };
    applied.verified = result.toRestore.length - problems.length;
    if (problems.length > 0) throw new CheckFailedError(formatMismatches(opts.bucket, problems));
}

/** What an upload of a snapshot entry leaves live (the cache control only when the snapshot recorded one). */
function writtenBy(entry: ManifestEntry): StoredObjectState {
    const cacheControl = entry.metadata.cacheControl;
    return {
        sha256: entry.sha256,
        bytes: entry.bytes,
        contentType: entry.contentType,
        ...(typeof cacheControl === "string" && cacheControl !== "" ? { cacheControl } : {}),
    };
}

async function applyReview(opts: RecoverStorageOptions, result: RecoverStorageResult, applied: AppliedStorage, audit: StorageAuditRecord, tokenFile: string, ownerToken: string | undefined): Promise<void> {
    audit.beforeImage = "none: a review restore writes only into its own bucket";
    if (result.toRestore.length === 0) return;
    let token = ownerToken;
    if (!token) {
        // Kept before the bucket is created: a run that dies halfway can be resumed with the same bucket.
        token = newOwnerToken();
        fs.mkdirSync(path.dirname(tokenFile), { recursive: true });
        fs.writeFileSync(tokenFile, token + "\n", { mode: 0o600, flag: "wx" });
    }
    applied.ownerTokenFile = tokenFile;
    opts.onProgress?.(`restoring ${result.toRestore.length} object(s) into review bucket ${result.target}`);
    const restored = await restoreStorage({
        storageUrl: opts.storageUrl,
        serviceKey: opts.serviceKey,
        store: opts.store,
        manifest: { ...result.snapshot.manifest, objects: result.toRestore },
        targetBucket: result.target,
        ownerToken: token,
        concurrency: opts.concurrency,
    });
    applied.objects = restored.objects;
    applied.bytes = restored.bytes;
    applied.verified = restored.objects;
    audit.objects = restored.objects;
    audit.bytes = restored.bytes;
    audit.verified = { objects: restored.objects, failed: 0 };
}
