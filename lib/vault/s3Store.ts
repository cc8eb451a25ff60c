// The vault's S3 side: a BlobStore over S3 Object Lock (AWS in production, Versity Gateway in the tests).
//
// AWS refuses a PutObject/UploadPart with Object Lock headers that carries neither Content-MD5 nor an
// x-amz-checksum-*. Content-MD5 would need the whole body hashed before the request starts, which a
// stream cannot give; `ChecksumAlgorithm: "SHA256"` makes the SDK compute a flexible checksum per
// request (per part for multipart uploads), which AWS accepts in place of Content-MD5. Whether
// an S3-compatible test server insists on either is not relied on: the tests assert that the SHA256
// checksum is actually stored.
// The whole-object sha256 the caller claims is also stored as the `sha256` metadata: a multipart
// object's S3 checksum is a checksum of part checksums, which no one can compare with `sha256sum`.
import { Readable } from "node:stream";
import { sha256Tap } from "../backup/checksum";
import { CheckFailedError, ExternalServiceError, RefusedError, type ErrorOptions } from "../errors";
import {
    AbortMultipartUploadCommand,
    CompleteMultipartUploadCommand,
    CopyObjectCommand,
    CreateMultipartUploadCommand,
    UploadPartCopyCommand,
    DeleteObjectCommand,
    GetObjectCommand,
    GetObjectRetentionCommand,
    HeadObjectCommand,
    ListObjectsV2Command,
    S3Client,
    S3ServiceException,
    type ObjectLockRetentionMode,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { assertCopySource, type BlobStore, type PutOptions, type StoredObject } from "./blobStore";
import { isObjectLockRefusal } from "./s3Audit";

export type ObjectLockMode = "COMPLIANCE" | "GOVERNANCE";

export interface S3StoreOptions {
    bucket: string;
    /** Mode of the retention set on puts with retainUntil. Default COMPLIANCE (runbook 004). */
    lockMode?: ObjectLockMode;
    /** A ready client (tests); otherwise one is built from the fields below. */
    client?: S3Client;
    region?: string;
    /** Custom endpoint (an S3-compatible server); turns on path-style addressing. */
    endpoint?: string;
    /** Default: the SDK's credential chain (AWS_* variables, profile, role). */
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    /** Multipart part size. Default 8 MiB; memory stays about partSize × queueSize. */
    partSizeBytes?: number;
    queueSize?: number;
}

/** A delete or overwrite the store refused because the object version is under retention (code RETENTION_REFUSED, exit 3). */
export class RetentionRefusedError extends RefusedError {
    /** @param serviceCode S3's error code, e.g. AccessDenied. */
    constructor(message: string, readonly serviceCode: string, options: ErrorOptions = {}) {
        super(message, { ...options, code: "RETENTION_REFUSED" });
        this.name = "RetentionRefusedError";
    }
}

const MIN_PART = 5 * 1024 * 1024; // S3's minimum part size
// CopyObject copies at most 5 GiB; larger objects are copied part by part (UploadPartCopy).
const MAX_SINGLE_COPY = 5 * 1024 * 1024 * 1024;
const COPY_PART = 512 * 1024 * 1024;

function fromS3Error(err: unknown, what: string): Error {
    if (err instanceof S3ServiceException) {
        const code = err.name;
        // Only a refusal on Object Lock's authority is a retention refusal: an IAM or bucket-policy
        // AccessDenied (same code, other message) is reported as the failure it is.
        if (isObjectLockRefusal(code, err.message, err.$metadata.httpStatusCode)) {
            return new RetentionRefusedError(`${what} refused (${code}): ${err.message}`, code, { cause: err });
        }
        return new ExternalServiceError("S3", `${what} failed (${code}, HTTP ${err.$metadata.httpStatusCode ?? "?"}): ${err.message}`, { cause: err });
    }
    return new ExternalServiceError("S3", `${what} failed: ${(err as Error).message}`, { cause: err });
}

function isNotFound(err: unknown): boolean {
    return err instanceof S3ServiceException && (err.name === "NotFound" || err.name === "NoSuchKey" || err.$metadata.httpStatusCode === 404);
}

export class S3Store implements BlobStore {
    readonly location: string;
    readonly lockMode: ObjectLockMode;
    private readonly client: S3Client;
    private readonly bucket: string;
    private readonly partSize: number;
    private readonly queueSize: number;

    constructor(opts: S3StoreOptions) {
        if (!opts.bucket) throw new Error("S3Store: bucket is required");
        this.bucket = opts.bucket;
        this.location = `s3://${opts.bucket}`;
        this.lockMode = opts.lockMode ?? "COMPLIANCE";
        if (this.lockMode !== "COMPLIANCE" && this.lockMode !== "GOVERNANCE") {
            throw new Error(`object lock mode must be COMPLIANCE or GOVERNANCE (got ${JSON.stringify(opts.lockMode)})`);
        }
        this.partSize = Math.max(MIN_PART, opts.partSizeBytes ?? 8 * 1024 * 1024);
        this.queueSize = opts.queueSize ?? 2;
        this.client = opts.client ?? new S3Client({
            region: opts.region ?? "us-east-1",
            endpoint: opts.endpoint,
            forcePathStyle: opts.endpoint !== undefined,
            credentials: opts.credentials,
        });
    }

    async put(key: string, body: Readable, opts: PutOptions): Promise<StoredObject> {
        if (!/^[0-9a-f]{64}$/.test(opts.sha256)) throw new Error(`put ${key}: sha256 must be 64 lowercase hex digits`);
        // Hash what actually goes over the wire, so a body that changed under us (or a wrong claim)
        // is reported instead of silently stored under a checksum it does not have.
        const hashed = sha256Tap();
        const tee = hashed.stream;
        body.on("error", (err) => tee.destroy(err));
        const upload = new Upload({
            client: this.client,
            partSize: this.partSize,
            queueSize: this.queueSize,
            leavePartsOnError: false,
            params: {
                Bucket: this.bucket,
                Key: key,
                Body: body.pipe(tee),
                ContentType: opts.contentType ?? "application/octet-stream",
                ChecksumAlgorithm: "SHA256",
                Metadata: { ...(opts.metadata ?? {}), sha256: opts.sha256 },
                ...(opts.retainUntil
                    ? { ObjectLockMode: this.lockMode as ObjectLockRetentionMode, ObjectLockRetainUntilDate: opts.retainUntil }
                    : {}),
            },
        });
        let versionId: string | undefined;
        try {
            const out = await upload.done();
            versionId = out.VersionId;
        } catch (err) {
            throw fromS3Error(err, `upload of ${this.location}/${key}`);
        }
        const actual = hashed.digest();
        const bytes = hashed.bytes();
        if (actual !== opts.sha256 || bytes !== opts.bytes) {
            throw new CheckFailedError(
                `upload of ${this.location}/${key}: the content sent (${bytes} bytes, sha256 ${actual}) does not match ` +
                    `the claimed ${opts.bytes} bytes, sha256 ${opts.sha256}; the stored version ${versionId ?? "?"} will fail verification`,
            );
        }
        return {
            key,
            bytes,
            lastModified: new Date(),
            sha256: opts.sha256,
            versionId,
            retainUntil: opts.retainUntil,
            retentionMode: opts.retainUntil ? this.lockMode : undefined,
            contentType: opts.contentType ?? "application/octet-stream",
            metadata: opts.metadata,
        };
    }

    /**
     * Server-side copy (CopyObject; UploadPartCopy above 5 GiB) of the current version of `from`, pinned
     * to the version whose sha256 was checked, with the new object's own retention and metadata.
     * Object Lock copies carry a checksum like puts do (ChecksumAlgorithm).
     */
    async copy(from: string, to: string, opts: PutOptions): Promise<StoredObject> {
        const source = assertCopySource(this.location, from, await this.head(from), opts);
        const path = from.split("/").map(encodeURIComponent).join("/");
        const copySource = `${this.bucket}/${path}${source.versionId ? `?versionId=${encodeURIComponent(source.versionId)}` : ""}`;
        const target = {
            Bucket: this.bucket,
            Key: to,
            ContentType: opts.contentType ?? source.contentType ?? "application/octet-stream",
            ChecksumAlgorithm: "SHA256" as const,
            Metadata: { ...(opts.metadata ?? {}), sha256: opts.sha256 },
            ...(opts.retainUntil
                ? { ObjectLockMode: this.lockMode as ObjectLockRetentionMode, ObjectLockRetainUntilDate: opts.retainUntil }
                : {}),
        };
        let versionId: string | undefined;
        try {
            if (source.bytes <= MAX_SINGLE_COPY) {
                const out = await this.client.send(new CopyObjectCommand({ ...target, CopySource: copySource, MetadataDirective: "REPLACE" }));
                versionId = out.VersionId;
            } else {
                versionId = await this.copyInParts(copySource, source.bytes, target);
            }
        } catch (err) {
            throw fromS3Error(err, `copy of ${this.location}/${from} to ${to}`);
        }
        return {
            key: to,
            bytes: source.bytes,
            lastModified: new Date(),
            sha256: opts.sha256,
            versionId,
            retainUntil: opts.retainUntil,
            retentionMode: opts.retainUntil ? this.lockMode : undefined,
            contentType: target.ContentType,
            metadata: opts.metadata,
        };
    }

    private async copyInParts(copySource: string, bytes: number, target: ConstructorParameters<typeof CreateMultipartUploadCommand>[0]): Promise<string | undefined> {
        const { UploadId } = await this.client.send(new CreateMultipartUploadCommand(target));
        try {
            const parts: { PartNumber: number; ETag?: string; ChecksumSHA256?: string }[] = [];
            for (let start = 0, n = 1; start < bytes; start += COPY_PART, n++) {
                const end = Math.min(bytes, start + COPY_PART) - 1;
                const out = await this.client.send(new UploadPartCopyCommand({
                    Bucket: target.Bucket, Key: target.Key, UploadId, PartNumber: n, CopySource: copySource, CopySourceRange: `bytes=${start}-${end}`,
                }));
                parts.push({ PartNumber: n, ETag: out.CopyPartResult?.ETag, ChecksumSHA256: out.CopyPartResult?.ChecksumSHA256 });
            }
            const done = await this.client.send(new CompleteMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId, MultipartUpload: { Parts: parts } }));
            return done.VersionId;
        } catch (err) {
            await this.client.send(new AbortMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId })).catch(() => undefined);
            throw err;
        }
    }

    async get(key: string, versionId?: string): Promise<Readable> {
        try {
            const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
            if (!(out.Body instanceof Readable)) throw new Error("response body is not a Node.js stream");
            return out.Body;
        } catch (err) {
            throw fromS3Error(err, `download of ${this.location}/${key}`);
        }
    }

    /** Rich: size, checksum metadata, version and the retention in force (HeadObject returns it). */
    async head(key: string, versionId?: string): Promise<StoredObject | undefined> {
        try {
            const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
            return {
                key,
                bytes: h.ContentLength ?? 0,
                lastModified: h.LastModified ?? new Date(0),
                sha256: h.Metadata?.sha256,
                versionId: h.VersionId,
                retainUntil: h.ObjectLockRetainUntilDate,
                retentionMode: h.ObjectLockMode,
                contentType: h.ContentType,
                metadata: h.Metadata,
            };
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw fromS3Error(err, `head of ${this.location}/${key}`);
        }
    }

    /** The retention of one version as GetObjectRetention reports it (undefined: none set). */
    async retention(key: string, versionId?: string): Promise<{ mode?: string; retainUntil?: Date } | undefined> {
        try {
            const r = await this.client.send(new GetObjectRetentionCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
            return r.Retention ? { mode: r.Retention.Mode, retainUntil: r.Retention.RetainUntilDate } : undefined;
        } catch (err) {
            if (err instanceof S3ServiceException && /NoSuchObjectLockConfiguration|ObjectLockConfigurationNotFound/.test(err.name)) return undefined;
            throw fromS3Error(err, `retention of ${this.location}/${key}`);
        }
    }

    /** Cheap: one ListObjectsV2 page per 1000 keys, no per-object calls (use head for retention). */
    async *list(prefix: string): AsyncIterable<StoredObject> {
        let token: string | undefined;
        do {
            let page;
            try {
                page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
            } catch (err) {
                throw fromS3Error(err, `listing of ${this.location}/${prefix}`);
            }
            for (const o of page.Contents ?? []) {
                if (!o.Key) continue;
                yield { key: o.Key, bytes: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
            }
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
    }

    /**
     * Deletes a version. Without versionId the current version's id is looked up first: a plain
     * DeleteObject on a versioned bucket only adds a delete marker (always allowed, data untouched),
     * which would make a lock look breakable and a delete look successful.
     */
    async delete(key: string, versionId?: string): Promise<void> {
        const target = versionId ?? (await this.head(key))?.versionId;
        try {
            await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: target }));
        } catch (err) {
            throw fromS3Error(err, `delete of ${this.location}/${key}${target ? ` (version ${target})` : ""}`);
        }
    }
}
