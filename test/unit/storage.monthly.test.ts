// Monthly storage archives, the pure parts: where they live, how a manifest says it is one, how a
// snapshot that is not self-contained is recognised, and that the lock the backup job puts on them and
// the vault's lifecycle rules keep them for the monthly window while the daily folder expires.
import { describe, expect, it } from "vitest";
import { resolveVaultSettings } from "../../components/BackupVault";
import { dailyRetainUntil, monthlyRetainUntil } from "../../lib/backupJob/plan";
import {
    entriesOutside, manifestKey, monthLabel, monthlyManifestKey, monthlyObjectVaultKey, objectVaultKey, parseManifest, type StorageManifest,
} from "../../lib/storage/manifest";
import { LifecycleModel, vaultLifecycleRules } from "../../lib/vault/lifecycle";

const at = (iso: string) => new Date(iso);
const SHA = "a".repeat(64);

function manifest(vaultKeys: string[], tier?: "monthly"): StorageManifest {
    return {
        version: 1, env: "prod", bucket: "docs", takenAt: "2026-03-01T01:00:00.000Z", public: false, ...(tier ? { tier } : {}),
        objects: vaultKeys.map((vaultKey, i) => ({ key: `k${i}`, bytes: 1, contentType: "text/plain", metadata: {}, sha256: SHA, lastModified: "", vaultKey })),
    };
}

describe("monthly archive keys", () => {
    it("put the manifest and the objects under monthly/storage/{env}/{bucket}/YYYY/MM/, by the UTC month", () => {
        const night = at("2026-03-01T01:00:00Z");
        expect(monthlyManifestKey("prod", "docs", night)).toBe("monthly/storage/prod/docs/2026/03/manifest.json");
        expect(monthlyObjectVaultKey("prod", "docs", night, "a b/ü.pdf")).toBe("monthly/storage/prod/docs/2026/03/objects/a b/ü.pdf");
        // 23:30 on March 31st in UTC-2 is April 1st in UTC: the April archive.
        expect(monthlyManifestKey("prod", "docs", at("2026-03-31T23:30:00-02:00"))).toBe("monthly/storage/prod/docs/2026/04/manifest.json");
        expect(monthLabel(at("2026-12-31T23:59:59Z"))).toBe("2026-12");
        expect(() => monthlyObjectVaultKey("prod", "docs", night, "../escape")).toThrow(/storage object key/);
        expect(() => monthlyManifestKey("Prod*", "docs", night)).toThrow(/environment must be/);
    });
});

describe("manifests", () => {
    it("carry tier monthly on an archive and nothing else", () => {
        expect(parseManifest(JSON.stringify(manifest([], "monthly"))).tier).toBe("monthly");
        expect(parseManifest(JSON.stringify(manifest([]))).tier).toBeUndefined();
        expect(() => parseManifest(JSON.stringify({ ...manifest([]), tier: "weekly" }), "monthly/storage/prod/docs/2026/03/manifest.json"))
            .toThrow(/monthly\/storage\/prod\/docs\/2026\/03\/manifest\.json: tier must be "monthly" or absent \(got "weekly"\)/);
    });

    it("name every object stored outside the snapshot's own folder", () => {
        const night = at("2026-03-01T01:00:00Z");
        const folder = monthlyManifestKey("prod", "docs", night).replace(/manifest\.json$/, "");
        const own = monthlyObjectVaultKey("prod", "docs", night, "in.txt");
        const daily = objectVaultKey("prod", "docs", night, "out.txt");
        // A sibling bucket whose name starts like this one's must not count as inside.
        const sibling = monthlyObjectVaultKey("prod", "docs2", night, "x.txt");
        expect(entriesOutside(manifest([own, daily, sibling]), folder).map((e) => e.vaultKey)).toEqual([daily, sibling]);
        expect(entriesOutside(manifest([own]), folder)).toEqual([]);
        expect(() => entriesOutside(manifest([own]), folder.slice(0, -1))).toThrow(/must end in "\/"/);
    });
});

describe("the monthly lock and the vault's lifecycle", () => {
    const settings = resolveVaultSettings({ environment: "prod", objectLockMode: "COMPLIANCE" });
    const rules = vaultLifecycleRules(settings);

    it("keep a monthly archive readable for 12 months while its source day folder expires within the daily window", () => {
        const night = at("2026-03-01T01:00:00Z");
        const m = new LifecycleModel(rules);
        const monthlyUntil = monthlyRetainUntil(night, settings.monthlyArchiveMonths);
        const dailyUntil = dailyRetainUntil(night, settings.dailyRetentionDays);
        const monthlyKeys = [monthlyManifestKey("prod", "docs", night), monthlyObjectVaultKey("prod", "docs", night, "a.pdf")];
        const dailyKeys = [manifestKey("prod", "docs", night), objectVaultKey("prod", "docs", night, "a.pdf")];
        for (const k of monthlyKeys) m.put(k, night, monthlyUntil);
        for (const k of dailyKeys) m.put(k, night, dailyUntil);

        m.advanceTo(at("2026-03-10T00:00:00Z"));
        for (const k of dailyKeys) expect(m.current(k), k).toBeUndefined();
        for (const k of monthlyKeys) expect(m.current(k), k).toBeDefined();

        // Twelve calendar months later (365 days) the archive is still there, and locked.
        m.advanceTo(at("2027-03-01T01:00:00Z"));
        for (const k of monthlyKeys) {
            expect(m.current(k), k).toBeDefined();
            expect(m.current(k)!.retainUntil!.getTime()).toBeGreaterThan(at("2027-03-01T01:00:00Z").getTime());
        }
        // It leaves by the monthly-storage rule, never before its lock ends, and is deleted for good.
        const events = m.advanceTo(at("2027-06-01T00:00:00Z")).filter((e) => monthlyKeys.includes(e.key));
        const hidden = events.filter((e) => e.kind === "delete-marker");
        expect(hidden.map((e) => e.rule)).toEqual(["monthly-storage", "monthly-storage"]);
        for (const e of hidden) expect(e.at.getTime()).toBeGreaterThanOrEqual(monthlyUntil.getTime());
        for (const e of events.filter((x) => x.kind === "version-removed")) expect(e.at.getTime()).toBeGreaterThanOrEqual(monthlyUntil.getTime());
        expect(m.allKeys()).toEqual([]);
    });
});
