// Masks PII in the restored target (staging refreshes, runbooks 001/002), then proves no original
// value survives. Writes masking_<id>.txt/.json.
// Provider side: provider/resources/masking.ts.
import * as pulumi from "@pulumi/pulumi";
import { packageOptions, typeToken } from "./package";

export interface MaskingArgs {
    targetUrl: pulumi.Input<string>;
    /** The drill's source: masking refuses to run on it. A secret. */
    sourceUrl?: pulumi.Input<string>;
    /** Rules as in config: {"public.profiles.email": "email", ...} or an array. */
    rules: pulumi.Input<unknown>;
    /** Salt of the hash strategy. A secret. */
    salt?: pulumi.Input<string>;
    allowUnmasked?: pulumi.Input<pulumi.Input<string>[]>;
    /** Refuse a target without a supabase-dr scratch marker (set when the target is a ScratchDatabase). */
    requireScratchMarker?: pulumi.Input<boolean>;
    artifactsDir: pulumi.Input<string>;
    drillId: pulumi.Input<string>;
    /** Orders masking after validation (masking changes the data validation compares). */
    after: pulumi.Input<string>;
}

export class Masking extends pulumi.CustomResource {
    declare public readonly status: pulumi.Output<string>;

    constructor(name: string, args: MaskingArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("Masking"),
            name,
            {
                status: undefined,
                columns: undefined,
                ...args,
                targetUrl: pulumi.secret(args.targetUrl),
                sourceUrl: args.sourceUrl === undefined ? undefined : pulumi.secret(args.sourceUrl),
                salt: args.salt === undefined ? undefined : pulumi.secret(args.salt),
            },
            packageOptions("Masking", opts),
        );
    }
}
