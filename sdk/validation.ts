// Validates the restored target against the source fingerprint (lib/drill/validateRestore); fails
// the drill with a readable diff when anything differs (also in validation_<id>.txt).
// Provider side: provider/resources/validation.ts.
import * as pulumi from "@pulumi/pulumi";
import type { FingerprintOptions, SqlAssertion } from "../lib/validate/types";
import { packageOptions, typeToken } from "./package";

export interface ValidationArgs {
    manifestPath: pulumi.Input<string>;
    targetUrl: pulumi.Input<string>;
    /** Only used when the backup has no fingerprint of its own. A secret. */
    sourceUrl?: pulumi.Input<string>;
    assertions?: pulumi.Input<SqlAssertion[]>;
    fingerprint?: pulumi.Input<FingerprintOptions>;
    artifactsDir: pulumi.Input<string>;
    drillId: pulumi.Input<string>;
    /** Orders the step after the restore. */
    restoredAt: pulumi.Input<string>;
    /** Extensions the restore was allowed to skip (not available on the target): their absence passes with a note. */
    allowMissingExtensions?: pulumi.Input<string[]>;
    /** Accept a validation that compares no table data (it fails otherwise). */
    allowNoData?: pulumi.Input<boolean>;
}

export class Validation extends pulumi.CustomResource {
    declare public readonly status: pulumi.Output<string>;
    declare public readonly checks: pulumi.Output<number>;
    declare public readonly validatedAt: pulumi.Output<string>;

    constructor(name: string, args: ValidationArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("Validation"),
            name,
            {
                status: undefined,
                checks: undefined,
                validatedAt: undefined,
                failed: undefined,
                comparedWith: undefined,
                dataCompared: undefined,
                ...args,
                targetUrl: pulumi.secret(args.targetUrl),
                sourceUrl: args.sourceUrl === undefined ? undefined : pulumi.secret(args.sourceUrl),
            },
            packageOptions("Validation", opts),
        );
    }
}
