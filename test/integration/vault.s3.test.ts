// S3Store against a real S3 server with Object Lock (Versity Gateway, test/helpers/s3Server.ts):
// retention on every put, locked versions that cannot be deleted or overwritten, multipart streaming,
// paging, and the checksum verifier catching corruption.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { GetObjectRetentionCommand, HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkFreshness, verifyStoredSha256 } from "../../lib/vault/freshness";
import { RetentionRefusedError, S3Store } from "../../lib/vault/s3Store";
import { generatedSha256, generatedStream, startS3Server, type S3Server } from "../helpers/s3Server";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const BUCKET = "vault-s3-test";

let server: S3Server;
let store: S3Store;

beforeAll(async () => {
    server = await startS3Server();
    await server.createLockedBucket(BUCKET, "COMPLIANCE", 1);
    store = new S3Store({ bucket: BUCKET, endpoint: server.endpoint, region: server.region, lockMode: "COMPLIANCE",
        credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey } });
});

afterAll(async () => {
    await server?.stop();
});

async function putText(key: string, text: string, retainUntil?: Date) {
    return store.put(key, Readable.from([Buffer.from(text)]), { sha256: sha(text), bytes: Buffer.byteLength(text), retainUntil, contentType: "text/plain" });
}

describe("S3Store on an S3 server with Object Lock", () => {
    it("puts with retention: GetObjectRetention and head show the mode and date", async () => {
        const until = new Date(Date.now() + 3 * 86_400_000);
        const put = await putText("db/t/a.txt", "hello vault", until);
        expect(put.versionId).toBeTruthy();
        const r = await server.s3Client().send(new GetObjectRetentionCommand({ Bucket: BUCKET, Key: "db/t/a.txt", VersionId: put.versionId }));
        expect(r.Retention?.Mode).toBe("COMPLIANCE");
        expect(Math.abs(r.Retention!.RetainUntilDate!.getTime() - until.getTime())).toBeLessThan(1000);
        const h = await store.head("db/t/a.txt");
        expect(h).toMatchObject({ bytes: 11, sha256: sha("hello vault"), versionId: put.versionId, retentionMode: "COMPLIANCE" });
        expect(await store.retention("db/t/a.txt", put.versionId)).toMatchObject({ mode: "COMPLIANCE" });
        // The put carried a SHA256 flexible checksum (what AWS requires on Object Lock puts) and S3 kept it.
        const withSum = await server.s3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: "db/t/a.txt", ChecksumMode: "ENABLED" }));
        expect(withSum.ChecksumSHA256).toBe(createHash("sha256").update("hello vault").digest("base64"));
        const body: Buffer[] = [];
        for await (const c of await store.get("db/t/a.txt")) body.push(c as Buffer);
        expect(Buffer.concat(body).toString()).toBe("hello vault");
    });

    it("refuses to delete a locked version, and an overwrite only adds a version", async () => {
        const first = await putText("db/t/locked.txt", "original", new Date(Date.now() + 86_400_000));
        const refused = await store.delete("db/t/locked.txt", first.versionId).then(() => undefined, (e: unknown) => e);
        expect(refused).toBeInstanceOf(RetentionRefusedError);
        // AWS and the gateway both answer AccessDenied "... protected by object lock".
        expect((refused as RetentionRefusedError).serviceCode).toBe("AccessDenied");
        expect((refused as RetentionRefusedError).code).toBe("RETENTION_REFUSED");
        expect((refused as RetentionRefusedError).message).toMatch(/object lock/i);
        await expect(store.delete("db/t/locked.txt")).rejects.toBeInstanceOf(RetentionRefusedError);
        expect((await store.head("db/t/locked.txt"))?.versionId).toBe(first.versionId);
        const second = await putText("db/t/locked.txt", "overwritten", new Date(Date.now() + 86_400_000));
        expect(second.versionId).not.toBe(first.versionId);
        const versions = await server.s3Client().send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "db/t/locked.txt" }));
        expect(versions.Versions?.map((v) => v.VersionId).sort()).toEqual([first.versionId, second.versionId].sort());
        const old: Buffer[] = [];
        for await (const c of await store.get("db/t/locked.txt", first.versionId)) old.push(c as Buffer);
        expect(Buffer.concat(old).toString()).toBe("original");
    });

    it("deletes an unlocked version (the refusal above is the lock, not missing rights)", async () => {
        // The bucket's default rule locks every put; a GOVERNANCE-free unlocked object needs a bucket without a default.
        const c = server.s3Client();
        await c.send(new (await import("@aws-sdk/client-s3")).CreateBucketCommand({ Bucket: "unlocked-test" }));
        const s = new S3Store({ bucket: "unlocked-test", client: c });
        await s.put("x.txt", Readable.from([Buffer.from("bye")]), { sha256: sha("bye"), bytes: 3 });
        await s.delete("x.txt");
        expect(await s.head("x.txt")).toBeUndefined();
    });

    it("streams a >20 MB body up in parts, with the whole-object sha256 in metadata", async () => {
        const bytes = 21 * 1024 * 1024 + 123;
        const expected = await generatedSha256(bytes, 7);
        const put = await store.put("db/t/big.bin", generatedStream(bytes, 7), { sha256: expected, bytes, retainUntil: new Date(Date.now() + 86_400_000) });
        expect(put.bytes).toBe(bytes);
        const h = await store.head("db/t/big.bin");
        expect(h?.bytes).toBe(bytes);
        expect(h?.retentionMode).toBe("COMPLIANCE");
        const v = await verifyStoredSha256(store, "db/t/big.bin", expected);
        expect(v).toMatchObject({ ok: true, bytes });
    });

    it("reports a put whose content does not match the claimed sha256", async () => {
        await expect(store.put("db/t/liar.txt", Readable.from([Buffer.from("abc")]), { sha256: sha("xyz"), bytes: 3 })).rejects.toThrow(/does not match the claimed/);
    });

    it("lists every object across pages", async () => {
        const n = 1005; // more than one ListObjectsV2 page (1000)
        const c = server.s3Client();
        for (let i = 0; i < n; i += 50) {
            await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) =>
                c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `page/${String(i + j).padStart(5, "0")}`, Body: "x", ChecksumAlgorithm: "SHA256" }))));
        }
        const keys: string[] = [];
        for await (const o of store.list("page/")) keys.push(o.key);
        expect(keys.length).toBe(n);
        expect(new Set(keys).size).toBe(n);
    });

    it("the verifier detects a corrupt current version and a lying manifest", async () => {
        const env = "corrupt";
        const dir = `db/${env}/2026/11/20`;
        const dump = "real dump bytes";
        await putText(`${dir}/backup_20261120010000.dump`, dump, new Date(Date.now() + 86_400_000));
        const manifest = { manifestVersion: 1, id: "backup_20261120010000", format: "custom", root: "backup_20261120010000.dump", takenAt: "2026-11-20T01:00:00Z",
            files: [{ path: "backup_20261120010000.dump", bytes: dump.length, sha256: sha(dump) }] };
        await putText(`${dir}/backup_20261120010000.manifest.json`, JSON.stringify(manifest));
        const now = () => new Date("2026-11-20T02:00:00Z");
        expect((await checkFreshness({ store, env, now })).status).toBe("fresh");

        // Someone with PutObject puts other bytes on top: the locked original survives as an older
        // version, but a restore reads the current one — which no longer matches.
        await server.s3Client().send(new PutObjectCommand({ Bucket: BUCKET, Key: `${dir}/backup_20261120010000.dump`, Body: "tampered", ChecksumAlgorithm: "SHA256" }));
        const r = await checkFreshness({ store, env, now });
        expect(r.status).toBe("corrupt");
        expect(r.reason).toMatch(/hashes to/);
        expect((await verifyStoredSha256(store, `${dir}/backup_20261120010000.dump`, sha(dump))).ok).toBe(false);
        expect((await verifyStoredSha256(store, `${dir}/nope.dump`, sha(dump))).actual).toBe("missing");
    });
});
