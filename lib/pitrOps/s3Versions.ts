// Read-only views of the repository's object versions, for `expire`'s report: which keys are current,
// which versions stay behind a delete marker, and until when Object Lock keeps them. Uses the same
// endpoint, region, URI style, CA and credentials as pgBackRest (settings and secrets).
import * as fs from "node:fs";
import * as https from "node:https";
import {
    GetObjectLockConfigurationCommand,
    GetObjectRetentionCommand,
    ListObjectVersionsCommand,
    S3Client,
} from "@aws-sdk/client-s3";
import type { PitrSecrets, PitrSettings, S3Repository } from "../pitr/settings";
import { repositoryPath } from "../pitr/settings";

export interface ObjectVersion {
    key: string;
    versionId: string;
    isLatest: boolean;
    deleteMarker: boolean;
    lastModified: Date;
    bytes: number;
}

export function s3RepositoryOf(settings: PitrSettings): S3Repository {
    if (settings.repository.type !== "s3") throw new Error(`repository.type is ${settings.repository.type}: object versions exist only in an S3 repository`);
    return settings.repository;
}

/** The repository's key prefix in the bucket, e.g. "pitr/prod/". */
export function repositoryPrefix(settings: PitrSettings): string {
    return repositoryPath(settings).replace(/^\//, "").replace(/\/?$/, "/");
}

export function repositoryClient(settings: PitrSettings, secrets: PitrSecrets): S3Client {
    const repo = s3RepositoryOf(settings);
    const credentials = repo.keyType === "shared" && secrets.s3Key && secrets.s3KeySecret
        ? { accessKeyId: secrets.s3Key, secretAccessKey: secrets.s3KeySecret, ...(secrets.s3Token ? { sessionToken: secrets.s3Token } : {}) }
        : undefined;
    return new S3Client({
        endpoint: repo.endpoint,
        region: repo.region,
        forcePathStyle: repo.uriStyle === "path",
        ...(credentials ? { credentials } : {}),
        // The endpoint's private CA, as pgBackRest's repo1-storage-ca-file; verification stays on.
        ...(repo.caFile ? { requestHandler: { httpsAgent: new https.Agent({ ca: fs.readFileSync(repo.caFile) }) } } : {}),
    });
}

/**
 * Every version and delete marker under the prefix, each once: an S3-compatible server may list a
 * version twice across pages (versitygw 1.8, the test server, did for a 3-backup repository).
 */
export async function listVersions(client: S3Client, bucket: string, prefix: string): Promise<ObjectVersion[]> {
    const out: ObjectVersion[] = [];
    const seen = new Set<string>();
    const add = (v: ObjectVersion) => {
        const id = `${v.key}\u0000${v.versionId}`;
        if (seen.has(id)) return;
        seen.add(id);
        out.push(v);
    };
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
        const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
        for (const v of page.Versions ?? []) {
            add({ key: v.Key!, versionId: v.VersionId ?? "null", isLatest: v.IsLatest === true, deleteMarker: false, lastModified: v.LastModified ?? new Date(0), bytes: v.Size ?? 0 });
        }
        for (const m of page.DeleteMarkers ?? []) {
            add({ key: m.Key!, versionId: m.VersionId ?? "null", isLatest: m.IsLatest === true, deleteMarker: true, lastModified: m.LastModified ?? new Date(0), bytes: 0 });
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
    return out;
}

/** Current (readable) versions by key. */
export function currentVersions(versions: ObjectVersion[]): Map<string, ObjectVersion> {
    return new Map(versions.filter((v) => v.isLatest && !v.deleteMarker).map((v) => [v.key, v]));
}

/** The bucket's default retention in days, or undefined without Object Lock. */
export async function defaultRetentionDays(client: S3Client, bucket: string): Promise<number | undefined> {
    try {
        const res = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
        const rule = res.ObjectLockConfiguration?.Rule?.DefaultRetention;
        if (!rule) return undefined;
        return rule.Days ?? (rule.Years !== undefined ? rule.Years * 365 : undefined);
    } catch (err) {
        if (/ObjectLockConfigurationNotFound|NoSuchObjectLockConfiguration/i.test((err as Error).name)) return undefined;
        throw err;
    }
}

/**
 * Until when a version is locked: its own retention when S3 reports one, else creation + the bucket's
 * default retention (what a default rule applies; some S3-compatible servers do not report it per
 * version).
 */
export async function retainUntil(client: S3Client, bucket: string, v: ObjectVersion, defaultDays: number | undefined): Promise<Date | undefined> {
    try {
        const res = await client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId }));
        if (res.Retention?.RetainUntilDate) return new Date(res.Retention.RetainUntilDate);
    } catch (err) {
        if (!/NoSuchObjectLockConfiguration|ObjectLockConfigurationNotFound|InvalidRequest/i.test((err as Error).name)) throw err;
    }
    return defaultDays === undefined ? undefined : new Date(v.lastModified.getTime() + defaultDays * 86_400_000);
}
