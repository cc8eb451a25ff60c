// recover storage-undo (runbook 001 path C, undone) end to end against the Storage API stand-in: real
// nightly snapshots into a directory vault, an incident, then a real `recover storage --into live
// --apply` whose before-image the undo reads. Every assertion reads the stand-in's state, its request
// log or the files written, never the command's own report alone.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CheckFailedError, ExternalServiceError, RefusedError, UsageError } from "../../lib/errors";
import { recoverStorage } from "../../lib/recover/storage";
import { recoverStorageUndo, type StorageUndoOptions } from "../../lib/recover/storageUndo";
import { snapshotStorage } from "../../lib/storage/snapshot";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";

const ROOT = path.resolve(__dirname, "../..");
const DAY1 = new Date("2026-03-01T01:00:00Z");
const DAY2 = new Date("2026-03-02T01:00:00Z");
const INCIDENT = new Date("2026-03-02T15:00:00Z");

let api: FakeStorageApi;
let store: DirBlobStore;
let work: string;
let artifacts: string;
/** Live as it was just before the restore, and just after it. */
let beforeRestore: Record<string, [string, string, string]>;
let afterRestore: Record<string, [string, string, string]>;
/** The restore's before-image directory. */
let restoreImage: string;

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

function seed(key: string, body: string, contentType: string, written: string, cacheControl?: string): void {
    const o = api.putObject("media", key, Buffer.from(body), contentType, cacheControl);
    o.updatedAt = new Date(written);
}

/** Every object of a bucket as key → [content, content type, cache control]. */
function contents(bucket = "media"): Record<string, [string, string, string]> {
    const out: Record<string, [string, string, string]> = {};
    for (const [k, o] of api.buckets.get(bucket)!.objects) out[k] = [o.data.toString("utf8"), o.contentType, o.cacheControl];
    return out;
}

const writes = () => api.requests.filter((r) => !/^(GET|HEAD) /.test(r) && !/^POST \/object\/(list|sign)\//.test(r));
const undoImages = () => fs.readdirSync(artifacts).filter((f) => f.startsWith("before-storage-undo-media-"));
const undoAudits = () => fs.readdirSync(artifacts).filter((f) => f.startsWith("audit-recover-storage-undo-")).sort();
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));

function undo(over: Partial<StorageUndoOptions> = {}) {
    return recoverStorageUndo({
        storageUrl: api.url,
        serviceKey: api.serviceKey,
        beforeImage: restoreImage,
        apply: false,
        forceChanged: false,
        removeAdded: false,
        artifactsDir: artifacts,
        ...over,
    });
}

/** The plan's object lines (its header lines start with '#'). */
const planLines = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));

beforeEach(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-storage-undo-"));
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

    // Live at the time of the restore: two objects gone, one overwritten, one re-typed, one new upload.
    const media = api.buckets.get("media")!;
    media.objects.delete("avatars/ann.png");
    media.objects.delete("docs/report.csv");
    seed("avatars/bob.png", "bob's new avatar", "image/png", "2026-03-02T14:00:00Z");
    media.objects.get("docs/terms.txt")!.contentType = "application/octet-stream";
    seed("uploads/new.jpg", "fresh upload", "image/jpeg", "2026-03-02T14:30:00Z");
    beforeRestore = contents();

    // The restore that turns out to be wrong (bob's new avatar was not damage): what the undo undoes.
    const restored = await recoverStorage({
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
        apply: true,
        artifactsDir: artifacts,
        signedUrlSample: 0,
    });
    restoreImage = restored.applied!.beforeImage!;
    afterRestore = contents();
    api.requests.length = 0;
});

afterEach(async () => {
    await api.close();
    fs.rmSync(work, { recursive: true, force: true });
});

describe("the restore's before-image", () => {
    it("records what the restore wrote over each object and the objects it added (format 2)", () => {
        const index = readJson(path.join(restoreImage, "index.json"));
        expect(index).toMatchObject({ kind: "supabase-dr storage before-image", format: 2, made: "recover storage", bucket: "media" });
        expect(index.objects.map((o: { key: string; sha256: string; written: unknown }) => [o.key, o.sha256, o.written])).toEqual([
            ["avatars/bob.png", sha("bob's new avatar"), { sha256: sha("PNG bob v1"), bytes: 10, contentType: "image/png", cacheControl: "max-age=3600" }],
            ["docs/terms.txt", sha("terms v1"), { sha256: sha("terms v1"), bytes: 8, contentType: "text/plain", cacheControl: "no-cache" }],
        ]);
        expect(index.added).toEqual([
            { key: "avatars/ann.png", written: { sha256: sha("PNG ann v1"), bytes: 10, contentType: "image/png", cacheControl: "max-age=600" } },
            { key: "docs/report.csv", written: { sha256: sha("a,b\n1,2\n"), bytes: 8, contentType: "text/csv", cacheControl: "max-age=3600" } },
        ]);
    });
});

describe("recover storage-undo: dry run", () => {
    it("classifies every object of the before-image exactly, by name, and writes nothing", async () => {
        const before = fs.readdirSync(artifacts).sort();
        const r = await undo();
        expect(planLines(r.planText)).toEqual([
            "+ added    avatars/ann.png  (added by the restore, live as it wrote it; kept: --remove-added removes it)",
            "~ restore  avatars/bob.png  (live as the restore wrote it; put back: 16 bytes, image/png, max-age=3600)",
            "+ added    docs/report.csv  (added by the restore, live as it wrote it; kept: --remove-added removes it)",
            "~ restore  docs/terms.txt  (live as the restore wrote it; put back: 8 bytes, application/octet-stream, no-cache)",
        ]);
        expect(r.summary).toBe("storage-undo on bucket media: 2 to put back, 0 to remove, 0 already as before, 2 added by the restore and kept (--remove-added removes them)");
        const removing = await undo({ removeAdded: true });
        expect(planLines(removing.planText).filter((l) => l.startsWith("- remove"))).toEqual([
            "- remove   avatars/ann.png  (added by the restore, live as it wrote it; its content is kept first)",
            "- remove   docs/report.csv  (added by the restore, live as it wrote it; its content is kept first)",
        ]);
        // Names only: no content in what is printed.
        for (const body of ["bob's new avatar", "PNG bob v1", "terms v1", "a,b"]) expect(r.planText + r.summary).not.toContain(body);
        expect(r.applied).toBeUndefined();
        expect(writes()).toEqual([]);
        expect(contents()).toEqual(afterRestore);
        expect(fs.readdirSync(artifacts).sort()).toEqual(before);
    });
});

describe("recover storage-undo --apply", () => {
    it("puts live back byte-identical to before the restore, keeps its own before-image, a retry finds nothing, and undoing the undo brings the restore back", async () => {
        const r = await undo({ apply: true, removeAdded: true });
        expect(contents()).toEqual(beforeRestore);
        expect(writes().sort()).toEqual(["DELETE /object/media", "POST /object/media/avatars/bob.png", "POST /object/media/docs/terms.txt"]);
        expect(api.removals).toEqual([{ bucket: "media", keys: ["avatars/ann.png", "docs/report.csv"] }]);
        expect(r.applied).toMatchObject({ uploaded: 2, removed: 2, bytes: 16 + 8, verified: 4 });

        // The undo's own before-image: what it replaced or removed, 0700/0600, with what it wrote.
        const own = r.applied!.beforeImage!;
        expect(path.basename(own)).toMatch(/^before-storage-undo-media-/);
        expect((fs.statSync(own).mode & 0o777).toString(8)).toBe("700");
        const index = readJson(path.join(own, "index.json"));
        expect(index).toMatchObject({ format: 2, made: "recover storage-undo", undoes: restoreImage, bucket: "media", added: [] });
        const kept = Object.fromEntries(index.objects.map((o: { key: string; file: string; contentType: string; written: unknown }) => [
            o.key,
            [fs.readFileSync(path.join(own, o.file), "utf8"), o.contentType, o.written === null ? null : (o.written as { sha256: string }).sha256],
        ]));
        expect(kept).toEqual({
            "avatars/ann.png": ["PNG ann v1", "image/png", null],
            "avatars/bob.png": ["PNG bob v1", "image/png", sha("bob's new avatar")],
            "docs/report.csv": ["a,b\n1,2\n", "text/csv", null],
            "docs/terms.txt": ["terms v1", "text/plain", sha("terms v1")],
        });
        for (const f of fs.readdirSync(path.join(own, "objects"))) expect((fs.statSync(path.join(own, "objects", f)).mode & 0o777).toString(8)).toBe("600");

        const audit = readJson(r.audit!);
        expect(audit).toMatchObject({
            action: "recover storage-undo",
            bucket: "media",
            undoes: { beforeImage: restoreImage, indexSha256: sha(fs.readFileSync(path.join(restoreImage, "index.json"))), made: "recover storage", recordsWrites: true },
            uploaded: 2,
            removed: 2,
            bytes: 24,
            alreadyAsBefore: 0,
            changedSince: [],
            beforeImage: own,
            verified: { objects: 4, failed: 0 },
            outcome: "completed",
        });
        expect(typeof audit.who).toBe("string");
        expect(JSON.stringify(audit)).not.toContain(api.serviceKey);

        // A retry: everything is already as before; nothing is written, no second before-image.
        api.requests.length = 0;
        const again = await undo({ apply: true, removeAdded: true });
        expect(planLines(again.planText).every((l) => l.startsWith("= already"))).toBe(true);
        expect(again.applied).toMatchObject({ uploaded: 0, removed: 0 });
        expect(again.applied!.beforeImage).toBeUndefined();
        expect(writes()).toEqual([]);
        expect(undoImages()).toHaveLength(1);
        expect(readJson(again.audit!)).toMatchObject({ uploaded: 0, alreadyAsBefore: 4, beforeImage: "none: nothing needed putting back" });

        // Undo of the undo: the restored content comes back, removed objects included.
        api.requests.length = 0;
        const redo = await undo({ beforeImage: own, apply: true });
        expect(redo.notes.join("\n")).toContain("this is the before-image of an undo");
        expect(planLines(redo.planText)).toContain("~ restore  avatars/ann.png  (live as the undo wrote it; put back: 10 bytes, image/png, max-age=600)");
        expect(contents()).toEqual(afterRestore);
        expect(writes().sort()).toEqual(["avatars/ann.png", "avatars/bob.png", "docs/report.csv", "docs/terms.txt"].map((k) => `POST /object/media/${k}`));
    });

    it("without --remove-added, objects the restore added stay", async () => {
        const r = await undo({ apply: true });
        expect(r.applied).toMatchObject({ uploaded: 2, removed: 0 });
        expect(contents()).toEqual({ ...beforeRestore, "avatars/ann.png": afterRestore["avatars/ann.png"], "docs/report.csv": afterRestore["docs/report.csv"] });
        expect(api.removals).toEqual([]);
        expect(readJson(r.audit!)).toMatchObject({ addedKept: 2, removed: 0 });
    });

    it("an object written after the restore is left alone and named; --force-changed overwrites it with its content kept; a changed added object is never removed", async () => {
        seed("avatars/bob.png", "bob uploads again", "image/webp", "2026-03-02T16:00:00Z");
        seed("docs/report.csv", "a,b\n1,2\n3,4\n", "text/csv", "2026-03-02T16:05:00Z");
        const dry = await undo({ removeAdded: true });
        expect(planLines(dry.planText)).toEqual([
            "- remove   avatars/ann.png  (added by the restore, live as it wrote it; its content is kept first)",
            "! changed since  avatars/bob.png  (live 17 bytes, image/webp, max-age=3600, written 2026-03-02T16:00:00.000Z; left as it is: --force-changed overwrites it)",
            "! changed since  docs/report.csv  (live 12 bytes, text/csv, max-age=3600, written 2026-03-02T16:05:00.000Z; added by the restore and written since: left as it is)",
            "~ restore  docs/terms.txt  (live as the restore wrote it; put back: 8 bytes, application/octet-stream, no-cache)",
        ]);

        const r = await undo({ apply: true, removeAdded: true });
        expect(r.leftChanged).toEqual(["avatars/bob.png", "docs/report.csv"]);
        const live = contents();
        expect(live["avatars/bob.png"]).toEqual(["bob uploads again", "image/webp", "max-age=3600"]);
        expect(live["docs/report.csv"]).toEqual(["a,b\n1,2\n3,4\n", "text/csv", "max-age=3600"]);
        expect(live["docs/terms.txt"]).toEqual(beforeRestore["docs/terms.txt"]);
        expect(live["avatars/ann.png"]).toBeUndefined();
        expect(api.requests).not.toContain("POST /object/media/avatars/bob.png");
        expect(readJson(r.audit!)).toMatchObject({ changedSince: ["avatars/bob.png", "docs/report.csv"], forced: [], uploaded: 1, removed: 1 });

        const forced = await undo({ apply: true, removeAdded: true, forceChanged: true });
        expect(planLines(forced.planText)).toContain(
            "! changed since  avatars/bob.png  (live 17 bytes, image/webp, max-age=3600, written 2026-03-02T16:00:00.000Z; --force-changed: overwritten with 16 bytes, image/png, max-age=3600)",
        );
        expect(contents()["avatars/bob.png"]).toEqual(beforeRestore["avatars/bob.png"]);
        expect(contents()["docs/report.csv"][0]).toBe("a,b\n1,2\n3,4\n");
        const own = forced.applied!.beforeImage!;
        const bob = readJson(path.join(own, "index.json")).objects.find((o: { key: string }) => o.key === "avatars/bob.png");
        expect(fs.readFileSync(path.join(own, bob.file), "utf8")).toBe("bob uploads again");
        expect(readJson(forced.audit!)).toMatchObject({ forced: ["avatars/bob.png"], changedSince: ["docs/report.csv"] });
    });

    it("a tampered or missing before-image file is refused before anything is written", async () => {
        fs.writeFileSync(path.join(restoreImage, "objects", sha("bob's new avatar")), "bob's old avatar");
        fs.rmSync(path.join(restoreImage, "objects", sha("terms v1")));
        const dry = await undo();
        expect(planLines(dry.planText)).toContain(
            `! damaged  avatars/bob.png  (before-image file objects/${sha("bob's new avatar")} holds 16 bytes with sha256 ${sha("bob's old avatar")}, the index says 16 bytes with sha256 ${sha("bob's new avatar")}: never uploaded; the apply refuses while it is)`,
        );
        expect(planLines(dry.planText).find((l) => l.includes("docs/terms.txt"))).toMatch(/^! damaged {2}docs\/terms\.txt {2}\(before-image file objects\/[0-9a-f]{64} cannot be read \(ENOENT\)/);

        const err = await undo({ apply: true, removeAdded: true }).catch((e: Error) => e);
        expect(err).toBeInstanceOf(CheckFailedError);
        expect((err as Error).message).toMatch(/refusing to undo: 2 before-image file\(s\) of .* are not what its index recorded; nothing was written/);
        expect((err as Error).message).toContain("avatars/bob.png: before-image file objects/");
        expect(writes()).toEqual([]);
        expect(contents()).toEqual(afterRestore);
        expect(undoImages()).toEqual([]);
        expect(readJson(path.join(artifacts, undoAudits()[0]))).toMatchObject({ outcome: "refused", uploaded: 0, removed: 0, beforeImage: "none: nothing was written" });
    });

    it("a Storage failure halfway stops with the class of a service failure and the undo's image kept; the retry finishes the rest", async () => {
        api.addFault({ match: /^POST \/object\/media\/docs\/terms\.txt$/, status: 503 });
        const err = await undo({ apply: true, removeAdded: true, concurrency: 1 }).catch((e: Error) => e);
        expect(err).toBeInstanceOf(ExternalServiceError);
        expect((err as Error).message).toMatch(/upload media\/docs\/terms\.txt: .*\n\(1 object\(s\) put back and 0 removed before this; what the undo replaced is kept in .*before-storage-undo-media-/);
        expect((err as Error).message).not.toContain(api.serviceKey);
        expect(contents()["avatars/bob.png"]).toEqual(beforeRestore["avatars/bob.png"]);
        expect(contents()["docs/terms.txt"]).toEqual(afterRestore["docs/terms.txt"]);
        expect(readJson(path.join(artifacts, undoAudits()[0]))).toMatchObject({ outcome: "failed", uploaded: 1, removed: 0 });

        api.requests.length = 0;
        const retry = await undo({ apply: true, removeAdded: true });
        expect(planLines(retry.planText).map((l) => l.slice(0, 26))).toEqual(["- remove   avatars/ann.png", "= already  avatars/bob.png", "- remove   docs/report.csv", "~ restore  docs/terms.txt "]);
        expect(contents()).toEqual(beforeRestore);
        expect(undoImages()).toHaveLength(2);
    });

    it("a before-image of an earlier version (no record of what the restore wrote) puts nothing back without --force-changed", async () => {
        const file = path.join(restoreImage, "index.json");
        const index = readJson(file);
        fs.writeFileSync(file, JSON.stringify({
            kind: index.kind,
            bucket: index.bucket,
            storage: index.storage,
            takenAt: index.takenAt,
            objects: index.objects.map(({ written: _written, ...o }: { written: unknown }) => o),
        }));
        const r = await undo({ apply: true, removeAdded: true });
        expect(r.notes.join("\n")).toMatch(/written by an earlier version: it does not record what the restore wrote/);
        expect(planLines(r.planText).map((l) => l.slice(0, 31))).toEqual(["! changed since  avatars/bob.pn", "! changed since  docs/terms.txt"]);
        expect(writes()).toEqual([]);
        const forced = await undo({ apply: true, forceChanged: true });
        expect(forced.applied).toMatchObject({ uploaded: 2 });
        expect(contents()["avatars/bob.png"]).toEqual(beforeRestore["avatars/bob.png"]);
        expect(contents()["avatars/ann.png"]).toEqual(afterRestore["avatars/ann.png"]); // not listed: cannot be told
    });
});

describe("recover storage-undo: refusals", () => {
    it("refuses another Storage than the restore's, a missing bucket, an index pointing outside, and names a rejected key's problem without the key", async () => {
        const elsewhere = api.url.replace("127.0.0.1", "localhost");
        await expect(undo({ storageUrl: elsewhere, apply: true })).rejects.toThrow(RefusedError);
        await expect(undo({ storageUrl: elsewhere })).rejects.toThrow(/was made against Storage 127\.0\.0\.1:\d+\/storage\/v1, but STORAGE_URL points at localhost:\d+\/storage\/v1/);

        const wrongKey = await undo({ serviceKey: `${api.serviceKey}-wrong` }).catch((e: Error) => e);
        expect(wrongKey).toBeInstanceOf(ExternalServiceError);
        expect(String(wrongKey)).toMatch(/get live bucket media: invalid signature/);
        expect(String(wrongKey)).not.toContain(api.serviceKey);

        const file = path.join(restoreImage, "index.json");
        const index = readJson(file);
        index.objects[0].file = "../../../etc/passwd";
        fs.writeFileSync(file, JSON.stringify(index));
        await expect(undo()).rejects.toThrow(UsageError);
        await expect(undo()).rejects.toThrow(/index\.json\.objects\[0\]\.file: expected objects\/<sha256>/);
        await expect(undo({ beforeImage: path.join(work, "nowhere") })).rejects.toThrow(/is not a directory/);
        expect(writes()).toEqual([]);

        fs.writeFileSync(file, JSON.stringify({ ...index, objects: [] }));
        api.buckets.delete("media");
        await expect(undo({ apply: true })).rejects.toThrow(/refusing: live bucket media does not exist/);
        expect(api.buckets.has("media")).toBe(false);
    });
});

describe("npm run recover -- storage-undo (the CLI)", () => {
    function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
        return new Promise((resolve, reject) => {
            const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "scripts/recover.ts"), "storage-undo", ...args], {
                cwd: work,
                env: { ...process.env, STORAGE_URL: api.url, SUPABASE_SERVICE_ROLE_KEY: api.serviceKey, ...env },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", reject);
            child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        });
    }

    it("dry run 0, apply 0 with the key in no output, refused 3, damaged 1", async () => {
        const dry = await cli([restoreImage]);
        expect(dry.code).toBe(0);
        expect(dry.stdout).toContain("~ restore  avatars/bob.png");
        expect(dry.stderr).toMatch(/dry run: storage-undo on bucket media: 2 to put back/);

        const applied = await cli([restoreImage, "--apply", "--remove-added", "--artifacts", artifacts]);
        expect(applied.code).toBe(0);
        expect(applied.stderr).toMatch(/before-image of this undo: .*before-storage-undo-media-.*storage-undo/);
        expect(contents()).toEqual(beforeRestore);
        for (const text of [applied.stdout, applied.stderr, ...undoAudits().map((f) => fs.readFileSync(path.join(artifacts, f), "utf8"))]) {
            expect(text).not.toContain(api.serviceKey);
        }

        expect((await cli([restoreImage], { STORAGE_URL: api.url.replace("127.0.0.1", "localhost") })).code).toBe(3);
        fs.writeFileSync(path.join(restoreImage, "objects", sha("terms v1")), "tampered");
        const own = path.join(artifacts, undoImages()[0]);
        // Undoing the undo uploads the restore's kept files of the undo's own image: intact, so exit 0 ...
        expect((await cli([own, "--apply", "--artifacts", artifacts])).code).toBe(0);
        // ... and undoing the restore again needs the tampered file: refused by checksum, exit 1.
        const damaged = await cli([restoreImage, "--apply", "--artifacts", artifacts]);
        expect(damaged.code).toBe(1);
        expect(damaged.stderr).toMatch(/CHECK_FAILED: refusing to undo: 1 before-image file/);
    });
});
