// Provider side of the resource: the drill's backup artifact. Either dumps the source now (pg_dump -Fc, fingerprint
// in the same snapshot) or adopts an existing backup. Delete keeps the files: artifacts outlive the drill.
import type * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { adoptBackup } from "../../lib/backup/adopt";
import { fetchBackupFromVault } from "../../lib/backup/fromVault";
import { dumpSource } from "../../lib/backup/dump";
import { writeStepResult } from "../../lib/drill/artifacts";
import type { BackupStep } from "../../lib/drill/report";
import { redactError } from "../../lib/redact";
import type { FingerprintOptions } from "../../lib/validate/types";
import { openVault, type VaultSettings } from "../../lib/vault/openVault";
import { replaceOnAnyChange } from "./oneShot";

interface Inputs {
    sourceUrl?: string;
    backupPath?: string;
    takenAt?: string;
    vault?: { settings: VaultSettings; env: string; notAfter?: string };
    artifactsDir: string;
    drillId: string;
    fingerprint?: FingerprintOptions;
}

interface Outputs extends Inputs {
    manifestPath: string;
    backupTakenAt: string;
    format: string;
    bytes: number;
}

export const backupArtifactProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if ([news.sourceUrl, news.backupPath, news.vault].filter(Boolean).length !== 1) {
            failures.push({ property: "sourceUrl", reason: "give exactly one of sourceUrl (dump now), backupPath (adopt a backup) or vault (fetch the newest from the vault)" });
        }
        return { inputs: news, failures };
    },

    async create(inputs) {
        const started = new Date();
        const id = `backup_${inputs.drillId}`;
        try {
            let backupPath = inputs.backupPath;
            let vaultObject: string | undefined;
            if (inputs.vault) {
                const v = inputs.vault;
                const store = openVault(v.settings);
                const fetched = await fetchBackupFromVault(store, v.env, path.join(inputs.artifactsDir, "vault"), {
                    notAfter: v.notAfter ? new Date(v.notAfter) : undefined,
                });
                backupPath = fetched.backupPath;
                vaultObject = `${store.location}/${fetched.manifestKey}`;
            }
            const r = inputs.sourceUrl
                ? await dumpSource({ sourceUrl: inputs.sourceUrl, outDir: inputs.artifactsDir, id, fingerprint: inputs.fingerprint ?? {} })
                : await adoptBackup({ backupPath: backupPath!, outDir: inputs.artifactsDir, id, takenAt: inputs.takenAt });
            const finished = new Date();
            const step: BackupStep = {
                mode: inputs.sourceUrl ? "dump" : "adopt",
                manifestPath: r.manifestPath,
                manifest: r.manifest,
                ...(vaultObject ? { vaultObject } : {}),
                startedAt: started.toISOString(),
                finishedAt: finished.toISOString(),
                durationMs: finished.getTime() - started.getTime(),
            };
            writeStepResult(inputs.artifactsDir, inputs.drillId, "backup", step);
            const bytes = r.manifest.files.reduce((s, f) => s + f.bytes, 0);
            return {
                id,
                outs: { ...inputs, manifestPath: r.manifestPath, backupTakenAt: r.manifest.takenAt, format: r.manifest.format, bytes },
            };
        } catch (err) {
            throw redactError(err, [inputs.sourceUrl]);
        }
    },

    async diff(_id, olds, news) {
        return replaceOnAnyChange({ ...olds }, { ...news });
    },
};
