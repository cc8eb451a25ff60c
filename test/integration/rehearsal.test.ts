// The scheduled chain, rehearsed over a simulated calendar of 40 days by running the workflows' own
// `run:` scripts (parsed from .github/workflows/*.yml, expressions replaced by local stand-ins, each
// script run by bash with the step's env as the runner does), so a workflow cannot drift from what
// is tested. Days advance through NOW. The vault is a local directory (BACKUP_BUCKET=file://...) whose
// lifecycle is applied by LifecycleModel with the exact rules the BackupVault component declares
// (lib/vault/lifecycle.ts): each night, objects whose current version the rules replace by a delete
// marker disappear from the directory, as a plain GET on S3 would stop finding them. The Azure archive
// is Azurite (its lifecycle is not modelled). The source database and the Storage buckets change daily.
//
// Covered here: nightly-backup.yml (both matrix stages, database + every bucket + mirror) each day,
// weekly-drill.yml every Sunday at 04:00 (the prod stack file's drill adopts the newest backup of the
// vault the nightly writes, through the real Pulumi engine) and once more after the last night,
// monthly-storage-restore.yml on the 1st of each month, the freshness check on the last day, and
// quarterly-retention-audit.yml after the last night (no quarter starts within the 40 days): on a
// directory vault its honest verdict is FAIL — a directory has no Object Lock — and the test checks
// that it says so, after taking stock of every object the lifecycle left.
//
// Clocks: the vault's keys, its lifecycle and the jobs' retention dates follow the simulated calendar
// (NOW); the database's capture time in a backup is the source server's own clock, and a drill's RPO
// (drill start − capture time) is measured on that real clock.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveVaultSettings } from "../../components/BackupVault";
import { environmentPrefixes } from "../../lib/vault/keys";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { ensureEngine } from "../../lib/pulumi/engine";
import { monthlyRetainUntil } from "../../lib/backupJob/plan";
import { entriesOutside, monthlyManifestKey, parseManifest, type StorageManifest } from "../../lib/storage/manifest";
import { readText } from "../../lib/storage/snapshot";
import { AzureBlobStore } from "../../lib/vault/azureStore";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { LifecycleModel, vaultLifecycleRules } from "../../lib/vault/lifecycle";
import { startAzurite, type Azurite } from "../helpers/azurite";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { createSampleData } from "../helpers/sampleData";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const DAYS = 40;
const DAY_MS = 86_400_000;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const dayPath = (d: Date) => d.toISOString().slice(0, 10).replace(/-/g, "/");

// `uses:` steps that need GitHub or a cloud login: skipped by name; what they provide comes from the
// local stand-ins below (the checkout is this work tree, node and its modules are installed).
// pulumi/actions puts the Pulumi CLI on PATH: here, the engine the test run built (globalSetup).
const SKIPPED_ACTIONS = ["actions/checkout", "actions/setup-node", "aws-actions/configure-aws-credentials", "azure/login", "pulumi/actions", "actions/upload-artifact"];
const PASSPHRASE = "rehearsal-state-passphrase";
// `run:` steps that install the machine (dependencies are in node_modules; PostgreSQL client tools are
// installed here). Matched by their exact text, so a changed install step fails this test.
const MACHINE_SETUP = [
    "npm ci --no-audit --no-fund",
    "sudo apt-get update -qq\nsudo apt-get install -y -qq postgresql-common\nsudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y\nsudo apt-get install -y -qq postgresql-client-17\n",
];

interface Step { uses?: string; run?: string; env?: Record<string, string>; name?: string; if?: string }
interface Job { steps: Step[]; strategy?: { matrix?: { include?: Record<string, string>[] } } }
const workflow = (f: string) => yaml.load(fs.readFileSync(path.join(WORKFLOWS, f), "utf8")) as { jobs: Record<string, Job> };

/** `${{ expr }}` replaced from the context; an expression the rehearsal does not know fails it. */
function expand(text: string, context: Record<string, string>): string {
    return text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
        if (!(expr in context)) throw new Error(`the rehearsal has no stand-in for \${{ ${expr} }}`);
        return context[expr];
    });
}

let pg: LocalCluster;
let azurite: Azurite;
let api: FakeStorageApi;
let work: string;
let vaultDir: string;
let pulumiBin: string;
const model = new LifecycleModel(vaultLifecycleRules(resolveVaultSettings({ environment: "prod", objectLockMode: "COMPLIANCE" })));
const stagingModel = new LifecycleModel(vaultLifecycleRules(resolveVaultSettings({ environment: "staging", objectLockMode: "GOVERNANCE", retentionDays: 3, dailyRetentionDays: 7 })));
const seen = new Map<string, string>();
const log: { day: number; workflow: string; step: string; status: number | null }[] = [];
// Day 1 .. day 40 at 01:00 UTC, day 40 being today.
const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const dayAt = (n: number, hour = 1) => new Date(today - (DAYS - n) * DAY_MS + hour * 3600_000);

function contextFor(runnerTemp: string, matrix: Record<string, string> = {}): Record<string, string> {
    return {
        "matrix.stage": matrix.stage ?? "",
        "matrix.environment": matrix.environment ?? "",
        "runner.temp": runnerTemp,
        "vars.BACKUP_BUCKET": `file://${vaultDir}`,
        "vars.AZURE_STORAGE_ACCOUNT": "devstoreaccount1",
        "vars.AZURE_CONTAINER": "archive",
        "vars.STORAGE_URL": api.url,
        "vars.STORAGE_BUCKETS": "",
        "secrets.SOURCE_DB_URL": pg.url(),
        "secrets.SUPABASE_SERVICE_ROLE_KEY": api.serviceKey,
        // weekly-drill.yml, scheduled: no inputs; the drill's own cluster (no TARGET_DB_URL), no smoke API.
        "inputs.env || 'prod'": "prod",
        "inputs.keep || false": "false",
        "vars.DRILL_BACKEND_URL": `file://${path.join(work, "drill-state")}`,
        "vars.TARGET_API_URL": "",
        "secrets.TARGET_DB_URL": "",
        "secrets.API_BEARER_TOKEN": "",
        "secrets.MASKING_SALT": "",
        "secrets.PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
    };
}

/**
 * bash -eo pipefail -c <script>, as the runner runs `run:` steps. Asynchronous: the Storage API
 * stand-in answers from this very process, so blocking it (spawnSync) would deadlock the step.
 */
function runStep(script: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill("SIGTERM"), 300_000);
        child.on("error", reject);
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
    });
}

interface StepRun { job: string; matrix: Record<string, string>; step: string; temp: string; status: number | null; stdout: string; stderr: string }

/**
 * Runs every step of the workflow's jobs (each matrix entry) as the runner would; returns failures
 * (steps whose exit status is not the expected one: 0 unless `expectStatus` says otherwise for the
 * step's name) and every step's run.
 */
async function runWorkflow(file: string, day: number, now: Date, expectStatus: (step: string) => number = () => 0): Promise<string[]> {
    return (await runWorkflowSteps(file, day, now, expectStatus)).failures;
}

async function runWorkflowSteps(file: string, day: number, now: Date, expectStatus: (step: string) => number = () => 0): Promise<{ failures: string[]; runs: StepRun[] }> {
    const failures: string[] = [];
    const runs: StepRun[] = [];
    for (const [jobId, job] of Object.entries(workflow(file).jobs)) {
        for (const matrix of job.strategy?.matrix?.include ?? [{}]) {
            const temp = fs.mkdtempSync(path.join(work, "runner-"));
            const context = contextFor(temp, matrix);
            for (const step of job.steps) {
                if (step.uses) {
                    expect(SKIPPED_ACTIONS, `${file}:${jobId} uses ${step.uses}`).toContain(step.uses.split("@")[0]);
                    continue;
                }
                if (MACHINE_SETUP.includes(step.run!)) continue;
                const summary = path.join(temp, "step-summary.md");
                fs.closeSync(fs.openSync(summary, "a"));
                const env: Record<string, string> = {
                    PATH: [pulumiBin, process.env.PATH ?? ""].join(path.delimiter), HOME: process.env.HOME ?? "", RUNNER_TEMP: temp, NOW: now.toISOString(),
                    GITHUB_STEP_SUMMARY: summary,
                    // What azure/login's session gives the mirror here: Azurite's (public) development account.
                    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
                };
                for (const [k, v] of Object.entries(step.env ?? {})) env[k] = expand(v, context);
                const r = await runStep(expand(step.run!, context), env);
                const name = step.name ?? step.run!;
                log.push({ day, workflow: file, step: name, status: r.status });
                runs.push({ job: jobId, matrix, step: name, temp, ...r });
                if (r.status !== expectStatus(name)) failures.push(`${file}:${jobId} ${JSON.stringify(matrix)} day ${day} "${name}" exit ${r.status}, expected ${expectStatus(name)}\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-6000)}`);
                for (const out of [r.stdout, r.stderr]) {
                    expect(out).not.toContain(pg.password);
                    expect(out).not.toContain(api.serviceKey);
                }
            }
        }
    }
    return { failures, runs };
}

/** What S3 would do overnight: record new versions, apply the rules up to `until`, hide what they hide. */
async function applyLifecycle(until: Date): Promise<void> {
    const store = new DirBlobStore(vaultDir);
    for await (const o of store.list("")) {
        const stamp = o.lastModified.toISOString();
        if (seen.get(o.key) === stamp) continue;
        seen.set(o.key, stamp);
        (o.key.includes("/staging/") ? stagingModel : model).put(o.key, o.lastModified, o.retainUntil);
    }
    for (const m of [model, stagingModel]) {
        for (const e of m.advanceTo(until)) {
            if (e.kind !== "delete-marker") continue;
            fs.rmSync(path.join(vaultDir, "data", e.key), { force: true });
            fs.rmSync(path.join(vaultDir, "meta", `${e.key}.json`), { force: true });
        }
    }
}

/** The day's changes at the source: new rows, a changed object, a new one, now and then a deletion. */
async function changeSources(day: number): Promise<void> {
    const c = new Client({ connectionString: pg.url() });
    await c.connect();
    try {
        await c.query("create table if not exists rehearsal_days (day int primary key, note text)");
        await c.query("insert into rehearsal_days values ($1, $2)", [day, `day ${day}`]);
    } finally {
        await c.end();
    }
    api.putObject("uploads", "daily/changing.txt", `version of day ${day}`, "text/plain");
    api.putObject("uploads", `daily/new-${day}.bin`, Buffer.from([day, day + 1, day + 2]), "application/octet-stream");
    if (day % 5 === 0) api.buckets.get("uploads")!.objects.delete(`daily/new-${day - 3}.bin`);
}

function expectRestorable(store: DirBlobStore, manifest: StorageManifest, live: Map<string, Buffer> | undefined, where: string): Promise<void> {
    return (async () => {
        for (const e of manifest.objects) {
            const chunks: Buffer[] = [];
            for await (const c of await store.get(e.vaultKey)) chunks.push(c as Buffer);
            expect(sha(Buffer.concat(chunks)), `${where}: ${e.key}`).toBe(e.sha256);
            if (live) expect(e.sha256, `${where}: ${e.key} against the live object`).toBe(sha(live.get(e.key)!));
        }
        if (live) expect(manifest.objects.map((o) => o.key).sort()).toEqual([...live.keys()].sort());
    })();
}

/** The newest database backup manifest the vault holds for prod (what a drill must adopt). */
async function newestProdManifest(): Promise<{ key: string; takenAt: string; id: string }> {
    const store = new DirBlobStore(vaultDir);
    let newest: string | undefined;
    for await (const o of store.list("db/prod/")) if (o.key.endsWith(".manifest.json") && (!newest || o.key > newest)) newest = o.key;
    expect(newest, "a database backup of prod in the vault").toBeDefined();
    const m = JSON.parse(await readText(store, newest!)) as { takenAt: string; id: string };
    return { key: newest!, takenAt: m.takenAt, id: m.id };
}

/** The weekly drill PASSed on the newest nightly backup of the vault, with RPO = drill start − capture time. */
async function expectDrillOnNewestBackup(runs: StepRun[], where: string): Promise<void> {
    const drill = runs.find((r) => r.step === "npm run drill");
    expect(drill, `${where}: the drill step ran`).toBeDefined();
    const artifacts = path.join(drill!.temp, "drill-artifacts");
    const dirs = fs.readdirSync(artifacts).filter((d) => d.startsWith("drill_prod_"));
    expect(dirs, where).toHaveLength(1);
    const dir = path.join(artifacts, dirs[0]);
    const report = JSON.parse(fs.readFileSync(path.join(dir, fs.readdirSync(dir).find((f) => /^drill_\d+\.json$/.test(f))!), "utf8"));
    const newest = await newestProdManifest();
    expect(report.status, `${where}: ${report.issues?.join("; ")}`).toBe("PASS");
    expect(report.backup.mode).toBe("adopt"); // the nightly's backup, not a dump made now
    expect(report.backup.taken_at).toBe(newest.takenAt);
    expect(report.backup.vault_object).toBe(`file://${vaultDir}/${newest.key}`); // the report names what it adopted
    expect(drill!.stdout).toContain(`vault: file://${vaultDir} (BACKUP_BUCKET; drill.vault names acme-supabase-backups-prod)`);
    expect(report.rpo_seconds).toBe(Math.max(0, Math.round((Date.parse(report.timestamps.drill_started_at) - Date.parse(newest.takenAt)) / 1000)));
    expect(report.targets.rpo_met).toBe(true);
    expect(report.validation.compared_with).toBe("backup-fingerprint");
    // The job summary step turned the drill's JUnit file into the summary.
    expect(fs.readFileSync(path.join(drill!.temp, "step-summary.md"), "utf8")).toMatch(/PASS/);
}

beforeAll(async () => {
    [pg, azurite, api] = await Promise.all([startLocalCluster(), startAzurite(), startFakeStorageApi()]);
    await createSampleData(pg.url(), 300);
    await new AzureBlobStore({ connectionString: azurite.connectionString, container: "archive" }).ensureContainer();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-rehearsal-"));
    vaultDir = path.join(work, "vault");
    fs.mkdirSync(path.join(work, "drill-state"));
    pulumiBin = ensureEngine();
    api.createBucket("avatars", true);
    api.createBucket("uploads");
    // Never changes in 40 days: the object an incremental snapshot would have pointed at from day 1.
    api.putObject("avatars", "team/logo.png", Buffer.from("PNG logo, set once"), "image/png");
    api.putObject("uploads", "contracts/master.pdf", "%PDF master contract", "application/pdf");
}, 180_000);

afterAll(async () => {
    await Promise.all([pg?.stop(), azurite?.stop(), api?.close()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe(`${DAYS} simulated days of the scheduled workflows`, () => {
    it("every night backs up database, buckets and mirror; every snapshot the vault keeps restores completely; monthly rehearsals pass; the newest backup is fresh", async () => {
        const failures: string[] = [];
        let monthly = 0;
        let drills = 0;
        for (let day = 1; day <= DAYS; day++) {
            const night = dayAt(day);
            await applyLifecycle(night);
            await changeSources(day);
            failures.push(...(await runWorkflow("nightly-backup.yml", day, night)));
            if (night.getUTCDate() === 1) {
                monthly++;
                failures.push(...(await runWorkflow("monthly-storage-restore.yml", day, dayAt(day, 3))));
            }
            // Sundays 04:00 (the schedule), and once more after the last night (a manual run).
            if (night.getUTCDay() === 0 || day === DAYS) {
                drills++;
                const weekly = await runWorkflowSteps("weekly-drill.yml", day, dayAt(day, 4));
                failures.push(...weekly.failures);
                if (weekly.failures.length === 0) await expectDrillOnNewestBackup(weekly.runs, `day ${day} weekly drill`);
            }
            expect(failures, failures.join("\n\n")).toEqual([]);
            // Every storage snapshot still in the vault restores: no manifest outlives its objects.
            const store = new DirBlobStore(vaultDir);
            for (const prefix of ["storage/", "monthly/storage/"]) {
                for await (const o of store.list(prefix)) {
                    if (!o.key.endsWith("/manifest.json")) continue;
                    await expectRestorable(store, parseManifest(await readText(store, o.key), o.key), undefined, `day ${day} ${o.key}`);
                }
            }
        }
        expect(monthly).toBeGreaterThanOrEqual(1);
        expect(drills).toBeGreaterThanOrEqual(6);

        // The lifecycle really ran: day 1's snapshot and dump are gone, only about a week of nights stays.
        const store = new DirBlobStore(vaultDir);
        expect(await store.head(`storage/prod/avatars/${dayPath(dayAt(1))}/manifest.json`)).toBeUndefined();
        expect(await store.head(`storage/prod/avatars/${dayPath(dayAt(1))}/objects/team/logo.png`)).toBeUndefined();
        const kept: string[] = [];
        for await (const o of store.list("storage/prod/avatars/")) if (o.key.endsWith("manifest.json")) kept.push(o.key);
        expect(kept.length).toBeGreaterThanOrEqual(7);
        expect(kept.length).toBeLessThanOrEqual(8);

        // Day 40: the newest snapshot of each bucket holds every live object, byte-identical.
        for (const bucket of ["avatars", "uploads"]) {
            const key = `storage/prod/${bucket}/${dayPath(dayAt(DAYS))}/manifest.json`;
            const live = new Map([...api.buckets.get(bucket)!.objects].map(([k, o]) => [k, o.data]));
            await expectRestorable(store, parseManifest(await readText(store, key), key), live, `day ${DAYS} ${bucket}`);
        }

        // Monthly storage archives: one per bucket on the first night and on each 1st, self-contained
        // (only objects under its own month folder), locked for the monthly window, kept by the
        // lifecycle while the daily snapshots of those nights have expired, restorable, and the same
        // in the Azure archive.
        const archiveNights = Array.from({ length: DAYS }, (_, i) => dayAt(i + 1)).filter((d, i) => i === 0 || d.getUTCDate() === 1);
        expect(archiveNights.length).toBeGreaterThanOrEqual(2);
        const archive = new AzureBlobStore({ connectionString: azurite.connectionString, container: "archive" });
        for (const bucket of ["avatars", "uploads"]) {
            const found: string[] = [];
            for await (const o of store.list(`monthly/storage/prod/${bucket}/`)) if (o.key.endsWith("/manifest.json")) found.push(o.key);
            expect(found).toEqual(archiveNights.map((n) => monthlyManifestKey("prod", bucket, n)));
            for (const n of archiveNights) {
                const key = monthlyManifestKey("prod", bucket, n);
                const m = parseManifest(await readText(store, key), key);
                expect(m).toMatchObject({ tier: "monthly", takenAt: n.toISOString() });
                expect(entriesOutside(m, key.replace(/manifest\.json$/, ""))).toEqual([]);
                for (const k of [key, ...m.objects.map((e) => e.vaultKey)]) {
                    expect((await store.head(k))?.retainUntil?.toISOString(), k).toBe(monthlyRetainUntil(n, 12).toISOString());
                    expect(model.current(k), k).toBeDefined();
                }
                await expectRestorable(store, m, undefined, `monthly ${key}`);
                expect(await readText(archive, key)).toBe(await readText(store, key));
            }
        }

        // Freshness of the newest database backup, as an operator runs it right after the last night.
        const fresh = spawnSync(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "scripts/freshness.ts")], {
            cwd: ROOT, encoding: "utf8",
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", BACKUP_ENV: "prod", BACKUP_BUCKET: `file://${vaultDir}`, NOW: new Date(Date.now() + 60_000).toISOString() },
        });
        expect(fresh.stdout + fresh.stderr).toMatch(/FRESH/);
        expect(fresh.stdout).toContain(`db/prod/${dayPath(dayAt(DAYS))}/`);
        expect(fresh.status).toBe(0);
        expect(log.filter((l) => l.workflow === "nightly-backup.yml").length).toBe(DAYS * 2);

        // The quarterly audit, run after the last night: it takes stock of every object of each
        // environment and, the vault being a directory, FAILs for want of Object Lock — never PASS.
        const isAudit = (step: string) => step.startsWith("npm run retention-audit");
        const audit = await runWorkflowSteps("quarterly-retention-audit.yml", DAYS, dayAt(DAYS, 6), (step) => (isAudit(step) ? 1 : 0));
        expect(audit.failures, audit.failures.join("\n\n")).toEqual([]);
        const audits = audit.runs.filter((r) => isAudit(r.step));
        expect(audits.map((r) => r.matrix.stage).sort()).toEqual(["prod", "staging"]);
        for (const r of audits) {
            const stage = r.matrix.stage;
            let objects = 0;
            for (const prefix of environmentPrefixes(stage)) for await (const _ of store.list(prefix)) objects++;
            expect(objects).toBeGreaterThan(0);
            const text = fs.readFileSync(path.join(r.temp, `retention-audit-${stage}.md`), "utf8");
            expect(r.stdout).toContain(text); // the report file is what the step printed
            expect(text).toMatch(new RegExp(`^Total:\\s+${objects} versions`, "m"));
            expect(text).toMatch(/Bucket lock: FAIL — Object Lock is not enabled/);
            expect(text).toMatch(/Immutability proof: FAIL — no delete of .* was attempted: file:\/\/.* is a directory/);
            expect(text).toMatch(/^Result: FAIL$/m);
        }
    }, 3_600_000);
});
