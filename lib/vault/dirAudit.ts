// The retention audit's view of a directory vault (BACKUP_BUCKET=file:///dir: air-gapped runs and
// rehearsals). A directory has no Object Lock: DirBlobStore refuses to overwrite or delete an object
// before its recorded until-date, but that is this program's own code speaking — anyone with access to
// the filesystem removes the file. So the audit reads what it can (every object, its recorded
// retention) and says plainly that immutability is not there: the bucket lock check fails (not
// enabled) and the delete proof is not attempted (a refusal by our own code would prove nothing).
// The result of an audit of a directory vault is therefore always FAIL, never PASS or SKIPPED.
import type { DirBlobStore } from "./dirStore";
import type { BucketLockConfiguration, DeleteAttempt, VaultAuditSource, VersionHead, VersionListing, VersionLock } from "./s3Audit";

/** The version id S3 gives objects of an unversioned bucket; a directory keeps one version per key. */
const ONLY_VERSION = "null";

export class DirAuditSource implements VaultAuditSource {
    readonly location: string;

    constructor(private readonly store: DirBlobStore) {
        this.location = store.location;
    }

    async lockConfiguration(): Promise<BucketLockConfiguration> {
        return { enabled: false };
    }

    async versions(prefix: string): Promise<VersionListing> {
        const versions: VersionListing["versions"] = [];
        for await (const o of this.store.list(prefix)) {
            versions.push({ key: o.key, versionId: ONLY_VERSION, isLatest: true, lastModified: o.lastModified, bytes: o.bytes, etag: o.sha256 });
        }
        return { versions, deleteMarkers: [] };
    }

    /** The retention recorded beside the file: enforced by this program only, reported as recorded. */
    async lock(key: string, versionId: string): Promise<VersionLock> {
        const o = versionId === ONLY_VERSION ? await this.store.head(key) : undefined;
        if (!o) throw new Error(`${key} (version ${versionId}) does not exist in ${this.location}`);
        return { mode: o.retentionMode, retainUntil: o.retainUntil, legalHold: false };
    }

    async head(key: string, versionId: string): Promise<VersionHead | undefined> {
        const o = versionId === ONLY_VERSION ? await this.store.head(key) : undefined;
        return o && { etag: o.sha256, bytes: o.bytes };
    }

    async deleteVersion(): Promise<DeleteAttempt> {
        return {
            outcome: "impossible",
            message: `${this.location} is a directory: nothing but this program's own code refuses a delete there (anyone with filesystem access removes the files), so immutability cannot hold — use an S3 bucket with Object Lock as the vault`,
        };
    }
}
