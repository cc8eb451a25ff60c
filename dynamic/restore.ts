// Dynamic resource: restores the backup artifact into the scratch target. Verifies the sha256 before
// touching the target, keeps the full log as restore_<id>.log, refuses the source as target.
// Delete does nothing: the scratch database that holds the restored data is dropped by its own resource.
import * as pulumi from "@pulumi/pulumi";
import { artifactPaths, writeStepResult } from "../lib/drill/artifacts";
import { redactError } from "../lib/redact";
import { restoreBackup } from "../lib/restore/restore";
import { forwardingProvider } from "./forwardingProvider";
import { replaceOnAnyChange } from "./oneShot";

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

interface Inputs {
    manifestPath: string;
    targetUrl: string;
    protectedSourceUrl?: string;
    jobs?: number;
    requireScratchMarker?: boolean;
    allowErrors?: string[];
    drillServer?: { systemIdentifier?: string; supabaseProject?: boolean };
    platform?: "auto" | "source" | "baseline" | "none";
    allowMissingExtensions?: string[];
    artifactsDir: string;
    drillId: string;
}

interface Outputs extends Inputs {
    extensionsSkipped: string[];
    platformUsed: string;
    startedAt: string;
    finishedAt: string;
    durationMs: number;
    allowedErrors: number;
}

export const restoreProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async create(inputs) {
        try {
            const result = await restoreBackup({
                manifestPath: inputs.manifestPath,
                targetUrl: inputs.targetUrl,
                protectedSources: inputs.protectedSourceUrl ? [inputs.protectedSourceUrl] : [],
                jobs: inputs.jobs,
                requireScratchMarker: inputs.requireScratchMarker,
                allowErrors: inputs.allowErrors,
                drillServer: inputs.drillServer,
                supabase: { platform: inputs.platform, allowMissingExtensions: inputs.allowMissingExtensions },
                logPath: artifactPaths(inputs.artifactsDir, inputs.drillId).restoreLog,
            });
            writeStepResult(inputs.artifactsDir, inputs.drillId, "restore", result);
            return {
                id: `restore_${inputs.drillId}`,
                outs: {
                    ...inputs,
                    startedAt: result.startedAt,
                    finishedAt: result.finishedAt,
                    durationMs: result.durationMs,
                    allowedErrors: result.allowedErrors.length,
                    extensionsSkipped: result.extensionsSkipped,
                    platformUsed: result.platform?.used ?? "none",
                },
            };
        } catch (err) {
            throw redactError(err, [inputs.targetUrl, inputs.protectedSourceUrl]);
        }
    },

    async diff(_id, olds, news) {
        return replaceOnAnyChange({ ...olds }, { ...news });
    },
};

export class Restore extends pulumi.dynamic.Resource {
    declare public readonly startedAt: pulumi.Output<string>;
    declare public readonly finishedAt: pulumi.Output<string>;
    declare public readonly durationMs: pulumi.Output<number>;
    declare public readonly extensionsSkipped: pulumi.Output<string[]>;

    constructor(name: string, args: RestoreArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            forwardingProvider(__filename, "restoreProvider"),
            name,
            {
                startedAt: undefined,
                finishedAt: undefined,
                durationMs: undefined,
                allowedErrors: undefined,
                extensionsSkipped: undefined,
                platformUsed: undefined,
                ...args,
                targetUrl: pulumi.secret(args.targetUrl),
                protectedSourceUrl: args.protectedSourceUrl === undefined ? undefined : pulumi.secret(args.protectedSourceUrl),
            },
            { ...opts, additionalSecretOutputs: ["targetUrl", "protectedSourceUrl"] },
            "restore",
            "Restore",
        );
    }
}
