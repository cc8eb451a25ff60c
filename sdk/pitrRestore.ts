// A point-in-time recovery drill's resources: PitrRestore (the WAL archive restored to the target into
// the drill's own throw-away cluster, removed on destroy) and PitrValidation (the restore against a
// mark's fingerprint, or heartbeat ordering at T). Provider side: provider/resources/pitrRestore.ts.
import * as pulumi from "@pulumi/pulumi";
import type { DrillPitrTarget } from "../lib/drill/pitrTarget";
import type { PitrSecrets, PitrSettings } from "../lib/pitr/settings";
import type { SqlAssertion } from "../lib/validate/types";
import type { VaultSettings } from "../lib/vault/openVault";
import { packageOptions, typeToken } from "./package";

export interface PitrRestoreArgs {
    /** The WAL archive's settings (no secrets). */
    archive: pulumi.Input<PitrSettings>;
    /** Its S3 keys and cipher passphrase. A secret. */
    secrets: pulumi.Input<PitrSecrets>;
    target: pulumi.Input<DrillPitrTarget>;
    /** Where the consistent-point marks are (default: beside an S3 archive). */
    marks?: pulumi.Input<VaultSettings>;
    /** The database later steps use. */
    database: pulumi.Input<string>;
    superuser?: pulumi.Input<string>;
    timeoutMinutes?: pulumi.Input<number>;
    baseDir?: pulumi.Input<string>;
    artifactsDir: pulumi.Input<string>;
    drillId: pulumi.Input<string>;
}

export class PitrRestore extends pulumi.CustomResource {
    /** Superuser URI of the restored cluster's `postgres` database. A secret. */
    declare public readonly adminUrl: pulumi.Output<string>;
    /** URI of `database` in the restored cluster. A secret. */
    declare public readonly connectionString: pulumi.Output<string>;
    declare public readonly databaseName: pulumi.Output<string>;
    declare public readonly port: pulumi.Output<number>;
    declare public readonly rootDir: pulumi.Output<string>;
    declare public readonly targetAsked: pulumi.Output<string>;
    declare public readonly targetType: pulumi.Output<string>;
    declare public readonly markKey: pulumi.Output<string | undefined>;
    declare public readonly backupLabel: pulumi.Output<string>;
    declare public readonly reachedLsn: pulumi.Output<string>;
    declare public readonly reachedLastCommitTime: pulumi.Output<string | undefined>;
    declare public readonly restoreMs: pulumi.Output<number>;
    declare public readonly replayMs: pulumi.Output<number>;
    declare public readonly finishedAt: pulumi.Output<string>;
    declare public readonly scheduledJobs: pulumi.Output<string>;
    declare public readonly changedTables: pulumi.Output<string[]>;

    constructor(name: string, args: PitrRestoreArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("PitrRestore"),
            name,
            {
                adminUrl: undefined,
                connectionString: undefined,
                databaseName: undefined,
                host: undefined,
                port: undefined,
                rootDir: undefined,
                runAs: undefined,
                ownerToken: undefined,
                targetAsked: undefined,
                targetType: undefined,
                markKey: undefined,
                markLsn: undefined,
                backupLabel: undefined,
                reachedLsn: undefined,
                reachedLastCommitTime: undefined,
                restoreMs: undefined,
                replayMs: undefined,
                promoteMs: undefined,
                totalMs: undefined,
                finishedAt: undefined,
                scheduledJobs: undefined,
                changedTables: undefined,
                ...args,
                secrets: pulumi.secret(args.secrets),
            },
            packageOptions("PitrRestore", opts),
        );
    }
}

export interface PitrValidationArgs {
    /** The restored database. A secret. */
    targetUrl: pulumi.Input<string>;
    mode: pulumi.Input<"mark" | "heartbeat">;
    markKey?: pulumi.Input<string | undefined>;
    marks?: pulumi.Input<VaultSettings>;
    /** Tables PitrRestore changed on purpose: reported, not compared with the mark. */
    changedTables?: pulumi.Input<string[]>;
    archive?: pulumi.Input<PitrSettings>;
    /** The archive's secrets: the marks beside an S3 archive are read with its keys. A secret. */
    secrets?: pulumi.Input<PitrSecrets>;
    /** The source, whose heartbeat log is read (nothing else). A secret. */
    sourceUrl?: pulumi.Input<string>;
    targetTime?: pulumi.Input<string | undefined>;
    targetNote?: pulumi.Input<string>;
    assertions?: pulumi.Input<SqlAssertion[]>;
    artifactsDir: pulumi.Input<string>;
    drillId: pulumi.Input<string>;
    restoredAt: pulumi.Input<string>;
}

export class PitrValidation extends pulumi.CustomResource {
    declare public readonly status: pulumi.Output<string>;
    declare public readonly validatedAt: pulumi.Output<string>;

    constructor(name: string, args: PitrValidationArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("PitrValidation"),
            name,
            {
                status: undefined,
                checks: undefined,
                failed: undefined,
                validatedAt: undefined,
                comparedWith: undefined,
                ...args,
                targetUrl: pulumi.secret(args.targetUrl),
                sourceUrl: args.sourceUrl === undefined ? undefined : pulumi.secret(args.sourceUrl),
                secrets: args.secrets === undefined ? undefined : pulumi.secret(args.secrets),
            },
            packageOptions("PitrValidation", opts),
        );
    }
}
