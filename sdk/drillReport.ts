// The drill report (drill_summary_<id>.md, drill_<id>.json, .junit.xml, .prom), created last. It
// fails the stack when the drill's status is FAIL, after writing the report.
// Provider side: provider/resources/drillReport.ts.
import * as pulumi from "@pulumi/pulumi";
import type { DrillMeta } from "../lib/drill/report";
import { packageOptions, typeToken } from "./package";

export interface DrillReportArgs {
    meta: pulumi.Input<DrillMeta>;
    /** Values to redact from the report (tokens, salts); URI passwords are always masked. Secrets. */
    redactValues?: pulumi.Input<pulumi.Input<string>[]>;
    /** Resources the report waits for (their outputs are not used: the step results are on disk). */
    after?: pulumi.Input<pulumi.Input<string>[]>;
}

export class DrillReport extends pulumi.CustomResource {
    declare public readonly status: pulumi.Output<string>;
    declare public readonly summaryPath: pulumi.Output<string>;
    declare public readonly jsonPath: pulumi.Output<string>;
    declare public readonly junitPath: pulumi.Output<string>;
    declare public readonly prometheusPath: pulumi.Output<string>;
    declare public readonly rtoSeconds: pulumi.Output<number | undefined>;
    declare public readonly rpoSeconds: pulumi.Output<number | undefined>;

    constructor(name: string, args: DrillReportArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("DrillReport"),
            name,
            {
                status: undefined,
                summaryPath: undefined,
                jsonPath: undefined,
                junitPath: undefined,
                prometheusPath: undefined,
                rtoSeconds: undefined,
                rpoSeconds: undefined,
                issues: undefined,
                ...args,
                redactValues: args.redactValues === undefined ? undefined : pulumi.secret(args.redactValues),
            },
            packageOptions("DrillReport", opts),
        );
    }
}
