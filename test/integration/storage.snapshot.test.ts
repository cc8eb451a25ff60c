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
    it("pages through 10,000 objects in nested folders, then copies only changed and new ones", async () => {
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
        expect(first).toMatchObject({ listed: 10_000, copied: 10_000, skipped: 0 });

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
        const second = await snapshotStorage(opts(store, DAY2));
        expect(second).toMatchObject({ listed: 10_001, copied: 2, skipped: 9_999, bytes: "changed!".length + 3 });
        expect(store.puts - putsBefore).toBe(3); // two objects and the manifest

        const m2 = parseManifest(await readText(store, "storage/prod/uploads/2026/03/02/manifest.json"));
        const byKey = new Map(m2.objects.map((o) => [o.key, o]));
        expect(byKey.get("f1/s1/file-111.txt")).toMatchObject({ sha256: sha("changed!"), vaultKey: "storage/prod/uploads/2026/03/02/objects/f1/s1/file-111.txt" });
        expect(byKey.get("f9/new.bin")?.vaultKey).toBe("storage/prod/uploads/2026/03/02/objects/f9/new.bin");
        // Unchanged objects point at the day-1 copy, which holds exactly their bytes.
        const unchanged = byKey.get("f2/s2/file-222.txt")!;
        expect(unchanged.vaultKey).toBe("storage/prod/uploads/2026/03/01/objects/f2/s2/file-222.txt");
        expect(sha(store.objects.get(unchanged.vaultKey)!.data)).toBe(unchanged.sha256);
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
