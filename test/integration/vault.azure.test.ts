// AzureBlobStore against Azurite: round trip with sha256 metadata, a 20 MB streamed upload, paging,
// and the retention modes (Azurite has no immutability policies: see lib/vault/azureStore.ts).
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureBlobStore } from "../../lib/vault/azureStore";
import { startAzurite, type Azurite } from "../helpers/azurite";

let az: Azurite;
beforeAll(async () => {
    az = await startAzurite();
});
afterAll(async () => {
    await az?.stop();
});

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function store(container: string, extra: Partial<ConstructorParameters<typeof AzureBlobStore>[0]> = {}): Promise<AzureBlobStore> {
    const s = new AzureBlobStore({ connectionString: az.connectionString, container, retention: "metadata", ...extra });
    await s.ensureContainer();
    return s;
}

async function readAll(r: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of r) chunks.push(Buffer.from(c as Buffer));
    return Buffer.concat(chunks);
}

describe("AzureBlobStore on Azurite", () => {
    it("puts, heads, gets and lists with sha256 metadata; never shows credentials in its location", async () => {
        const s = await store("roundtrip");
        const body = Buffer.from("manifest body");
        const put = await s.put("storage/prod/a/2026/03/01/manifest.json", Readable.from([body]), {
            sha256: sha(body), bytes: body.length, contentType: "application/json", metadata: { objects: "3" },
        });
        expect(put).toMatchObject({ bytes: body.length, sha256: sha(body), contentType: "application/json" });
        expect(put.metadata?.objects).toBe("3");
        expect((await readAll(await s.get(put.key))).equals(body)).toBe(true);
        expect(await s.head("storage/prod/a/2026/03/01/missing")).toBeUndefined();
        const listed = [];
        for await (const o of s.list("storage/prod/")) listed.push(o);
        expect(listed.map((o) => [o.key, o.sha256])).toEqual([[put.key, sha(body)]]);
        expect(s.location).toMatch(/^azure:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/roundtrip$/);
        expect(s.location).not.toContain("AccountKey");
    });

    it("streams a 20 MB upload in blocks and reads back the same bytes", async () => {
        const s = await store("big", { blockBytes: 1 << 20 });
        const chunk = Buffer.alloc(1 << 20);
        const hash = createHash("sha256");
        const chunks: Buffer[] = [];
        for (let i = 0; i < 20; i++) {
            const c = Buffer.from(chunk.map((_, j) => (i * 31 + j) & 0xff));
            hash.update(c);
            chunks.push(c);
        }
        const digest = hash.digest("hex");
        // A generator, so the source is produced lazily like a dump stream.
        const source = Readable.from((function* () { yield* chunks; })());
        const put = await s.put("db/prod/2026/03/01/dump.custom", source, { sha256: digest, bytes: 20 << 20 });
        expect(put.bytes).toBe(20 << 20);
        const back = createHash("sha256");
        for await (const c of await s.get(put.key)) back.update(c as Buffer);
        expect(back.digest("hex")).toBe(digest);
    });

    it("pages through a listing larger than one page", async () => {
        const s = await store("paging", { listPageSize: 7 });
        for (let i = 0; i < 23; i++) {
            const b = Buffer.from(`o${i}`);
            await s.put(`p/${String(i).padStart(2, "0")}`, Readable.from([b]), { sha256: sha(b), bytes: b.length });
        }
        await s.put("q/other", Readable.from([Buffer.from("x")]), { sha256: sha(Buffer.from("x")), bytes: 1 });
        const keys: string[] = [];
        for await (const o of s.list("p/")) keys.push(o.key);
        expect(keys).toEqual(Array.from({ length: 23 }, (_, i) => `p/${String(i).padStart(2, "0")}`));
    });

    it("rejects a checksum mismatch and removes the bad copy", async () => {
        const s = await store("mismatch");
        const b = Buffer.from("real bytes");
        await expect(s.put("k", Readable.from([b]), { sha256: "0".repeat(64), bytes: b.length })).rejects.toThrow(/checksum mismatch for k/);
        expect(await s.head("k")).toBeUndefined();
    });

    it("metadata retention: records retainuntil and refuses delete/overwrite until it passes", async () => {
        let now = new Date("2026-03-01T00:00:00Z");
        const s = await store("retention", { clock: () => now });
        const b = Buffer.from("locked");
        const until = new Date("2026-03-08T00:00:00Z");
        const put = await s.put("k", Readable.from([b]), { sha256: sha(b), bytes: b.length, retainUntil: until });
        expect(put.retainUntil?.toISOString()).toBe(until.toISOString());
        expect(put.retentionMode).toBe("metadata");
        await expect(s.delete("k")).rejects.toThrow(/delete refused: k is retained until 2026-03-08/);
        await expect(s.put("k", Readable.from([b]), { sha256: sha(b), bytes: b.length })).rejects.toThrow(/overwrite refused/);
        now = new Date("2026-03-09T00:00:00Z");
        await s.delete("k");
        expect(await s.head("k")).toBeUndefined();
    });

    it("policy retention fails loudly on a service without immutability (Azurite), not silently", async () => {
        const s = await store("policy", { retention: "policy" });
        const b = Buffer.from("x");
        await expect(s.put("k", Readable.from([b]), { sha256: sha(b), bytes: 1, retainUntil: new Date(Date.now() + 86_400_000) }))
            .rejects.toThrow(/not implemented/i);
    });
});
