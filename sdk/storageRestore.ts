// A storage bucket restored from a vault manifest for a drill (runbook 001 path C, 004 §2.2),
// verified object by object, and emptied and deleted when the drill is destroyed.
// Provider side: provider/resources/storageRestore.ts.
import * as pulumi from "@pulumi/pulumi";
import type { VaultSettings } from "../lib/vault/openVault";
import { packageOptions, typeToken } from "./package";

export interface StorageRestoreArgs {
    /** `<SUPABASE_URL>/storage/v1` of the project restored into. */
    storageUrl: pulumi.Input<string>;
    /** Service role key of that project. A secret. */
    serviceKey: pulumi.Input<string>;
    vault: pulumi.Input<VaultSettings>;
    /** Vault key of the manifest, `storage/{env}/{bucket}/YYYY/MM/DD/manifest.json`; or give env + bucket. */
    manifestKey?: pulumi.Input<string>;
    /** With bucket: restore the newest snapshot of storage/{env}/{bucket}/. */
    env?: pulumi.Input<string>;
    bucket?: pulumi.Input<string>;
    /** Default `restored-{bucket}-{yyyyMMdd}` of the day the resource is created. */
    targetBucket?: pulumi.Input<string>;
    /** When part of a drill: where to leave storage_<bucket>_<id>.json for the report. */
    artifactsDir?: pulumi.Input<string>;
    drillId?: pulumi.Input<string>;
}

export class StorageRestore extends pulumi.CustomResource {
    declare public readonly sourceBucket: pulumi.Output<string>;
    declare public readonly restoredBucket: pulumi.Output<string>;
    declare public readonly objectCount: pulumi.Output<number>;
    declare public readonly bytes: pulumi.Output<number>;
    declare public readonly verifiedAt: pulumi.Output<string>;

    constructor(name: string, args: StorageRestoreArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("StorageRestore"),
            name,
            {
                sourceBucket: undefined,
                restoredBucket: undefined,
                objectCount: undefined,
                bytes: undefined,
                verifiedAt: undefined,
                ownerToken: undefined,
                ...args,
                serviceKey: pulumi.secret(args.serviceKey),
                // Azure settings carry the account key.
                vault: pulumi.secret(args.vault),
            },
            packageOptions("StorageRestore", opts),
        );
    }
}
