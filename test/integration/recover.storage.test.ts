// recover storage (runbook 001 path C) end to end against the Storage API stand-in: real nightly
// snapshots (lib/storage/snapshot.ts) into a directory vault, then an incident (objects deleted,
// overwritten, re-typed, plus a new object nobody should touch), then the dry run, the live apply and
// its retry, the review restore, and the refusals. Every assertion reads the stand-in's state or the
// files written, never the command's own report alone.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recoverStorage, type RecoverStorageOptions } from "../../lib/recover/storage";
import { OWNER_MARKER_KEY } from "../../lib/storage/restore";
import { snapshotStorage } from "../../lib/storage/snapshot";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";

const DAY1 = new Date("2026-03-01T01:00:00Z");
const DAY2 = new Date("2026-03-02T01:00:00Z");
const INCIDENT = new Date("2026-03-02T15:00:00Z");
const MANIFEST2 = "storage/prod/media/2026/03/02/manifest.json";

let api: FakeStorageApi;
let store: DirBlobStore;
let work: string;
let artifacts: string;

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

function seed(key: string, body: string, contentType: string, written: string, cacheControl?: string): void {
    const o = api.putObject("media", key, Buffer.from(body), contentType, cacheControl);
    o.updatedAt = new Date(written);
}

/** Every object of a bucket as key → [content, content type, cache control]. */
function contents(bucket: string): Record<string, [string, string, string]> {
    const out: Record<string, [string, string, string]> = {};
    for (const [k, o] of api.buckets.get(bucket)!.objects) out[k] = [o.data.toString("utf8"), o.contentType, o.cacheControl];
    return out;
}

function options(over: Partial<RecoverStorageOptions> = {}): RecoverStorageOptions {
    return {
        storageUrl: api.url,
        serviceKey: api.serviceKey,
        store,
        env: "prod",
        bucket: "media",
        snapshot: { kind: "newest" },
        now: INCIDENT,
        filter: {},
        onlyMissing: false,
        into: "live",
        apply: false,
        artifactsDir: artifacts,
        ...over,
    };
}

const writes = () => api.requests.filter((r) => !/^(GET|HEAD) /.test(r) && !/^POST \/object\/(list|sign)\//.test(r));

beforeEach(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-storage-"));
    artifacts = path.join(work, "artifacts");
    api = await startFakeStorageApi();
    store = new DirBlobStore(path.join(work, "vault"), () => INCIDENT);
    api.createBucket("media");
    seed("avatars/ann.png", "PNG ann v1", "image/png", "2026-02-10T09:00:00Z", "max-age=600");
    seed("avatars/bob.png", "PNG bob v1", "image/png", "2026-02-20T09:00:00Z");
    seed("docs/terms.txt", "terms v1", "text/plain", "2026-02-25T09:00:00Z", "no-cache");
    seed("docs/readme.md", "readme", "text/markdown", "2026-01-05T09:00:00Z");
    await snapshotStorage({ storageUrl: api.url, serviceKey: api.serviceKey, env: "prod", store, now: DAY1 });
    seed("docs/report.csv", "a,b\n1,2\n", "text/csv", "2026-03-01T12:00:00Z");
    await snapshotStorage({ storageUrl: api.url, serviceKey: api.serviceKey, env: "prod", store, now: DAY2 });

    // The incident: two objects deleted, one overwritten, one re-typed; a new upload arrives meanwhile.
    const media = api.buckets.get("media")!;
    media.objects.delete("avatars/ann.png");
    media.objects.delete("docs/report.csv");
    seed("avatars/bob.png", "broken bytes!", "image/png", "2026-03-02T14:00:00Z");
    media.objects.get("docs/terms.txt")!.contentType = "application/octet-stream";
    seed("uploads/new.jpg", "fresh upload", "image/jpeg", "2026-03-02T14:30:00Z");
    api.requests.length = 0;
});

afterEach(async () => {
    await api.close();
    fs.rmSync(work, { recursive: true, force: true });
});

describe("recover storage: dry run", () => {
    it("lists exactly the missing and changed objects of the newest snapshot, by name, and changes nothing", async () => {
        const before = contents("media");
        const r = await recoverStorage(options());
        expect(r.snapshot.manifestKey).toBe(MANIFEST2);
        expect(r.comparison.missing.map((e) => e.key)).toEqual(["avatars/ann.png", "docs/report.csv"]);
        expect(r.comparison.changed.map((c) => [c.entry.key, c.reasons])).toEqual([
            ["avatars/bob.png", ["size"]],
            ["docs/terms.txt", ["content type"]],
        ]);
        expect(r.comparison.identical).toBe(1);
        expect(r.comparison.liveOnly).toBe(1);
        expect(r.toRestore.map((e) => e.key)).toEqual(["avatars/ann.png", "avatars/bob.png", "docs/report.csv", "docs/terms.txt"]);
        expect(r.planText).toContain("+ missing  avatars/ann.png  (10 bytes, image/png)");
        expect(r.planText).toMatch(/~ changed {2}avatars\/bob\.png {2}\(size differs; live 13 bytes, image\/png, live written 2026-03-02T14:00:00\.000Z \(after the snapshot\)\)/);
        // Names only: no object's content in what is printed.
        for (const body of ["PNG ann v1", "broken bytes!", "terms v1", "a,b"]) expect(r.planText + r.summary).not.toContain(body);
        expect(r.applied).toBeUndefined();
        expect(contents("media")).toEqual(before);
        expect(writes()).toEqual([]);
        expect(fs.existsSync(artifacts)).toBe(false);
    });

    it("hashes live objects of equal size: same size, different bytes is 'content'", async () => {
        seed("avatars/bob.png", "PNG bob v2", "image/png", "2026-03-02T14:00:00Z"); // 10 bytes, as v1
        const r = await recoverStorage(options());
        expect(r.comparison.changed.find((c) => c.entry.key === "avatars/bob.png")?.reasons).toEqual(["content"]);
        expect(api.requests).toContain("GET /object/media/avatars/bob.png");
    });

    it("filters by prefix and by the snapshot's last-modified times (--since inclusive, --until exclusive)", async () => {
        const byPrefix = await recoverStorage(options({ filter: { prefix: "docs/" } }));
        expect(byPrefix.toRestore.map((e) => e.key)).toEqual(["docs/report.csv", "docs/terms.txt"]);
        expect(byPrefix.selection.outsidePrefix).toBe(2);

        const ranged = await recoverStorage(options({ filter: { since: new Date("2026-02-20T09:00:00Z"), until: new Date("2026-03-01T12:00:00Z") } }));
        expect(ranged.selection.entries.map((e) => e.key)).toEqual(["avatars/bob.png", "docs/terms.txt"]);
        expect(ranged.toRestore.map((e) => e.key)).toEqual(["avatars/bob.png", "docs/terms.txt"]);
        expect(ranged.planText).toContain("last modified from 2026-02-20T09:00:00.000Z to before 2026-03-01T12:00:00.000Z");
    });

    it("reads the snapshot of a given day, and --only-missing leaves changed objects alone", async () => {
        const r = await recoverStorage(options({ snapshot: { kind: "day", day: DAY1 }, onlyMissing: true }));
        expect(r.snapshot.manifestKey).toBe("storage/prod/media/2026/03/01/manifest.json");
        expect(r.toRestore.map((e) => e.key)).toEqual(["avatars/ann.png"]); // report.csv is not in day 1's snapshot
        expect(r.planText).toMatch(/= kept {5}avatars\/bob\.png/);
        await expect(recoverStorage(options({ snapshot: { kind: "day", day: new Date("2026-02-27T00:00:00Z") } })))
            .rejects.toThrow(/no snapshot of bucket media for 2026\/02\/27 .*storage\/prod\/media\/2026\/02\/27\/manifest\.json/);
        await expect(recoverStorage(options({ snapshot: { kind: "monthly", month: new Date("2026-03-01T00:00:00Z") } })))
            .rejects.toThrow(/no monthly archive of bucket media for 2026-03/);
    });
});

describe("recover storage --into live --apply", () => {
    it("restores byte-identical objects with content type and cache control, keeps before-images, deletes nothing, writes an audit record; a retry finds nothing to do", async () => {
        const r = await recoverStorage(options({ apply: true }));
        const a = r.applied!;
        expect(a).toMatchObject({ target: "media", objects: 4, verified: 4, beforeImageObjects: 2 });
        expect(contents("media")).toEqual({
            "avatars/ann.png": ["PNG ann v1", "image/png", "max-age=600"],
            "avatars/bob.png": ["PNG bob v1", "image/png", "max-age=3600"],
            "docs/terms.txt": ["terms v1", "text/plain", "no-cache"],
            "docs/readme.md": ["readme", "text/markdown", "max-age=3600"],
            "docs/report.csv": ["a,b\n1,2\n", "text/csv", "max-age=3600"],
            "uploads/new.jpg": ["fresh upload", "image/jpeg", "max-age=3600"], // outside the snapshot: untouched
        });
        expect(api.removals).toEqual([]);
        expect(api.requests.filter((q) => q.startsWith("DELETE "))).toEqual([]);
        // Only upserts of the four objects were written.
        expect(writes().sort()).toEqual(["POST /object/media/avatars/ann.png", "POST /object/media/avatars/bob.png", "POST /object/media/docs/report.csv", "POST /object/media/docs/terms.txt"]);

        // Before-image: the overwritten live content, 0600, with an index.
        const dir = a.beforeImage!;
        expect((fs.statSync(dir).mode & 0o777).toString(8)).toBe("700");
        const index = JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8"));
        expect(index.objects.map((o: { key: string; contentType: string }) => [o.key, o.contentType])).toEqual([
            ["avatars/bob.png", "image/png"],
            ["docs/terms.txt", "application/octet-stream"],
        ]);
        const bob = index.objects[0];
        expect(fs.readFileSync(path.join(dir, bob.file), "utf8")).toBe("broken bytes!");
        expect(bob.sha256).toBe(sha("broken bytes!"));
        expect((fs.statSync(path.join(dir, bob.file)).mode & 0o777).toString(8)).toBe("600");
        expect(fs.readdirSync(path.join(dir, "objects")).sort()).toEqual([sha("broken bytes!"), sha("terms v1")].sort());

        // Signed-URL reachability of a sample, fetched without the key.
        expect(a.signedUrls).toHaveLength(4);
        expect(a.signedUrls.every((s) => s.reachable)).toBe(true);
        expect(api.requests.filter((q) => q.startsWith("GET /object/sign/media/"))).toHaveLength(4);

        // The audit record names the snapshot by key and by the sha256 of the manifest's bytes.
        const audit = JSON.parse(fs.readFileSync(r.audit!, "utf8"));
        const manifestBytes = fs.readFileSync(path.join(work, "vault", "data", MANIFEST2));
        expect(audit).toMatchObject({
            action: "recover storage",
            into: "live",
            bucket: "media",
            target: "media",
            objects: 4,
            bytes: 10 + 10 + 8 + 8,
            missingBefore: 2,
            changedBefore: 2,
            beforeImage: dir,
            snapshot: { manifestKey: MANIFEST2, manifestSha256: sha(manifestBytes), takenAt: DAY2.toISOString() },
            verified: { objects: 4, failed: 0 },
            signedUrls: { checked: 4, reachable: 4 },
            outcome: "completed",
        });
        expect(typeof audit.who).toBe("string");
        expect(JSON.stringify(audit)).not.toContain(api.serviceKey);

        // Idempotent: a second run finds everything identical and uploads nothing.
        api.requests.length = 0;
        const again = await recoverStorage(options({ apply: true }));
        expect(again.toRestore).toEqual([]);
        expect(again.comparison.identical).toBe(5);
        expect(again.applied).toMatchObject({ objects: 0, beforeImageObjects: 0 });
        expect(again.applied!.beforeImage).toBeUndefined();
        expect(writes()).toEqual([]);
        expect(JSON.parse(fs.readFileSync(again.audit!, "utf8"))).toMatchObject({ objects: 0, beforeImage: "none: no live object was overwritten" });
    });

    it("--only-missing overwrites nothing and keeps no before-image", async () => {
        const r = await recoverStorage(options({ apply: true, onlyMissing: true }));
        expect(r.applied).toMatchObject({ objects: 2, beforeImageObjects: 0 });
        expect(contents("media")["avatars/bob.png"][0]).toBe("broken bytes!");
        expect(contents("media")["avatars/ann.png"][0]).toBe("PNG ann v1");
        expect(fs.readdirSync(artifacts).filter((f) => f.startsWith("before-storage-"))).toEqual([]);
    });

    it("a damaged vault copy is never uploaded: live keeps its object, the audit records the failure", async () => {
        // The vault file of bob's copy no longer holds what the manifest says.
        const vaultFile = path.join(work, "vault", "data", "storage/prod/media/2026/03/02/objects/avatars/bob.png");
        fs.writeFileSync(vaultFile, "tampered!!");
        const err = await recoverStorage(options({ apply: true, concurrency: 1 })).catch((e: Error) => e);
        expect(String(err)).toMatch(/vault copy storage\/prod\/media\/2026\/03\/02\/objects\/avatars\/bob\.png of avatars\/bob\.png holds 10 bytes with sha256 [0-9a-f]{64}, the manifest says 10 bytes .*not uploaded/);
        expect(String(err)).toMatch(/previous content of the live objects it overwrote is kept in .*before-storage-media-/);
        expect(contents("media")["avatars/bob.png"][0]).toBe("broken bytes!");
        expect(api.requests).not.toContain("POST /object/media/avatars/bob.png");
        const audits = fs.readdirSync(artifacts).filter((f) => f.startsWith("audit-recover-storage-"));
        expect(audits).toHaveLength(1);
        expect(JSON.parse(fs.readFileSync(path.join(artifacts, audits[0]), "utf8"))).toMatchObject({ outcome: "failed", error: expect.stringContaining("avatars/bob.png") });
    });

    it("refuses when the live bucket does not exist; the dry run says so", async () => {
        api.buckets.get("media")!.objects.clear();
        api.buckets.delete("media");
        const dry = await recoverStorage(options());
        expect(dry.notes.join("\n")).toMatch(/live bucket media does not exist .*never creates a live bucket.*recorded it as private/);
        await expect(recoverStorage(options({ apply: true }))).rejects.toThrow(/refusing: live bucket media does not exist/);
        expect(api.buckets.has("media")).toBe(false);
    });

    it("a rejected key stops the run with the problem named and the key not in the message", async () => {
        const err = await recoverStorage(options({ serviceKey: `${api.serviceKey}-wrong` })).catch((e: Error) => e);
        expect(String(err)).toMatch(/get live bucket media: invalid signature \(HTTP 400, statusCode 403\)/);
        expect(String(err)).not.toContain(api.serviceKey);
    });
});

describe("recover storage --into review", () => {
    const REVIEW = "restored-media-20260302";

    it("restores the selected objects into a new, private, marked bucket; live is untouched; a retry continues in it", async () => {
        const before = contents("media");
        const r = await recoverStorage(options({ into: "review", apply: true }));
        expect(r.target).toBe(REVIEW);
        expect(r.applied).toMatchObject({ target: REVIEW, objects: 4, verified: 4 });
        const review = api.buckets.get(REVIEW)!;
        expect(review.public).toBe(false);
        expect(Object.keys(contents(REVIEW)).sort()).toEqual([OWNER_MARKER_KEY, "avatars/ann.png", "avatars/bob.png", "docs/report.csv", "docs/terms.txt"]);
        expect(contents(REVIEW)["avatars/ann.png"]).toEqual(["PNG ann v1", "image/png", "max-age=600"]);
        // A cache control other than max-age=N ("no-cache") is kept as recorded, not made "max-age=no-cache".
        expect(contents(REVIEW)["docs/terms.txt"]).toEqual(["terms v1", "text/plain", "no-cache"]);
        expect(contents("media")).toEqual(before);
        const tokenFile = r.applied!.ownerTokenFile!;
        expect((fs.statSync(tokenFile).mode & 0o777).toString(8)).toBe("600");
        expect(review.objects.get(OWNER_MARKER_KEY)!.data.toString()).not.toContain(fs.readFileSync(tokenFile, "utf8").trim());
        expect(r.applied!.signedUrls.every((s) => s.reachable)).toBe(true);
        expect(JSON.parse(fs.readFileSync(r.audit!, "utf8"))).toMatchObject({ into: "review", target: REVIEW, objects: 4, outcome: "completed" });

        // A retry (same artifacts dir) proves ownership with the kept token and upserts again.
        const again = await recoverStorage(options({ into: "review", apply: true }));
        expect(again.notes.join("\n")).toContain(`review bucket ${REVIEW} exists and is ours`);
        expect(again.applied!.objects).toBe(4);
    });

    it("refuses a same-name bucket without our marker and writes nothing into it", async () => {
        api.createBucket(REVIEW);
        api.putObject(REVIEW, "someone/else.txt", "hand-made restore");
        const dry = await recoverStorage(options({ into: "review" }));
        expect(dry.notes.join("\n")).toMatch(/apply would refuse: review bucket restored-media-20260302 exists and it has no supabase-dr ownership marker/);
        await expect(recoverStorage(options({ into: "review", apply: true }))).rejects.toThrow(/refusing: review bucket restored-media-20260302 exists and it has no supabase-dr ownership marker/);
        expect(contents(REVIEW)).toEqual({ "someone/else.txt": ["hand-made restore", "application/octet-stream", "max-age=3600"] });
        expect(writes()).toEqual([]);
    });
});
