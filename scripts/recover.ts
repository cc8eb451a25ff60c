// `npm run recover -- rows|undo|freeze|unfreeze|storage|storage-undo|schema|rebuild …`: incident recovery (runbook 001). Dry
// run unless --apply. The live database comes from LIVE_DB_URL only, live Storage from STORAGE_URL and
// SUPABASE_SERVICE_ROLE_KEY only, schema's new database from TARGET_DB_URL only, a vault backup from
// BACKUP_BUCKET / BACKUP_ENV, rebuild's Management API token from SUPABASE_ACCESS_TOKEN. Progress and errors go to stderr and never carry a password, a key
// or a row value; the diff (which holds row values) goes to stdout or --diff-out; the storage plan
// (object names only) to stdout.
// Exit 0 ok; 1 when sampled signed URLs did not serve the restored content; otherwise the code of the
// error's class (lib/cli/run.ts): 2 bad usage, 3 refused, 4 a tool missing, 5 a service failing.
import * as fs from "node:fs";
import { runCli } from "../lib/cli/run";
import { parseRecoverArgs, UsageError, type RecoverCommand } from "../lib/recover/cliArgs";
import { freeze, unfreeze } from "../lib/recover/freeze";
import { backupEnvName, clockOverride, secretsOf, storageSettingsFromEnv, vaultSettingsFromEnv, vaultStoreFor } from "../lib/backupJob/config";
import { helpFor } from "../lib/recover/help";
import { readKeysFile } from "../lib/recover/keysFile";
import { recoverRows } from "../lib/recover/rows";
import { recoverRebuild } from "../lib/recover/rebuild";
import { recoverSchema } from "../lib/recover/schema";
import { recoverStorage } from "../lib/recover/storage";
import { printableKey } from "../lib/recover/storageSelect";
import { recoverStorageUndo } from "../lib/recover/storageUndo";
import { recoverUndo } from "../lib/recover/undo";
import { parseConnectionString } from "../lib/postgres/connection";

const out = (text: string) => process.stdout.write(text.endsWith("\n") ? text : text + "\n");
const err = (text: string) => process.stderr.write(text.endsWith("\n") ? text : text + "\n");

function liveUrl(): string {
    const url = process.env.LIVE_DB_URL;
    if (!url) throw new UsageError("LIVE_DB_URL is not set: export the live database's connection string (it is never taken from the command line)");
    return url;
}

/** The vault of the nightly job, for --backup vault[:<key>]. */
function vaultFromEnv(key: string | undefined) {
    try {
        const env = backupEnvName(process.env);
        return { store: vaultStoreFor(vaultSettingsFromEnv(process.env), clockOverride(process.env)), env, key };
    } catch (e) {
        throw new UsageError(`--backup vault: ${(e as Error).message}`);
    }
}

async function run(cmd: RecoverCommand): Promise<number> {
    switch (cmd.command) {
        case "help":
            out(helpFor(cmd.topic));
            return 0;
        case "rows": {
            const url = liveUrl();
            const started = Date.now();
            const result = await recoverRows({
                ...(cmd.vault ? { vault: vaultFromEnv(cmd.vault.key) } : { backupPath: cmd.backup }),
                table: cmd.table,
                key: cmd.key,
                selection: cmd.keysFile ? { kind: "keys", keys: readKeysFile(cmd.keysFile) } : { kind: "where", predicate: cmd.where! },
                columns: cmd.columns,
                liveUrl: url,
                apply: cmd.apply,
                artifactsDir: cmd.artifactsDir,
                tempAdminUrl: process.env.RECOVER_TEMP_ADMIN_URL || undefined,
                lockTimeoutMs: cmd.lockTimeoutMs,
                onProgress: (m) => err(`[${Math.round((Date.now() - started) / 1000)}s] ${m}`),
            });
            if (cmd.diffOut) {
                fs.writeFileSync(cmd.diffOut, result.diffText, { mode: 0o600 });
                err(`diff written to ${cmd.diffOut}`);
            } else out(result.diffText);
            for (const n of result.notes) err(`note: ${n}`);
            if (result.vault) err(`backup: ${result.vault.location}/${result.vault.manifestKey} (manifest sha256 ${result.vault.manifestSha256}; every file verified)`);
            if (result.keysNotInBackup > 0) err(`${result.keysNotInBackup} key(s) of the --keys file are not in the backup`);
            if (!cmd.apply) {
                err(`dry run: ${result.summary}. Nothing was changed; add --apply to write live.`);
                return 0;
            }
            const a = result.applied!;
            err(`applied: ${a.inserted} inserted, ${a.updated} updated` + (a.artifact ? `; before-image ${a.artifact}` : "; nothing needed changing"));
            const still = Object.entries(a.stillDiffering);
            if (still.length > 0) err(`note: live triggers rewrote after the apply: ${still.map(([c, n]) => `${c} in ${n} row(s)`).join(", ")}`);
            if (result.audit) err(`audit record ${result.audit}`);
            return 0;
        }
        case "undo": {
            const r = await recoverUndo({ artifactPath: cmd.artifact, liveUrl: liveUrl(), apply: cmd.apply, artifactsDir: cmd.artifactsDir, lockTimeoutMs: cmd.lockTimeoutMs });
            out(r.planText);
            if (!cmd.apply) err(`dry run: ${r.summary}. Nothing was changed; add --apply to write live.`);
            else err(`undone: ${r.outcome!.deleted} deleted, ${r.outcome!.restored} restored` + (r.outcome!.artifact ? `; before-image ${r.outcome!.artifact}` : "") + `; audit record ${r.audit}`);
            return 0;
        }
        case "freeze": {
            const r = await freeze({ liveUrl: liveUrl(), roles: cmd.roles, apply: cmd.apply, artifactsDir: cmd.artifactsDir, print: out });
            if (r.artifact) err(`frozen; previous settings in ${r.artifact} (unfreeze with: npm run recover -- unfreeze ${r.artifact} --apply); audit record ${r.audit}`);
            return 0;
        }
        case "unfreeze": {
            const r = await unfreeze({ liveUrl: liveUrl(), artifactPath: cmd.artifact, apply: cmd.apply, artifactsDir: cmd.artifactsDir, print: out });
            if (r.audit) err(`unfrozen; audit record ${r.audit}`);
            return 0;
        }
        case "storage":
            return runStorage(cmd);
        case "storage-undo":
            return runStorageUndo(cmd);
        case "schema":
            return runSchema(cmd);
        case "rebuild":
            return runRebuild(cmd);
    }
}

async function runRebuild(cmd: Extract<RecoverCommand, { command: "rebuild" }>): Promise<number> {
    const accessToken = process.env.SUPABASE_ACCESS_TOKEN;
    if (!accessToken) throw new UsageError("SUPABASE_ACCESS_TOKEN is not set: export a Management API personal access token (it is never taken from the command line)");
    const organization = cmd.organization ?? process.env.SUPABASE_ORG;
    if (!organization) throw new UsageError("rebuild needs the organization: --org <slug> or SUPABASE_ORG");
    const region = cmd.region ?? process.env.SUPABASE_REGION;
    if (!region) throw new UsageError("rebuild needs --region <code> (e.g. eu-central-1) or SUPABASE_REGION");
    let storageStore;
    try {
        storageStore = vaultStoreFor(vaultSettingsFromEnv(process.env), clockOverride(process.env));
    } catch (e) {
        throw new UsageError(`rebuild reads the storage snapshots from the vault: ${(e as Error).message}`);
    }
    const started = Date.now();
    const r = await recoverRebuild({
        accessToken,
        organization,
        region,
        projectName: cmd.projectName,
        apiBaseUrl: process.env.SUPABASE_API_URL || undefined,
        projectApiUrl: process.env.SUPABASE_PROJECT_API_URL || undefined,
        ...(cmd.vault ? { vault: vaultFromEnv(cmd.vault.key) } : { backupPath: cmd.backup }),
        migrationsDir: cmd.migrations,
        baseline: cmd.baseline,
        storageStore,
        storageEnv: cmd.storageEnv,
        buckets: cmd.buckets,
        oldRef: cmd.oldProject,
        secretValuesFile: cmd.secretValues,
        liveUrl: process.env.LIVE_DB_URL || undefined,
        now: clockOverride(process.env) ?? new Date(),
        apply: cmd.apply,
        artifactsDir: cmd.artifactsDir,
        onProgress: (m) => err(`[${Math.round((Date.now() - started) / 1000)}s] ${m}`),
    });
    out(r.planText);
    for (const n of r.notes) err(`note: ${n}`);
    if (!cmd.apply) {
        err(`dry run: ${r.summary}. Nothing was created; add --apply to rebuild.`);
        return 0;
    }
    out("");
    out(fs.readFileSync(r.reportFile!, "utf8"));
    err(`${r.summary}; report ${r.reportFile}; audit record ${r.audit}`);
    return 0;
}

async function runSchema(cmd: Extract<RecoverCommand, { command: "schema" }>): Promise<number> {
    const targetUrl = process.env.TARGET_DB_URL;
    if (!targetUrl) throw new UsageError("TARGET_DB_URL is not set: export the NEW, empty database's connection string (it is never taken from the command line)");
    const started = Date.now();
    const r = await recoverSchema({
        ...(cmd.vault ? { vault: vaultFromEnv(cmd.vault.key) } : { backupPath: cmd.backup }),
        migrationsDir: cmd.migrations,
        to: cmd.to,
        baseline: cmd.baseline,
        targetUrl,
        liveUrl: process.env.LIVE_DB_URL || undefined,
        apply: cmd.apply,
        artifactsDir: cmd.artifactsDir,
        onProgress: (m) => err(`[${Math.round((Date.now() - started) / 1000)}s] ${m}`),
    });
    out(r.planText);
    for (const n of r.notes) err(`note: ${n}`);
    out("");
    out(r.envSwitch);
    if (!cmd.apply) {
        err(`dry run: ${r.summary}. Nothing was written; add --apply to restore into the target and migrate it.`);
        return 0;
    }
    err(`${r.summary}; audit record ${r.audit}`);
    if (!r.verified) err("verify FAILED: do not switch to the target before the problems above are understood");
    return r.verified ? 0 : 1;
}

/** Live Storage from STORAGE_URL and SUPABASE_SERVICE_ROLE_KEY (never from argv). */
function liveStorage() {
    let storage;
    try {
        storage = storageSettingsFromEnv(process.env);
    } catch (e) {
        throw new UsageError((e as Error).message, { cause: e });
    }
    if (!storage) throw new UsageError("STORAGE_URL is not set: export the live project's Storage API, <SUPABASE_URL>/storage/v1 (it is never taken from the command line)");
    return storage;
}

async function runStorage(cmd: Extract<RecoverCommand, { command: "storage" }>): Promise<number> {
    const storage = liveStorage();
    let env;
    try {
        env = backupEnvName(process.env);
    } catch (e) {
        throw new UsageError((e as Error).message, { cause: e });
    }
    const now = clockOverride(process.env);
    const store = vaultStoreFor(vaultSettingsFromEnv(process.env), now);
    const started = Date.now();
    const r = await recoverStorage({
        storageUrl: storage.storageUrl,
        serviceKey: storage.serviceKey,
        store,
        env,
        bucket: cmd.bucket,
        snapshot: cmd.snapshot,
        now: now ?? new Date(),
        filter: cmd.filter,
        onlyMissing: cmd.onlyMissing,
        into: cmd.into,
        apply: cmd.apply,
        artifactsDir: cmd.artifactsDir,
        signedUrlSample: cmd.signedUrlSample,
        onProgress: (m) => err(`[${Math.round((Date.now() - started) / 1000)}s] ${m}`),
    });
    out(r.planText);
    for (const n of r.notes) err(`note: ${n}`);
    if (!cmd.apply) {
        err(`dry run: ${r.summary}. Nothing was changed; add --apply to write.`);
        return 0;
    }
    const a = r.applied!;
    if (a.objects === 0) err(`applied: nothing needed restoring in ${a.target}`);
    else err(`applied: ${a.objects} object(s), ${a.bytes} bytes restored into ${cmd.into === "live" ? "live" : "review"} bucket ${a.target}; ${a.verified} verified by sha256 after download`);
    if (a.beforeImage) {
        err(`before-image: the previous content of ${a.beforeImageObjects} overwritten live object(s) is kept in ${a.beforeImage}` +
            (a.beforeImageAdded > 0 ? ` (and the ${a.beforeImageAdded} added object(s) are listed there)` : "") +
            `; to undo: npm run recover -- storage-undo ${a.beforeImage}`);
    } else if (cmd.into === "live" && a.objects > 0) err("before-image: none, --only-missing overwrote nothing (storage-undo cannot remove what it added)");
    if (a.ownerTokenFile) err(`review bucket owner token: ${a.ownerTokenFile} (keep it to continue in, or remove, ${a.target})`);
    if (a.signedUrls.length > 0) {
        const ok = a.signedUrls.filter((s) => s.reachable).length;
        err(`signed URLs: ${ok}/${a.signedUrls.length} sampled object(s) reachable with the right content`);
        for (const s of a.signedUrls.filter((x) => !x.reachable)) err(`  not reachable: ${s.key}: ${s.problem}`);
    }
    if (r.audit) err(`audit record ${r.audit}`);
    return a.signedUrls.every((s) => s.reachable) ? 0 : 1;
}

async function runStorageUndo(cmd: Extract<RecoverCommand, { command: "storage-undo" }>): Promise<number> {
    const storage = liveStorage();
    const started = Date.now();
    const r = await recoverStorageUndo({
        storageUrl: storage.storageUrl,
        serviceKey: storage.serviceKey,
        beforeImage: cmd.beforeImage,
        forceChanged: cmd.forceChanged,
        removeAdded: cmd.removeAdded,
        apply: cmd.apply,
        artifactsDir: cmd.artifactsDir,
        onProgress: (m) => err(`[${Math.round((Date.now() - started) / 1000)}s] ${m}`),
    });
    out(r.planText);
    for (const n of r.notes) err(`note: ${n}`);
    if (!cmd.apply) {
        err(`dry run: ${r.summary}. Nothing was changed; add --apply to write live.`);
        return 0;
    }
    const a = r.applied!;
    err(`undone: ${r.summary}` + (a.uploaded + a.removed > 0 ? `; ${a.verified} verified by reading back` : ""));
    if (a.beforeImage) err(`before-image of this undo: ${a.beforeImage} (to undo it: npm run recover -- storage-undo ${a.beforeImage})`);
    if (r.leftChanged.length > 0) err(`left as they are (changed since the restore; --force-changed overwrites them): ${r.leftChanged.map(printableKey).join(", ")}`);
    err(`audit record ${r.audit}`);
    return 0;
}

function passwordOf(url: string | undefined): string | undefined {
    if (!url) return undefined;
    try {
        return parseConnectionString(url).password;
    } catch {
        return undefined;
    }
}

export async function main(argv: string[]): Promise<number> {
    return run(parseRecoverArgs(argv));
}

if (require.main === module) {
    runCli("recover", () => main(process.argv.slice(2)), {
        secrets: () => {
            const urls = [process.env.LIVE_DB_URL, process.env.RECOVER_TEMP_ADMIN_URL, process.env.TARGET_DB_URL];
            return [...urls, ...urls.map(passwordOf), ...secretsOf(process.env), process.env.SUPABASE_ACCESS_TOKEN];
        },
        usage: "(npm run recover -- --help)",
    });
}
