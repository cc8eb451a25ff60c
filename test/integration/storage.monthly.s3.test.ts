// Monthly storage archives in a real S3 server with Object Lock (Versity Gateway, COMPLIANCE): written
// on the month's first night only, by server-side copies (CopyObject) from the night's day folder with
// the monthly lock, refused deletion, and restored object by object byte-identical by the storage
// restore. The nights lie in the coming months, so every lock date is in the server's future.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dailyRetainUntil, monthlyRetainUntil } from "../../lib/backupJob/plan";
import { entriesOutside, manifestKey, monthlyManifestKey, monthlyObjectVaultKey } from "../../lib/storage/manifest";
import { restoreStorage } from "../../lib/storage/restore";
import { findMonthlyManifest, readText, snapshotStorage } from "../../lib/storage/snapshot";
import { RetentionRefusedError, S3Store } from "../../lib/vault/s3Store";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { startS3Server, type S3Server } from "../helpers/s3Server";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const today = new Date();
const NIGHT_A = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, 1, 1)); // next month's 1st
const NIGHT_B = new Date(NIGHT_A.getTime() + 86_400_000); // its 2nd
const NIGHT_C = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 2, 1, 1)); // the month after's 1st
const BIG = Buffer.alloc(6 * 1024 * 1024 + 7, 0);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 131 + 17) & 0xff;

let server: S3Server;
let api: FakeStorageApi;
let store: S3Store;
const written: { put: string[]; copy: string[] } = { put: [], copy: [] };

beforeAll(async () => {
    [server, api] = await Promise.all([startS3Server(), startFakeStorageApi()]);
    await server.createLockedBucket("monthly-vault", "COMPLIANCE", 1);
    store = new S3Store({ bucket: "monthly-vault", client: server.s3Client() });
    const put = store.put.bind(store);
    const copy = store.copy.bind(store);
    store.put = (key, body, opts) => (written.put.push(key), put(key, body, opts));
    store.copy = (from, to, opts) => (written.copy.push(to), copy(from, to, opts));
}, 600_000);
afterAll(async () => {
    await Promise.all([server?.stop(), api?.close()]);
});

async function bytesOf(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
}

function night(now: Date) {
    written.put.length = 0;
    written.copy.length = 0;
    return snapshotStorage({
        storageUrl: api.url, serviceKey: api.serviceKey, env: "prod", store, now, buckets: ["media"],
        retainUntil: dailyRetainUntil(now, 7),
        monthly: { retainUntil: monthlyRetainUntil(now, 12) },
    });
}

describe("monthly storage archive in S3 with Object Lock", () => {
    it("is written on the month's first night by server-side copies with the monthly COMPLIANCE lock, and restores byte-identical", async () => {
        api.createBucket("media");
        api.putObject("media", "video/big.bin", BIG, "application/octet-stream");
        api.putObject("media", "a b/ü.txt", "unicode path", "text/plain");
        api.putObject("media", "changing.txt", "as on the 1st", "text/plain");
        const live = new Map([...api.buckets.get("media")!.objects].map(([k, o]) => [k, Buffer.from(o.data)]));

        const a = await night(NIGHT_A);
        const mkey = monthlyManifestKey("prod", "media", NIGHT_A);
        expect(a.buckets[0].monthly).toEqual({ manifestKey: mkey, copied: 3, alreadyThere: 0, retainUntil: monthlyRetainUntil(NIGHT_A, 12).toISOString() });
        // Bytes crossed the network once, into the day folder; the month folder got copies and a manifest.
        expect(written.put.filter((k) => k.startsWith("monthly/"))).toEqual([mkey]);
        expect(written.copy.filter((k) => k.startsWith("monthly/")).sort()).toEqual([...live.keys()].map((k) => monthlyObjectVaultKey("prod", "media", NIGHT_A, k)).sort());

        api.putObject("media", "changing.txt", "changed on the 2nd", "text/plain");
        const b = await night(NIGHT_B);
        expect(b.buckets[0].monthly).toBeUndefined();
        expect(written.put.concat(written.copy).filter((k) => k.startsWith("monthly/"))).toEqual([]);
        const c = await night(NIGHT_C);
        expect(c.buckets[0].monthly?.manifestKey).toBe(monthlyManifestKey("prod", "media", NIGHT_C));

        const m = (await findMonthlyManifest(store, "prod", "media", NIGHT_B))!;
        expect(m).toMatchObject({ tier: "monthly", takenAt: NIGHT_A.toISOString() });
        expect(entriesOutside(m, mkey.replace(/manifest\.json$/, ""))).toEqual([]);
        const until = monthlyRetainUntil(NIGHT_A, 12).toISOString();
        for (const key of [mkey, ...m.objects.map((e) => e.vaultKey)]) {
            const h = (await store.head(key))!;
            expect(h.retentionMode, key).toBe("COMPLIANCE");
            expect(h.retainUntil?.toISOString(), key).toBe(until);
            await expect(store.delete(key, h.versionId), key).rejects.toBeInstanceOf(RetentionRefusedError);
        }
        // The day folder of the same night carries the daily lock: the two tiers really differ.
        expect((await store.head(manifestKey("prod", "media", NIGHT_A)))?.retainUntil?.toISOString()).toBe(dailyRetainUntil(NIGHT_A, 7).toISOString());
        for (const e of m.objects) {
            expect((await store.head(e.vaultKey))?.contentType, e.key).toBe(e.contentType);
            expect(sha(await bytesOf(e.vaultKey)), e.key).toBe(sha(live.get(e.key)!));
        }
        expect(await readText(store, mkey)).toContain('"tier": "monthly"');

        const restored = await restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: m, targetBucket: "restored-media-monthly" });
        expect(restored).toMatchObject({ objects: 3, bytes: BIG.length + "unicode path".length + "as on the 1st".length });
        for (const [k, data] of live) expect(sha(api.buckets.get("restored-media-monthly")!.objects.get(k)!.data), k).toBe(sha(data));
    });
});
