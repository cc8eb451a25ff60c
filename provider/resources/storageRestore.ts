// Provider side of the resource: a storage bucket restored from a vault manifest for a drill (runbook 001 Path C,
// 004 §2.2), verified object by object, and emptied and deleted when the drill is destroyed.
// The vault is given as connection settings, not a BlobStore: the provider runs in its own process.
// The bucket carries an ownership marker (lib/storage/restore.ts) whose token lives only in this
// resource's state, as a secret: a bucket of the same name that we did not create (a real path-C
// restore made the same day) is never reused, emptied or deleted.
import type * as pulumi from "@pulumi/pulumi";
import { redactError } from "../../lib/redact";
import { parseManifest } from "../../lib/storage/manifest";
import { bucketExists, removeRestoredBucket, restoreStorage, restoredBucketName } from "../../lib/storage/restore";
import { readText } from "../../lib/storage/snapshot";
import { writeStorageStep, type StorageStep } from "../../lib/drill/artifacts";
import type { BlobStore } from "../../lib/vault/blobStore";
import { storagePrefix } from "../../lib/vault/keys";
import { openVault, vaultSecrets, type VaultSettings } from "../../lib/vault/openVault";

interface ProviderInputs {
    storageUrl: string;
    serviceKey: string;
    vault: VaultSettings;
    manifestKey?: string;
    env?: string;
    bucket?: string;
    targetBucket?: string;
    artifactsDir?: string;
    drillId?: string;
}

interface ProviderOutputs extends ProviderInputs {
    /** Proves the restored bucket is ours (its marker carries an HMAC keyed with it). A secret. */
    ownerToken: string;
    sourceBucket: string;
    restoredBucket: string;
    objectCount: number;
    bytes: number;
    verifiedAt: string;
}

function secretsOf(inputs: ProviderInputs & { ownerToken?: string }): string[] {
    return [inputs.serviceKey, inputs.ownerToken ?? "", ...vaultSecrets(inputs.vault)].filter((s) => s !== "");
}

/** The newest snapshot manifest of a bucket: keys carry YYYY/MM/DD, so the greatest key is the newest. */
async function newestManifestKey(store: BlobStore, env: string, bucket: string): Promise<string> {
    let newest: string | undefined;
    for await (const obj of store.list(storagePrefix(env, bucket))) {
        if (obj.key.endsWith("/manifest.json") && (!newest || obj.key > newest)) newest = obj.key;
    }
    if (!newest) throw new Error(`no storage snapshot of bucket ${bucket} in ${store.location} under ${storagePrefix(env, bucket)}`);
    return newest;
}

export const storageRestoreProvider: pulumi.dynamic.ResourceProvider<ProviderInputs, ProviderOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (!/^https?:\/\//.test(String(news.storageUrl))) failures.push({ property: "storageUrl", reason: "must be an http(s) URL ending in /storage/v1" });
        if (!news.serviceKey) failures.push({ property: "serviceKey", reason: "required" });
        if (news.manifestKey === undefined && !(news.env && news.bucket)) {
            failures.push({ property: "manifestKey", reason: "give manifestKey, or env and bucket (newest snapshot)" });
        } else if (news.manifestKey !== undefined && !/^storage\/[^/]+\/[^/]+\/\d{4}\/\d{2}\/\d{2}\/manifest\.json$/.test(String(news.manifestKey))) {
            failures.push({ property: "manifestKey", reason: "must be storage/{env}/{bucket}/YYYY/MM/DD/manifest.json" });
        }
        if (!news.vault || !["s3", "dir", "azure"].includes(news.vault.kind)) failures.push({ property: "vault", reason: "kind must be \"s3\", \"dir\" or \"azure\"" });
        return { inputs: news, failures };
    },

    async create(inputs) {
        try {
            const store = openVault(inputs.vault);
            const manifestKey = inputs.manifestKey ?? (await newestManifestKey(store, inputs.env!, inputs.bucket!));
            const manifest = parseManifest(await readText(store, manifestKey), manifestKey);
            const target = inputs.targetBucket ?? restoredBucketName(manifest.bucket, new Date());
            const result = await restoreStorage({
                storageUrl: inputs.storageUrl,
                serviceKey: inputs.serviceKey,
                store,
                manifest,
                targetBucket: target,
            });
            const outs: ProviderOutputs = {
                ...inputs,
                ownerToken: result.ownerToken,
                sourceBucket: manifest.bucket,
                restoredBucket: result.bucket,
                objectCount: result.objects,
                bytes: result.bytes,
                verifiedAt: new Date().toISOString(),
            };
            if (inputs.artifactsDir && inputs.drillId) {
                const step: StorageStep = { sourceBucket: manifest.bucket, restoredBucket: result.bucket, manifestKey, objects: result.objects, bytes: result.bytes, verifiedAt: outs.verifiedAt };
                writeStorageStep(inputs.artifactsDir, inputs.drillId, step);
            }
            return { id: result.bucket, outs };
        } catch (err) {
            throw redactError(err, secretsOf(inputs));
        }
    },

    async read(id, props) {
        if (!props) return { id, props };
        const exists = await bucketExists(props.storageUrl, props.serviceKey, props.restoredBucket);
        return exists ? { id, props } : { id: "", props };
    },

    async diff(_id, olds, news) {
        const replaces: string[] = [];
        if (olds.storageUrl !== news.storageUrl) replaces.push("storageUrl");
        for (const k of ["manifestKey", "env", "bucket"] as const) if (olds[k] !== news[k]) replaces.push(k);
        if (JSON.stringify(olds.vault) !== JSON.stringify(news.vault)) replaces.push("vault");
        if ((olds.targetBucket ?? "") !== (news.targetBucket ?? "")) replaces.push("targetBucket");
        // A rotated service key keeps the restored bucket: in-place update.
        return { changes: replaces.length > 0 || olds.serviceKey !== news.serviceKey, replaces, deleteBeforeReplace: true };
    },

    async update(_id, olds, news) {
        return { outs: { ...olds, serviceKey: news.serviceKey } };
    },

    async delete(_id, props) {
        try {
            // State written before ownership markers has no token: removeRestoredBucket then refuses.
            await removeRestoredBucket(props.storageUrl, props.serviceKey, props.restoredBucket, {
                ownerToken: props.ownerToken,
                original: props.sourceBucket,
            });
        } catch (err) {
            throw redactError(err, secretsOf(props));
        }
    },
};
