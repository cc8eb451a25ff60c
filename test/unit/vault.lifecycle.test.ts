// The vault's lifecycle rules are data shared by the BackupVault component and the rehearsal's model
// of what S3 keeps; this pins the rules and the model's reading of S3's lifecycle semantics.
import { describe, expect, it } from "vitest";
import { resolveVaultSettings, vaultLifecycleRules as componentRules } from "../../components/BackupVault";
import { LifecycleModel, lifecycleDue, vaultLifecycleRules } from "../../lib/vault/lifecycle";

const prod = resolveVaultSettings({ environment: "prod", objectLockMode: "COMPLIANCE" });
const rules = vaultLifecycleRules(prod);
const at = (iso: string) => new Date(iso);

describe("lifecycle rules as data", () => {
    it("are exactly what the component declares", () => {
        expect(componentRules(prod)).toEqual(rules);
        expect(rules.map((r) => [r.id, r.filter.prefix ?? "", r.expiration?.days])).toEqual([
            ["daily-db", "db/prod/", 7],
            ["daily-storage", "storage/prod/", 7],
            ["monthly-db", "monthly/db/prod/", 12 * 31],
            ["monthly-storage", "monthly/storage/prod/", 12 * 31],
            ["versions-and-uploads", "", undefined],
        ]);
        expect(rules.at(-1)).toMatchObject({ noncurrentVersionExpiration: { noncurrentDays: 8 }, expiration: { expiredObjectDeleteMarker: true } });
    });
});

describe("the lifecycle model", () => {
    it("counts days from the next midnight UTC", () => {
        expect(lifecycleDue(at("2026-03-01T01:00:00Z"), 7).toISOString()).toBe("2026-03-09T00:00:00.000Z");
        expect(lifecycleDue(at("2026-03-01T00:00:00Z"), 7).toISOString()).toBe("2026-03-08T00:00:00.000Z");
    });

    it("hides a daily object behind a delete marker after N days, removes the data N + noncurrent days later, then the marker", () => {
        const m = new LifecycleModel(rules);
        m.put("storage/prod/a/2026/03/01/objects/x", at("2026-03-01T01:00:00Z"), at("2026-03-08T01:00:00Z"));
        expect(m.advanceTo(at("2026-03-08T23:59:59Z"))).toEqual([]);
        expect(m.current("storage/prod/a/2026/03/01/objects/x")).toBeDefined();
        const hidden = m.advanceTo(at("2026-03-09T00:00:00Z"));
        expect(hidden.map((e) => [e.kind, e.rule, e.at.toISOString()])).toEqual([["delete-marker", "daily-storage", "2026-03-09T00:00:00.000Z"]]);
        expect(m.current("storage/prod/a/2026/03/01/objects/x")).toBeUndefined();
        expect(m.versions("storage/prod/a/2026/03/01/objects/x").map((v) => v.deleteMarker)).toEqual([false, true]);
        const gone = m.advanceTo(at("2026-04-01T00:00:00Z"));
        expect(gone.map((e) => [e.kind, e.at.toISOString()])).toEqual([
            ["version-removed", "2026-03-17T00:00:00.000Z"],
            ["marker-removed", "2026-03-17T00:00:00.000Z"],
        ]);
        expect(m.allKeys()).toEqual([]);
    });

    it("never removes a version while its lock holds, and keeps monthly archives a year", () => {
        const m = new LifecycleModel(rules);
        m.put("db/prod/2026/03/01/b.dump", at("2026-03-01T01:00:00Z"), at("2026-05-01T00:00:00Z"));
        m.put("monthly/db/prod/2026/03/b.dump", at("2026-03-01T01:00:00Z"), at("2027-03-01T00:00:00Z"));
        const events = m.advanceTo(at("2026-06-01T00:00:00Z"));
        expect(events.map((e) => [e.key, e.kind, e.at.toISOString()])).toEqual([
            ["db/prod/2026/03/01/b.dump", "delete-marker", "2026-03-09T00:00:00.000Z"],
            ["db/prod/2026/03/01/b.dump", "version-removed", "2026-05-01T00:00:00.000Z"],
            ["db/prod/2026/03/01/b.dump", "marker-removed", "2026-05-01T00:00:00.000Z"],
        ]);
        expect(m.current("monthly/db/prod/2026/03/b.dump")).toBeDefined();
        m.advanceTo(at("2027-03-10T00:00:00Z"));
        expect(m.current("monthly/db/prod/2026/03/b.dump")).toBeUndefined();
    });

    it("makes an overwritten version noncurrent at the overwrite", () => {
        const m = new LifecycleModel(rules);
        m.put("other/k", at("2026-03-01T00:00:00Z"));
        m.put("other/k", at("2026-03-02T00:00:00Z"));
        expect(m.advanceTo(at("2026-03-10T00:00:00Z")).map((e) => [e.kind, e.at.toISOString()])).toEqual([["version-removed", "2026-03-10T00:00:00.000Z"]]);
        expect(m.versions("other/k")).toHaveLength(1);
    });

    it("shows why a snapshot must not reference an earlier day's copy: the reference outlives the copy", () => {
        const m = new LifecycleModel(rules);
        // Day 1 copies the object; days 2..10 write only manifests that point at day 1's copy.
        m.put("storage/prod/a/2026/03/01/objects/x", at("2026-03-01T01:00:00Z"), at("2026-03-08T01:00:00Z"));
        for (let d = 1; d <= 10; d++) m.put(`storage/prod/a/2026/03/${String(d).padStart(2, "0")}/manifest.json`, at(`2026-03-${String(d).padStart(2, "0")}T01:00:00Z`));
        m.advanceTo(at("2026-03-10T02:00:00Z"));
        expect(m.current("storage/prod/a/2026/03/10/manifest.json")).toBeDefined();
        expect(m.current("storage/prod/a/2026/03/01/objects/x")).toBeUndefined();
    });
});
