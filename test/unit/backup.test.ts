import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { formatSha256File, parseSha256File, sha256File, verifyChecksums } from "../../lib/backup/checksum";
import { checkDumpVersion } from "../../lib/backup/dump";
import { detectFormat } from "../../lib/backup/formats";
import { assertNotSource, sameDatabase } from "../../lib/postgres/sourceGuard";

function tmp(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "sdr-unit-"));
}

describe("backup formats", () => {
    it("detects custom, SQL, SQL.gz, custom.gz and the supabase trio by content", async () => {
        const d = tmp();
        fs.writeFileSync(path.join(d, "a.bin"), Buffer.concat([Buffer.from("PGDMP"), Buffer.alloc(10, 1)]));
        fs.writeFileSync(path.join(d, "b.txt"), "create table t(x int);\n");
        fs.writeFileSync(path.join(d, "c.gz"), gzipSync("insert into t values (1);\n"));
        fs.writeFileSync(path.join(d, "d.gz"), gzipSync(Buffer.concat([Buffer.from("PGDMP"), Buffer.alloc(100, 0)])));
        fs.mkdirSync(path.join(d, "trio"));
        for (const f of ["roles.sql", "schema.sql", "data.sql"]) fs.writeFileSync(path.join(d, "trio", f), "-- x\n");
        expect(await detectFormat(path.join(d, "a.bin"))).toBe("custom");
        expect(await detectFormat(path.join(d, "b.txt"))).toBe("plain");
        expect(await detectFormat(path.join(d, "c.gz"))).toBe("plain-gzip");
        expect(await detectFormat(path.join(d, "d.gz"))).toBe("custom-gzip");
        expect(await detectFormat(path.join(d, "trio"))).toBe("supabase-trio");
    });

    it("rejects binaries, empty files, broken gzip and incomplete trios with a reason", async () => {
        const d = tmp();
        fs.writeFileSync(path.join(d, "bin"), Buffer.from([0, 1, 2, 3]));
        fs.writeFileSync(path.join(d, "empty"), "");
        fs.writeFileSync(path.join(d, "bad.gz"), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
        fs.mkdirSync(path.join(d, "trio"));
        fs.writeFileSync(path.join(d, "trio", "roles.sql"), "");
        await expect(detectFormat(path.join(d, "bin"))).rejects.toThrow(/not a recognized backup/);
        await expect(detectFormat(path.join(d, "empty"))).rejects.toThrow(/is empty/);
        await expect(detectFormat(path.join(d, "bad.gz"))).rejects.toThrow(/not a readable gzip/);
        await expect(detectFormat(path.join(d, "trio"))).rejects.toThrow(/missing schema.sql, data.sql/);
        await expect(detectFormat(path.join(d, "nope"))).rejects.toThrow(/not found/);
    });
});

describe("checksums", () => {
    it("writes sha256sum-compatible files and finds a flipped byte", async () => {
        const d = tmp();
        const f = path.join(d, "x.dump");
        fs.writeFileSync(f, "hello world");
        const sum = await sha256File(f);
        expect(sum).toBe("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        const text = formatSha256File([{ name: "x.dump", sha256: sum }]);
        expect(parseSha256File(text)).toEqual([{ name: "x.dump", sha256: sum }]);
        expect(await verifyChecksums(d, parseSha256File(text))).toEqual([]);
        fs.writeFileSync(f, "hello worle");
        const bad = await verifyChecksums(d, parseSha256File(text));
        expect(bad).toHaveLength(1);
        expect(bad[0].actual).not.toBe(sum);
        expect(() => parseSha256File("nonsense line")).toThrow(/line 1/);
    });
});

describe("pg_dump version check", () => {
    it("refuses a pg_dump older than the server", () => {
        expect(() => checkDumpVersion(15, 160004)).toThrow(/pg_dump 15 cannot dump a PostgreSQL 16 server/);
        expect(() => checkDumpVersion(16, 150008)).not.toThrow();
        expect(() => checkDumpVersion(15, 150018)).not.toThrow();
    });
});

describe("source guard", () => {
    const src = { host: "db.example.com", port: 5432, database: "prod", systemIdentifier: "7301" };
    it("refuses the same endpoint, loopback aliases and the same server identity", () => {
        expect(sameDatabase(src, { ...src })).toBe(true);
        expect(sameDatabase({ host: "localhost", port: 1, database: "a" }, { host: "127.0.0.1", port: 1, database: "a" })).toBe(true);
        expect(sameDatabase({ host: "pooler.example.com", port: 6543, database: "prod", systemIdentifier: "7301" }, src)).toBe(true);
        expect(() => assertNotSource({ ...src, host: "alias" }, [src])).toThrow(/same server \(system identifier\)/);
    });
    it("allows another database on the same cluster (a scratch database)", () => {
        expect(sameDatabase({ ...src, database: "drill_x" }, src)).toBe(false);
        expect(() => assertNotSource({ ...src, database: "drill_x" }, [src])).not.toThrow();
    });
});
