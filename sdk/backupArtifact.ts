// The drill's backup artifact: dumps the source now (pg_dump -Fc, fingerprint in the same snapshot)
// or adopts an existing backup. Delete keeps the files: artifacts outlive the drill.
// Provider side: provider/resources/backupArtifact.ts.
import * as pulumi from "@pulumi/pulumi";
import type { FingerprintOptions } from "../lib/validate/types";
import type { VaultSettings } from "../lib/vault/openVault";
import { packageOptions, typeToken } from "./package";

export interface BackupArtifactArgs {
    /** Dump this source now (SOURCE_DB_URL). A secret. Exactly one of sourceUrl / backupPath. */
    sourceUrl?: pulumi.Input<string>;
    /** Adopt this backup file or `supabase db dump` directory instead. */
    backupPath?: pulumi.Input<string>;
    /** For adopted backups: when the data was captured, if known. */
    takenAt?: pulumi.Input<string>;
    /** Or fetch the newest backup of `env` from the vault (S3 Object Lock bucket) and adopt it. */
    vault?: pulumi.Input<{ settings: VaultSettings; env: string; notAfter?: string }>;
    artifactsDir: pulumi.Input<string>;
    drillId: pulumi.Input<string>;
    fingerprint?: pulumi.Input<FingerprintOptions>;
}

export class BackupArtifact extends pulumi.CustomResource {
    declare public readonly manifestPath: pulumi.Output<string>;
    declare public readonly backupTakenAt: pulumi.Output<string>;
    declare public readonly format: pulumi.Output<string>;
    declare public readonly bytes: pulumi.Output<number>;

    constructor(name: string, args: BackupArtifactArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("BackupArtifact"),
            name,
            {
                manifestPath: undefined,
                backupTakenAt: undefined,
                format: undefined,
                bytes: undefined,
                ...args,
                sourceUrl: args.sourceUrl === undefined ? undefined : pulumi.secret(args.sourceUrl),
            },
            packageOptions("BackupArtifact", opts),
        );
    }
}
