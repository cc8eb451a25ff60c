// recover rows --backup vault[:<key>] (runbook 001 path A from the vault): backups written by the real
// nightly job (lib/backupJob) into a directory vault (BACKUP_BUCKET=file:///…) and into the S3 test
// server (Versity Gateway with Object Lock), then read back by the recover command, which verifies
// every file against its manifest before use and names the vault keys and sha256s in the audit.
//
// Two daily backups: 2026-03-01 holds task 3, 2026-03-02 was taken after it was deleted. `vault`
// (the newest) therefore cannot bring it back; `vault:<id of 03-01>` can.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackup } from "../../lib/backupJob/run";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { recoverRows, type RecoverRowsOptions } from "../../lib/recover/rows";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { S3Store } from "../../lib/vault/s3Store";
import { startS3Server, type S3Server } from "../helpers/s3Server";
import { createSupabaseFixture } from "../helpers/supabaseFixture";

const ROOT = path.resolve(__dirname, "../..");
const ENV = "test";
const DAY1 = new Date("2026-03-01T02:00:00Z");
const DAY2 = new Date("2026-03-02T02:00:00Z");
const ID1 = "backup_20260301020000";
let cluster: LocalCluster;
/** The temporary copies' server (RECOVER_TEMP_ADMIN_URL): one cluster for all, not one per call. */
let temp: LocalCluster;
let s3: S3Server;
let liveUrl: string;
let work: string;
let vaultDir: string;
let store: DirBlobStore;

async function sql(text: string): Promise<Record<string, unknown>[]> {
    return withClient(liveUrl, "live", async (c) => (await c.query(text)).rows);
}

function options(extra: Partial<RecoverRowsOptions>): RecoverRowsOptions {
    return {
        vault: { store, env: ENV },
        table: { schema: "public", name: "tasks" },
        key: ["id"],
        selection: { kind: "where", predicate: "id = 3" },
        liveUrl,
        apply: false,
        artifactsDir: path.join(work, "artifacts"),
        tempAdminUrl: temp.url(),
        ...extra,
    };
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-rows-vault-"));
    [cluster, temp, s3] = await Promise.all([startLocalCluster(), startLocalCluster(), startS3Server()]);
    liveUrl = (await createSupabaseFixture(cluster.url(), "app", { users: 3 })).url;
    vaultDir = path.join(work, "vault");
    let clock = DAY1;
    store = new DirBlobStore(vaultDir, () => clock);
    await runBackup({ sourceUrl: liveUrl, env: ENV, store, retentionDays: 7, monthlyArchiveMonths: 12, now: () => DAY1 });
    await sql("delete from public.tasks where id = 3");
    clock = DAY2;
    await runBackup({ sourceUrl: liveUrl, env: ENV, store, retentionDays: 7, monthlyArchiveMonths: 12, now: () => DAY2 });
});

afterAll(async () => {
    await Promise.all([cluster?.stop(), temp?.stop(), s3?.stop()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("recover rows --backup vault (directory vault written by the backup job)", () => {
    it("'vault' takes the newest backup (taken after the loss: the row is not in it)", async () => {
        const r = await recoverRows(options({}));
        expect(r.vault!.manifestKey).toBe("db/test/2026/03/02/backup_20260302020000.manifest.json");
        expect(r.diff.changes).toEqual([]);
        expect(r.diff.identical).toBe(0);
    });

    it("'vault:<id>' takes that backup, verified, and the audit names its vault keys and sha256s", async () => {
        const r = await recoverRows(options({ vault: { store, env: ENV, key: ID1 }, apply: true }));
        expect(r.applied).toMatchObject({ inserted: 1, updated: 0 });
        expect(await sql("select count(*)::int as n from public.tasks where id = 3")).toEqual([{ n: 1 }]);
        const manifestKey = `db/test/2026/03/01/${ID1}.manifest.json`;
        const dumpKey = `db/test/2026/03/01/${ID1}.dump`;
        const audit = JSON.parse(fs.readFileSync(r.audit!, "utf8"));
        expect(audit.backup).toEqual({
            path: `${store.location}/${manifestKey}`,
            sha256: { [dumpKey]: (await store.head(dumpKey))!.sha256 },
            vault: {
                location: store.location,
                manifestKey,
                manifestSha256: (await store.head(manifestKey))!.sha256,
                files: { [dumpKey]: (await store.head(dumpKey))!.sha256 },
            },
        });
        // The key of one of its files, or of the monthly copy, names the same backup.
        const byFile = await recoverRows(options({ vault: { store, env: ENV, key: dumpKey } }));
        expect(byFile.vault!.manifestKey).toBe(manifestKey);
        expect(byFile.diff.identical).toBe(1);
        const monthly = await recoverRows(options({ vault: { store, env: ENV, key: `monthly/db/test/2026/03/${ID1}.manifest.json` } }));
        expect(monthly.vault!.manifestKey).toBe(`monthly/db/test/2026/03/${ID1}.manifest.json`);
    });

    it("a vault object that does not match its manifest is not used, and live is untouched", async () => {
        await sql("delete from public.tasks where id = 3");
        const dump = path.join(vaultDir, "data", "db/test/2026/03/02/backup_20260302020000.dump");
        const bytes = fs.readFileSync(dump);
        bytes[bytes.length - 10] ^= 0xff;
        fs.writeFileSync(dump, bytes);
        await expect(recoverRows(options({ selection: { kind: "where", predicate: "true" }, apply: true }))).rejects.toThrow(
            /vault object db\/test\/2026\/03\/02\/backup_20260302020000\.dump does not match its manifest \(sha256 [0-9a-f]{64}, \d+ bytes; got [0-9a-f]{64}, \d+ bytes\): the backup is corrupt or was modified, not used/,
        );
        expect(await sql("select count(*)::int as n from public.tasks where id = 3")).toEqual([{ n: 0 }]);
        await expect(recoverRows(options({ vault: { store, env: ENV, key: "backup_20990101000000" } }))).rejects.toThrow(/no backup backup_20990101000000 in file:\/\/.* under db\/test\/ or monthly\/db\/test\//);
    });

    it("the CLI takes the vault from BACKUP_BUCKET and BACKUP_ENV", async () => {
        const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
            const child = spawn(
                path.join(ROOT, "node_modules/.bin/tsx"),
                [path.join(ROOT, "scripts/recover.ts"), "rows", "--backup", `vault:${ID1}`, "--table", "public.tasks", "--key", "id", "--where", "id = 3"],
                { cwd: work, env: { ...process.env, LIVE_DB_URL: liveUrl, RECOVER_TEMP_ADMIN_URL: temp.url(), BACKUP_BUCKET: `file://${vaultDir}`, BACKUP_ENV: ENV } },
            );
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", reject);
            child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        });
        expect(r.stderr).not.toMatch(/recover: /);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain('+ insert (id)=("3")');
        expect(r.stderr).toMatch(new RegExp(`backup: file://${vaultDir}/db/test/2026/03/01/${ID1}\\.manifest\\.json \\(manifest sha256 [0-9a-f]{64}; every file verified\\)`));
        expect(r.stdout + r.stderr).not.toContain(cluster.password);
        expect(r.stdout + r.stderr).not.toContain(temp.password);
    });
});

describe("recover rows --backup vault (S3 vault with Object Lock)", () => {
    it("reads the backup the job wrote to S3, by the key of its dump", async () => {
        await s3.createLockedBucket("recover-vault", "COMPLIANCE", 1);
        const s3Store = new S3Store({ bucket: "recover-vault", endpoint: s3.endpoint, region: s3.region, credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey } });
        const job = await runBackup({ sourceUrl: liveUrl, env: ENV, store: s3Store, retentionDays: 1, monthlyArchiveMonths: 1 });
        await sql("update public.tasks set title = 'changed after the backup' where id = 4");
        const dumpKey = job.primary.uploaded.find((u) => u.key.endsWith(".dump") && u.key.startsWith("db/"))!.key;
        const r = await recoverRows(options({ vault: { store: s3Store, env: ENV, key: dumpKey }, selection: { kind: "where", predicate: "id = 4" } }));
        expect(r.vault).toMatchObject({ location: "s3://recover-vault", manifestKey: dumpKey.replace(/\.dump$/, ".manifest.json"), files: { [dumpKey]: job.primary.uploaded.find((u) => u.key === dumpKey)!.sha256 } });
        expect(r.diff.changes.map((c) => [c.kind, c.changed])).toEqual([["update", ["title"]]]);
    });
});
