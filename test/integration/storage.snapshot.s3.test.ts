// S3Store.copy (CopyObject) through the storage snapshot against a local S3 server with Object Lock:
// an unchanged object is copied server-side into the new day with its own retention, metadata and
// content type, and a copy whose source does not hold the claimed content is refused before copying.
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "../../lib/storage/manifest";
import { readText, snapshotStorage } from "../../lib/storage/snapshot";
import { RetentionRefusedError, S3Store } from "../../lib/vault/s3Store";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { startS3Server, type S3Server } from "../helpers/s3Server";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
// Relative to the real clock: object-lock retention must lie in the future.
const DAY2 = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 + 3600_000);
const DAY1 = new Date(DAY2.getTime() - 86_400_000);
const dayPath = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, "/");
const until = (d: Date) => new Date(d.getTime() + 2 * 86_400_000);

let server: S3Server;
let api: FakeStorageApi;
let store: S3Store;

beforeAll(async () => {
    [server, api] = await Promise.all([startS3Server(), startFakeStorageApi()]);
    await server.createLockedBucket("snapshots", "COMPLIANCE", 1);
    store = new S3Store({ bucket: "snapshots", client: server.s3Client() });
}, 600_000);
afterAll(async () => {
    await Promise.all([server?.stop(), api?.close()]);
});

async function bytesOf(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
}

describe("storage snapshot into S3 with Object Lock", () => {
    it("copies unchanged objects server-side into the new day, each with its own lock", async () => {
        api.createBucket("docs");
        api.putObject("docs", "a b/unchanged ü.pdf", "%PDF unchanged", "application/pdf");
        api.putObject("docs", "changing.txt", "v1", "text/plain");
        const common = { storageUrl: api.url, serviceKey: api.serviceKey, env: "prod", store };
        await snapshotStorage({ ...common, now: DAY1, retainUntil: until(DAY1) });
        api.putObject("docs", "changing.txt", "v2", "text/plain");
        const r = await snapshotStorage({ ...common, now: DAY2, retainUntil: until(DAY2) });
        expect(r).toMatchObject({ listed: 2, uploaded: 1, serverSideCopies: 1 });

        const m = parseManifest(await readText(store, `storage/prod/docs/${dayPath(DAY2)}/manifest.json`));
        const copied = m.objects.find((o) => o.key === "a b/unchanged ü.pdf")!;
        expect(copied.vaultKey).toBe(`storage/prod/docs/${dayPath(DAY2)}/objects/a b/unchanged ü.pdf`);
        expect(sha(await bytesOf(copied.vaultKey))).toBe(sha("%PDF unchanged"));
        const h = await store.head(copied.vaultKey);
        expect(h).toMatchObject({ sha256: sha("%PDF unchanged"), contentType: "application/pdf", retentionMode: "COMPLIANCE" });
        expect(h?.retainUntil?.toISOString()).toBe(until(DAY2).toISOString());
        await expect(store.delete(copied.vaultKey, h?.versionId)).rejects.toBeInstanceOf(RetentionRefusedError);
    });

    it("refuses to copy a source that does not hold the claimed content", async () => {
        const body = Buffer.from("original");
        await store.put("other/src.txt", Readable.from([body]), { sha256: sha(body), bytes: body.length, retainUntil: until(DAY2) });
        await expect(store.copy("other/src.txt", "other/dst.txt", { sha256: sha("something else"), bytes: body.length })).rejects.toThrow(/not the claimed/);
        await expect(store.copy("other/missing.txt", "other/dst.txt", { sha256: sha(body), bytes: body.length })).rejects.toThrow(/no such object/);
        expect(await store.head("other/dst.txt")).toBeUndefined();
    });
});
