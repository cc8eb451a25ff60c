// Dynamic resource: the drill report (drill_summary_<id>.md, drill_<id>.json, drill_<id>.junit.xml,
// drill_<id>.prom), created last. It fails the stack when the drill's status is FAIL (e.g. RTO or RPO
// target missed), after writing the report.
import * as pulumi from "@pulumi/pulumi";
import { writeDrillReport, type DrillMeta } from "../lib/drill/report";
import { forwardingProvider } from "./forwardingProvider";
import { replaceOnAnyChange } from "./oneShot";

export interface DrillReportArgs {
    meta: pulumi.Input<DrillMeta>;
    /** Values to redact from the report (tokens, salts); URI passwords are always masked. Secrets. */
    redactValues?: pulumi.Input<pulumi.Input<string>[]>;
    /** Resources the report waits for (their outputs are not used: the step results are on disk). */
    after?: pulumi.Input<pulumi.Input<string>[]>;
}

interface Inputs {
    meta: DrillMeta;
    redactValues?: string[];
    after?: string[];
}

interface Outputs extends Inputs {
    status: string;
    summaryPath: string;
    jsonPath: string;
    junitPath: string;
    prometheusPath: string;
    rtoSeconds?: number;
    rpoSeconds?: number;
    issues: string[];
}

export const drillReportProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async create(inputs) {
        const { report, summaryPath, jsonPath, junitPath, prometheusPath } = writeDrillReport(inputs.meta, inputs.redactValues ?? []);
        if (report.status !== "PASS") {
            throw new Error(`drill ${inputs.meta.id} FAILED:\n${report.issues.map((i) => `  - ${i}`).join("\n")}\nreport: ${summaryPath}`);
        }
        return {
            id: `report_${inputs.meta.id}`,
            outs: { ...inputs, status: report.status, summaryPath, jsonPath, junitPath, prometheusPath, rtoSeconds: report.rto_seconds, rpoSeconds: report.rpo_seconds, issues: report.issues },
        };
    },

    async diff(_id, olds, news) {
        return replaceOnAnyChange({ ...olds }, { ...news });
    },
};

export class DrillReport extends pulumi.dynamic.Resource {
    declare public readonly status: pulumi.Output<string>;
    declare public readonly summaryPath: pulumi.Output<string>;
    declare public readonly jsonPath: pulumi.Output<string>;
    declare public readonly junitPath: pulumi.Output<string>;
    declare public readonly prometheusPath: pulumi.Output<string>;
    declare public readonly rtoSeconds: pulumi.Output<number | undefined>;
    declare public readonly rpoSeconds: pulumi.Output<number | undefined>;

    constructor(name: string, args: DrillReportArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            forwardingProvider(__filename, "drillReportProvider"),
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
            { ...opts, additionalSecretOutputs: ["redactValues"] },
            "report",
            "DrillReport",
        );
    }
}
