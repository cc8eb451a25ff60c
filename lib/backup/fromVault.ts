// Fetches a backup from the vault for a drill: the newest manifest under db/{env}/ (or the newest at or
// before a given time), then every file it lists, streamed to a local directory. The manifest travels
// with the files, so the drill adopts the backup WITH its snapshot fingerprint and validates against it
// even though the source has moved on (or is gone).
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import type { BlobStore, StoredObject } from "../vault/blobStore";
import { dbPrefix } from "../vault/keys";
import { readManifest } from "./manifest";

export interface FetchedBackup {
    /** The local dump (or supabase-trio directory) to adopt. */
    backupPath: string;
    manifestPath: string;
    /** Vault key of the manifest. */
    manifestKey: string;
}

async function newestManifest(store: BlobStore, env: string, notAfter?: Date): Promise<StoredObject | undefined> {
    let newest: StoredObject | undefined;
    for await (const obj of store.list(dbPrefix(env))) {
        if (!obj.key.endsWith(".manifest.json")) continue;
        if (notAfter && obj.lastModified > notAfter) continue;
        // Keys carry YYYY/MM/DD and a yyyymmddHHMMss id: the lexically greatest key is the newest backup.
        if (!newest || obj.key > newest.key) newest = obj;
    }
    return newest;
}

async function download(store: BlobStore, key: string, file: string): Promise<void> {
    await pipeline(await store.get(key), fs.createWriteStream(file));
}

export async function fetchBackupFromVault(
    store: BlobStore,
    env: string,
    destDir: string,
    opts: { notAfter?: Date; onProgress?: (m: string) => void } = {},
): Promise<FetchedBackup> {
    const manifestObj = await newestManifest(store, env, opts.notAfter);
    if (!manifestObj) throw new Error(`no backup found in ${store.location} under ${dbPrefix(env)}`);
    fs.mkdirSync(destDir, { recursive: true });
    const manifestPath = path.join(destDir, path.posix.basename(manifestObj.key));
    await download(store, manifestObj.key, manifestPath);
    const manifest = readManifest(manifestPath);
    const dir = path.posix.dirname(manifestObj.key);
    for (const f of manifest.files) {
        if (path.isAbsolute(f.path) || f.path.split(/[\\/]/).includes("..")) {
            throw new Error(`manifest ${manifestObj.key} lists a file outside its folder: ${f.path}`);
        }
        opts.onProgress?.(`fetching ${dir}/${f.path} (${f.bytes} bytes)`);
        const local = path.join(destDir, f.path);
        fs.mkdirSync(path.dirname(local), { recursive: true });
        await download(store, `${dir}/${f.path.split(path.sep).join("/")}`, local);
    }
    const sums = `${manifest.id}.sha256`;
    const sumsObj = await store.head(`${dir}/${sums}`);
    if (sumsObj) await download(store, `${dir}/${sums}`, path.join(destDir, sums));
    return { backupPath: path.join(destDir, manifest.root), manifestPath, manifestKey: manifestObj.key };
}
