// A BlobStore on a local directory: for drills and tests that need a vault visible to another process
// (the Pulumi dynamic provider runs in its own), without an object-store server. Data lives under
// <root>/data/<key>, each object's facts (sha256, retention, content type, metadata) in
// <root>/meta/<key>.json. Retention is enforced by this code only: a directory is not immutable
// storage, so this is never a production vault.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { sha256Tap } from "../backup/checksum";
import { CheckFailedError, RefusedError } from "../errors";
import { assertCopySource, type BlobStore, type PutOptions, type StoredObject } from "./blobStore";

interface MetaFile {
    bytes: number;
    lastModified: string;
    sha256: string;
    retainUntil?: string;
    contentType?: string;
    metadata?: Record<string, string>;
}

function assertKey(key: string): void {
    if (!key || key.startsWith("/") || key.split("/").some((s) => s === "" || s === "." || s === "..")) {
        throw new Error(`invalid object key ${JSON.stringify(key)}`);
    }
}

export class DirBlobStore implements BlobStore {
    readonly location: string;

    constructor(readonly root: string, private readonly clock: () => Date = () => new Date()) {
        this.location = `file://${path.resolve(root)}`;
    }

    private dataPath(key: string): string {
        assertKey(key);
        return path.join(this.root, "data", key);
    }

    private metaPath(key: string): string {
        assertKey(key);
        return path.join(this.root, "meta", `${key}.json`);
    }

    private toStored(key: string, meta: MetaFile): StoredObject {
        return {
            key,
            bytes: meta.bytes,
            lastModified: new Date(meta.lastModified),
            sha256: meta.sha256,
            retainUntil: meta.retainUntil ? new Date(meta.retainUntil) : undefined,
            retentionMode: meta.retainUntil ? "COMPLIANCE" : undefined,
            contentType: meta.contentType,
            metadata: meta.metadata,
        };
    }

    private async assertUnlocked(key: string, action: string): Promise<void> {
        const existing = await this.head(key);
        if (existing?.retainUntil && existing.retainUntil.getTime() > this.clock().getTime()) {
            throw new RefusedError(`${action} refused: ${key} is retained until ${existing.retainUntil.toISOString()}`, { code: "RETENTION_REFUSED" });
        }
    }

    async put(key: string, body: Readable, opts: PutOptions): Promise<StoredObject> {
        const target = this.dataPath(key);
        await this.assertUnlocked(key, "overwrite");
        await fs.promises.mkdir(path.dirname(target), { recursive: true });
        // Written beside the target and renamed only once the checksum matches: a bad upload never
        // replaces a good object.
        const tmp = `${target}.${randomBytes(6).toString("hex")}.part`;
        const hashed = sha256Tap();
        const tap = hashed.stream;
        try {
            await pipeline(body, tap, fs.createWriteStream(tmp));
            const sha256 = hashed.digest();
            const bytes = hashed.bytes();
            if (sha256 !== opts.sha256) throw new CheckFailedError(`checksum mismatch for ${key}: declared ${opts.sha256}, got ${sha256}`);
            if (bytes !== opts.bytes) throw new CheckFailedError(`size mismatch for ${key}: declared ${opts.bytes}, got ${bytes}`);
            const meta: MetaFile = {
                bytes,
                lastModified: this.clock().toISOString(),
                sha256,
                retainUntil: opts.retainUntil?.toISOString(),
                contentType: opts.contentType,
                metadata: opts.metadata,
            };
            const metaPath = this.metaPath(key);
            await fs.promises.mkdir(path.dirname(metaPath), { recursive: true });
            await fs.promises.rename(tmp, target);
            await fs.promises.writeFile(metaPath, JSON.stringify(meta));
            return this.toStored(key, meta);
        } finally {
            await fs.promises.rm(tmp, { force: true });
        }
    }

    /** A directory has no server side: the bytes are re-read and re-hashed, so a corrupt source fails. */
    async copy(from: string, to: string, opts: PutOptions): Promise<StoredObject> {
        assertCopySource(this.location, from, await this.head(from), opts);
        return this.put(to, fs.createReadStream(this.dataPath(from), { highWaterMark: 1 << 20 }), opts);
    }

    async get(key: string): Promise<Readable> {
        const file = this.dataPath(key);
        await fs.promises.access(file).catch(() => {
            throw new Error(`no such object in ${this.location}: ${key}`);
        });
        return fs.createReadStream(file, { highWaterMark: 1 << 20 });
    }

    async head(key: string): Promise<StoredObject | undefined> {
        try {
            const meta = JSON.parse(await fs.promises.readFile(this.metaPath(key), "utf8")) as MetaFile;
            return this.toStored(key, meta);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
            throw err;
        }
    }

    async *list(prefix: string): AsyncIterable<StoredObject> {
        const metaRoot = path.join(this.root, "meta");
        // Only walk the directory the prefix points into, not the whole vault.
        const slash = prefix.lastIndexOf("/");
        const startRel = slash === -1 ? "" : prefix.slice(0, slash);
        yield* this.walk(metaRoot, startRel, prefix);
    }

    private async *walk(metaRoot: string, rel: string, prefix: string): AsyncIterable<StoredObject> {
        let entries: fs.Dirent[];
        try {
            entries = await fs.promises.readdir(path.join(metaRoot, rel), { withFileTypes: true });
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
            throw err;
        }
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const entry of entries) {
            const childRel = rel ? `${rel}/${entry.name}` : entry.name;
            if (entry.isDirectory()) {
                if (childRel.startsWith(prefix) || prefix.startsWith(`${childRel}/`)) yield* this.walk(metaRoot, childRel, prefix);
            } else if (entry.name.endsWith(".json")) {
                const key = childRel.slice(0, -".json".length);
                if (!key.startsWith(prefix)) continue;
                const stored = await this.head(key);
                if (stored) yield stored;
            }
        }
    }

    async delete(key: string): Promise<void> {
        await this.assertUnlocked(key, "delete");
        await fs.promises.rm(this.dataPath(key), { force: true });
        await fs.promises.rm(this.metaPath(key), { force: true });
    }
}
