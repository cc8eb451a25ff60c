// How a process that cannot share objects with ours (a Pulumi dynamic provider) opens the vault: from
// plain, serializable settings instead of a BlobStore instance.
// S3 credentials never pass through here (or through Pulumi state): the S3 client takes them from the
// process environment — the workflow's OIDC role in CI (AWS_* variables), or a profile locally.
import { AzureBlobStore } from "./azureStore";
import type { BlobStore } from "./blobStore";
import { DirBlobStore } from "./dirStore";
import { S3Store } from "./s3Store";

export type VaultSettings =
    | { kind: "s3"; bucket: string; region?: string; /** S3-compatible endpoint; default AWS. */ endpoint?: string }
    | { kind: "dir"; path: string }
    /** connectionString holds the account key: pass it as a secret. */
    | { kind: "azure"; connectionString: string; container: string };

export function openVault(settings: VaultSettings): BlobStore {
    switch (settings?.kind) {
        case "s3":
            return new S3Store({ bucket: settings.bucket, region: settings.region ?? process.env.AWS_REGION ?? "us-east-1", endpoint: settings.endpoint });
        case "dir":
            return new DirBlobStore(settings.path);
        case "azure":
            return new AzureBlobStore({ connectionString: settings.connectionString, container: settings.container });
        default:
            throw new Error(`unsupported vault kind ${JSON.stringify((settings as { kind?: unknown } | undefined)?.kind)} (expected "s3", "dir" or "azure")`);
    }
}

/** Secrets inside the settings, for redaction. */
export function vaultSecrets(settings: VaultSettings): string[] {
    return settings?.kind === "azure" ? [settings.connectionString, ...(/AccountKey=([^;]+)/.exec(settings.connectionString)?.slice(1) ?? [])] : [];
}
