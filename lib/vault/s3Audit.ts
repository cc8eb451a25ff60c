// The S3 calls of the retention audit (lib/vault/audit.ts): the bucket's Object Lock configuration,
// every version (current and noncurrent) under a prefix, each version's own retention and legal hold,
// and one delete attempt whose refusal is classified by its reason.
//
// Why the reason matters: on AWS an Object Lock refusal and an IAM denial are both HTTP 403
// `AccessDenied`. Only the message tells them apart — "Access Denied because object protected by
// object lock." for the lock, "User: … is not authorized to perform: s3:DeleteObjectVersion …" (or a
// bare "Access Denied.") for IAM. A proof that counts an IAM denial as a lock proves nothing about
// the lock, so every other refusal is classified "refused-other".
import {
    DeleteObjectCommand,
    GetObjectLegalHoldCommand,
    GetObjectLockConfigurationCommand,
    GetObjectRetentionCommand,
    ListObjectVersionsCommand,
    S3Client,
    S3ServiceException,
} from "@aws-sdk/client-s3";
import { ExternalServiceError } from "../errors";

export interface BucketLockConfiguration {
    enabled: boolean;
    /** The default retention rule, if the bucket has one. */
    mode?: string;
    days?: number;
    years?: number;
}

export interface ObjectVersionEntry {
    key: string;
    versionId: string;
    isLatest: boolean;
    lastModified: Date;
    bytes: number;
    etag?: string;
}

export interface VersionListing {
    versions: ObjectVersionEntry[];
    /** Delete markers: no data of their own, but a current one hides the newest backup from plain reads. */
    deleteMarkers: { key: string; versionId: string; isLatest: boolean; lastModified: Date }[];
}

/** A version's own Object Lock state. No mode/retainUntil: the version carries no retention of its own. */
export interface VersionLock {
    mode?: string;
    retainUntil?: Date;
    legalHold: boolean;
}

export interface VersionHead {
    etag?: string;
    bytes: number;
}

export type DeleteAttempt =
    | { outcome: "deleted" }
    /** Refused because of Object Lock: the refusal a retention proof needs. */
    | { outcome: "refused-object-lock"; code: string; httpStatus?: number; message: string }
    /** Refused for any other reason (IAM, bucket policy, missing bucket): proves nothing about the lock. */
    | { outcome: "refused-other"; code: string; httpStatus?: number; message: string }
    /** No answer from S3 at all (network, credentials, timeout). */
    | { outcome: "error"; message: string }
    /** Not attempted: this kind of vault has nothing that could refuse a delete on its own authority. */
    | { outcome: "impossible"; message: string };

/** What the audit reads and tries; S3AuditSource in production, fakes in unit tests. */
export interface VaultAuditSource {
    readonly location: string;
    lockConfiguration(): Promise<BucketLockConfiguration>;
    versions(prefix: string): Promise<VersionListing>;
    lock(key: string, versionId: string): Promise<VersionLock>;
    /** The version as it is now; undefined when it no longer exists. */
    head(key: string, versionId: string): Promise<VersionHead | undefined>;
    /** DeleteObject of exactly this version, without x-amz-bypass-governance-retention. Never throws. */
    deleteVersion(key: string, versionId: string): Promise<DeleteAttempt>;
}

/**
 * What DeleteObject of a version under Object Lock answers, on the servers this project runs against:
 * - AWS S3: HTTP 403, AccessDenied, "Access Denied because object protected by object lock." (for
 *   COMPLIANCE, and for GOVERNANCE without the bypass header; getmoto/moto pins it in its tests run
 *   against AWS itself, tests/test_s3/test_s3_lock.py);
 * - Versity Gateway v1.8.0 (the test server): its s3err.ErrObjectLocked, the same three values.
 * Servers that answer otherwise — MinIO's 400 InvalidRequest "Object is WORM protected and cannot be
 * overwritten", which the gateway also sent before versity/versitygw#1330 — are not accepted: a proof
 * built on a wording we have not pinned would be a guess, and a guess must not PASS.
 */
export const OBJECT_LOCK_REFUSAL = { code: "AccessDenied", httpStatus: 403, message: "Access Denied because object protected by object lock." } as const;

/**
 * True only for exactly the refusal above. Any other AccessDenied is IAM or a bucket policy speaking
 * ("Access Denied.", "User: … is not authorized to perform: …"), not the lock. `httpStatus`, when the
 * caller has it (the audit always does), must be 403 as well.
 */
export function isObjectLockRefusal(code: string, message: string, httpStatus?: number): boolean {
    return code === OBJECT_LOCK_REFUSAL.code && message === OBJECT_LOCK_REFUSAL.message
        && (httpStatus === undefined || httpStatus === OBJECT_LOCK_REFUSAL.httpStatus);
}

/** DeleteAttempt for an error thrown by a DeleteObject call. */
export function classifyDeleteError(err: unknown): DeleteAttempt {
    if (err instanceof S3ServiceException) {
        const code = err.name;
        const httpStatus = err.$metadata?.httpStatusCode;
        const message = err.message;
        // An S3 error always comes with its HTTP status; without one nothing says it was S3's refusal.
        return httpStatus !== undefined && isObjectLockRefusal(code, message, httpStatus)
            ? { outcome: "refused-object-lock", code, httpStatus, message }
            : { outcome: "refused-other", code, httpStatus, message };
    }
    return { outcome: "error", message: (err as Error)?.message ?? String(err) };
}

function s3Failure(err: unknown, what: string): ExternalServiceError {
    if (err instanceof S3ServiceException) {
        return new ExternalServiceError("S3", `${what} failed (${err.name}, HTTP ${err.$metadata?.httpStatusCode ?? "?"}): ${err.message}`, { cause: err });
    }
    return new ExternalServiceError("S3", `${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

const isCode = (err: unknown, ...names: string[]) => err instanceof S3ServiceException && names.includes(err.name);

export interface S3AuditSourceOptions {
    bucket: string;
    /** A ready client (tests); otherwise one is built from the fields below. */
    client?: S3Client;
    region?: string;
    /** Custom endpoint (test server); turns on path-style addressing. */
    endpoint?: string;
    /** Default: the SDK's credential chain (in CI: the retention-auditor role assumed through OIDC). */
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export class S3AuditSource implements VaultAuditSource {
    readonly location: string;
    private readonly bucket: string;
    private readonly client: S3Client;

    constructor(opts: S3AuditSourceOptions) {
        if (!opts.bucket) throw new Error("S3AuditSource: bucket is required");
        this.bucket = opts.bucket;
        this.location = `s3://${opts.bucket}`;
        this.client = opts.client ?? new S3Client({
            region: opts.region ?? "us-east-1",
            endpoint: opts.endpoint,
            forcePathStyle: opts.endpoint !== undefined,
            credentials: opts.credentials,
        });
    }

    async lockConfiguration(): Promise<BucketLockConfiguration> {
        try {
            const out = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
            const c = out.ObjectLockConfiguration;
            const d = c?.Rule?.DefaultRetention;
            return { enabled: c?.ObjectLockEnabled === "Enabled", mode: d?.Mode, days: d?.Days, years: d?.Years };
        } catch (err) {
            if (isCode(err, "ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound")) return { enabled: false };
            throw s3Failure(err, `reading the Object Lock configuration of ${this.location}`);
        }
    }

    async versions(prefix: string): Promise<VersionListing> {
        const listing: VersionListing = { versions: [], deleteMarkers: [] };
        let keyMarker: string | undefined;
        let versionIdMarker: string | undefined;
        for (;;) {
            let page;
            try {
                page = await this.client.send(new ListObjectVersionsCommand({
                    Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker,
                }));
            } catch (err) {
                throw s3Failure(err, `listing the versions of ${this.location}/${prefix}`);
            }
            for (const v of page.Versions ?? []) {
                if (!v.Key || !v.VersionId) continue;
                listing.versions.push({
                    key: v.Key, versionId: v.VersionId, isLatest: v.IsLatest === true,
                    lastModified: v.LastModified ?? new Date(0), bytes: v.Size ?? 0, etag: v.ETag,
                });
            }
            for (const m of page.DeleteMarkers ?? []) {
                if (!m.Key || !m.VersionId) continue;
                listing.deleteMarkers.push({ key: m.Key, versionId: m.VersionId, isLatest: m.IsLatest === true, lastModified: m.LastModified ?? new Date(0) });
            }
            if (!page.IsTruncated) return listing;
            keyMarker = page.NextKeyMarker;
            versionIdMarker = page.NextVersionIdMarker;
            if (!keyMarker && !versionIdMarker) {
                throw new Error(`listing the versions of ${this.location}/${prefix}: the server said the listing is truncated but gave no marker to continue from`);
            }
        }
    }

    async lock(key: string, versionId: string): Promise<VersionLock> {
        const what = `${this.location}/${key} (version ${versionId})`;
        let mode: string | undefined;
        let retainUntil: Date | undefined;
        try {
            const r = await this.client.send(new GetObjectRetentionCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
            mode = r.Retention?.Mode;
            retainUntil = r.Retention?.RetainUntilDate;
        } catch (err) {
            // No retention of the version's own (AWS and the gateway answer the same way).
            if (!isCode(err, "NoSuchObjectLockConfiguration")) throw s3Failure(err, `reading the retention of ${what}`);
        }
        let legalHold = false;
        try {
            const h = await this.client.send(new GetObjectLegalHoldCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
            legalHold = h.LegalHold?.Status === "ON";
        } catch (err) {
            // A hold never placed reads as "no configuration", not as OFF.
            if (!isCode(err, "NoSuchObjectLockConfiguration")) throw s3Failure(err, `reading the legal hold of ${what}`);
        }
        return { mode, retainUntil, legalHold };
    }

    /** From the version listing, not HeadObject: needs no s3:GetObjectVersion and no KMS. */
    async head(key: string, versionId: string): Promise<VersionHead | undefined> {
        const { versions } = await this.versions(key);
        const v = versions.find((x) => x.key === key && x.versionId === versionId);
        return v ? { etag: v.etag, bytes: v.bytes } : undefined;
    }

    async deleteVersion(key: string, versionId: string): Promise<DeleteAttempt> {
        try {
            await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId }));
            return { outcome: "deleted" };
        } catch (err) {
            return classifyDeleteError(err);
        }
    }
}
