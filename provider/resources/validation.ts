// Provider side of the resource: validates the restored target against the source fingerprint (see
// lib/drill/validateRestore). Fails the drill with a readable diff when anything differs; the
// diff is also in validation_<id>.txt.
import type * as pulumi from "@pulumi/pulumi";
import { artifactPaths } from "../../lib/drill/artifacts";
import { validateRestore } from "../../lib/drill/validateRestore";
import { redact, redactError } from "../../lib/redact";
import type { FingerprintOptions, SqlAssertion } from "../../lib/validate/types";
import { replaceOnAnyChange } from "./oneShot";

interface Inputs {
    manifestPath: string;
    targetUrl: string;
    sourceUrl?: string;
    assertions?: SqlAssertion[];
    fingerprint?: FingerprintOptions;
    artifactsDir: string;
    drillId: string;
    restoredAt: string;
    allowMissingExtensions?: string[];
    allowNoData?: boolean;
}

interface Outputs extends Inputs {
    status: string;
    checks: number;
    failed: number;
    validatedAt: string;
    comparedWith: string;
    dataCompared: boolean;
}

export const validationProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async create(inputs) {
        const secrets = [inputs.targetUrl, inputs.sourceUrl];
        let step;
        try {
            step = await validateRestore({
                manifestPath: inputs.manifestPath,
                targetUrl: inputs.targetUrl,
                sourceUrl: inputs.sourceUrl,
                assertions: inputs.assertions,
                fingerprintOptions: inputs.fingerprint,
                artifactsDir: inputs.artifactsDir,
                drillId: inputs.drillId,
                allowMissingExtensions: inputs.allowMissingExtensions,
                allowNoData: inputs.allowNoData,
            });
        } catch (err) {
            throw redactError(err, secrets);
        }
        const failed = step.results.filter((r) => r.status === "fail");
        if (failed.length > 0) {
            const lines = failed.slice(0, 20).map((r) => `  FAIL ${r.check} ${r.object}: source=${JSON.stringify(r.source)} target=${JSON.stringify(r.target)}${r.detail ? ` (${r.detail})` : ""}`);
            const more = failed.length > 20 ? `\n  … and ${failed.length - 20} more` : "";
            throw new Error(
                redact(`validation failed: ${failed.length} of ${step.results.length} checks differ\n${lines.join("\n")}${more}\n` +
                    `full report: ${artifactPaths(inputs.artifactsDir, inputs.drillId).validationTxt}`, secrets),
            );
        }
        return {
            id: `validation_${inputs.drillId}`,
            outs: {
                ...inputs,
                status: step.status,
                checks: step.results.length,
                failed: 0,
                validatedAt: step.finishedAt,
                comparedWith: step.comparedWith,
                dataCompared: step.dataCompared !== false,
            },
        };
    },

    async diff(_id, olds, news) {
        return replaceOnAnyChange({ ...olds }, { ...news });
    },
};
