// Dynamic resource: masks PII in the restored target (staging refreshes, runbooks 001/002), then proves
// no original value survives (in its own column, nor in any other text or json column of the
// database) and no unmasked PII-looking column exists. Writes masking_<id>.txt/.json.
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { artifactPaths, writeStepResult } from "../lib/drill/artifacts";
import { applyMasking, columnLabel, formatMaskingReport, parseMaskRules, type MaskingResult } from "../lib/mask";
import { redact, redactError } from "../lib/redact";
import { forwardingProvider } from "./forwardingProvider";
import { replaceOnAnyChange } from "./oneShot";

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

export class Masking extends pulumi.dynamic.Resource {
    declare public readonly status: pulumi.Output<string>;

    constructor(name: string, args: MaskingArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            forwardingProvider(__filename, "maskingProvider"),
            name,
            {
                status: undefined,
                columns: undefined,
                ...args,
                targetUrl: pulumi.secret(args.targetUrl),
                sourceUrl: args.sourceUrl === undefined ? undefined : pulumi.secret(args.sourceUrl),
                salt: args.salt === undefined ? undefined : pulumi.secret(args.salt),
            },
            { ...opts, additionalSecretOutputs: ["targetUrl", "sourceUrl", "salt"] },
            "mask",
            "Masking",
        );
    }
}
