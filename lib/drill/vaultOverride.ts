// BACKUP_BUCKET in a drill: the vault the nightly job writes (the same variable, set once per GitHub
// environment) replaces the location of the vault the drill settings declare, so the weekly drill
// reads exactly the bucket the nightly fills instead of a second copy of its name in the stack file.
// It only relocates a vault the settings already adopt from: it never turns a dump-now drill (a
// stack file without drill.vault) into an adopting one.
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { UserDrillSettings } from "./settingsSchema";
import { UsageError } from "../errors";

type DrillVault = NonNullable<UserDrillSettings["vault"]>;

export interface VaultOverride {
    vault: DrillVault;
    /** One line for the drill's output: what replaced what. */
    note: string;
}

/**
 * The settings' vault at BACKUP_BUCKET's location: `file:///abs/dir` is a directory vault, anything
 * else an S3 bucket name (region from the settings, else AWS_REGION; endpoint from S3_ENDPOINT, else
 * the settings'). Undefined when the settings have no vault. Throws on a malformed file URL.
 */
export function vaultAtBackupBucket(
    vault: DrillVault | undefined,
    bucket: string,
    env: { AWS_REGION?: string; S3_ENDPOINT?: string },
): VaultOverride | undefined {
    if (!vault) return undefined;
    const adoption = { ...(vault.env !== undefined ? { env: vault.env } : {}), ...(vault.notAfter !== undefined ? { notAfter: vault.notAfter } : {}) };
    const was = vault.kind === "dir" ? `file://${vault.path}` : vault.bucket;
    let next: DrillVault;
    if (bucket.startsWith("file:")) {
        let dir: string;
        try {
            dir = fileURLToPath(bucket);
        } catch {
            throw new UsageError(`BACKUP_BUCKET ${JSON.stringify(bucket)} is not a file:///absolute/path URL`);
        }
        if (!path.isAbsolute(dir)) throw new UsageError(`BACKUP_BUCKET ${JSON.stringify(bucket)} must name an absolute directory`);
        next = { kind: "dir", path: dir, ...adoption };
    } else {
        const region = (vault.kind === "s3" ? vault.region : undefined) ?? env.AWS_REGION;
        const endpoint = env.S3_ENDPOINT || (vault.kind === "s3" ? vault.endpoint : undefined);
        next = { kind: "s3", bucket, ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}), ...adoption };
    }
    const note = was === bucket ? `vault: ${bucket} (BACKUP_BUCKET, as in drill.vault)` : `vault: ${bucket} (BACKUP_BUCKET; drill.vault names ${was})`;
    return { vault: next, note };
}
