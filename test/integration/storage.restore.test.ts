// Storage restore from a vault manifest into restored-{bucket}-{yyyyMMdd}, verified by checksum.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseManifest } from "../../lib/storage/manifest";
import { OWNER_MARKER_KEY, removeRestoredBucket, restoreStorage } from "../../lib/storage/restore";
import { readText, snapshotStorage } from "../../lib/storage/snapshot";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { MemoryStore } from "../helpers/memoryStore";

const DAY1 = new Date("2026-03-01T01:00:00Z");
const DAY2 = new Date("2026-03-02T01:00:00Z");
let api: FakeStorageApi;
let store: MemoryStore;

beforeEach(async () => {
    api = await startFakeStorageApi();
    store = new MemoryStore();
    api.createBucket("invoices");
    api.putObject("invoices", "2026/03/inv-1.pdf", Buffer.from("%PDF-1 invoice one"), "application/pdf");
    api.putObject("invoices", "2026/03/inv-2.pdf", Buffer.from("%PDF-1 invoice two"), "application/pdf");
    api.putObject("invoices", "readme.txt", "hello", "text/plain");
    await snapshotStorage({ storageUrl: api.url, serviceKey: api.serviceKey, env: "prod", store, now: DAY1 });
    api.putObject("invoices", "readme.txt", "hello again", "text/plain");
    await snapshotStorage({ storageUrl: api.url, serviceKey: api.serviceKey, env: "prod", store, now: DAY2 });
});
afterEach(async () => {
    await api.close();
});

async function manifest(day = "02") {
    return parseManifest(await readText(store, `storage/prod/invoices/2026/03/${day}/manifest.json`));
}

describe("restoreStorage", () => {
    it("restores every object (from this and earlier snapshots) with its content type into a private bucket", async () => {
        const m = await manifest();
        const r = await restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: m, date: new Date("2026-03-05T10:00:00Z") });
        expect(r).toEqual({ bucket: "restored-invoices-20260305", objects: 3, bytes: 18 + 18 + 11, ownerToken: expect.stringMatching(/^[0-9a-f]{64}$/) });
        const b = api.buckets.get("restored-invoices-20260305")!;
        // The three objects and the ownership marker, which proves the token without holding it.
        expect([...b.objects.keys()].sort()).toEqual([OWNER_MARKER_KEY, "2026/03/inv-1.pdf", "2026/03/inv-2.pdf", "readme.txt"]);
        expect(b.objects.get(OWNER_MARKER_KEY)!.data.toString()).not.toContain(r.ownerToken);
        expect(b.public).toBe(false);
        expect(b.objects.get("2026/03/inv-1.pdf")).toMatchObject({ contentType: "application/pdf" });
        expect(b.objects.get("2026/03/inv-1.pdf")!.data.toString()).toBe("%PDF-1 invoice one");
        expect(b.objects.get("readme.txt")!.data.toString()).toBe("hello again");
        expect(b.objects.get("readme.txt")!.contentType).toBe("text/plain");

        // Upsert: a second run over the same bucket succeeds for the holder of its token.
        await restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: m, targetBucket: "restored-invoices-20260305", ownerToken: r.ownerToken });

        expect(await removeRestoredBucket(api.url, api.serviceKey, "restored-invoices-20260305", { ownerToken: r.ownerToken, original: "invoices" })).toBe("removed");
        expect(api.buckets.has("restored-invoices-20260305")).toBe(false);
        expect(api.buckets.get("invoices")!.objects.size).toBe(3);
    });

    it("refuses to restore into, or delete, the original bucket", async () => {
        const m = await manifest();
        await expect(restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: m, targetBucket: "invoices" }))
            .rejects.toThrow(/refusing to restore into the original bucket invoices/);
        await expect(removeRestoredBucket(api.url, api.serviceKey, "invoices", { ownerToken: "f".repeat(64), original: "invoices" })).rejects.toThrow(/refusing to delete the original/);
        expect(api.buckets.get("invoices")!.objects.get("readme.txt")!.data.toString()).toBe("hello again");
    });

    it("reports every object whose restored bytes differ from the manifest", async () => {
        const m = await manifest();
        // The manifest says one thing, the vault holds another: simulate a corrupted manifest entry.
        m.objects[0] = { ...m.objects[0], sha256: "0".repeat(64) };
        m.objects[2] = { ...m.objects[2], sha256: "f".repeat(64) };
        const err = await restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: m, date: DAY2 }).catch((e: Error) => e);
        expect(String(err)).toContain("2 object(s) in restored-invoices-20260302 failed checksum verification");
        expect(String(err)).toContain(`2026/03/inv-1.pdf: expected sha256 ${"0".repeat(64)}, got `);
        expect(String(err)).toContain(`readme.txt: expected sha256 ${"f".repeat(64)}`);
        expect(String(err)).not.toContain(api.serviceKey);
    });

    it("refuses to restore again into its own bucket once somebody made it public", async () => {
        const m = await manifest();
        const r = await restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: m, date: DAY2 });
        api.buckets.get(r.bucket)!.public = true;
        await expect(restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: m, date: DAY2, ownerToken: r.ownerToken }))
            .rejects.toThrow(/target bucket restored-invoices-20260302 exists and is public/);
    });

    it("fails when an upload fails (a 500 from Storage), and removes the bucket it created", async () => {
        api.addFault({ match: /^POST \/object\/restored-invoices-20260302\/readme\.txt$/, status: 500 });
        const err = await restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: await manifest(), date: DAY2 }).catch((e: Error) => e);
        expect(String(err)).toMatch(/upload restored-invoices-20260302\/readme\.txt: injected fault/);
        // No state would ever hold its token: a bucket left behind would block the next run that day.
        expect(String(err)).toContain("the partly restored bucket restored-invoices-20260302 was removed");
        expect(api.buckets.has("restored-invoices-20260302")).toBe(false);
    });
});

describe("removeRestoredBucket", () => {
    it("is a no-op for a bucket already gone, but fails on a bad key instead of reporting success", async () => {
        const token = "a".repeat(64);
        expect(await removeRestoredBucket(api.url, api.serviceKey, "restored-gone-20260301", { ownerToken: token })).toBe("already-gone");
        const r = await restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: await manifest(), date: DAY1 });
        // Hosted Storage answers a rejected key with HTTP 400 (statusCode 403 in the body), like a
        // missing bucket (statusCode 404): only the body's code may decide "gone".
        const err = await removeRestoredBucket(api.url, "wrong-key", r.bucket, { ownerToken: r.ownerToken }).catch((e: Error) => e);
        expect(String(err)).toMatch(/get bucket restored-invoices-20260301: invalid signature \(HTTP 400, statusCode 403\)/);
        expect(String(err)).not.toContain(r.ownerToken);
        expect(api.buckets.get(r.bucket)!.objects.size).toBe(4);
    });

    it("refuses to delete without an owner token (state from before ownership markers), unless the bucket is gone", async () => {
        expect(await removeRestoredBucket(api.url, api.serviceKey, "restored-gone-20260301", { ownerToken: undefined })).toBe("already-gone");
        const r = await restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: await manifest(), date: DAY1 });
        await expect(removeRestoredBucket(api.url, api.serviceKey, r.bucket, { ownerToken: undefined })).rejects.toThrow(
            /refusing to empty or delete bucket restored-invoices-20260301: no owner token was recorded for it/,
        );
        expect(api.buckets.get(r.bucket)!.objects.size).toBe(4);
    });
});
