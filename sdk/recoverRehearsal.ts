// A rehearsal of runbook 001's path A on the drill's scratch copy, after validation and before
// masking: a sample of the table's rows deleted and changed, recovered from the drill's backup (dry
// run, apply, undo, re-apply), the table checked back to its validated state. Fails the drill naming
// the table when anything differs. Provider side: provider/resources/recoverRehearsal.ts.
import * as pulumi from "@pulumi/pulumi";
import { packageOptions, typeToken } from "./package";

export interface RecoverRehearsalArgs {
    /** The scratch copy (restored and validated). A secret. */
    targetUrl: pulumi.Input<string>;
    /** The drill's source: the rehearsal refuses to run on it. A secret. */
    sourceUrl?: pulumi.Input<string>;
    /** The drill's backup manifest: the backup path A recovers from. */
    manifestPath: pulumi.Input<string>;
    /** schema.table; it needs a primary key. */
    table: pulumi.Input<string>;
    /** Rows deleted, and rows changed: up to this many each (default 20). */
    sample?: pulumi.Input<number>;
    /** Refuse a target without a supabase-dr scratch marker (set when the target is a ScratchDatabase). */
    requireScratchMarker?: pulumi.Input<boolean>;
    artifactsDir: pulumi.Input<string>;
    drillId: pulumi.Input<string>;
    /** Orders the rehearsal after validation (and before masking, which changes the rows). */
    after: pulumi.Input<string>;
}

export class RecoverRehearsal extends pulumi.CustomResource {
    /** The rehearsal's one-line summary: PASS, counts, durations. */
    declare public readonly status: pulumi.Output<string>;
    declare public readonly finishedAt: pulumi.Output<string>;

    constructor(name: string, args: RecoverRehearsalArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("RecoverRehearsal"),
            name,
            {
                status: undefined,
                deleted: undefined,
                changed: undefined,
                finishedAt: undefined,
                ...args,
                targetUrl: pulumi.secret(args.targetUrl),
                sourceUrl: args.sourceUrl === undefined ? undefined : pulumi.secret(args.sourceUrl),
            },
            packageOptions("RecoverRehearsal", opts),
        );
    }
}
