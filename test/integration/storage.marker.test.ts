// The restored bucket's ownership marker: a bucket of the target name that this restore did not
// create (a real path-C restore made the same day, another restore's bucket, a marker altered or
// copied) is neither reused, emptied nor deleted; our own is removed, marker last.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseManifest, type StorageManifest } from "../../lib/storage/manifest";
import { OWNER_MARKER_KEY, removeRestoredBucket, restoreStorage, restoredBucketName } from "../../lib/storage/restore";
import { readText, snapshotStorage } from "../../lib/storage/snapshot";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { MemoryStore } from "../helpers/memoryStore";

const DAY = new Date("2026-05-04T01:00:00Z");
const TODAY = restoredBucketName("invoices", DAY);
let api: FakeStorageApi;
let store: MemoryStore;
let manifest: StorageManifest;

beforeEach(async () => {
    api = await startFakeStorageApi();
    store = new MemoryStore();
    api.createBucket("invoices");
    api.putObject("invoices", "2026/05/inv-1.pdf", "%PDF-1 one", "application/pdf");
    api.putObject("invoices", "2026/05/inv-2.pdf", "%PDF-1 two", "application/pdf");
    await snapshotStorage({ storageUrl: api.url, serviceKey: api.serviceKey, env: "prod", store, now: DAY });
    manifest = parseManifest(await readText(store, "storage/prod/invoices/2026/05/04/manifest.json"));
});
afterEach(async () => {
    await api.close();
});

const restore = (extra: { ownerToken?: string; targetBucket?: string } = {}) =>
    restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest, date: DAY, ...extra });
const remove = (bucket: string, ownerToken: string) => removeRestoredBucket(api.url, api.serviceKey, bucket, { ownerToken, original: "invoices" });

/** A bucket's objects as key → content, to prove nothing in it changed. */
function contents(bucket: string): Record<string, string> {
    return Object.fromEntries([...api.buckets.get(bucket)!.objects].map(([k, o]) => [k, o.data.toString("utf8")]));
}

/** Requests that would have changed the bucket: uploads, removals, empty, delete. */
function writesTo(bucket: string): string[] {
    return api.requests.filter((r) => r.startsWith("POST /object/" + bucket + "/") || r === `DELETE /object/${bucket}` || r.startsWith(`DELETE /bucket/${bucket}`) || r === `POST /bucket/${bucket}/empty`);
}

/** The marker of our own restore, parsed. */
function marker(bucket: string): Record<string, unknown> {
    return JSON.parse(api.buckets.get(bucket)!.objects.get(OWNER_MARKER_KEY)!.data.toString("utf8")) as Record<string, unknown>;
}

function setMarker(bucket: string, value: unknown): void {
    api.putObject(bucket, OWNER_MARKER_KEY, typeof value === "string" ? value : JSON.stringify(value), "application/json");
}

describe("a same-day bucket somebody else created", () => {
    it("is not restored into: the refusal names the bucket and how to proceed, and nothing in it changes", async () => {
        // A real path-C restore made by hand this morning, with an object the snapshot does not have.
        api.createBucket(TODAY);
        api.putObject(TODAY, "2026/05/inv-1.pdf", "%PDF-1 one, restored by hand", "application/pdf");
        api.putObject(TODAY, "hand-restored.txt", "keep me", "text/plain");
        const before = contents(TODAY);

        const err = await restore().catch((e: Error) => e);
        expect(String(err)).toContain(`refusing to restore into bucket ${TODAY}: it has no supabase-dr ownership marker (${OWNER_MARKER_KEY})`);
        expect(String(err)).toMatch(/real restore \(runbook 001 path C\) made today; it is left untouched\. Restore into another bucket/);
        expect(contents(TODAY)).toEqual(before);
        expect(writesTo(TODAY)).toEqual([]);
    });

    it("is not emptied or deleted, whatever token is offered", async () => {
        api.createBucket(TODAY);
        api.putObject(TODAY, "hand-restored.txt", "keep me", "text/plain");
        const ours = await restore({ targetBucket: `${TODAY}-drill` });

        await expect(remove(TODAY, ours.ownerToken)).rejects.toThrow(
            new RegExp(`refusing to empty or delete bucket ${TODAY}: it has no supabase-dr ownership marker .*, so this supabase-dr restore did not create it`),
        );
        expect(contents(TODAY)).toEqual({ "hand-restored.txt": "keep me" });
        expect(writesTo(TODAY)).toEqual([]);
    });

    it("is refused when it appears between the check and the create (409 from Storage)", async () => {
        api.addFault({ match: /^POST \/bucket$/, status: 409 });
        await expect(restore()).rejects.toThrow(`refusing to restore into bucket ${TODAY}: somebody else created it while this restore was starting`);
    });

    it("made by another supabase-dr restore (another token) is neither reused nor deleted", async () => {
        const first = await restore();
        const before = contents(TODAY);
        const other = "0".repeat(64);
        await expect(restore({ ownerToken: other })).rejects.toThrow(`refusing to restore into bucket ${TODAY}: its ownership marker belongs to another restore, or was altered`);
        await expect(remove(TODAY, other)).rejects.toThrow(/its ownership marker belongs to another restore, or was altered/);
        expect(contents(TODAY)).toEqual(before);
        // Its owner still can.
        expect(await remove(TODAY, first.ownerToken)).toBe("removed");
    });
});

describe("our own bucket", () => {
    it("is removed on destroy, every object first and the marker last, then the bucket", async () => {
        const r = await restore();
        expect(marker(TODAY)).toMatchObject({ tool: "supabase-dr", kind: "restored-bucket-owner", bucket: TODAY, sourceBucket: "invoices" });
        const seen = api.requests.length;

        expect(await remove(TODAY, r.ownerToken)).toBe("removed");
        expect(api.buckets.has(TODAY)).toBe(false);
        expect(api.removals).toEqual([
            { bucket: TODAY, keys: ["2026/05/inv-1.pdf", "2026/05/inv-2.pdf"] },
            { bucket: TODAY, keys: [OWNER_MARKER_KEY] },
        ]);
        expect(api.requests.slice(seen).filter((x) => x.startsWith("DELETE ")).at(-1)).toBe(`DELETE /bucket/${TODAY}`);
        expect(api.buckets.get("invoices")!.objects.size).toBe(2);
        // Idempotent: a second destroy finds it gone.
        expect(await remove(TODAY, r.ownerToken)).toBe("already-gone");
    });

    it("keeps its marker when the removal is interrupted, so the next destroy can finish", async () => {
        const r = await restore();
        api.addFault({ match: new RegExp(`^DELETE /object/${TODAY}$`), status: 503 });
        await expect(remove(TODAY, r.ownerToken)).rejects.toThrow(/remove objects from .*injected fault/);
        expect(Object.keys(contents(TODAY))).toContain(OWNER_MARKER_KEY);
        expect(await remove(TODAY, r.ownerToken)).toBe("removed");
        expect(api.buckets.has(TODAY)).toBe(false);
    });

    it("says what is left when only the final bucket delete fails", async () => {
        const r = await restore();
        api.addFault({ match: new RegExp(`^DELETE /bucket/${TODAY}$`), status: 503 });
        await expect(remove(TODAY, r.ownerToken)).rejects.toThrow(`delete bucket ${TODAY}: injected fault (HTTP 503); it is empty and its marker is gone: delete the empty bucket ${TODAY} by hand`);
        expect(contents(TODAY)).toEqual({});
    });

    it("is created and then removed again when its marker cannot be written", async () => {
        api.addFault({ match: new RegExp(`^POST /object/${TODAY}/\\.supabase-dr/restore-owner\\.json$`), status: 500 });
        const err = await restore().catch((e: Error) => e);
        expect(String(err)).toMatch(new RegExp(`write the ownership marker of ${TODAY}: injected fault .*; the new bucket ${TODAY} was removed`));
        expect(api.buckets.has(TODAY)).toBe(false);
    });
});

describe("marker tampering", () => {
    async function refusedBoth(bucket: string, token: string, reason: RegExp): Promise<void> {
        const before = contents(bucket);
        await expect(remove(bucket, token)).rejects.toThrow(reason);
        await expect(restore({ ownerToken: token, targetBucket: bucket })).rejects.toThrow(reason);
        expect(contents(bucket)).toEqual(before);
    }

    it("an altered proof is refused", async () => {
        const r = await restore();
        const m = marker(TODAY);
        setMarker(TODAY, { ...m, proof: String(m.proof).replace(/^./, (c) => (c === "0" ? "1" : "0")) });
        await refusedBoth(TODAY, r.ownerToken, /its ownership marker belongs to another restore, or was altered/);
    });

    it("a marker naming another bucket is refused", async () => {
        const r = await restore();
        setMarker(TODAY, { ...marker(TODAY), bucket: "restored-invoices-20260505" });
        await refusedBoth(TODAY, r.ownerToken, /belongs to another restore, or was altered/);
    });

    it("a marker copied into another bucket does not make that bucket ours", async () => {
        const r = await restore();
        // An approved swap done by copying every object, marker included, into a new bucket.
        api.createBucket("invoices-v2");
        for (const [key, o] of api.buckets.get(TODAY)!.objects) api.putObject("invoices-v2", key, o.data, o.contentType);
        await expect(removeRestoredBucket(api.url, api.serviceKey, "invoices-v2", { ownerToken: r.ownerToken })).rejects.toThrow(
            /refusing to empty or delete bucket invoices-v2: its ownership marker belongs to another restore, or was altered/,
        );
        expect(api.buckets.get("invoices-v2")!.objects.size).toBe(3);
    });

    it("a marker that is not ours at all (garbage, another tool's JSON, an oversized object) is refused", async () => {
        const r = await restore();
        for (const replacement of ["not json", JSON.stringify({ tool: "other", proof: "x" }), JSON.stringify({ ...marker(TODAY), pad: "x".repeat(5000) })]) {
            const saved = api.buckets.get(TODAY)!.objects.get(OWNER_MARKER_KEY)!.data;
            setMarker(TODAY, replacement);
            await refusedBoth(TODAY, r.ownerToken, /is not a supabase-dr ownership marker/);
            setMarker(TODAY, saved.toString("utf8"));
        }
        expect(await remove(TODAY, r.ownerToken)).toBe("removed");
    });

    it("a deleted marker is refused", async () => {
        const r = await restore();
        api.buckets.get(TODAY)!.objects.delete(OWNER_MARKER_KEY);
        await refusedBoth(TODAY, r.ownerToken, /it has no supabase-dr ownership marker/);
    });

    it("a snapshot holding an object at the marker's key is refused before anything is created", async () => {
        const forged = { ...manifest, objects: [...manifest.objects, { ...manifest.objects[0], key: OWNER_MARKER_KEY }] };
        await expect(restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store, manifest: forged, date: DAY })).rejects.toThrow(
            /the snapshot of invoices holds an object at \.supabase-dr\/restore-owner\.json/,
        );
        expect(api.buckets.has(TODAY)).toBe(false);
    });
});
