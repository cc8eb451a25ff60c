// The monthly storage archive through the commands the workflows run: `npm run backup` writes it on
// the same nights as the database's monthly archive, and `npm run storage-restore-rehearsal --
// --monthly YYYY-MM|current` restores it into a temporary bucket, verifies every object and removes
// the bucket; a month without an archive, or an archive that is not self-contained, fails the bucket.
// Both scripts run as child processes with environment variables only, on a local directory vault and
// the Azure archive (Azurite), which the monthly workflow rehearses from.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { monthlyManifestKey, objectVaultKey, parseManifest } from "../../lib/storage/manifest";
import { readText } from "../../lib/storage/snapshot";
import { AzureBlobStore } from "../../lib/vault/azureStore";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { startAzurite, type Azurite } from "../helpers/azurite";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { createSampleData } from "../helpers/sampleData";

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, "../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const APR30 = new Date("2026-04-30T01:00:00Z");
const MAY1 = new Date("2026-05-01T01:00:00Z");
const MAY2 = new Date("2026-05-02T01:00:00Z");
const REHEARSAL = new Date("2026-05-02T03:00:00Z");

let pg: LocalCluster;
let api: FakeStorageApi;
let azurite: Azurite;
let work: string;
let env: Record<string, string>;
let may1Live: Map<string, Buffer>;

beforeAll(async () => {
    [pg, api, azurite] = await Promise.all([startLocalCluster(), startFakeStorageApi(), startAzurite()]);
    await createSampleData(pg.url(), 50);
    await new AzureBlobStore({ connectionString: azurite.connectionString, container: "archive" }).ensureContainer();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-monthly-cli-"));
    api.createBucket("avatars", true);
    api.createBucket("invoices");
    api.putObject("avatars", "u1/face.png", Buffer.from([137, 80, 78, 71, 9, 9]), "image/png");
    api.putObject("invoices", "2026/inv-1.pdf", "%PDF one", "application/pdf");
    env = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        BACKUP_ENV: "prod",
        BACKUP_BUCKET: `file://${path.join(work, "vault")}`,
        SOURCE_DB_URL: pg.url(),
        STORAGE_URL: api.url,
        SUPABASE_SERVICE_ROLE_KEY: api.serviceKey,
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
        AZURE_CONTAINER: "archive",
    };
}, 180_000);

afterAll(async () => {
    await Promise.all([pg?.stop(), api?.close(), azurite?.stop()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function run(script: string, args: string[], extra: Record<string, string> = {}) {
    return execFileAsync(TSX, [path.join(ROOT, "scripts", script), ...args], { env: { ...env, ...extra }, cwd: ROOT })
        .then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);
}

type MonthlyJson = { manifestKey: string; copied: number; retainUntil: string };
interface BackupJson {
    database: { primary: { monthlyArchive: boolean }; mirror: { monthlyArchive: boolean } };
    storage: { buckets: { bucket: string; monthly?: MonthlyJson }[]; mirror: { buckets: { bucket: string; monthly?: MonthlyJson }[]; error?: string } };
    failures: string[];
}

describe("npm run backup writes the monthly storage archive with the database's", () => {
    it("on the first night ever and on the 1st, not on the 2nd", async () => {
        const nights: [Date, boolean][] = [[APR30, true], [MAY1, true], [MAY2, false]];
        for (const [now, archive] of nights) {
            if (now === MAY2) api.putObject("invoices", "2026/inv-1.pdf", "%PDF one, corrected on the 2nd", "application/pdf");
            const r = await run("backup.ts", ["--json"], { NOW: now.toISOString() });
            expect(r.stderr).not.toMatch(/FAILED/);
            expect(r.code, r.stderr).toBe(0);
            const out = JSON.parse(r.stdout) as BackupJson;
            expect(out.failures).toEqual([]);
            expect(out.database.primary.monthlyArchive, now.toISOString()).toBe(archive);
            expect(out.database.mirror.monthlyArchive, now.toISOString()).toBe(archive);
            const expected = ["avatars", "invoices"].map((b) => [b, archive ? monthlyManifestKey("prod", b, now) : undefined]);
            expect(out.storage.buckets.map((b) => [b.bucket, b.monthly?.manifestKey])).toEqual(expected);
            expect(out.storage.mirror.error).toBeUndefined();
            expect(out.storage.mirror.buckets.map((b) => [b.bucket, b.monthly?.manifestKey])).toEqual(expected);
            for (const b of out.storage.buckets.filter((x) => x.monthly)) {
                // 12 months of 31 days from the night (lib/backupJob/plan.ts monthlyRetainUntil).
                expect(b.monthly!.retainUntil).toBe(new Date(now.getTime() + 372 * 86_400_000).toISOString());
            }
            for (const o of [r.stdout, r.stderr]) {
                expect(o).not.toContain(pg.password);
                expect(o).not.toContain(api.serviceKey);
            }
            if (now === MAY1) may1Live = new Map([...api.buckets.get("invoices")!.objects].map(([k, o]) => [k, Buffer.from(o.data)]));
        }
        const human = await run("backup.ts", [], { NOW: new Date("2026-06-01T01:00:00Z").toISOString() });
        expect(human.code, human.stderr).toBe(0);
        expect(human.stdout).toContain("invoices: monthly archive → monthly/storage/prod/invoices/2026/06/manifest.json (locked until 2027-06-08T01:00:00.000Z)");
    });
});

describe("npm run storage-restore-rehearsal -- --monthly", () => {
    it("restores every bucket's archive of the month from the Azure archive, as it was that night, and removes the temporary buckets", async () => {
        const dir = path.join(work, "rehearsal-monthly");
        const r = await run("storage-restore-rehearsal.ts", ["--env", "prod", "--from", "archive", "--monthly", "2026-05"], { BACKUP_DIR: dir, NOW: REHEARSAL.toISOString() });
        expect(r.stderr).not.toMatch(/FAIL/);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toMatch(/Storage restore rehearsal \(prod\): PASS/);
        expect(r.stdout).toContain("Each bucket's monthly archive of 2026-05 restored");
        expect(r.stdout).toMatch(/\| invoices \| PASS \| 2026-05-01T01:00:00.000Z \| 1 \|/);
        expect(r.stdout).toContain("- invoices: monthly/storage/prod/invoices/2026/05/manifest.json");
        expect([...api.buckets.keys()].sort()).toEqual(["avatars", "invoices"]);
        // What went up is May 1st's invoice, not the one corrected on the 2nd.
        const vault = new DirBlobStore(path.join(work, "vault"));
        const m = parseManifest(await readText(vault, monthlyManifestKey("prod", "invoices", MAY1)));
        expect(m.objects.map((e) => [e.key, e.sha256])).toEqual([...may1Live].map(([k, d]) => [k, sha(d)]));
        expect(m.objects[0].sha256).not.toBe(sha(api.buckets.get("invoices")!.objects.get("2026/inv-1.pdf")!.data));
        const archive = new AzureBlobStore({ connectionString: azurite.connectionString, container: "archive" });
        expect(await readText(archive, monthlyManifestKey("prod", "invoices", MAY1))).toBe(await readText(vault, monthlyManifestKey("prod", "invoices", MAY1)));
        expect(r.stdout).toContain("from azure://");
        const report = JSON.parse(fs.readFileSync(path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith(".json"))!), "utf8")) as { monthly: string; results: { status: string }[] };
        expect(report.monthly).toBe("2026-05");
        expect(report.results.map((x) => x.status)).toEqual(["PASS", "PASS"]);
        expect(fs.readdirSync(dir).every((f) => f.startsWith("storage-restore_prod_monthly-2026-05_"))).toBe(true);

        // The vault holds the same archive; "current" is the month of NOW.
        const current = await run("storage-restore-rehearsal.ts", ["--env", "prod", "--from", "vault", "--monthly", "current"], { BACKUP_DIR: dir, NOW: REHEARSAL.toISOString() });
        expect(current.code, current.stdout + current.stderr).toBe(0);
        expect(current.stdout).toContain("monthly archive of 2026-05");
    });

    it("fails a month without an archive, naming the key", async () => {
        const r = await run("storage-restore-rehearsal.ts", ["--env", "prod", "--from", "vault", "--monthly", "2026-03"], { BACKUP_DIR: path.join(work, "r-missing"), NOW: REHEARSAL.toISOString() });
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/\| avatars \| FAIL \|/);
        expect(r.stdout).toContain(`no monthly archive of invoices for 2026-03 in file://${path.join(work, "vault")} (monthly/storage/prod/invoices/2026/03/manifest.json)`);
    });

    it("fails an archive whose objects live outside its own month folder", async () => {
        // A monthly manifest that points at the daily copies: restorable today, gone in a week.
        const vault = new DirBlobStore(path.join(work, "vault"), () => REHEARSAL);
        const daily = parseManifest(await readText(vault, "storage/prod/avatars/2026/05/01/manifest.json"));
        const forged = { ...daily, tier: "monthly", objects: daily.objects.map((e) => ({ ...e, vaultKey: objectVaultKey("prod", "avatars", MAY1, e.key) })) };
        const body = Buffer.from(JSON.stringify(forged));
        const key = monthlyManifestKey("prod", "avatars", new Date("2026-07-01T00:00:00Z"));
        await vault.put(key, Readable.from([body]), { sha256: sha(body), bytes: body.length });
        const r = await run("storage-restore-rehearsal.ts", ["--env", "prod", "--from", "vault", "--monthly", "2026-07"], { BACKUP_DIR: path.join(work, "r-forged"), NOW: REHEARSAL.toISOString(), STORAGE_BUCKETS: "avatars" });
        expect(r.code).toBe(1);
        expect(r.stdout).toContain(`${key} is not self-contained: 1 object(s) are stored outside monthly/storage/prod/avatars/2026/07/ and expire with another snapshot (u1/face.png → storage/prod/avatars/2026/05/01/objects/u1/face.png)`);
        expect([...api.buckets.keys()].sort()).toEqual(["avatars", "invoices"]);
    });

    it("rejects a malformed month and --max-age-days beside --monthly (exit 2)", async () => {
        for (const args of [["--monthly", "2026-13"], ["--monthly", "May"], ["--monthly", "current", "--max-age-days", "3"]]) {
            const r = await run("storage-restore-rehearsal.ts", ["--env", "prod", "--from", "vault", ...args], { NOW: REHEARSAL.toISOString() });
            expect(r.code, args.join(" ")).toBe(2);
            expect(r.stderr).toMatch(args.includes("--max-age-days") ? /--max-age-days applies to daily snapshots/ : /--monthly must be YYYY-MM or current/);
        }
    });
});
