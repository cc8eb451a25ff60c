// Where a drill finds the consistent-point marks (marks.ts): beside the WAL archive in the same bucket
// by default, read with the archive's own S3 credentials (the reader role pgBackRest restores with); a
// posix repository lives outside any vault, so its marks are in the store the settings name.
import * as fs from "node:fs";
import * as https from "node:https";
import type { BlobStore } from "../vault/blobStore";
import { openVault, type VaultSettings } from "../vault/openVault";
import { S3Store } from "../vault/s3Store";
import { S3Client } from "@aws-sdk/client-s3";
import { listMarks, marksPrefix, readMark, type ConsistentMark } from "./marks";
import type { PitrSecrets, PitrSettings } from "./settings";

/** The store holding the archive's marks: `location` when given, else the archive's S3 bucket. */
export function openMarkStore(settings: PitrSettings, secrets: PitrSecrets, location?: VaultSettings): BlobStore {
    if (location) return openVault(location);
    const repo = settings.repository;
    if (repo.type === "posix") {
        throw new Error("the archive is a posix repository: name the store of its marks (drill.pitr.marks, e.g. {kind: dir, path})");
    }
    const credentials =
        repo.keyType === "shared" && secrets.s3Key && secrets.s3KeySecret
            ? { accessKeyId: secrets.s3Key, secretAccessKey: secrets.s3KeySecret, ...(secrets.s3Token ? { sessionToken: secrets.s3Token } : {}) }
            : undefined;
    // A private CA (the test server's, a company's) must be trusted by the SDK as by pgBackRest.
    const client = new S3Client({
        region: repo.region,
        endpoint: repo.endpoint,
        forcePathStyle: repo.uriStyle === "path",
        ...(credentials ? { credentials } : {}),
        ...(repo.caFile ? { requestHandler: { httpsAgent: new https.Agent({ ca: fs.readFileSync(repo.caFile) }) } } : {}),
    });
    return new S3Store({ bucket: repo.bucket, client });
}

/** A mark by key, or the newest one for "latest"; refuses a mark of another environment or stanza. */
export async function resolveMark(store: BlobStore, settings: PitrSettings, keyOrLatest: string): Promise<{ key: string; mark: ConsistentMark }> {
    let key = keyOrLatest;
    if (keyOrLatest === "latest") {
        const keys = await listMarks(store, settings);
        if (keys.length === 0) throw new Error(`no consistent-point mark under ${store.location}/${marksPrefix(settings)}: take one first (lib/pitr/marks.ts takeMark)`);
        key = keys[keys.length - 1];
    }
    const mark = await readMark(store, key);
    if (mark.stanza !== settings.stanza || mark.env !== settings.env) {
        throw new Error(`mark ${key} belongs to stanza ${mark.stanza} of ${mark.env}, not to ${settings.stanza} of ${settings.env}: refused`);
    }
    return { key, mark };
}
