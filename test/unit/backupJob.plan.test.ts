import { describe, expect, it } from "vitest";
import { dailyRetainUntil, monthlyRetainUntil, planUploads, type LocalFile } from "../../lib/backupJob/plan";

const file = (name: string): LocalFile => ({ path: `/tmp/${name}`, name, bytes: 1, sha256: "0".repeat(64), contentType: "x" });
const files = [file("backup_1.manifest.json"), file("backup_1.dump"), file("backup_1.sha256")];

describe("backup upload plan", () => {
    it("puts daily files under db/{env}/YYYY/MM/DD/ in UTC, manifest last", () => {
        // 23:30 in Manila on the 1st is 15:30 UTC the same day; 23:30 UTC on the 31st stays on the 31st.
        const now = new Date("2026-12-31T23:30:00Z");
        const plan = planUploads({ env: "prod", now, files, retentionDays: 7, monthlyArchiveMonths: 12, firstOfMonth: false });
        expect(plan.map((p) => p.key)).toEqual(["db/prod/2026/12/31/backup_1.dump", "db/prod/2026/12/31/backup_1.sha256", "db/prod/2026/12/31/backup_1.manifest.json"]);
        expect(plan.every((p) => p.tier === "daily" && p.retainUntil.toISOString() === "2027-01-07T23:30:00.000Z")).toBe(true);
    });

    it("adds monthly copies on the month's first backup, locked for months × 31 days", () => {
        const now = new Date("2026-02-01T01:00:00Z");
        const plan = planUploads({ env: "prod", now, files, retentionDays: 7, monthlyArchiveMonths: 12, firstOfMonth: true });
        const monthly = plan.filter((p) => p.tier === "monthly");
        expect(monthly.map((p) => p.key)).toEqual(["monthly/db/prod/2026/02/backup_1.dump", "monthly/db/prod/2026/02/backup_1.sha256", "monthly/db/prod/2026/02/backup_1.manifest.json"]);
        expect(monthly[0].retainUntil.getTime() - now.getTime()).toBe(12 * 31 * 86_400_000);
        expect(plan.slice(0, 3).every((p) => p.tier === "daily")).toBe(true);
    });

    it("refuses names and environments that would escape the layout", () => {
        expect(() => planUploads({ env: "Prod*", now: new Date(), files, retentionDays: 7, monthlyArchiveMonths: 12, firstOfMonth: false })).toThrow(/environment/);
        expect(() => planUploads({ env: "prod", now: new Date(), files: [file("../x")], retentionDays: 7, monthlyArchiveMonths: 12, firstOfMonth: false })).toThrow(/file name/);
    });

    it("computes retention dates from the injected clock", () => {
        const now = new Date("2026-03-01T00:00:00Z");
        expect(dailyRetainUntil(now, 1).toISOString()).toBe("2026-03-02T00:00:00.000Z");
        expect(monthlyRetainUntil(now, 1).toISOString()).toBe("2026-04-01T00:00:00.000Z");
    });
});
