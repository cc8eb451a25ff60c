// Monthly storage archives (runbook 004's "12 monthly archives") written by the nightly snapshot,
// against the fake Storage API: a local directory vault whose lifecycle is applied by LifecycleModel
// with the exact rules the BackupVault component declares (as test/integration/rehearsal.test.ts does),
// plus an in-memory mirror. Proves: an archive only on the month's first snapshot of each bucket in each
// store, with the monthly lock, copied server-side, self-contained; it still restores every object
// byte-identical after the daily snapshot it came from has expired, and stays for the monthly window.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveVaultSettings } from "../../components/BackupVault";
import { dailyRetainUntil, monthlyRetainUntil } from "../../lib/backupJob/plan";
import { entriesOutside, manifestKey, monthlyManifestKey, parseManifest } from "../../lib/storage/manifest";
import { restoreStorage } from "../../lib/storage/restore";
import { findMonthlyManifest, readText, snapshotStorage, type SnapshotOptions } from "../../lib/storage/snapshot";
import type { BlobStore } from "../../lib/vault/blobStore";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { LifecycleModel, vaultLifecycleRules } from "../../lib/vault/lifecycle";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { MemoryStore } from "../helpers/memoryStore";

const DAY_MS = 86_400_000;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const day = (d: Date) => d.toISOString().slice(0, 10);
const settings = resolveVaultSettings({ environment: "prod", objectLockMode: "COMPLIANCE" });

let api: FakeStorageApi;
let work: string;
beforeAll(async () => {
    api = await startFakeStorageApi();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-monthly-"));
});
afterAll(async () => {
    await api?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function bytesOf(store: BlobStore, key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
}

function nightly(store: BlobStore, now: Date, extra: Partial<SnapshotOptions> = {}) {
    return snapshotStorage({
        storageUrl: api.url, serviceKey: api.serviceKey, env: "prod", store, now,
        retainUntil: dailyRetainUntil(now, settings.dailyRetentionDays),
        monthly: { retainUntil: monthlyRetainUntil(now, settings.monthlyArchiveMonths) },
        ...extra,
    });
}

describe("monthly storage archives over a simulated calendar", () => {
    it("are written on each month's first night only, outlive their daily snapshot, restore byte-identical and stay for the monthly window", async () => {
        api.createBucket("m-avatars", true);
        api.createBucket("m-docs");
        api.putObject("m-avatars", "team/logo.png", Buffer.from("PNG logo, never changes"), "image/png");
        api.putObject("m-docs", "contracts/master ü.pdf", "%PDF master", "application/pdf");
        const buckets = ["m-avatars", "m-docs"];
        const vaultDir = path.join(work, "calendar-vault");
        let clock = new Date(0);
        const vault = new DirBlobStore(vaultDir, () => clock);
        const mirror = new MemoryStore(() => clock);
        const model = new LifecycleModel(vaultLifecycleRules(settings));
        const seen = new Map<string, string>();
        // What S3 would have done by `until`: new versions recorded, rules applied, hidden keys gone.
        const applyLifecycle = async (until: Date) => {
            for await (const o of vault.list("")) {
                const stamp = o.lastModified.toISOString();
                if (seen.get(o.key) === stamp) continue;
                seen.set(o.key, stamp);
                model.put(o.key, o.lastModified, o.retainUntil);
            }
            for (const e of model.advanceTo(until)) {
                if (e.kind !== "delete-marker") continue;
                fs.rmSync(path.join(vaultDir, "data", e.key), { force: true });
                fs.rmSync(path.join(vaultDir, "meta", `${e.key}.json`), { force: true });
            }
        };

        const archived: Record<string, string[]> = { vault: [], mirror: [] };
        let feb1Live = new Map<string, Map<string, Buffer>>();
        let feb1Copies = { vaultCopied: 0, mirrorCopies: 0, mirrorPuts: 0, listed: 0, expectedPuts: 0, expectedCopies: 0 };
        const first = new Date("2026-01-29T01:00:00Z");
        const last = new Date("2026-03-03T01:00:00Z");
        for (let night = first; night <= last; night = new Date(night.getTime() + DAY_MS)) {
            clock = night;
            await applyLifecycle(night);
            const n = Math.round((night.getTime() - first.getTime()) / DAY_MS);
            api.putObject("m-docs", "daily/changing.txt", `version of ${day(night)}`, "text/plain");
            api.putObject("m-docs", `daily/new-${n}.bin`, Buffer.from([n, n + 1, n + 2]), "application/octet-stream");
            if (n % 4 === 3) api.buckets.get("m-docs")!.objects.delete(`daily/new-${n - 2}.bin`);
            const before = { copies: mirror.copies, puts: mirror.puts };
            const r = await nightly(vault, night, { mirror, buckets });
            expect(r.mirror?.error).toBeUndefined();
            if (r.buckets.some((b) => b.monthly)) archived.vault.push(day(night));
            if (r.mirror!.buckets.some((b) => b.monthly)) archived.mirror.push(day(night));
            // Archived together: either every bucket of a store got its archive that night, or none did.
            expect(new Set(r.buckets.map((b) => !!b.monthly)).size).toBe(1);
            if (day(night) === "2026-02-01") {
                feb1Live = new Map(buckets.map((b) => [b, new Map([...api.buckets.get(b)!.objects].map(([k, o]) => [k, o.data]))]));
                feb1Copies = {
                    vaultCopied: r.buckets.reduce((s, b) => s + b.monthly!.copied, 0),
                    mirrorCopies: mirror.copies - before.copies,
                    mirrorPuts: mirror.puts - before.puts,
                    listed: r.listed,
                    // New and changed objects, then a daily and a monthly manifest per bucket.
                    expectedPuts: r.mirror!.buckets.reduce((s, b) => s + b.uploaded, 0) + 2 * buckets.length,
                    // Unchanged objects into the day folder, then every object into the month folder.
                    expectedCopies: r.mirror!.buckets.reduce((s, b) => s + b.serverSideCopies, 0) + r.listed,
                };
                expect(r.buckets.map((b) => b.monthly?.retainUntil)).toEqual(buckets.map(() => monthlyRetainUntil(night, 12).toISOString()));
            }
        }
        // The first night ever (January has no archive yet), then the 1st of each month: nothing else.
        expect(archived.vault).toEqual(["2026-01-29", "2026-02-01", "2026-03-01"]);
        expect(archived.mirror).toEqual(archived.vault);
        // Every object of the archive was copied inside the store; only the two manifests were put.
        expect(feb1Copies.vaultCopied).toBe(feb1Copies.listed);
        expect(feb1Copies.mirrorPuts).toBe(feb1Copies.expectedPuts);
        expect(feb1Copies.mirrorCopies).toBe(feb1Copies.expectedCopies);

        const feb1 = new Date("2026-02-01T01:00:00Z");
        const monthlyUntil = monthlyRetainUntil(feb1, 12).toISOString();
        for (const bucket of buckets) {
            // The daily snapshot of Feb 1st has expired; its monthly copy has not.
            expect(await vault.head(manifestKey("prod", bucket, feb1)), bucket).toBeUndefined();
            const key = monthlyManifestKey("prod", bucket, feb1);
            const m = (await findMonthlyManifest(vault, "prod", bucket, new Date("2026-02-17T00:00:00Z")))!;
            expect(m, key).toBeDefined();
            expect(m).toMatchObject({ tier: "monthly", bucket, env: "prod", takenAt: feb1.toISOString() });
            expect(entriesOutside(m, key.replace(/manifest\.json$/, ""))).toEqual([]);
            expect((await vault.head(key))?.retainUntil?.toISOString()).toBe(monthlyUntil);
            // The month's content as it was that night (changing.txt has changed 30 times since).
            const live = feb1Live.get(bucket)!;
            expect(m.objects.map((o) => o.key).sort()).toEqual([...live.keys()].sort());
            for (const e of m.objects) {
                const h = (await vault.head(e.vaultKey))!;
                expect(h.retainUntil?.toISOString(), e.vaultKey).toBe(monthlyUntil);
                expect(h.metadata?.tier).toBe("monthly");
                expect(h.contentType).toBe(e.contentType);
                expect(sha(await bytesOf(vault, e.vaultKey)), e.vaultKey).toBe(sha(live.get(e.key)!));
            }
            expect(await readText(mirror, key)).toBe(await readText(vault, key));

            // Restored by the existing storage restore, straight from the archive's manifest.
            const target = `restored-${bucket}-monthly`;
            const restored = await restoreStorage({ storageUrl: api.url, serviceKey: api.serviceKey, store: vault, manifest: m, targetBucket: target });
            expect(restored.objects).toBe(live.size);
            for (const [k, data] of live) expect(sha(api.buckets.get(target)!.objects.get(k)!.data), `${target}/${k}`).toBe(sha(data));
            expect([...api.buckets.get(target)!.objects.keys()].filter((k) => !k.startsWith(".supabase-dr/")).sort()).toEqual([...live.keys()].sort());
        }

        // A year on: February's archive is readable until its window ends, never removed while locked,
        // and then gone for good; the daily folders it came from left within days.
        await applyLifecycle(last);
        const archiveKeys = model.allKeys().filter((k) => /^monthly\/storage\/prod\/[^/]+\/2026\/02\//.test(k));
        expect(archiveKeys.length).toBe(buckets.length + feb1Copies.listed);
        expect(model.allKeys().filter((k) => k.startsWith("storage/prod/") && k.includes("/2026/02/01/"))).toEqual([]);
        const early = model.advanceTo(new Date("2027-02-01T01:00:00Z")).filter((e) => archiveKeys.includes(e.key));
        expect(early).toEqual([]);
        for (const k of archiveKeys) expect(model.current(k), k).toBeDefined();
        const late = model.advanceTo(new Date("2027-04-01T00:00:00Z")).filter((e) => archiveKeys.includes(e.key));
        expect(late.filter((e) => e.kind === "delete-marker").map((e) => e.rule)).toEqual(archiveKeys.map(() => "monthly-storage"));
        for (const e of late) expect(e.at.getTime(), `${e.kind} ${e.key}`).toBeGreaterThanOrEqual(new Date(monthlyUntil).getTime());
        for (const k of archiveKeys) expect(model.versions(k), k).toEqual([]);
    }, 300_000);

    it("finish the month's archive the next night when a run dies halfway through it, reusing what was copied", async () => {
        api.createBucket("m-resume");
        for (const k of ["a.txt", "b.txt", "c.txt", "d.txt"]) api.putObject("m-resume", k, `first ${k}`, "text/plain");
        let clock = new Date("2026-05-01T01:00:00Z");
        const store = new MemoryStore(() => clock);
        const copy = store.copy.bind(store);
        let monthlyCopies = 0;
        store.copy = (from, to, opts) => {
            if (to.startsWith("monthly/") && ++monthlyCopies > 2) return Promise.reject(new Error(`vault unreachable while copying ${to}`));
            return copy(from, to, opts);
        };
        // One object at a time, so "the first two" are a.txt and b.txt.
        const opts = { buckets: ["m-resume"], concurrency: 1 };
        await expect(nightly(store, clock, opts)).rejects.toThrow(/vault unreachable while copying monthly\/storage\/prod\/m-resume\/2026\/05\/objects\/c\.txt/);
        expect(store.objects.has(manifestKey("prod", "m-resume", clock))).toBe(true);
        expect(store.objects.has(monthlyManifestKey("prod", "m-resume", clock))).toBe(false);

        store.copy = copy;
        clock = new Date("2026-05-02T01:00:00Z");
        api.putObject("m-resume", "d.txt", "second d.txt", "text/plain");
        const r = await nightly(store, clock, opts);
        expect(r.buckets[0].monthly).toMatchObject({ manifestKey: "monthly/storage/prod/m-resume/2026/05/manifest.json", copied: 2, alreadyThere: 2 });
        const m = parseManifest(await readText(store, r.buckets[0].monthly!.manifestKey));
        expect(m.takenAt).toBe(clock.toISOString());
        for (const e of m.objects) expect(sha(store.objects.get(e.vaultKey)!.data), e.key).toBe(sha(api.buckets.get("m-resume")!.objects.get(e.key)!.data));

        clock = new Date("2026-05-03T01:00:00Z");
        expect((await nightly(store, clock, opts)).buckets[0].monthly).toBeUndefined();
    });

    it("archive into a mirror that was down on the 1st on its next good night, without archiving the vault twice", async () => {
        api.createBucket("m-mirror");
        api.putObject("m-mirror", "x.bin", Buffer.from([1, 2, 3]));
        let clock = new Date("2026-06-01T01:00:00Z");
        const store = new MemoryStore(() => clock);
        const mirror = new MemoryStore(() => clock);
        const put = mirror.put.bind(mirror);
        mirror.put = () => Promise.reject(new Error("archive unreachable"));
        const opts = { buckets: ["m-mirror"], mirror };
        const r1 = await nightly(store, clock, opts);
        expect(r1.mirror?.error).toMatch(/archive unreachable/);
        expect(r1.buckets[0].monthly?.copied).toBe(1);

        mirror.put = put;
        clock = new Date("2026-06-02T01:00:00Z");
        const r2 = await nightly(store, clock, opts);
        expect(r2.mirror?.error).toBeUndefined();
        expect(r2.buckets[0].monthly).toBeUndefined();
        expect(r2.mirror?.buckets[0].monthly).toMatchObject({ manifestKey: "monthly/storage/prod/m-mirror/2026/06/manifest.json", copied: 1 });
        expect(mirror.objects.get("monthly/storage/prod/m-mirror/2026/06/objects/x.bin")!.info.retainUntil?.toISOString())
            .toBe(monthlyRetainUntil(clock, 12).toISOString());
    });

    it("are not written by a caller that asks for daily snapshots only", async () => {
        api.createBucket("m-daily");
        api.putObject("m-daily", "x.txt", "x");
        const store = new MemoryStore(() => new Date("2026-07-01T01:00:00Z"));
        const r = await nightly(store, new Date("2026-07-01T01:00:00Z"), { buckets: ["m-daily"], monthly: undefined });
        expect(r.buckets[0].monthly).toBeUndefined();
        expect([...store.objects.keys()].filter((k) => k.startsWith("monthly/"))).toEqual([]);
    });
});
