// Storage snapshot against the fake Storage API (storage-js request shapes) into an in-memory vault.
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseManifest } from "../../lib/storage/manifest";
import { readText, snapshotStorage } from "../../lib/storage/snapshot";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { MemoryStore } from "../helpers/memoryStore";

const DAY1 = new Date("2026-03-01T01:00:00Z");
const DAY2 = new Date("2026-03-02T01:00:00Z");
const sha = (s: string | Buffer): string => createHash("sha256").update(s).digest("hex");

let api: FakeStorageApi;
beforeEach(async () => {
    api = await startFakeStorageApi();
});
afterEach(async () => {
    await api.close();
});

function opts(store: MemoryStore, now: Date) {
    return { storageUrl: api.url, serviceKey: api.serviceKey, env: "prod", store, now };
}

describe("snapshotStorage", () => {
    it("pages through 10,000 objects in nested folders, then uploads only changed and new ones and copies the rest server-side into its own day", async () => {
        api.createBucket("uploads");
        const expected = new Set<string>();
        for (let i = 0; i < 10_000; i++) {
            // 10 top folders × 10 subfolders × 100 files, plus root files mixed in.
            const key = i < 50 ? `root-${i}.txt` : `f${i % 10}/s${Math.floor(i / 10) % 10}/file-${i}.txt`;
            api.putObject("uploads", key, `content ${i}`, "text/plain");
            expected.add(key);
        }
        const store = new MemoryStore();
        const first = await snapshotStorage({ ...opts(store, DAY1), retainUntil: new Date("2026-03-08T00:00:00Z") });
        expect(first).toMatchObject({ listed: 10_000, uploaded: 10_000, serverSideCopies: 0 });

        const mkey = "storage/prod/uploads/2026/03/01/manifest.json";
        const manifest = parseManifest(await readText(store, mkey));
        const keys = manifest.objects.map((o) => o.key);
        expect(new Set(keys).size).toBe(10_000);
        expect(new Set(keys)).toEqual(expected);
        const e = manifest.objects.find((o) => o.key === "f3/s4/file-143.txt")!;
        expect(e).toMatchObject({ bytes: "content 143".length, contentType: "text/plain", sha256: sha("content 143"),
            vaultKey: "storage/prod/uploads/2026/03/01/objects/f3/s4/file-143.txt" });
        expect(e.metadata.eTag).toBeTruthy();
        expect(store.objects.get(e.vaultKey)!.data.toString()).toBe("content 143");
        expect(store.objects.get(e.vaultKey)!.info.retainUntil?.toISOString()).toBe("2026-03-08T00:00:00.000Z");
        // Folders were listed page by page (1000 per page): the root holds 10 folders + 50 files, each
        // leaf folder 100 files, so no folder needs a second page; the walk must still have visited all.
        expect(api.requests.filter((r) => r.startsWith("POST /object/list/uploads")).length).toBe(1 + 10 + 100);

        api.putObject("uploads", "f1/s1/file-111.txt", "changed!", "text/plain");
        api.putObject("uploads", "f9/new.bin", Buffer.from([1, 2, 3]), "application/octet-stream");
        const putsBefore = store.puts;
        const second = await snapshotStorage({ ...opts(store, DAY2), retainUntil: new Date("2026-03-09T00:00:00Z") });
        expect(second).toMatchObject({ listed: 10_001, uploaded: 2, serverSideCopies: 9_999, bytes: "changed!".length + 3 });
        expect(store.puts - putsBefore).toBe(3); // two objects and the manifest
        expect(store.copies).toBe(9_999);

        const m2 = parseManifest(await readText(store, "storage/prod/uploads/2026/03/02/manifest.json"));
        const byKey = new Map(m2.objects.map((o) => [o.key, o]));
        expect(byKey.get("f1/s1/file-111.txt")).toMatchObject({ sha256: sha("changed!"), vaultKey: "storage/prod/uploads/2026/03/02/objects/f1/s1/file-111.txt" });
        expect(byKey.get("f9/new.bin")?.vaultKey).toBe("storage/prod/uploads/2026/03/02/objects/f9/new.bin");
        // Every object of the snapshot lives in the snapshot's own day, with its retention: unchanged
        // ones are copies of day 1's, never references to them (day 1 expires a day earlier).
        expect(m2.objects.every((o) => o.vaultKey.startsWith("storage/prod/uploads/2026/03/02/objects/"))).toBe(true);
        const unchanged = byKey.get("f2/s2/file-222.txt")!;
        expect(sha(store.objects.get(unchanged.vaultKey)!.data)).toBe(unchanged.sha256);
        expect(store.objects.get(unchanged.vaultKey)!.info.retainUntil?.toISOString()).toBe("2026-03-09T00:00:00.000Z");
        // Day 1 gone entirely (as the lifecycle will remove it): day 2 still restores every object.
        for (const k of [...store.objects.keys()]) if (k.startsWith("storage/prod/uploads/2026/03/01/")) store.objects.delete(k);
        for (const o of m2.objects) expect(sha(store.objects.get(o.vaultKey)!.data), o.key).toBe(o.sha256);
    });

    it("uploads again when the previous copy is gone (snapshots paused longer than the retention)", async () => {
        api.createBucket("a");
        api.putObject("a", "keep.txt", "same bytes");
        const store = new MemoryStore();
        await snapshotStorage(opts(store, DAY1));
        store.objects.delete("storage/prod/a/2026/03/01/objects/keep.txt");
        const r = await snapshotStorage(opts(store, DAY2));
        expect(r).toMatchObject({ uploaded: 1, serverSideCopies: 0 });
        expect(store.objects.get("storage/prod/a/2026/03/02/objects/keep.txt")!.data.toString()).toBe("same bytes");
    });

    it("writes the same snapshot into a mirror, and reports a failing mirror without failing the vault", async () => {
        api.createBucket("a");
        api.putObject("a", "one.txt", "1");
        api.putObject("a", "two.txt", "2");
        const store = new MemoryStore();
        const mirror = new MemoryStore();
        const r1 = await snapshotStorage({ ...opts(store, DAY1), mirror });
        expect(r1.mirror).toEqual({ location: mirror.location, buckets: [expect.objectContaining({ bucket: "a", listed: 2, uploaded: 2 })] });
        api.putObject("a", "two.txt", "2 changed");
        const r2 = await snapshotStorage({ ...opts(store, DAY2), mirror });
        expect(r2.mirror?.buckets[0]).toMatchObject({ uploaded: 1, serverSideCopies: 1 });
        expect(mirror.copies).toBe(1);
        const key = "storage/prod/a/2026/03/02/manifest.json";
        expect(await readText(mirror, key)).toBe(await readText(store, key));
        for (const k of store.objects.keys()) expect(sha(mirror.objects.get(k)!.data), k).toBe(sha(store.objects.get(k)!.data));

        const broken = new MemoryStore();
        broken.put = () => Promise.reject(new Error(`archive unreachable (key ${api.serviceKey})`));
        const r3 = await snapshotStorage({ ...opts(store, new Date("2026-03-03T01:00:00Z")), mirror: broken });
        expect(r3.mirror?.error).toMatch(/archive unreachable/);
        expect(r3.mirror?.error).not.toContain(api.serviceKey);
        expect(r3).toMatchObject({ listed: 2, serverSideCopies: 2 });
        expect(store.objects.has("storage/prod/a/2026/03/03/manifest.json")).toBe(true);
    });

    it("pages a folder bigger than a page without duplicates", async () => {
        api.createBucket("big");
        for (let i = 0; i < 2_345; i++) api.putObject("big", `flat/${String(i).padStart(5, "0")}.txt`, `x${i}`);
        const store = new MemoryStore();
        const r = await snapshotStorage(opts(store, DAY1));
        expect(r.listed).toBe(2_345);
        const m = parseManifest(await readText(store, "storage/prod/big/2026/03/01/manifest.json"));
        expect(new Set(m.objects.map((o) => o.key)).size).toBe(2_345);
        expect(api.requests.filter((x) => x === "POST /object/list/big").length).toBe(1 + 3); // root + 3 pages
    });

    it("snapshots every bucket, and refuses a second snapshot the same day", async () => {
        api.createBucket("a");
        api.createBucket("b", true);
        api.putObject("a", "one.txt", "1");
        api.putObject("b", "two.txt", "2");
        const store = new MemoryStore();
        const r = await snapshotStorage(opts(store, DAY1));
        expect(r.buckets.map((b) => b.bucket)).toEqual(["a", "b"]);
        expect(parseManifest(await readText(store, "storage/prod/b/2026/03/01/manifest.json")).public).toBe(true);
        await expect(snapshotStorage(opts(store, DAY1))).rejects.toThrow(/already in the vault/);
    });

    it("fails readably on a Storage error, without leaking the service key", async () => {
        api.createBucket("a");
        api.putObject("a", "one.txt", "1");
        api.addFault({ match: /^GET \/object\/a\/one\.txt$/, status: 500 });
        const err = await snapshotStorage(opts(new MemoryStore(), DAY1)).catch((e: Error) => e);
        expect(String(err)).toMatch(/download a\/one\.txt: injected fault/);
        expect(String(err)).not.toContain(api.serviceKey);
    });

    it("is refused with a wrong service key", async () => {
        api.createBucket("a");
        await expect(snapshotStorage({ ...opts(new MemoryStore(), DAY1), serviceKey: "wrong-key" })).rejects.toThrow(/list buckets: invalid signature/);
    });
});
