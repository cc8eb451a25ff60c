// The vault's key layout (runbook 001 and 004): exact keys for known dates, UTC day boundaries, and
// names that would escape their prefix or widen an IAM policy are refused.
import { describe, expect, it } from "vitest";
import {
    assertEnvironment,
    dayPath,
    dbKey,
    dbPrefix,
    environmentPrefixes,
    monthlyDbKey,
    monthlyDbPrefix,
    monthlyStorageKey,
    monthlyStoragePrefix,
    monthPath,
    storageKey,
    storagePrefix,
} from "../../lib/vault/keys";

const NOV_22 = new Date("2026-11-22T01:00:00Z");

describe("backup key layout", () => {
    it("puts daily database dumps under db/{env}/YYYY/MM/DD/", () => {
        expect(dbPrefix("prod")).toBe("db/prod/");
        expect(dbKey("prod", NOV_22, "dump.sql.gz")).toBe("db/prod/2026/11/22/dump.sql.gz");
        expect(dbKey("staging", new Date("2027-01-05T00:00:00Z"), "dump.sha256")).toBe("db/staging/2027/01/05/dump.sha256");
    });

    it("puts storage snapshots under storage/{env}/{bucket}/YYYY/MM/DD/ and keeps the object's folders", () => {
        expect(storagePrefix("prod")).toBe("storage/prod/");
        expect(storagePrefix("prod", "avatars")).toBe("storage/prod/avatars/");
        expect(storageKey("prod", "avatars", NOV_22, "users/42/me.png")).toBe("storage/prod/avatars/2026/11/22/users/42/me.png");
        expect(storageKey("staging", "audio", NOV_22, "manifest.json")).toBe("storage/staging/audio/2026/11/22/manifest.json");
    });

    it("puts monthly archives under monthly/db/{env}/YYYY/MM/ and monthly/storage/{env}/{bucket}/YYYY/MM/", () => {
        expect(monthlyDbPrefix("prod")).toBe("monthly/db/prod/");
        expect(monthlyStoragePrefix("prod")).toBe("monthly/storage/prod/");
        expect(monthlyStoragePrefix("prod", "avatars")).toBe("monthly/storage/prod/avatars/");
        expect(monthlyDbKey("prod", NOV_22, "dump.custom")).toBe("monthly/db/prod/2026/11/dump.custom");
        expect(monthlyStorageKey("prod", "avatars", NOV_22, "a/b.png")).toBe("monthly/storage/prod/avatars/2026/11/a/b.png");
    });

    it("uses UTC dates, whatever the local time zone says", () => {
        // 23:30 on Dec 31 in UTC-5 is already Jan 1 in UTC.
        const newYear = new Date("2026-12-31T23:30:00-05:00");
        expect(dayPath(newYear)).toBe("2027/01/01");
        expect(monthPath(newYear)).toBe("2027/01");
        // 00:30 on Mar 1 in UTC+8 is still Feb 28 in UTC.
        expect(dayPath(new Date("2027-03-01T00:30:00+08:00"))).toBe("2027/02/28");
        expect(dbKey("prod", new Date(Date.UTC(2026, 0, 9, 23, 59, 59)), "d")).toBe("db/prod/2026/01/09/d");
    });

    it("lists every prefix an environment writes to", () => {
        expect(environmentPrefixes("staging")).toEqual([
            "db/staging/", "storage/staging/", "monthly/db/staging/", "monthly/storage/staging/",
        ]);
    });
});

describe("backup key validation", () => {
    it.each(["", "prod/eu", "Prod", "pr*d", "st?ging", "../prod", "-prod", "prod ", "a".repeat(64)])(
        "refuses environment %j",
        (env) => {
            expect(() => assertEnvironment(env)).toThrow(/environment must be/);
            expect(() => dbPrefix(env)).toThrow(/environment must be/);
            expect(() => storageKey(env, "avatars", NOV_22, "x")).toThrow(/environment must be/);
        },
    );

    it("accepts usual environment names", () => {
        for (const env of ["prod", "staging", "drill-2026", "eu_west", "a".repeat(63)]) {
            expect(() => assertEnvironment(env)).not.toThrow();
        }
    });

    it.each(["", "a/b", ".", "..", "tab\there"])("refuses storage bucket %j", (bucket) => {
        expect(() => storagePrefix("prod", bucket)).toThrow(/storage bucket name must be/);
        expect(() => storageKey("prod", bucket, NOV_22, "x")).toThrow(/storage bucket name/);
        expect(() => monthlyStorageKey("prod", bucket, NOV_22, "x")).toThrow(/storage bucket name/);
    });

    it.each(["", "/etc/passwd", "a/../../b", "./x", "a/./b", "new\nline"])("refuses storage object key %j", (key) => {
        expect(() => storageKey("prod", "avatars", NOV_22, key)).toThrow(/storage object key must be/);
        expect(() => monthlyStorageKey("prod", "avatars", NOV_22, key)).toThrow(/storage object key must be/);
    });

    it.each(["", "a/b.sql", "..", "x\u0000y"])("refuses database file name %j", (file) => {
        expect(() => dbKey("prod", NOV_22, file)).toThrow(/database backup file name must be/);
        expect(() => monthlyDbKey("prod", NOV_22, file)).toThrow(/database backup file name must be/);
    });

    it("refuses invalid dates instead of writing NaN/NaN/NaN", () => {
        expect(() => dbKey("prod", new Date("not a date"), "dump")).toThrow(/valid Date/);
        expect(() => monthPath(new Date(Number.NaN))).toThrow(/valid Date/);
    });
});
