// Pure pieces of the storage snapshot/restore: key layout, manifest parsing, naming, error text,
// bounded concurrency, and the local-directory vault's checksum and retention rules.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { manifestKey, objectVaultKey, parseManifest } from "../../lib/storage/manifest";
import { forEachLimited } from "../../lib/storage/pool";
import { formatMismatches, restoredBucketName } from "../../lib/storage/restore";
import { DirBlobStore } from "../../lib/vault/dirStore";

const day = new Date("2026-03-01T23:30:00Z");
const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

describe("storage manifest", () => {
    it("lives under storage/{env}/{bucket}/YYYY/MM/DD/", () => {
        expect(manifestKey("prod", "uploads", day)).toBe("storage/prod/uploads/2026/03/01/manifest.json");
        expect(objectVaultKey("prod", "uploads", day, "a/b.png")).toBe("storage/prod/uploads/2026/03/01/objects/a/b.png");
        expect(() => objectVaultKey("prod", "uploads", day, "../escape")).toThrow(/relative path/);
    });

    it("parses a valid manifest and rejects broken ones", () => {
        const ok = { version: 1, env: "prod", bucket: "b", takenAt: day.toISOString(), public: false,
            objects: [{ key: "k", bytes: 1, contentType: "text/plain", metadata: {}, sha256: sha("x"), lastModified: "", vaultKey: "v" }] };
        expect(parseManifest(JSON.stringify(ok)).objects[0].key).toBe("k");
        expect(() => parseManifest("{")).toThrow(/not JSON/);
        expect(() => parseManifest(JSON.stringify({ ...ok, version: 2 }))).toThrow(/version 1/);
        expect(() => parseManifest(JSON.stringify({ ...ok, objects: [{ ...ok.objects[0], sha256: "nope" }] }), "m.json"))
            .toThrow(/m.json: object #0 lacks/);
    });
});

describe("restore naming and reporting", () => {
    it("names the target restored-{bucket}-{yyyyMMdd} in UTC", () => {
        expect(restoredBucketName("invoices", day)).toBe("restored-invoices-20260301");
    });

    it("lists mismatches readably and truncates long lists", () => {
        const problems = Array.from({ length: 25 }, (_, i) => ({ key: `k${i}`, expected: "a".repeat(64), actual: "b".repeat(64) }));
        const text = formatMismatches("restored-x-20260301", problems);
        expect(text).toContain("25 object(s) in restored-x-20260301 failed checksum verification");
        expect(text).toContain(`  k0: expected sha256 ${"a".repeat(64)}, got ${"b".repeat(64)}`);
        expect(text).toContain("... and 5 more");
        expect(text).not.toContain("k24");
    });
});

describe("forEachLimited", () => {
    it("never runs more than the limit at once and processes every item", async () => {
        let running = 0;
        let peak = 0;
        const done: number[] = [];
        await forEachLimited(Array.from({ length: 50 }, (_, i) => i), 4, async (i) => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((r) => setTimeout(r, 1));
            done.push(i);
            running--;
        });
        expect(peak).toBe(4);
        expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    it("rejects with the first failure and stops taking new items", async () => {
        const seen: number[] = [];
        await expect(forEachLimited([1, 2, 3, 4, 5, 6], 1, async (i) => {
            seen.push(i);
            if (i === 2) throw new Error("boom at 2");
        })).rejects.toThrow("boom at 2");
        expect(seen).toEqual([1, 2]);
    });
});

describe("DirBlobStore", () => {
    it("round-trips, lists by prefix, checks the checksum and enforces retention", async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "dirstore-"));
        let now = new Date("2026-03-01T00:00:00Z");
        try {
            const s = new DirBlobStore(root, () => now);
            const put = (key: string, text: string, retainUntil?: Date) =>
                s.put(key, Readable.from([Buffer.from(text)]), { sha256: sha(text), bytes: text.length, retainUntil });
            await put("storage/prod/a/2026/03/01/objects/x/y.txt", "yy", new Date("2026-03-08T00:00:00Z"));
            await put("storage/prod/a/2026/03/01/manifest.json", "{}");
            await put("storage/prod/b/2026/03/01/manifest.json", "{}");
            const keys: string[] = [];
            for await (const o of s.list("storage/prod/a/")) keys.push(o.key);
            expect(keys.sort()).toEqual(["storage/prod/a/2026/03/01/manifest.json", "storage/prod/a/2026/03/01/objects/x/y.txt"]);
            expect((await s.head("storage/prod/a/2026/03/01/objects/x/y.txt"))?.sha256).toBe(sha("yy"));

            await expect(s.put("k", Readable.from([Buffer.from("abc")]), { sha256: sha("xyz"), bytes: 3 })).rejects.toThrow(/checksum mismatch/);
            expect(await s.head("k")).toBeUndefined();
            await expect(s.delete("storage/prod/a/2026/03/01/objects/x/y.txt")).rejects.toThrow(/delete refused/);
            await expect(put("storage/prod/a/2026/03/01/objects/x/y.txt", "zz")).rejects.toThrow(/overwrite refused/);
            now = new Date("2026-03-09T00:00:00Z");
            await s.delete("storage/prod/a/2026/03/01/objects/x/y.txt");
            await expect(s.get("storage/prod/a/2026/03/01/objects/x/y.txt")).rejects.toThrow(/no such object/);
            await expect(s.get("../etc/passwd")).rejects.toThrow(/invalid object key/);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
