// Provider side of the resource: a rehearsal of runbook 001's path A on the drill's scratch copy, after
// validation and before masking (lib/recover/rehearsal.ts): a sample of the table's rows deleted and
// changed there, recovered from the drill's backup (dry run, apply, undo, re-apply), the table checked
// back to its validated state. The result (counts, durations, key hashes; never a row value) goes to
// rehearse_<schema.table>_<id>.json for the report; a FAIL fails the drill naming the table.
import type * as pulumi from "@pulumi/pulumi";
import { describeRehearsal, writeRehearsalStep } from "../../lib/drill/rehearseRecover";
import { parseTableName } from "../../lib/recover/identifiers";
import { rehearseRecover } from "../../lib/recover/rehearsal";
import { redact, redactError } from "../../lib/redact";
import { replaceOnAnyChange } from "./oneShot";

interface Inputs {
    targetUrl: string;
    sourceUrl?: string;
    manifestPath: string;
    /** schema.table */
    table: string;
    sample?: number;
    requireScratchMarker?: boolean;
    artifactsDir: string;
    drillId: string;
    after: string;
}

interface Outputs extends Inputs {
    status: string;
    deleted: number;
    changed: number;
    finishedAt: string;
}

export const recoverRehearsalProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async check(_olds, news) {
        try {
            parseTableName(news.table);
            return { inputs: news };
        } catch (err) {
            return { inputs: news, failures: [{ property: "table", reason: (err as Error).message }] };
        }
    },

    async create(inputs) {
        const secrets = [inputs.targetUrl, inputs.sourceUrl];
        let result;
        try {
            result = await rehearseRecover({
                targetUrl: inputs.targetUrl,
                sourceUrl: inputs.sourceUrl,
                manifestPath: inputs.manifestPath,
                table: parseTableName(inputs.table),
                sample: inputs.sample,
                requireScratchMarker: inputs.requireScratchMarker,
            });
        } catch (err) {
            // Refused before anything was touched (the source guard, the scratch marker, the backup's checksum).
            throw redactError(err, secrets);
        }
        result.failures = result.failures.map((f) => redact(f, secrets));
        result.notes = result.notes.map((n) => redact(n, secrets));
        writeRehearsalStep(inputs.artifactsDir, inputs.drillId, result);
        if (result.status !== "pass") {
            throw new Error(`recovery rehearsal of ${result.table} FAILED:\n${result.failures.map((f) => `  - ${f}`).join("\n")}`);
        }
        return {
            id: `rehearse_${inputs.table}_${inputs.drillId}`,
            outs: { ...inputs, status: describeRehearsal(result), deleted: result.deleted, changed: result.changed, finishedAt: result.finishedAt },
        };
    },

    async diff(_id, olds, news) {
        return replaceOnAnyChange({ ...olds }, { ...news });
    },
};
