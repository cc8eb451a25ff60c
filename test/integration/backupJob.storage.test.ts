// `npm run backup` as the nightly workflow runs it: one command backs up the database AND every Storage
// bucket into the vault AND the Azure archive (Azurite), and the monthly rehearsal command restores
// the archive's newest snapshots into temporary buckets and removes them. Both CLIs are run as child
// processes with only environment variables, like the workflows run them.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureCliCredential, STORAGE_SCOPE } from "../../lib/backupJob/azureCliCredential";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { parseManifest } from "../../lib/storage/manifest";
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
// Today and yesterday 01:00 UTC (the schedule), so retention dates lie in the future for Azurite.
const DAY2 = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 + 3600_000);
const DAY1 = new Date(DAY2.getTime() - 86_400_000);
const dayPath = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, "/");

let pg: LocalCluster;
let azurite: Azurite;
let api: FakeStorageApi;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
    [pg, azurite, api] = await Promise.all([startLocalCluster(), startAzurite(), startFakeStorageApi()]);
    await createSampleData(pg.url(), 200);
    await new AzureBlobStore({ connectionString: azurite.connectionString, container: "archive" }).ensureContainer();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-backup-storage-"));
    api.createBucket("avatars", true);
    api.createBucket("invoices");
    api.putObject("avatars", "u1/face.png", Buffer.from([137, 80, 78, 71, 1, 2, 3]), "image/png");
    api.putObject("invoices", "2026/inv-1.pdf", "%PDF-1 one", "application/pdf");
    api.putObject("invoices", "2026/inv-2.pdf", "%PDF-1 two", "application/pdf");
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
        RETENTION_DAYS: "7",
    };
}, 180_000);

afterAll(async () => {
    await Promise.all([pg?.stop(), azurite?.stop(), api?.close()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function run(script: string, args: string[], extra: Record<string, string> = {}) {
    return execFileAsync(TSX, [path.join(ROOT, "scripts", script), ...args], { env: { ...env, ...extra }, cwd: ROOT })
        .then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);
}

describe("npm run backup: database + every Storage bucket + the Azure mirror", () => {
    it("refuses to run without Storage or the mirror when the workflow requires them", async () => {
        const noStorage = await run("backup.ts", ["--require-storage", "--require-mirror"], { STORAGE_URL: "" });
        expect(noStorage.code).toBe(2);
        expect(noStorage.stderr).toMatch(/STORAGE_URL is not set \(--require-storage\)/);
        const noMirror = await run("backup.ts", ["--require-storage", "--require-mirror"], { AZURE_STORAGE_CONNECTION_STRING: "", AZURE_CONTAINER: "" });
        expect(noMirror.code).toBe(2);
        expect(noMirror.stderr).toMatch(/AZURE_STORAGE_ACCOUNT and AZURE_CONTAINER are not set \(--require-mirror\)/);
        const noKey = await run("backup.ts", [], { SUPABASE_SERVICE_ROLE_KEY: "" });
        expect(noKey.code).toBe(2);
        expect(noKey.stderr).toMatch(/SUPABASE_SERVICE_ROLE_KEY is not set/);
        expect(fs.existsSync(path.join(work, "vault"))).toBe(false);
    });

    it("writes the dump and a snapshot of every bucket into the vault and the archive, two nights running", async () => {
        const night1 = await run("backup.ts", ["--require-storage", "--require-mirror", "--json"], { NOW: DAY1.toISOString() });
        expect(night1.stderr).not.toMatch(/FAILED/);
        expect(night1.code).toBe(0);
        api.putObject("invoices", "2026/inv-2.pdf", "%PDF-1 two, corrected", "application/pdf");
        api.putObject("invoices", "2026/inv-3.pdf", "%PDF-1 three", "application/pdf");
        const night2 = await run("backup.ts", ["--require-storage", "--require-mirror", "--json"], { NOW: DAY2.toISOString() });
        expect(night2.code).toBe(0);
        const out = JSON.parse(night2.stdout) as { database: { primary: { uploaded: { key: string }[] }; mirror: { uploaded: unknown[] } }; storage: { listed: number; uploaded: number; serverSideCopies: number; mirror: { buckets: unknown[]; error?: string } }; failures: string[] };
        expect(out.failures).toEqual([]);
        expect(out.database.primary.uploaded.map((u) => u.key)).toContain(`db/prod/${dayPath(DAY2)}/backup_${DAY2.toISOString().replace(/[-:T]/g, "").slice(0, 14)}.manifest.json`);
        expect(out.database.mirror.uploaded.length).toBe(out.database.primary.uploaded.length);
        expect(out.storage).toMatchObject({ listed: 4, uploaded: 2, serverSideCopies: 2 });
        expect(out.storage.mirror.buckets).toHaveLength(2);
        expect(out.storage.mirror.error).toBeUndefined();
        for (const o of [night1.stdout, night1.stderr, night2.stdout, night2.stderr]) {
            expect(o).not.toContain(pg.password);
            expect(o).not.toContain(api.serviceKey);
            expect(o).not.toMatch(/AccountKey=/);
        }

        // Both stores hold the same complete snapshot, every object in the snapshot's own day.
        const vault = new DirBlobStore(path.join(work, "vault"));
        const archive = new AzureBlobStore({ connectionString: azurite.connectionString, container: "archive" });
        for (const bucket of ["avatars", "invoices"]) {
            const key = `storage/prod/${bucket}/${dayPath(DAY2)}/manifest.json`;
            const m = parseManifest(await readText(vault, key));
            expect(await readText(archive, key)).toBe(await readText(vault, key));
            for (const e of m.objects) {
                expect(e.vaultKey.startsWith(`storage/prod/${bucket}/${dayPath(DAY2)}/objects/`)).toBe(true);
                const live = api.buckets.get(bucket)!.objects.get(e.key)!.data;
                for (const store of [vault, archive]) {
                    const chunks: Buffer[] = [];
                    for await (const c of await store.get(e.vaultKey)) chunks.push(c as Buffer);
                    expect(sha(Buffer.concat(chunks)), `${store.location} ${e.vaultKey}`).toBe(sha(live));
                }
            }
        }
        expect((await vault.head(`storage/prod/invoices/${dayPath(DAY2)}/objects/2026/inv-1.pdf`))?.retainUntil?.toISOString())
            .toBe(new Date(DAY2.getTime() + 7 * 86_400_000).toISOString());
    });

    it("fails (exit 1) when the mirror is unreachable, with the vault copy in place", async () => {
        const next = new Date(DAY2.getTime() + 3600_000);
        const broken = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=bm90LWEta2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;";
        const r = await run("backup.ts", [], { NOW: next.toISOString(), BACKUP_ENV: "staging", AZURE_STORAGE_CONNECTION_STRING: broken });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/FAILED database mirror azure:\/\//);
        expect(r.stderr).toMatch(/FAILED storage mirror azure:\/\//);
        expect(r.stderr + r.stdout).not.toContain("bm90LWEta2V5");
        expect(fs.existsSync(path.join(work, "vault", "meta", "storage", "staging", "invoices", dayPath(next), "manifest.json.json"))).toBe(true);
    });
});

describe("npm run storage-restore-rehearsal", () => {
    it("restores every bucket's newest archive snapshot into a temporary bucket, verifies it and removes it", async () => {
        const dir = path.join(work, "rehearsal");
        const r = await run("storage-restore-rehearsal.ts", ["--env", "prod", "--from", "archive"], { BACKUP_DIR: dir, NOW: DAY2.toISOString() });
        expect(r.stderr).not.toMatch(/FAIL/);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/Storage restore rehearsal \(prod\): PASS/);
        expect(r.stdout).toMatch(/\| invoices \| PASS \| [^|]+ \| 3 \|/);
        expect([...api.buckets.keys()].sort()).toEqual(["avatars", "invoices"]); // temporary buckets removed
        expect(api.requests.some((q) => q.startsWith(`POST /object/rehearsal-invoices-${DAY2.toISOString().slice(0, 10).replace(/-/g, "")}/2026/inv-3.pdf`))).toBe(true);
        expect(fs.readdirSync(dir).some((f) => f.endsWith(".md"))).toBe(true);
    });

    it("fails a bucket that has no recent snapshot", async () => {
        api.createBucket("new-bucket");
        api.putObject("new-bucket", "a.txt", "a");
        const r = await run("storage-restore-rehearsal.ts", ["--env", "prod", "--from", "vault"], { BACKUP_DIR: path.join(work, "rehearsal2"), NOW: DAY2.toISOString() });
        expect(r.code).toBe(1);
        expect(r.stdout).toMatch(/\| new-bucket \| FAIL \|/);
        expect(r.stdout).toMatch(/no snapshot of new-bucket in file:\/\//);
        expect(r.stdout).toMatch(/\| invoices \| PASS \|/);
    });
});

describe("the Azure archive's token from the Azure CLI login", () => {
    it("asks az once per scope, keeps the token until shortly before it expires, and names a missing login", async () => {
        const dir = fs.mkdtempSync(path.join(work, "az-"));
        const az = path.join(dir, "az");
        const calls = path.join(dir, "calls");
        const expires = Math.floor(Date.now() / 1000) + 3600;
        fs.writeFileSync(az, `#!/bin/sh\necho "$@" >> ${calls}\necho '{"accessToken":"tok-1","expires_on":${expires},"expiresOn":"2000-01-01 00:00:00.000000"}'\n`, { mode: 0o755 });
        const cred = new AzureCliCredential(az);
        expect(await cred.getToken(STORAGE_SCOPE)).toEqual({ token: "tok-1", expiresOnTimestamp: expires * 1000 });
        await cred.getToken([STORAGE_SCOPE]);
        expect(fs.readFileSync(calls, "utf8").trim().split("\n")).toEqual([`account get-access-token --scope ${STORAGE_SCOPE} --output json`]);

        fs.writeFileSync(az, "#!/bin/sh\necho 'ERROR: Please run az login to setup account.' >&2\nexit 1\n", { mode: 0o755 });
        await expect(new AzureCliCredential(az).getToken(STORAGE_SCOPE)).rejects.toThrow(/no Azure token for https:\/\/storage\.azure\.com\/\.default \(is the azure\/login step before this one\?\): ERROR: Please run az login/);
        await expect(new AzureCliCredential(path.join(dir, "missing-az")).getToken(STORAGE_SCOPE)).rejects.toThrow(/the Azure CLI \(az\) is not installed/);
    });
});
