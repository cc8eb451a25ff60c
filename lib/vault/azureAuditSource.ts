// The data-plane reads of the Azure archive's retention audit (lib/vault/azureAudit.ts): the
// container's immutability flags (Get Container Properties: x-ms-has-immutability-policy,
// x-ms-has-legal-hold, x-ms-immutable-storage-with-versioning-enabled) and every blob and blob version
// under a prefix with what protects it (List Blobs with include=metadata,versions,immutabilitypolicy,
// legalhold: creation time, x-ms-immutability-policy-until-date/-mode, x-ms-legal-hold, the
// `retainuntil` metadata the mirror records). Read-only: nothing here writes or deletes.
import { BlobServiceClient, type ContainerClient, type StorageSharedKeyCredential } from "@azure/storage-blob";
import type { TokenCredential } from "@azure/core-auth";
import { ExternalServiceError } from "../errors";

export interface ContainerImmutability {
    /** x-ms-has-immutability-policy */
    hasImmutabilityPolicy?: boolean;
    /** x-ms-has-legal-hold */
    hasLegalHold?: boolean;
    /** x-ms-immutable-storage-with-versioning-enabled (absent: the service did not say). */
    versionLevelImmutability?: boolean;
}

export interface ArchiveBlob {
    key: string;
    /** Absent where the service keeps no versions (Azurite). */
    versionId?: string;
    /** False for a previous version; true for the current one (or when the service reports no versions). */
    isCurrent: boolean;
    bytes: number;
    /** x-ms-creation-time: what a container policy's days count from; LastModified when absent. */
    createdOn: Date;
    lastModified: Date;
    /** The blob's own (version-level) policy, if any. */
    policyUntil?: Date;
    /** Locked, Unlocked, or Mutable (the service's word for "no policy in force"). */
    policyMode?: string;
    legalHold: boolean;
    /** The `retainuntil` metadata the mirror records (advisory: nothing enforces it). */
    recordedRetainUntil?: Date;
}

/** What the Azure audit reads; AzureArchiveAuditSource in production, fakes in unit tests. */
export interface ArchiveAuditSource {
    readonly location: string;
    containerImmutability(): Promise<ContainerImmutability>;
    blobs(prefix: string): Promise<ArchiveBlob[]>;
}

export interface AzureArchiveAuditSourceOptions {
    container: string;
    connectionString?: string;
    accountUrl?: string;
    credential?: StorageSharedKeyCredential | TokenCredential;
}

const validDate = (s: string | undefined): Date | undefined => {
    if (!s) return undefined;
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? undefined : d;
};

function azureFailure(err: unknown, what: string): ExternalServiceError {
    const e = err as { statusCode?: number; code?: string; message?: string };
    const why = e.statusCode !== undefined ? `${e.code ?? "error"}, HTTP ${e.statusCode}` : "no answer";
    // The SDK's message carries the service's text (no credentials); keep its first line.
    return new ExternalServiceError("AZURE", `${what} failed (${why}): ${(e.message ?? String(err)).split("\n")[0]}`, { cause: err });
}

export class AzureArchiveAuditSource implements ArchiveAuditSource {
    readonly location: string;
    private readonly container: ContainerClient;

    constructor(opts: AzureArchiveAuditSourceOptions) {
        let service: BlobServiceClient;
        if (opts.connectionString) service = BlobServiceClient.fromConnectionString(opts.connectionString);
        else if (opts.accountUrl && opts.credential) service = new BlobServiceClient(opts.accountUrl, opts.credential);
        else throw new Error("AzureArchiveAuditSource needs a connectionString, or an accountUrl and a credential");
        this.container = service.getContainerClient(opts.container);
        const url = new URL(this.container.url);
        this.location = `azure://${url.host}${url.pathname}`;
    }

    async containerImmutability(): Promise<ContainerImmutability> {
        try {
            const p = await this.container.getProperties();
            return { hasImmutabilityPolicy: p.hasImmutabilityPolicy, hasLegalHold: p.hasLegalHold, versionLevelImmutability: p.isImmutableStorageWithVersioningEnabled };
        } catch (err) {
            throw azureFailure(err, `reading the properties of ${this.location}`);
        }
    }

    async blobs(prefix: string): Promise<ArchiveBlob[]> {
        const out: ArchiveBlob[] = [];
        try {
            const items = this.container.listBlobsFlat({ prefix, includeMetadata: true, includeVersions: true, includeImmutabilityPolicy: true, includeLegalHold: true });
            for await (const item of items) {
                const p = item.properties;
                const lastModified = p.lastModified ?? new Date(0);
                out.push({
                    key: item.name,
                    versionId: item.versionId,
                    isCurrent: item.versionId === undefined || item.isCurrentVersion === true,
                    bytes: p.contentLength ?? 0,
                    createdOn: p.createdOn ?? lastModified,
                    lastModified,
                    policyUntil: p.immutabilityPolicyExpiresOn,
                    policyMode: p.immutabilityPolicyMode,
                    legalHold: p.legalHold === true,
                    recordedRetainUntil: validDate(item.metadata?.retainuntil),
                });
            }
        } catch (err) {
            throw azureFailure(err, `listing ${this.location}/${prefix}`);
        }
        return out;
    }
}
