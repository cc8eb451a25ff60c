// The Azure archive (runbook 004 §1.1/§1.2) as a BlobStore over @azure/storage-blob.
// Retention has two modes:
// - "policy": a blob-level immutability policy (time-based retention) set right after the upload is
//   verified. The service then refuses overwrite and delete. Needs a container with version-level
//   immutability support enabled (an account setting, made by the infrastructure code).
// - "metadata": the retain-until time is recorded as blob metadata and enforced by this class only.
//   That is advisory, not immutability: anyone with the account key can still delete the blob. It
//   exists because Azurite (our test server) does not implement immutability policies.
// Both modes record `retainuntil` and `sha256` metadata, so the retention audit can read them back.
import { Readable } from "node:stream";
import {
    BlobServiceClient,
    type ContainerClient,
    type StorageSharedKeyCredential,
} from "@azure/storage-blob";
import type { TokenCredential } from "@azure/core-auth";
import { sha256Tap } from "../backup/checksum";
import { CheckFailedError, ExternalServiceError, RefusedError } from "../errors";
import { assertCopySource, type BlobStore, type PutOptions, type StoredObject } from "./blobStore";

export type AzureRetentionMode = "policy" | "metadata";

export interface AzureStoreOptions {
    container: string;
    /** Either a connection string ... */
    connectionString?: string;
    /** ... or the account URL plus a credential. */
    accountUrl?: string;
    credential?: StorageSharedKeyCredential | TokenCredential;
    /** Default "policy". */
    retention?: AzureRetentionMode;
    /** Block size of streamed uploads; memory held is blockBytes × (concurrency + 1). Default 4 MiB. */
    blockBytes?: number;
    concurrency?: number;
    /** Page size for list(); default the service's (5000). */
    listPageSize?: number;
    clock?: () => Date;
}

export class AzureBlobStore implements BlobStore {
    readonly location: string;
    private readonly container: ContainerClient;
    private readonly retention: AzureRetentionMode;
    private readonly clock: () => Date;

    constructor(private readonly opts: AzureStoreOptions) {
        let service: BlobServiceClient;
        if (opts.connectionString) service = BlobServiceClient.fromConnectionString(opts.connectionString);
        else if (opts.accountUrl && opts.credential) service = new BlobServiceClient(opts.accountUrl, opts.credential);
        else throw new Error("AzureBlobStore needs a connectionString, or an accountUrl and a credential");
        this.container = service.getContainerClient(opts.container);
        // The URL carries no credentials (a SAS would be in the query string, which is dropped).
        const url = new URL(this.container.url);
        this.location = `azure://${url.host}${url.pathname}`;
        this.retention = opts.retention ?? "policy";
        this.clock = opts.clock ?? (() => new Date());
    }

    /** Creates the container when missing (tests, first deployment without IaC). */
    async ensureContainer(): Promise<void> {
        await this.container.createIfNotExists();
    }

    private async assertUnlocked(key: string, action: string): Promise<void> {
        const existing = await this.head(key);
        if (existing?.retainUntil && existing.retainUntil.getTime() > this.clock().getTime()) {
            throw new RefusedError(`${action} refused: ${key} is retained until ${existing.retainUntil.toISOString()}`, { code: "RETENTION_REFUSED" });
        }
    }

    async put(key: string, body: Readable, opts: PutOptions): Promise<StoredObject> {
        await this.assertUnlocked(key, "overwrite");
        const blob = this.container.getBlockBlobClient(key);
        const hashed = sha256Tap();
        const tap = hashed.stream;
        body.on("error", (err) => tap.destroy(err));
        const metadata: Record<string, string> = { ...(opts.metadata ?? {}), sha256: opts.sha256 };
        if (opts.retainUntil) metadata.retainuntil = opts.retainUntil.toISOString();
        // uploadStream stages fixed-size blocks with bounded concurrency, then commits the block
        // list: memory stays at blockBytes × (concurrency + 1) whatever the size.
        await blob.uploadStream(body.pipe(tap), this.opts.blockBytes ?? 4 << 20, this.opts.concurrency ?? 4, {
            blobHTTPHeaders: { blobContentType: opts.contentType ?? "application/octet-stream" },
            metadata,
        });
        const sha256 = hashed.digest();
        const bytes = hashed.bytes();
        if (sha256 !== opts.sha256 || bytes !== opts.bytes) {
            // Not yet locked, so the bad copy can still be removed.
            await blob.deleteIfExists();
            throw new CheckFailedError(`checksum mismatch for ${key}: declared sha256 ${opts.sha256} (${opts.bytes} bytes), uploaded ${sha256} (${bytes} bytes)`);
        }
        if (opts.retainUntil && this.retention === "policy") {
            await blob.setImmutabilityPolicy({ expiriesOn: opts.retainUntil, policyMode: "Unlocked" });
        }
        return (await this.head(key))!;
    }

    /**
     * Copy Blob inside the account (the service authorizes the same-account source with this
     * request's credential), polled to completion, then the new blob's retention as in put.
     */
    async copy(from: string, to: string, opts: PutOptions): Promise<StoredObject> {
        assertCopySource(this.location, from, await this.head(from), opts);
        await this.assertUnlocked(to, "overwrite");
        const source = this.container.getBlobClient(from);
        const blob = this.container.getBlockBlobClient(to);
        const metadata: Record<string, string> = { ...(opts.metadata ?? {}), sha256: opts.sha256 };
        if (opts.retainUntil) metadata.retainuntil = opts.retainUntil.toISOString();
        const poller = await blob.beginCopyFromURL(source.url, { metadata, intervalInMs: 500 });
        const result = await poller.pollUntilDone();
        if (result.copyStatus !== "success") throw new ExternalServiceError("AZURE", `copy of ${this.location}/${from} to ${to} ended ${result.copyStatus ?? "without a status"}`);
        const copied = await this.head(to);
        if (copied?.bytes !== opts.bytes) {
            await blob.deleteIfExists();
            throw new ExternalServiceError("AZURE", `copy of ${this.location}/${from} to ${to}: ${copied?.bytes ?? 0} bytes arrived, ${opts.bytes} expected`);
        }
        if (opts.contentType && copied.contentType !== opts.contentType) await blob.setHTTPHeaders({ blobContentType: opts.contentType });
        if (opts.retainUntil && this.retention === "policy") {
            await blob.setImmutabilityPolicy({ expiriesOn: opts.retainUntil, policyMode: "Unlocked" });
        }
        return (await this.head(to))!;
    }

    async get(key: string): Promise<Readable> {
        const res = await this.container.getBlobClient(key).download();
        if (!res.readableStreamBody) throw new Error(`no body for ${key}`);
        return res.readableStreamBody instanceof Readable
            ? res.readableStreamBody
            : Readable.from(res.readableStreamBody as AsyncIterable<Buffer>);
    }

    private toStored(key: string, props: {
        contentLength?: number;
        lastModified?: Date;
        contentType?: string;
        metadata?: Record<string, string>;
        immutabilityPolicyExpiresOn?: Date;
        immutabilityPolicyMode?: string;
        versionId?: string;
    }): StoredObject {
        const meta = props.metadata ?? {};
        const fromMeta = meta.retainuntil ? new Date(meta.retainuntil) : undefined;
        const retainUntil = props.immutabilityPolicyExpiresOn ?? fromMeta;
        return {
            key,
            bytes: props.contentLength ?? 0,
            lastModified: props.lastModified ?? new Date(0),
            sha256: meta.sha256,
            versionId: props.versionId,
            retainUntil,
            retentionMode: props.immutabilityPolicyExpiresOn ? props.immutabilityPolicyMode : retainUntil ? "metadata" : undefined,
            contentType: props.contentType,
            metadata: meta,
        };
    }

    async head(key: string): Promise<StoredObject | undefined> {
        try {
            const p = await this.container.getBlobClient(key).getProperties();
            return this.toStored(key, {
                contentLength: p.contentLength,
                lastModified: p.lastModified,
                contentType: p.contentType,
                metadata: p.metadata,
                immutabilityPolicyExpiresOn: p.immutabilityPolicyExpiresOn,
                immutabilityPolicyMode: p.immutabilityPolicyMode,
                versionId: p.versionId,
            });
        } catch (err) {
            if ((err as { statusCode?: number }).statusCode === 404) return undefined;
            throw err;
        }
    }

    async *list(prefix: string): AsyncIterable<StoredObject> {
        const pages = this.container
            .listBlobsFlat({ prefix, includeMetadata: true, includeImmutabilityPolicy: true })
            .byPage(this.opts.listPageSize ? { maxPageSize: this.opts.listPageSize } : {});
        for await (const page of pages) {
            for (const item of page.segment.blobItems) {
                yield this.toStored(item.name, {
                    contentLength: item.properties.contentLength,
                    lastModified: item.properties.lastModified,
                    contentType: item.properties.contentType,
                    metadata: item.metadata,
                    immutabilityPolicyExpiresOn: item.properties.immutabilityPolicyExpiresOn,
                    immutabilityPolicyMode: item.properties.immutabilityPolicyMode,
                    versionId: item.versionId,
                });
            }
        }
    }

    async delete(key: string, versionId?: string): Promise<void> {
        await this.assertUnlocked(key, "delete");
        const blob = this.container.getBlobClient(key);
        await (versionId ? blob.withVersion(versionId) : blob).delete();
    }
}
