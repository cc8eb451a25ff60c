// The vault as the backup job, the storage snapshot, the freshness check and the storage restore see
// it: an object store with immutable retention. Implemented for S3 Object Lock (lib/vault/s3Store.ts,
// tested against a local S3 server) and Azure Blob immutability (lib/vault/azureStore.ts, tested against Azurite).
import type { Readable } from "node:stream";

export interface PutOptions {
    /** Hex sha256 of the content; sent as the object's checksum (Object Lock puts require one). */
    sha256: string;
    bytes: number;
    contentType?: string;
    /** Stored as object metadata (keys lowercase ASCII). */
    metadata?: Record<string, string>;
    /** Object Lock / immutability: the object cannot be deleted or overwritten before this time. */
    retainUntil?: Date;
}

export interface StoredObject {
    key: string;
    bytes: number;
    lastModified: Date;
    /** Hex sha256 when the store knows it (our puts always record it). */
    sha256?: string;
    versionId?: string;
    /** The retention in force, if any. */
    retainUntil?: Date;
    retentionMode?: string;
    contentType?: string;
    metadata?: Record<string, string>;
}

export interface BlobStore {
    /** Human-readable location, e.g. s3://bucket or azure://account/container (no credentials). */
    readonly location: string;
    /** Streams `body` to `key`; large bodies go up in parts. Memory stays flat whatever the size. */
    put(key: string, body: Readable, opts: PutOptions): Promise<StoredObject>;
    get(key: string): Promise<Readable>;
    head(key: string): Promise<StoredObject | undefined>;
    /** Every object under the prefix, paging through all results. */
    list(prefix: string): AsyncIterable<StoredObject>;
    /**
     * Server-side copy of `from`'s current version to `to`: the bytes never pass through this process
     * (S3 CopyObject, Azure Copy Blob). `to` gets opts' retention, content type and metadata. Rejects,
     * before copying, unless `from` is recorded with exactly opts.sha256 and opts.bytes: a copy is only
     * as good as the claim that it holds the content a manifest lists.
     */
    copy(from: string, to: string, opts: PutOptions): Promise<StoredObject>;
    /** Attempts to delete the current version (and, with versionId, that version). Rejects when locked. */
    delete(key: string, versionId?: string): Promise<void>;
}

/** What every store's copy checks first: the source exists and is recorded with the claimed content. */
export function assertCopySource(location: string, from: string, source: StoredObject | undefined, opts: PutOptions): StoredObject {
    if (!source) throw new Error(`copy from ${location}/${from}: no such object`);
    if (source.sha256 !== opts.sha256 || source.bytes !== opts.bytes) {
        throw new Error(
            `copy from ${location}/${from}: it holds ${source.bytes} bytes with sha256 ${source.sha256 ?? "unrecorded"}, ` +
                `not the claimed ${opts.bytes} bytes with sha256 ${opts.sha256}`,
        );
    }
    return source;
}
