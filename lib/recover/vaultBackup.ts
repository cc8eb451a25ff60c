// `--backup vault[:<key>]`: a database backup taken from the vault the nightly job writes
// (BACKUP_BUCKET: an S3 bucket or a file:// directory vault). `vault` is the newest backup of
// BACKUP_ENV (the lexically greatest manifest key under db/{env}/: keys carry the date and a
// yyyymmddHHMMss id); `vault:<key>` names one: the key of its manifest or of any of its files, or its
// id (backup_20260301020000), looked up among the daily and the monthly archive copies.
//
// Nothing is used before it is verified: the manifest against the sha256 the vault recorded for it,
// each file, while it streams to disk, against the manifest's sha256 (and the vault's record, when
// it has one). The result names the vault keys and hashes for the audit record.
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { sha256Tap } from "../backup/checksum";
import { readManifest } from "../backup/manifest";
import type { BlobStore, StoredObject } from "../vault/blobStore";
import { dbPrefix, monthlyDbPrefix } from "../vault/keys";

export const MANIFEST_SUFFIX = ".manifest.json";

export interface VaultBackup {
    /** The local dump (or trio directory) to restore from. */
    backupPath: string;
    manifestPath: string;
    /** For the audit: where it came from and what was verified. */
    vault: { location: string; manifestKey: string; manifestSha256: string; files: Record<string, string> };
}

/** Parses the --backup value: undefined when it is a local path, else the vault choice (key optional). */
export function parseVaultBackupArg(value: string): { key?: string } | undefined {
    if (value === "vault") return {};
    if (!value.startsWith("vault:")) return undefined;
    const key = value.slice("vault:".length).replace(/^\/+/, "");
    if (!key) throw new Error("--backup vault: names no key (use 'vault' for the newest backup)");
    if (key.split("/").includes("..")) throw new Error(`--backup vault:${key} is not a vault key ('..' is not allowed)`);
    return { key };
}

async function newestManifest(store: BlobStore, env: string): Promise<StoredObject | undefined> {
    let newest: StoredObject | undefined;
    for await (const o of store.list(dbPrefix(env))) {
        if (o.key.endsWith(MANIFEST_SUFFIX) && (!newest || o.key > newest.key)) newest = o;
    }
    return newest;
}

async function manifestFor(store: BlobStore, env: string, key: string): Promise<StoredObject> {
    if (key.endsWith(MANIFEST_SUFFIX)) {
        const o = await store.head(key);
        if (!o) throw new Error(`no backup manifest ${key} in ${store.location}`);
        return o;
    }
    if (key.includes("/")) {
        // A file of a backup: its manifest sits in the same folder, named by the backup's id.
        const dir = key.slice(0, key.lastIndexOf("/") + 1);
        const base = key.slice(dir.length);
        for await (const o of store.list(dir)) {
            if (!o.key.endsWith(MANIFEST_SUFFIX) || o.key.slice(dir.length).includes("/")) continue;
            const id = o.key.slice(dir.length, -MANIFEST_SUFFIX.length);
            if (base === id || base.startsWith(`${id}.`) || base.startsWith(`${id}_`)) return o;
        }
        throw new Error(`no backup manifest for ${key} in ${store.location} (looked in ${dir})`);
    }
    const found: StoredObject[] = [];
    for (const prefix of [dbPrefix(env), monthlyDbPrefix(env)]) {
        for await (const o of store.list(prefix)) if (o.key.endsWith(`/${key}${MANIFEST_SUFFIX}`)) found.push(o);
    }
    if (found.length === 0) throw new Error(`no backup ${key} in ${store.location} under ${dbPrefix(env)} or ${monthlyDbPrefix(env)}`);
    // The daily copy first: the monthly archive holds the same bytes under another key.
    return found.find((o) => o.key.startsWith(dbPrefix(env))) ?? found[0];
}

/** Streams `key` to `file`, returning its sha256. */
async function download(store: BlobStore, key: string, file: string): Promise<{ sha256: string; bytes: number }> {
    const tap = sha256Tap();
    await pipeline(await store.get(key), tap.stream, fs.createWriteStream(file, { mode: 0o600 }));
    return { sha256: tap.digest(), bytes: tap.bytes() };
}

export async function fetchVaultBackup(
    store: BlobStore,
    env: string,
    choice: { key?: string },
    destDir: string,
    progress: (m: string) => void = () => undefined,
): Promise<VaultBackup> {
    const manifestObj = choice.key ? await manifestFor(store, env, choice.key) : await newestManifest(store, env);
    if (!manifestObj) throw new Error(`no database backup in ${store.location} under ${dbPrefix(env)}`);
    fs.mkdirSync(destDir, { recursive: true });
    const manifestPath = path.join(destDir, path.posix.basename(manifestObj.key));
    progress(`fetching ${store.location}/${manifestObj.key}`);
    const got = await download(store, manifestObj.key, manifestPath);
    if (manifestObj.sha256 && manifestObj.sha256 !== got.sha256) {
        throw new Error(`the vault's manifest ${manifestObj.key} does not match the sha256 the vault recorded for it (${manifestObj.sha256}, got ${got.sha256}): not used`);
    }
    const manifest = readManifest(manifestPath);
    const dir = path.posix.dirname(manifestObj.key);
    const files: Record<string, string> = {};
    for (const f of manifest.files) {
        if (path.isAbsolute(f.path) || f.path.split(/[\\/]/).includes("..")) {
            throw new Error(`manifest ${manifestObj.key} lists a file outside its folder (${f.path}): not used`);
        }
        const key = `${dir}/${f.path.split(path.sep).join("/")}`;
        const local = path.join(destDir, f.path);
        fs.mkdirSync(path.dirname(local), { recursive: true });
        progress(`fetching ${store.location}/${key} (${f.bytes} bytes) and checking its sha256`);
        const stored = await store.head(key);
        if (!stored) throw new Error(`the vault has no ${key}, which manifest ${manifestObj.key} lists`);
        const d = await download(store, key, local);
        if (d.sha256 !== f.sha256 || d.bytes !== f.bytes) {
            throw new Error(
                `vault object ${key} does not match its manifest (sha256 ${f.sha256}, ${f.bytes} bytes; got ${d.sha256}, ${d.bytes} bytes): ` +
                    `the backup is corrupt or was modified, not used`,
            );
        }
        if (stored.sha256 && stored.sha256 !== d.sha256) {
            throw new Error(`vault object ${key} does not match the sha256 the vault recorded for it (${stored.sha256}, got ${d.sha256}): not used`);
        }
        files[key] = d.sha256;
    }
    return {
        backupPath: path.join(destDir, manifest.root),
        manifestPath,
        vault: { location: store.location, manifestKey: manifestObj.key, manifestSha256: got.sha256, files },
    };
}
