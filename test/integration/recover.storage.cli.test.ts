// `npm run recover -- storage …` as the operator runs it: environment-only Storage URL and service
// key, a file:// vault as the nightly job's BACKUP_BUCKET, exit codes, and secrets. While the CLI
// runs, every process's command line (/proc/*/cmdline) is sampled every few milliseconds: the service
// key must never be there, nor in anything the CLI prints or writes to its audit record.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snapshotStorage } from "../../lib/storage/snapshot";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";

const ROOT = path.resolve(__dirname, "../..");
// Shaped like Supabase's legacy service_role key (a JWT), so the argv guard is exercised too.
const SERVICE_KEY = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.test-${process.pid}-${Date.now()}`;
const SECRET_BODY = "confidential-contract-body-8812";
const DAY = new Date("2026-03-01T01:00:00Z");
const NOW = "2026-03-01T18:00:00Z";

let api: FakeStorageApi;
let work: string;
let vaultDir: string;

interface CliRun {
    code: number;
    stdout: string;
    stderr: string;
    leaks: string[];
    samples: number;
}

function sampleCmdlines(leaks: Set<string>): number {
    let seen = 0;
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        let argv: string;
        try {
            argv = fs.readFileSync(`/proc/${pid}/cmdline`).toString("utf8").split("\0").join(" ");
        } catch {
            continue; // the process ended meanwhile
        }
        seen++;
        if (argv.includes(SERVICE_KEY)) leaks.add(argv.slice(0, 200));
    }
    return seen;
}

async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
    const leaks = new Set<string>();
    let samples = 0;
    const timer = setInterval(() => (samples += sampleCmdlines(leaks) > 0 ? 1 : 0), 5);
    try {
        return await new Promise((resolve, reject) => {
            const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "scripts/recover.ts"), "storage", ...args], {
                cwd: work,
                env: {
                    ...process.env,
                    STORAGE_URL: api.url,
                    SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
                    BACKUP_BUCKET: `file://${vaultDir}`,
                    BACKUP_ENV: "prod",
                    NOW,
                    ...env,
                },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", reject);
            child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, leaks: [...leaks], samples }));
        });
    } finally {
        clearInterval(timer);
    }
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-storage-cli-"));
    vaultDir = path.join(work, "vault");
    api = await startFakeStorageApi({ serviceKey: SERVICE_KEY });
    api.createBucket("contracts");
    api.putObject("contracts", "2026/acme.pdf", SECRET_BODY, "application/pdf");
    api.putObject("contracts", "2026/globex.pdf", "globex contract", "application/pdf");
    api.putObject("contracts", "index.json", "{}", "application/json");
    const store = new DirBlobStore(vaultDir, () => DAY);
    await snapshotStorage({ storageUrl: api.url, serviceKey: SERVICE_KEY, env: "prod", store, now: DAY, monthly: { retainUntil: new Date("2027-03-01T00:00:00Z") } });
    // The incident: one contract deleted, one overwritten.
    api.buckets.get("contracts")!.objects.delete("2026/acme.pdf");
    api.putObject("contracts", "2026/globex.pdf", "corrupted", "application/pdf");
});

afterAll(async () => {
    await api?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("scripts/recover.ts storage", () => {
    it("--help documents the command, the date range and the environment", async () => {
        const r = await cli(["--help"]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/--since\/--until {2}date range: only objects whose last-modified time recorded in the snapshot/);
        expect(r.stdout).toMatch(/--into live[\s\S]*NEVER|Nothing live is ever deleted/);
        expect(r.stdout).toMatch(/STORAGE_URL[\s\S]*SUPABASE_SERVICE_ROLE_KEY[\s\S]*BACKUP_BUCKET/);
    });

    it("bad usage exits 2; a key on the command line is refused without being echoed", async () => {
        expect((await cli(["--bucket", "contracts"])).code).toBe(2); // no --into
        expect((await cli(["--bucket", "contracts", "--into", "live", "--since", "yesterday"])).code).toBe(2);
        for (const args of [["--service-role-key", SERVICE_KEY], [`--apikey=${SERVICE_KEY}`], ["--prefix", SERVICE_KEY]]) {
            const r = await cli(["--bucket", "contracts", "--into", "live", ...args]);
            expect(r.code).toBe(2);
            expect(r.stderr).toMatch(/STORAGE_URL and SUPABASE_SERVICE_ROLE_KEY in the environment only/);
            expect(r.stdout + r.stderr).not.toContain(SERVICE_KEY);
        }
        const unset = await cli(["--bucket", "contracts", "--into", "live"], { STORAGE_URL: "" });
        expect(unset.code).toBe(2);
        expect(unset.stderr).toMatch(/STORAGE_URL is not set/);
    });

    it("dry run, then --apply, then a retry with nothing to do; the key is never in argv, output or the audit record", async () => {
        const dry = await cli(["--bucket", "contracts", "--into", "live"]);
        expect(dry.stderr).not.toMatch(/recover: /);
        expect(dry.code).toBe(0);
        expect(dry.stdout).toContain("storage/prod/contracts/2026/03/01/manifest.json");
        expect(dry.stdout).toContain("+ missing  2026/acme.pdf");
        expect(dry.stdout).toContain("~ changed  2026/globex.pdf");
        expect(dry.stderr).toContain("dry run: 2 object(s), 46 bytes, to restore into live bucket contracts (1 missing, 1 changed, 1 identical). Nothing was changed");
        expect(api.buckets.get("contracts")!.objects.has("2026/acme.pdf")).toBe(false);

        const applied = await cli(["--bucket", "contracts", "--into", "live", "--apply", "--artifacts", "arts"]);
        expect(applied.stderr).not.toMatch(/recover: /);
        expect(applied.code).toBe(0);
        expect(applied.stderr).toContain("applied: 2 object(s), 46 bytes restored into live bucket contracts; 2 verified by sha256 after download");
        expect(applied.stderr).toMatch(/before-image: the previous content of 1 overwritten live object\(s\) is kept in .*arts\/before-storage-contracts-/);
        expect(applied.stderr).toContain("signed URLs: 2/2 sampled object(s) reachable with the right content");
        const auditPath = /audit record (\S+)/.exec(applied.stderr)![1];
        expect(JSON.parse(fs.readFileSync(auditPath, "utf8"))).toMatchObject({ action: "recover storage", objects: 2, outcome: "completed" });
        expect(api.buckets.get("contracts")!.objects.get("2026/acme.pdf")!.data.toString()).toBe(SECRET_BODY);

        const again = await cli(["--bucket", "contracts", "--into", "live", "--apply", "--artifacts", "arts"]);
        expect(again.code).toBe(0);
        expect(again.stderr).toContain("applied: nothing needed restoring in contracts");

        for (const run of [dry, applied, again]) {
            expect(run.samples).toBeGreaterThan(10);
            expect(run.leaks).toEqual([]);
            expect(run.stdout + run.stderr).not.toContain(SERVICE_KEY);
            expect(run.stdout + run.stderr).not.toContain(SECRET_BODY);
        }
        for (const f of fs.readdirSync(path.join(work, "arts")).filter((n) => n.endsWith(".json"))) {
            expect(fs.readFileSync(path.join(work, "arts", f), "utf8")).not.toContain(SERVICE_KEY);
        }
    });

    it("--monthly reads the month's archive; a rejected key fails with exit 5 (the Storage API) and the key redacted", async () => {
        const monthly = await cli(["--bucket", "contracts", "--into", "review", "--monthly", "2026-03"]);
        expect(monthly.code).toBe(0);
        expect(monthly.stdout).toContain("monthly/storage/prod/contracts/2026/03/manifest.json");
        expect(monthly.stdout).toContain("(monthly archive)");

        const rejected = await cli(["--bucket", "contracts", "--into", "live"], { SUPABASE_SERVICE_ROLE_KEY: `${SERVICE_KEY}x` });
        expect(rejected.code).toBe(5);
        expect(rejected.stderr).toMatch(/recover: STORAGE_API: get live bucket contracts: invalid signature \(HTTP 400, statusCode 403\)/);
        expect(rejected.stdout + rejected.stderr).not.toContain(SERVICE_KEY);
    });
});
