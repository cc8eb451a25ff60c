// Provider side of the resource: restores the backup artifact into the scratch target. Verifies the sha256 before
// touching the target, keeps the full log as restore_<id>.log, refuses the source as target.
// Delete does nothing: the scratch database that holds the restored data is dropped by its own resource.
import type * as pulumi from "@pulumi/pulumi";
import { artifactPaths, writeStepResult } from "../../lib/drill/artifacts";
import { redactError } from "../../lib/redact";
import { restoreBackup } from "../../lib/restore/restore";
import { replaceOnAnyChange } from "./oneShot";

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
