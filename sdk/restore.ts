// Restores the backup artifact into the scratch target (sha256 verified first, full log kept as
// restore_<id>.log, the source refused as target). Delete does nothing: the scratch target is dropped by its own resource.
// Provider side: provider/resources/restore.ts.
import * as pulumi from "@pulumi/pulumi";
import { packageOptions, typeToken } from "./package";

export interface RestoreArgs {
    manifestPath: pulumi.Input<string>;
    /** The scratch database. A secret. */
    targetUrl: pulumi.Input<string>;
    /** The drill's source, never to be restored into (also guarded by the manifest's source). A secret. */
    protectedSourceUrl?: pulumi.Input<string>;
    jobs?: pulumi.Input<number>;
    /** Refuse a target without a supabase-dr scratch marker (set when the target is a ScratchDatabase). */
    requireScratchMarker?: pulumi.Input<boolean>;
    /** Regular expressions of restore errors that do not fail the drill. */
    allowErrors?: pulumi.Input<pulumi.Input<string>[]>;
    /** The target's server was created by the drill: its own cluster's system identifier, or a scratch project. */
    drillServer?: pulumi.Input<{ systemIdentifier?: pulumi.Input<string>; supabaseProject?: boolean }>;
    /** Supabase platform part for a local target: auto (default), source, baseline or none. */
    platform?: pulumi.Input<"auto" | "source" | "baseline" | "none">;
    /** Extensions that may be missing on the target (default: Supabase's own, which plain PostgreSQL lacks). */
    allowMissingExtensions?: pulumi.Input<pulumi.Input<string>[]>;
    artifactsDir: pulumi.Input<string>;
    drillId: pulumi.Input<string>;
}

export class Restore extends pulumi.CustomResource {
    declare public readonly startedAt: pulumi.Output<string>;
    declare public readonly finishedAt: pulumi.Output<string>;
    declare public readonly durationMs: pulumi.Output<number>;
    declare public readonly extensionsSkipped: pulumi.Output<string[]>;

    constructor(name: string, args: RestoreArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("Restore"),
            name,
            {
                startedAt: undefined,
                finishedAt: undefined,
                durationMs: undefined,
                extensionsSkipped: undefined,
                allowedErrors: undefined,
                platformUsed: undefined,
                ...args,
                targetUrl: pulumi.secret(args.targetUrl),
                protectedSourceUrl: args.protectedSourceUrl === undefined ? undefined : pulumi.secret(args.protectedSourceUrl),
            },
            packageOptions("Restore", opts),
        );
    }
}
