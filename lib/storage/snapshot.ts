// Nightly storage snapshot (issue 5, runbook 004 §1.2): every bucket, every object, into the vault
// (and the same objects into an optional mirror, the Azure archive).
// Each object is streamed once from Storage into a temporary file while its sha256 is computed
// (memory stays flat whatever the object size). The spool exists because the vault needs the checksum
// *before* the put (Object Lock puts carry it), and re-downloading would hash a possibly different
// version than the one uploaded.
//
// Every snapshot is self-contained: each object it lists lives under the snapshot's own day folder,
// storage/{env}/{bucket}/YYYY/MM/DD/objects/<key>, written the same night as its manifest. New and
// changed objects are uploaded from the spool; unchanged ones are copied server-side from the previous
// snapshot's copy (nothing crosses the network twice). Why not point at the earlier copy: the vault's
// lifecycle (lib/vault/lifecycle.ts, rule daily-storage) expires everything under storage/{env}/ a
// fixed number of days after it was written, so a manifest pointing at an older day's copy would,
// within a week, name objects that are gone while the manifest itself is still kept. With own-day
// copies an object is written together with the newest manifest that lists it, gets the same
// retention and expires with it: every manifest the vault still holds restores completely. The price
// is storage: the vault holds dailyRetentionDays full copies of each bucket (server-side copies cost
// requests, not transfer). A content-addressed store would need expiry that follows the newest
// reference, which S3 lifecycle rules cannot express, and a deleter the writer role must not be.
//
// Runbook 004's monthly archives ("12 monthly archives") follow the same idea one level up: the
// month's first snapshot of a bucket in a store is also copied, server-side and object by object, from
// its own day folder into monthly/storage/{env}/{bucket}/YYYY/MM/, with the monthly lock, and gets a
// manifest there that names only those copies. The vault's monthly-storage rule keeps that folder for
// the monthly window (moving objects of 128 KB and more to the archive class after a day), while the
// day folder it came from expires after a week. "First of the month" is the database monthly tier's
// rule (lib/backupJob/run.ts, plan.ts): no monthly manifest for the month in that store yet. It is
// decided per bucket and per store, so a bucket added mid-month, a night whose database dump failed,
// or a mirror that was down on the 1st still gets its archive the next night. Copies are written in
// the store's default class, like the database's monthly files: the lifecycle rule, not the writer,
// moves them to the archive class. Restoring an archive once it is there needs the objects brought back
// first (S3 RestoreObject, Azure rehydration), which the storage restore does not do: the monthly
// rehearsal (scripts/storage-restore-rehearsal.ts --monthly current) checks an archive on its first day.
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StorageClient } from "@supabase/storage-js";
import { sha256Tap } from "../backup/checksum";
import { redactError } from "../redact";
import type { BlobStore, PutOptions } from "../vault/blobStore";
import { dayPath } from "../vault/keys";
import { downloadStream, listAllObjects, storageClient, unwrap, type ListedObject } from "./client";
import {
    MANIFEST_VERSION, manifestKey, monthlyManifestKey, monthlyObjectVaultKey, objectVaultKey, parseManifest, type ManifestEntry, type StorageManifest,
} from "./manifest";
import { forEachLimited } from "./pool";
import { RefusedError, UsageError } from "../errors";

export interface SnapshotOptions {
    /** `<SUPABASE_URL>/storage/v1` */
    storageUrl: string;
    serviceKey: string;
    env: string;
    store: BlobStore;
    now: Date;
    /** Retention of every object and manifest written. */
    retainUntil?: Date;
    /**
     * Per bucket, where unchanged objects are copied from; when absent the newest manifest of the last
     * `lookbackDays` days is read from the vault (the mirror always reads its own).
     */
    previousManifest?: Record<string, StorageManifest | undefined>;
    lookbackDays?: number;
    /** Receives the same objects and manifests (the Azure archive). Its failure is reported, not thrown. */
    mirror?: BlobStore;
    /** Only these buckets (default: all). */
    buckets?: string[];
    concurrency?: number;
    /**
     * Write runbook 004's monthly archive when due (see the top of this file), locked until this date
     * (lib/backupJob/plan.ts monthlyRetainUntil, as the database's monthly tier). Absent: daily only.
     */
    monthly?: { retainUntil: Date };
}

/** A monthly archive written by this run (into the vault, or into the mirror). */
export interface MonthlyArchive {
    manifestKey: string;
    /** Objects copied server-side from the night's day folder. */
    copied: number;
    /** Objects an earlier attempt this month had already copied (it died before writing the manifest). */
    alreadyThere: number;
    retainUntil: string;
}

export interface BucketSnapshot {
    bucket: string;
    manifestKey: string;
    listed: number;
    /** New or changed objects, uploaded from the spool. */
    uploaded: number;
    /** Unchanged objects, copied inside the store from the previous snapshot's copy. */
    serverSideCopies: number;
    /** Today's copy was already in place (a re-run after a failure). */
    alreadyThere: number;
    /** Bytes uploaded (objects, not the manifest). */
    bytes: number;
    /** Present on the night the bucket's monthly archive was written. */
    monthly?: MonthlyArchive;
}

export interface SnapshotResult {
    buckets: BucketSnapshot[];
    listed: number;
    uploaded: number;
    serverSideCopies: number;
    alreadyThere: number;
    bytes: number;
    mirror?: { location: string; buckets: BucketSnapshot[]; error?: string };
}

export async function readText(store: BlobStore, key: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(key)) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString("utf8");
}

/** The newest manifest for the bucket strictly before `now`'s day, looking back at most `days` days. */
export async function findPreviousManifest(store: BlobStore, env: string, bucket: string, now: Date, days: number): Promise<StorageManifest | undefined> {
    for (let back = 1; back <= days; back++) {
        const day = new Date(now.getTime() - back * 86_400_000);
        const key = manifestKey(env, bucket, day);
        if (await store.head(key)) return parseManifest(await readText(store, key), key);
    }
    return undefined;
}

/** The bucket's monthly archive for `month`'s calendar month (UTC), or undefined when there is none. */
export async function findMonthlyManifest(store: BlobStore, env: string, bucket: string, month: Date): Promise<StorageManifest | undefined> {
    const key = monthlyManifestKey(env, bucket, month);
    if (!(await store.head(key))) return undefined;
    return parseManifest(await readText(store, key), key);
}

async function putManifest(store: BlobStore, key: string, manifest: StorageManifest, retainUntil: Date | undefined): Promise<void> {
    const body = Buffer.from(JSON.stringify(manifest, null, 1));
    await store.put(key, Readable.from([body]), {
        sha256: createHash("sha256").update(body).digest("hex"),
        bytes: body.length,
        contentType: "application/json",
        metadata: { objects: String(manifest.objects.length), ...(manifest.tier ? { tier: manifest.tier } : {}) },
        retainUntil,
    });
}

/**
 * Copies the night's complete snapshot `daily` (already in `store`) into the month's archive folder,
 * unless the month has its archive already; returns what was written, or undefined when not due.
 * Every copy is checked against the manifest's sha256 by the store before it is made (BlobStore.copy),
 * and the manifest goes last, so an archive that died halfway is not mistaken for one.
 */
async function archiveMonthly(store: BlobStore, daily: StorageManifest, now: Date, retainUntil: Date, concurrency: number): Promise<MonthlyArchive | undefined> {
    const { env, bucket } = daily;
    const key = monthlyManifestKey(env, bucket, now);
    if (await store.head(key)) return undefined;
    const archive: MonthlyArchive = { manifestKey: key, copied: 0, alreadyThere: 0, retainUntil: retainUntil.toISOString() };
    const objects: ManifestEntry[] = [];
    await forEachLimited(daily.objects, concurrency, async (e) => {
        const vaultKey = monthlyObjectVaultKey(env, bucket, now, e.key);
        const existing = await store.head(vaultKey);
        // An earlier night of this month copied it before dying (it cannot be overwritten while locked
        // in a store without versions). Its lock and lifecycle started that night, a few days before
        // this manifest's: the price of not re-copying, paid only at the very end of the window.
        if (existing?.sha256 === e.sha256 && existing.bytes === e.bytes) {
            archive.alreadyThere++;
        } else {
            await store.copy(e.vaultKey, vaultKey, {
                sha256: e.sha256,
                bytes: e.bytes,
                contentType: e.contentType,
                metadata: { sha256: e.sha256, bucket, env, tier: "monthly" },
                retainUntil,
            });
            archive.copied++;
        }
        objects.push({ ...e, vaultKey });
    });
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    await putManifest(store, key, { ...daily, tier: "monthly", objects }, retainUntil);
    return archive;
}

interface Spooled {
    file: string;
    sha256: string;
    bytes: number;
}

async function spool(client: StorageClient, bucket: string, key: string, dir: string): Promise<Spooled> {
    const file = path.join(dir, randomBytes(8).toString("hex"));
    const hashed = sha256Tap();
    const tap = hashed.stream;
    await pipeline(await downloadStream(client, bucket, key), tap, fs.createWriteStream(file));
    return { file, sha256: hashed.digest(), bytes: hashed.bytes() };
}

/** One store a snapshot is written into: the vault, or the mirror. */
interface Target {
    store: BlobStore;
    /** The previous manifest's entries by object key (where an unchanged object can be copied from). */
    previous: Map<string, ManifestEntry>;
    stats: BucketSnapshot;
    /** A mirror that failed is skipped for the rest of the run (the vault is not held up by it). */
    failed?: string;
}

function emptyStats(bucket: string, key: string): BucketSnapshot {
    return { bucket, manifestKey: key, listed: 0, uploaded: 0, serverSideCopies: 0, alreadyThere: 0, bytes: 0 };
}

async function previousEntries(target: BlobStore, opts: SnapshotOptions, bucket: string, useOverride: boolean): Promise<Map<string, ManifestEntry>> {
    const previous = useOverride && opts.previousManifest && bucket in opts.previousManifest
        ? opts.previousManifest[bucket]
        : await findPreviousManifest(target, opts.env, bucket, opts.now, opts.lookbackDays ?? 35);
    return new Map((previous?.objects ?? []).map((e) => [e.key, e]));
}

/** Puts today's copy of one object into one store, by server-side copy when an intact earlier copy exists. */
async function writeObject(t: Target, vaultKey: string, spooled: Spooled, put: PutOptions, objectKey: string): Promise<void> {
    const existing = await t.store.head(vaultKey);
    // A re-run after a failure mid-bucket: today's copy is already there (and locked).
    if (existing?.sha256 === spooled.sha256 && existing.bytes === spooled.bytes) {
        t.stats.alreadyThere++;
        return;
    }
    const prior = t.previous.get(objectKey);
    if (prior && prior.sha256 === spooled.sha256 && prior.bytes === spooled.bytes) {
        const source = await t.store.head(prior.vaultKey);
        // The earlier copy may have expired (snapshots paused longer than the retention) or be damaged:
        // then the spooled bytes are uploaded instead.
        if (source?.sha256 === spooled.sha256 && source.bytes === spooled.bytes) {
            await t.store.copy(prior.vaultKey, vaultKey, put);
            t.stats.serverSideCopies++;
            return;
        }
    }
    await t.store.put(vaultKey, fs.createReadStream(spooled.file, { highWaterMark: 1 << 20 }), put);
    t.stats.uploaded++;
    t.stats.bytes += spooled.bytes;
}

async function onTargets(targets: Target[], what: (t: Target) => Promise<void>): Promise<void> {
    for (const t of targets) {
        if (t.failed) continue;
        if (t === targets[0]) {
            await what(t);
            continue;
        }
        try {
            await what(t);
        } catch (err) {
            t.failed = (err as Error).message;
        }
    }
}

async function snapshotBucket(client: StorageClient, bucket: string, isPublic: boolean, opts: SnapshotOptions, spoolDir: string, mirror: Target | undefined): Promise<BucketSnapshot> {
    const { store, env, now } = opts;
    const key = manifestKey(env, bucket, now);
    if (await store.head(key)) {
        throw new RefusedError(`a snapshot of bucket ${bucket} for ${dayPath(now)} is already in the vault (${key}); one snapshot per bucket per day`);
    }
    const primary: Target = { store, previous: await previousEntries(store, opts, bucket, true), stats: emptyStats(bucket, key) };
    const targets = [primary];
    if (mirror && !mirror.failed) {
        mirror.stats = emptyStats(bucket, key);
        try {
            mirror.previous = await previousEntries(mirror.store, opts, bucket, false);
            targets.push(mirror);
        } catch (err) {
            mirror.failed = (err as Error).message;
        }
    }
    const entries: ManifestEntry[] = [];

    await forEachLimited(listAllObjects(client, bucket), opts.concurrency ?? 8, async (obj: ListedObject) => {
        primary.stats.listed++;
        const spooled = await spool(client, bucket, obj.key, spoolDir);
        try {
            const vaultKey = objectVaultKey(env, bucket, now, obj.key);
            const put: PutOptions = {
                sha256: spooled.sha256,
                bytes: spooled.bytes,
                contentType: obj.contentType,
                metadata: { sha256: spooled.sha256, bucket, env },
                retainUntil: opts.retainUntil,
            };
            await onTargets(targets, (t) => writeObject(t, vaultKey, spooled, put, obj.key));
            entries.push({
                key: obj.key,
                bytes: spooled.bytes,
                contentType: obj.contentType,
                metadata: obj.metadata,
                sha256: spooled.sha256,
                lastModified: obj.lastModified,
                vaultKey,
            });
        } finally {
            await fs.promises.rm(spooled.file, { force: true });
        }
    });

    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const manifest: StorageManifest = { version: MANIFEST_VERSION, env, bucket, takenAt: now.toISOString(), public: isPublic, objects: entries };
    // The manifest goes last: its presence is what marks the snapshot complete.
    await onTargets(targets, (t) => putManifest(t.store, key, manifest, opts.retainUntil));
    const monthly = opts.monthly;
    if (monthly) {
        // Each store archives its own copies: the mirror's day folder is in the mirror.
        await onTargets(targets, async (t) => {
            t.stats.monthly = await archiveMonthly(t.store, manifest, now, monthly.retainUntil, opts.concurrency ?? 8);
        });
    }
    if (mirror) mirror.stats.listed = primary.stats.listed;
    return primary.stats;
}

function addUp(buckets: BucketSnapshot[]): Omit<SnapshotResult, "buckets" | "mirror"> {
    return {
        listed: buckets.reduce((n, b) => n + b.listed, 0),
        uploaded: buckets.reduce((n, b) => n + b.uploaded, 0),
        serverSideCopies: buckets.reduce((n, b) => n + b.serverSideCopies, 0),
        alreadyThere: buckets.reduce((n, b) => n + b.alreadyThere, 0),
        bytes: buckets.reduce((n, b) => n + b.bytes, 0),
    };
}

export async function snapshotStorage(opts: SnapshotOptions): Promise<SnapshotResult> {
    const secrets = [opts.serviceKey];
    const spoolDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "supabase-dr-storage-"));
    try {
        const client = storageClient(opts.storageUrl, opts.serviceKey);
        const all = unwrap("list buckets", await client.listBuckets());
        const wanted = opts.buckets ? new Set(opts.buckets) : undefined;
        if (wanted) {
            const missing = [...wanted].filter((b) => !all.some((x) => x.id === b));
            if (missing.length > 0) throw new UsageError(`bucket(s) not found in Storage: ${missing.join(", ")}`);
        }
        const mirror: Target | undefined = opts.mirror && { store: opts.mirror, previous: new Map(), stats: emptyStats("", "") };
        const buckets: BucketSnapshot[] = [];
        const mirrored: BucketSnapshot[] = [];
        for (const bucket of all.filter((b) => !wanted || wanted.has(b.id)).sort((a, b) => (a.id < b.id ? -1 : 1))) {
            buckets.push(await snapshotBucket(client, bucket.id, bucket.public, opts, spoolDir, mirror));
            if (mirror && !mirror.failed) mirrored.push(mirror.stats);
        }
        const result: SnapshotResult = { buckets, ...addUp(buckets) };
        if (mirror) result.mirror = { location: mirror.store.location, buckets: mirrored, ...(mirror.failed ? { error: redactError(new Error(mirror.failed), secrets).message } : {}) };
        return result;
    } catch (err) {
        throw redactError(err, secrets);
    } finally {
        await fs.promises.rm(spoolDir, { recursive: true, force: true });
    }
}
