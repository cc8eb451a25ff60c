// Backup artifacts and restore against real PostgreSQL clusters, with the failure paths: corrupt and
// truncated dumps, pg_restore errors and the allow-list, target = source, a target dying mid-restore.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adoptBackup } from "../../lib/backup/adopt";
import { dumpSource } from "../../lib/backup/dump";
import { findPgTool } from "../../lib/postgres/binaries";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { createScratchDatabase } from "../../lib/postgres/scratchDatabase";
import { restoreBackup } from "../../lib/restore/restore";
import { createSampleData, rowCount, tableCount } from "../helpers/sampleData";

let pg: LocalCluster;
let work: string;
let sourceUrl: string;

beforeAll(async () => {
    pg = await startLocalCluster();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-br-"));
    await withClient(pg.url(), "admin", (c) => c.query("create database source"));
    sourceUrl = pg.url("source");
    await createSampleData(sourceUrl, 2000);
});
afterAll(async () => {
    await pg?.stop();
    fs.rmSync(work, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
    return (await createScratchDatabase(pg.url(), "t")).connectionString;
}

function plainDump(file: string): void {
    execFileSync(findPgTool("pg_dump"), ["--no-owner", "-f", file, `--dbname=${sourceUrl}`]);
}

describe("dump and restore (custom format)", () => {
    it("dumps with a manifest and checksum, and restores every row", async () => {
        const out = path.join(work, "custom");
        const dump = await dumpSource({ sourceUrl, outDir: out, fingerprint: false });
        expect(dump.manifest.format).toBe("custom");
        expect(dump.manifest.files[0].bytes).toBeGreaterThan(1000);
        expect(dump.manifest.source?.endpoint).toMatch(/^127\.0\.0\.1:\d+\/source$/);
        expect(fs.readFileSync(path.join(out, `${dump.manifest.id}.sha256`), "utf8")).toContain(dump.manifest.files[0].sha256);
        expect(JSON.stringify(dump.manifest)).not.toContain(pg.password);

        const target = await scratch();
        const r = await restoreBackup({ manifestPath: dump.manifestPath, targetUrl: target, logPath: path.join(out, "restore.log"), jobs: 2 });
        expect(r.errors).toEqual([]);
        expect(await rowCount(target, "public.customers")).toBe(2000);
        expect(await rowCount(target, "public.orders")).toBe(4000);
        expect(fs.readFileSync(r.logPath, "utf8")).not.toContain(pg.password);
    });

    it("refuses a corrupt dump before touching the target", async () => {
        const out = path.join(work, "corrupt");
        const dump = await dumpSource({ sourceUrl, outDir: out, fingerprint: false });
        const fd = fs.openSync(dump.dumpPath, "r+");
        fs.writeSync(fd, Buffer.from([0xff]), 0, 1, 200);
        fs.closeSync(fd);
        const target = await scratch();
        await expect(
            restoreBackup({ manifestPath: dump.manifestPath, targetUrl: target, logPath: path.join(out, "restore.log") }),
        ).rejects.toThrow(/failed its checksum check.*target was not touched/);
        expect(await tableCount(target)).toBe(0);
        expect(fs.existsSync(path.join(out, "restore.log"))).toBe(false);
    });

    it("fails on a truncated dump that has no published checksum", async () => {
        const out = path.join(work, "truncated");
        const dump = await dumpSource({ sourceUrl, outDir: out, fingerprint: false });
        const cut = path.join(work, "truncated.dump");
        fs.writeFileSync(cut, fs.readFileSync(dump.dumpPath).subarray(0, Math.floor(dump.manifest.files[0].bytes * 0.6)));
        const adopted = await adoptBackup({ backupPath: cut, outDir: path.join(work, "truncated-adopt") });
        await expect(
            restoreBackup({ manifestPath: adopted.manifestPath, targetUrl: await scratch(), logPath: path.join(work, "trunc.log") }),
        ).rejects.toThrow(/restore of .* failed/);
    });

    it("fails on pg_restore errors unless they are allow-listed", async () => {
        const out = path.join(work, "errors");
        const dump = await dumpSource({ sourceUrl, outDir: out, fingerprint: false });
        const target = await scratch();
        await withClient(target, "target", (c) => c.query("create table public.customers (id int)"));
        await expect(
            restoreBackup({ manifestPath: dump.manifestPath, targetUrl: target, logPath: path.join(out, "r1.log") }),
        ).rejects.toThrow(/relation "customers" already exists/);

        const target2 = await scratch();
        await withClient(target2, "target", (c) => c.query("create table public.unrelated (id int); create schema extra"));
        const ok = await restoreBackup({ manifestPath: dump.manifestPath, targetUrl: target2, logPath: path.join(out, "r2.log") });
        expect(ok.errors).toEqual([]);
    });

    it("refuses to restore into the source, also through an alias hostname", async () => {
        const out = path.join(work, "self");
        const dump = await dumpSource({ sourceUrl, outDir: out, fingerprint: false });
        await expect(
            restoreBackup({ manifestPath: dump.manifestPath, targetUrl: sourceUrl, logPath: path.join(out, "r.log") }),
        ).rejects.toThrow(/refusing to restore into .*source database/);
        const alias = sourceUrl.replace("127.0.0.1", "localhost");
        await expect(
            restoreBackup({ manifestPath: dump.manifestPath, targetUrl: alias, logPath: path.join(out, "r.log") }),
        ).rejects.toThrow(/refusing to restore into/);
        expect(await rowCount(sourceUrl, "public.customers")).toBe(2000);
    });
});

describe("adopted backups in other formats", () => {
    it("restores plain SQL, gzip'd SQL and the supabase db dump trio", async () => {
        const sql = path.join(work, "dump.sql");
        plainDump(sql);
        const gz = path.join(work, "dump.sql.gz");
        fs.writeFileSync(gz, gzipSync(fs.readFileSync(sql)));
        const trio = path.join(work, "trio");
        fs.mkdirSync(trio);
        execFileSync(findPgTool("pg_dump"), ["--no-owner", "--schema-only", "-f", path.join(trio, "schema.sql"), `--dbname=${sourceUrl}`]);
        execFileSync(findPgTool("pg_dump"), ["--no-owner", "--data-only", "-f", path.join(trio, "data.sql"), `--dbname=${sourceUrl}`]);
        fs.writeFileSync(path.join(trio, "roles.sql"), 'ALTER ROLE "postgres" SET statement_timeout = 1;\n');

        for (const [name, backupPath] of [["plain", sql], ["plain-gzip", gz], ["supabase-trio", trio]] as const) {
            const adopted = await adoptBackup({ backupPath, outDir: path.join(work, `adopt-${name}`) });
            expect(adopted.manifest.format).toBe(name);
            const target = await scratch();
            // The scratch database lives on the source's server: roles.sql must not be applied there.
            const r = await restoreBackup({ manifestPath: adopted.manifestPath, targetUrl: target, protectedSources: [sourceUrl], logPath: path.join(work, `${name}.log`) });
            expect(await rowCount(target, "public.orders"), name).toBe(4000);
            if (name === "supabase-trio") expect(r.notes.join("\n")).toMatch(/is the source's server: its roles exist already and are never rewritten/);
        }
        const settings = await withClient(pg.url(), "admin", async (c) => (await c.query("select rolconfig from pg_roles where rolname = 'postgres'")).rows[0].rolconfig);
        expect(settings).toBeNull();
    });

    it("refuses a trio's roles.sql on a server it cannot tell apart from the source's", async () => {
        const trio = path.join(work, "trio-unknown");
        fs.mkdirSync(trio);
        execFileSync(findPgTool("pg_dump"), ["--no-owner", "--schema-only", "-f", path.join(trio, "schema.sql"), `--dbname=${sourceUrl}`]);
        execFileSync(findPgTool("pg_dump"), ["--no-owner", "--data-only", "-f", path.join(trio, "data.sql"), `--dbname=${sourceUrl}`]);
        fs.writeFileSync(path.join(trio, "roles.sql"), 'ALTER ROLE "postgres" SET statement_timeout = 1;\n');
        const adopted = await adoptBackup({ backupPath: trio, outDir: path.join(work, "adopt-unknown") });
        const target = await scratch();
        await expect(
            restoreBackup({ manifestPath: adopted.manifestPath, targetUrl: target, logPath: path.join(work, "unknown.log") }),
        ).rejects.toThrow(/refusing to apply roles\.sql: roles are cluster-wide and the source server's identity is unknown/);
        expect(await tableCount(target)).toBe(0);
    });

    it("rejects an adopted backup whose published .sha256 does not match", async () => {
        const dir = path.join(work, "published");
        fs.mkdirSync(dir);
        const sql = path.join(dir, "dump.sql");
        plainDump(sql);
        fs.writeFileSync(path.join(dir, "dump.sha256"), `${"0".repeat(64)}  dump.sql\n`);
        await expect(adoptBackup({ backupPath: sql, outDir: path.join(work, "published-out") })).rejects.toThrow(/checksum mismatch for dump.sql/);
    });

    it("a SQL error fails the whole single-transaction restore and leaves nothing half-loaded", async () => {
        const sql = path.join(work, "broken.sql");
        fs.writeFileSync(sql, "create table public.a (x int);\ninsert into public.a values (1);\nselect * from nowhere;\n");
        const adopted = await adoptBackup({ backupPath: sql, outDir: path.join(work, "broken-out") });
        const target = await scratch();
        await expect(
            restoreBackup({ manifestPath: adopted.manifestPath, targetUrl: target, logPath: path.join(work, "broken.log") }),
        ).rejects.toThrow(/relation "nowhere" does not exist/);
        expect(await tableCount(target)).toBe(0);
        // An allow-list cannot apply to SQL: after a failed COPY psql would run its data lines as commands.
        await expect(
            restoreBackup({
                manifestPath: adopted.manifestPath,
                targetUrl: target,
                logPath: path.join(work, "broken2.log"),
                allowErrors: ['relation "nowhere" does not exist'],
            }),
        ).rejects.toThrow(/relation "nowhere" does not exist/);
        expect(await tableCount(target)).toBe(0);
        expect(fs.readFileSync(path.join(work, "broken2.log"), "utf8")).toMatch(/allowErrors applies to custom-format backups only/);
    });
});

describe("faults", () => {
    it("names host and port, never the password, when the source is unreachable", async () => {
        const url = `postgresql://postgres:${pg.password}@127.0.0.1:1/source`;
        const err = await dumpSource({ sourceUrl: url, outDir: path.join(work, "unreach"), fingerprint: false }).catch((e: Error) => e);
        expect((err as Error).message).toMatch(/cannot connect to source database at 127\.0\.0\.1:1\/source/);
        expect((err as Error).message).not.toContain(pg.password);
    });

    it("fails when the target server dies mid-restore", async () => {
        const big = path.join(work, "bigsrc");
        await withClient(pg.url(), "admin", (c) => c.query("create database bigsource"));
        await createSampleData(pg.url("bigsource"), 300_000);
        const dump = await dumpSource({ sourceUrl: pg.url("bigsource"), outDir: big, fingerprint: false });
        const victim = await startLocalCluster();
        try {
            const restoring = restoreBackup({
                manifestPath: dump.manifestPath,
                targetUrl: victim.url(),
                logPath: path.join(big, "restore.log"),
                jobs: 1,
                onProgress: (m) => {
                    if (m.startsWith("restore:")) void victim.stop();
                },
            });
            await expect(restoring).rejects.toThrow(/restore of .* failed/);
        } finally {
            await victim.stop();
        }
    });
});

describe("positive target guard", () => {
    it("with requireScratchMarker, refuses a database that is not a supabase-dr scratch database", async () => {
        const out = path.join(work, "marker");
        const dump = await dumpSource({ sourceUrl, outDir: out, fingerprint: false });
        await withClient(pg.url(), "admin", (c) => c.query("create database someone_elses"));
        await expect(
            restoreBackup({ manifestPath: dump.manifestPath, targetUrl: pg.url("someone_elses"), logPath: path.join(out, "r.log"), requireScratchMarker: true }),
        ).rejects.toThrow(/not a supabase-dr scratch database/);
        expect(await tableCount(pg.url("someone_elses"))).toBe(0);
        const ok = await restoreBackup({ manifestPath: dump.manifestPath, targetUrl: await scratch(), logPath: path.join(out, "r2.log"), requireScratchMarker: true });
        expect(ok.errors).toEqual([]);
    });

    it("refuses a --create style SQL dump that would \\connect elsewhere", async () => {
        const sql = path.join(work, "create.sql");
        execFileSync(findPgTool("pg_dump"), ["--create", "--no-owner", "-f", sql, `--dbname=${sourceUrl}`]);
        const adopted = await adoptBackup({ backupPath: sql, outDir: path.join(work, "create-out") });
        const target = await scratch();
        await expect(
            restoreBackup({ manifestPath: adopted.manifestPath, targetUrl: target, logPath: path.join(work, "create.log") }),
        ).rejects.toThrow(/refusing to run this SQL backup/);
        expect(await tableCount(target)).toBe(0);
    });
});
