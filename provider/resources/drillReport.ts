// Provider side of the resource: the drill report (drill_summary_<id>.md, drill_<id>.json, drill_<id>.junit.xml,
// drill_<id>.prom), created last. It fails the stack when the drill's status is FAIL (e.g. RTO or RPO
// target missed), after writing the report.
import type * as pulumi from "@pulumi/pulumi";
import { writeDrillReport, type DrillMeta } from "../../lib/drill/report";
import { replaceOnAnyChange } from "./oneShot";

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
