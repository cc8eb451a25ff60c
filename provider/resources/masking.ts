// Provider side of the resource: masks PII in the restored target (staging refreshes, runbooks 001/002), then proves
// no original value survives (in its own column, nor in any other text or json column of the
// database) and no unmasked PII-looking column exists. Writes masking_<id>.txt/.json.
import * as fs from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import { artifactPaths, writeStepResult } from "../../lib/drill/artifacts";
import { applyMasking, columnLabel, formatMaskingReport, parseMaskRules, type MaskingResult } from "../../lib/mask";
import { redact, redactError } from "../../lib/redact";
import { replaceOnAnyChange } from "./oneShot";

interface Inputs {
    targetUrl: string;
    sourceUrl?: string;
    rules: unknown;
    salt?: string;
    allowUnmasked?: string[];
    requireScratchMarker?: boolean;
    artifactsDir: string;
    drillId: string;
    after: string;
}

interface Outputs extends Inputs {
    status: string;
    columns: number;
}

/** Where originals survived, by name only (never a value): for the error Pulumi shows. */
function survivorPlaces(result: MaskingResult): string {
    const places = [
        ...result.columns.filter((c) => c.status !== "pass").map(columnLabel),
        ...result.survivorScan.survivors.map((s) => `${s.table}.${s.column}`),
    ];
    return [...new Set(places)].join(", ");
}

export const maskingProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async check(_olds, news) {
        try {
            parseMaskRules(news.rules);
            return { inputs: news };
        } catch (err) {
            return { inputs: news, failures: [{ property: "rules", reason: (err as Error).message }] };
        }
    },

    async create(inputs) {
        const secrets = [inputs.targetUrl, inputs.sourceUrl, inputs.salt];
        let result;
        try {
            result = await applyMasking(inputs.targetUrl, parseMaskRules(inputs.rules), {
                salt: inputs.salt,
                sourceUrl: inputs.sourceUrl,
                allowUnmasked: inputs.allowUnmasked,
                requireScratchMarker: inputs.requireScratchMarker,
            });
        } catch (err) {
            throw redactError(err, secrets);
        }
        const paths = artifactPaths(inputs.artifactsDir, inputs.drillId);
        fs.writeFileSync(paths.maskingTxt, redact(formatMaskingReport(result), secrets));
        writeStepResult(inputs.artifactsDir, inputs.drillId, "masking", result);
        if (result.status !== "pass") {
            throw new Error(`masking left original values in the target (${survivorPlaces(result)}): see ${paths.maskingTxt}`);
        }
        return { id: `masking_${inputs.drillId}`, outs: { ...inputs, status: result.status, columns: result.columns.length } };
    },

    async diff(_id, olds, news) {
        return replaceOnAnyChange({ ...olds }, { ...news });
    },
};
