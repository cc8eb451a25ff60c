// Provider side of a point-in-time recovery drill's two resources, thin adapters over lib/drill:
//   PitrRestore     the WAL archive restored to the target into a throw-away cluster the drill starts
//                   itself (free loopback port, detached: it outlives this process); pg_cron / pg_net
//                   of the source disabled in it first; deleted (stopped, directory removed) on destroy.
//   PitrValidation  the restored database against the mark's fingerprint, or heartbeat ordering at T.
// The archive's secrets (S3 keys, cipher passphrase) and every URL with a password are secret
// properties (provider/spec.ts): the engine keeps them encrypted in the state.
import type * as pulumi from "@pulumi/pulumi";
import { removePitrCluster, runPitrRestore, type PitrCluster, type PitrRestoreOptions } from "../../lib/drill/pitrRestore";
import { validatePitrRestore, type PitrValidationBasis } from "../../lib/drill/validatePitr";
import { artifactPaths } from "../../lib/drill/artifacts";
import { secretValues } from "../../lib/pitr/config";
import type { PitrSecrets, PitrSettings } from "../../lib/pitr/settings";
import { scratchClusterState } from "../../lib/postgres/scratchCluster";
import { redact, redactError } from "../../lib/redact";
import type { SqlAssertion } from "../../lib/validate/types";
import type { VaultSettings } from "../../lib/vault/openVault";
import { replaceOnAnyChange } from "./oneShot";

/** The resource's inputs are exactly what lib/drill/pitrRestore.ts takes. */
type RestoreInputs = PitrRestoreOptions;

interface RestoreOutputs extends RestoreInputs, PitrCluster {
    databaseName: string;
    targetAsked: string;
    targetType: string;
    /** The mark a mark target resolved to (for the validation). */
    markKey?: string;
    markLsn?: string;
    backupLabel: string;
    reachedLsn: string;
    reachedLastCommitTime?: string;
    restoreMs: number;
    replayMs: number;
    promoteMs: number;
    totalMs: number;
    finishedAt: string;
    scheduledJobs: string;
    /** Tables of the database the drill changed itself (pg_cron jobs deactivated, pg_net queue emptied). */
    changedTables: string[];
}

export const pitrRestoreProvider: pulumi.dynamic.ResourceProvider<RestoreInputs, RestoreOutputs> = {
    async create(inputs) {
        try {
            const { cluster, step } = await runPitrRestore(inputs);
            return {
                id: `pitr_${inputs.drillId}`,
                outs: {
                    ...inputs,
                    ...cluster,
                    databaseName: inputs.database,
                    targetAsked: step.targetAsked,
                    targetType: step.target.type,
                    markKey: step.mark?.key,
                    markLsn: step.mark?.lsn,
                    backupLabel: step.backupLabel,
                    reachedLsn: step.reached.lsn,
                    reachedLastCommitTime: step.reached.lastCommitTime ?? undefined,
                    restoreMs: step.durations.restoreMs,
                    replayMs: step.durations.replayMs,
                    promoteMs: step.durations.promoteMs,
                    totalMs: step.durations.totalMs,
                    finishedAt: step.finishedAt,
                    scheduledJobs: step.jobsSummary,
                    changedTables: step.changedTables,
                },
            };
        } catch (err) {
            throw redactError(err, secretValues(inputs.secrets));
        }
    },

    async read(id, props) {
        if (!props) return { id, props };
        // A stopped or deleted cluster (machine rebooted, temp dir cleaned) is gone for the engine.
        return scratchClusterState(props) === "running" ? { id, props } : { id: "", props };
    },

    async diff(_id, olds, news) {
        return replaceOnAnyChange({ ...olds }, { ...news });
    },

    async delete(_id, props) {
        try {
            removePitrCluster(props);
        } catch (err) {
            throw redactError(err, [props.adminUrl, props.connectionString]);
        }
    },
};

interface ValidationInputs {
    targetUrl: string;
    mode: "mark" | "heartbeat";
    /** mark: the key PitrRestore resolved; where the marks are; the archive's settings and secrets. */
    markKey?: string;
    marks?: VaultSettings;
    /** Tables PitrRestore changed on purpose (jobs deactivated): reported, not compared with the mark. */
    changedTables?: string[];
    archive?: PitrSettings;
    secrets?: PitrSecrets;
    /** heartbeat: the source holding the heartbeat log, and T. */
    sourceUrl?: string;
    targetTime?: string;
    /** Why T is what it is, when it is not the time asked (an LSN or restore point target). */
    targetNote?: string;
    assertions?: SqlAssertion[];
    artifactsDir: string;
    drillId: string;
    /** Orders the step after the restore. */
    restoredAt: string;
}

interface ValidationOutputs extends ValidationInputs {
    status: string;
    checks: number;
    failed: number;
    validatedAt: string;
    comparedWith: string;
}

function basisOf(inputs: ValidationInputs): PitrValidationBasis {
    if (inputs.mode === "mark") {
        if (!inputs.markKey || !inputs.archive) throw new Error("PitrValidation: a mark validation needs markKey and archive");
        return { kind: "mark", markKey: inputs.markKey, archive: inputs.archive, secrets: inputs.secrets ?? {}, marks: inputs.marks, changedTables: inputs.changedTables };
    }
    if (!inputs.sourceUrl || !inputs.targetTime) {
        throw new Error("PitrValidation: heartbeat ordering needs the source (its heartbeat log) and a target time (recovery replayed no commit?)");
    }
    return { kind: "heartbeat", sourceUrl: inputs.sourceUrl, targetTime: inputs.targetTime, note: inputs.targetNote };
}

export const pitrValidationProvider: pulumi.dynamic.ResourceProvider<ValidationInputs, ValidationOutputs> = {
    async create(inputs) {
        const secrets = [inputs.targetUrl, inputs.sourceUrl, ...secretValues(inputs.secrets ?? {})];
        let step;
        try {
            step = await validatePitrRestore({ targetUrl: inputs.targetUrl, basis: basisOf(inputs), assertions: inputs.assertions, artifactsDir: inputs.artifactsDir, drillId: inputs.drillId });
        } catch (err) {
            throw redactError(err, secrets);
        }
        const failed = step.results.filter((r) => r.status === "fail");
        if (failed.length > 0) {
            // Names and details only: a mark's values are checksums and counts, but nothing else is shown.
            const lines = failed.slice(0, 20).map((r) => `  FAIL ${r.check} ${r.object}${r.detail ? `: ${r.detail}` : ""}`);
            const more = failed.length > 20 ? `\n  … and ${failed.length - 20} more` : "";
            throw new Error(
                redact(`validation failed: ${failed.length} of ${step.results.length} checks differ (${step.note ?? step.comparedWith})\n${lines.join("\n")}${more}\n` +
                    `full report: ${artifactPaths(inputs.artifactsDir, inputs.drillId).validationTxt}`, secrets),
            );
        }
        return {
            id: `validation_${inputs.drillId}`,
            outs: { ...inputs, status: step.status, checks: step.results.length, failed: 0, validatedAt: step.finishedAt, comparedWith: step.comparedWith },
        };
    },

    async diff(_id, olds, news) {
        return replaceOnAnyChange({ ...olds }, { ...news });
    },
};
