// No drill secret in any process's arguments. A sampler thread reads the WHOLE process table
// (/proc/*/cmdline, every user's process) every few milliseconds while a real drill runs through the
// engine, with password-protected source and target, and looks for every secret value.
//
// Arguments vs environment: /proc/<pid>/cmdline is world-readable (`ps` shows it to every user of the
// machine); /proc/<pid>/environ is readable only by the process's owner and root (the kernel's
// ptrace read check), who can read the drill's memory anyway. So a secret may travel in the
// environment of a process the drill itself started under its own user (PGPASSWORD for pg_dump, the
// engine's PULUMI_CONFIG_PASSPHRASE), and nowhere else: an environment hit in a process that is not
// our descendant, or runs as another user, fails too.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupStack, runDrill } from "../../lib/drill/run";
import { inlineStack, localBackend, type LocalBackend } from "../../lib/pulumi/engine";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { createSampleData } from "../helpers/sampleData";
import { drillStacks, scratchDatabases } from "../helpers/drillHarness";
import { drillProgram } from "../../programs/drill";
import * as yaml from "js-yaml";
import { runBackup } from "../../lib/backupJob/run";
import { snapshotStorage } from "../../lib/storage/snapshot";
import { readerPolicy } from "../../lib/vault/policies";
import { S3Store } from "../../lib/vault/s3Store";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { startS3Server, type S3Server, type S3User } from "../helpers/s3Server";

interface Needle {
    label: string;
    value: string;
}

interface Finding {
    pid: number;
    where: "argv" | "environ";
    label: string;
    /** The program and its first arguments, with every secret masked. */
    command: string;
    /** A descendant of this test process, running as our user. */
    ours: boolean;
}

interface SampleResult {
    scans: number;
    findings: Finding[];
    /** Commands of our descendants seen while sampling (program and first two arguments, masked). */
    seen: string[];
}

// Plain JavaScript for a worker thread: sampling on the test's own event loop would pause while the
// engine talks to the inline program, and miss short-lived processes.
const SAMPLER = String.raw`
const { workerData, parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const { needles, rootPid, uid, stop, intervalMs } = workerData;
const flag = new Int32Array(stop);
const findings = new Map();
const seen = new Set();
let scans = 0;
const read = (p) => { try { return fs.readFileSync(p); } catch { return null; } };
const mask = (s) => needles.reduce((t, n) => t.split(n.value).join("****"), s);
function parentOf(pid) {
    const stat = read("/proc/" + pid + "/stat");
    if (!stat) return 0;
    const text = stat.toString();
    return Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
}
function ours(pid) {
    const status = read("/proc/" + pid + "/status");
    const m = status && /^Uid:\s+(\d+)/m.exec(status.toString());
    if (!m || Number(m[1]) !== uid) return false;
    for (let p = pid, i = 0; p > 1 && i < 128; i++, p = parentOf(p)) if (p === rootPid) return true;
    return false;
}
// Whether a process is ours is decided when it is first seen, before its environment is read: a
// short-lived tool may be gone by the time a finding is recorded, and would then look foreign.
const verdicts = new Map();
function oursAtFirstSight(pid) {
    const stat = read("/proc/" + pid + "/stat");
    if (!stat) return false;
    const text = stat.toString();
    const key = pid + ":" + text.slice(text.lastIndexOf(")") + 2).split(" ")[19]; // pid + start time
    if (!verdicts.has(key)) verdicts.set(key, ours(pid));
    return verdicts.get(key);
}
function record(pid, where, label, argv, isOurs) {
    const command = mask(argv.slice(0, 3).join(" ")).slice(0, 200);
    const key = pid + where + label;
    if (!findings.has(key)) findings.set(key, { pid, where, label, command, ours: isOurs });
}
while (Atomics.load(flag, 0) === 0) {
    let entries = [];
    try { entries = fs.readdirSync("/proc"); } catch {}
    for (const name of entries) {
        if (!/^\d+$/.test(name)) continue;
        const pid = Number(name);
        const cmdline = read("/proc/" + pid + "/cmdline");
        if (!cmdline || cmdline.length === 0) continue;
        const argv = cmdline.toString("utf8").split("\0").filter(Boolean);
        const line = argv.join(" ");
        const isOurs = oursAtFirstSight(pid);
        for (const n of needles) if (line.includes(n.value)) record(pid, "argv", n.label, argv, isOurs);
        const environ = read("/proc/" + pid + "/environ");
        if (environ) {
            const env = environ.toString("utf8");
            for (const n of needles) if (env.includes(n.value)) record(pid, "environ", n.label, argv, isOurs);
        }
        if (/(^|\/)(pulumi|pg_dump|pg_restore|psql)$/.test(argv[0] ?? "")) {
            const command = mask(argv.slice(0, 3).map((a) => a.split("/").pop()).join(" "));
            if (!seen.has(command) && ours(pid)) seen.add(command);
        }
        // The bundled command (scripts/run-cli.sh runs node <cache>/cli-builds/<hash>/<name>.js).
        const bundle = /\/cli-builds\/[^/]+\/([a-z0-9-]+)\.js$/.exec(argv[1] ?? "");
        if (bundle && /(^|\/)node$/.test(argv[0] ?? "") && ours(pid)) seen.add("bundle " + bundle[1]);
    }
    scans++;
    Atomics.wait(flag, 0, 0, intervalMs);
}
parentPort.postMessage({ scans, findings: [...findings.values()], seen: [...seen] });
`;

/** Starts sampling the process table; stop() returns what it found. */
function sampleProcessTable(needles: Needle[], intervalMs = 5): { stop(): Promise<SampleResult> } {
    for (const n of needles) if (n.value.length < 8) throw new Error(`needle ${n.label} is too short to search for`);
    const stop = new SharedArrayBuffer(4);
    // Secrets reach the thread in memory (workerData), never through arguments.
    const worker = new Worker(SAMPLER, { eval: true, workerData: { needles, rootPid: process.pid, uid: process.getuid!(), stop, intervalMs } });
    const done = new Promise<SampleResult>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
    });
    return {
        async stop() {
            const flag = new Int32Array(stop);
            Atomics.store(flag, 0, 1);
            Atomics.notify(flag, 0);
            const result = await done;
            await worker.terminate();
            return result;
        },
    };
}

const secret = () => randomBytes(18).toString("hex");

describe("the process-table sampler", () => {
    it("finds a secret in a child's arguments, and tells our environment from arguments", async () => {
        const needles = [
            { label: "in-argv", value: secret() },
            { label: "in-env", value: secret() },
        ];
        const sampler = sampleProcessTable(needles);
        const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 1500)", "--", `--password=${needles[0].value}`], {
            env: { ...process.env, SOME_TOKEN: needles[1].value },
        });
        await new Promise((r) => child.once("exit", r));
        const r = await sampler.stop();
        expect(r.scans).toBeGreaterThan(10);
        expect(r.findings).toContainEqual(expect.objectContaining({ pid: child.pid, where: "argv", label: "in-argv", ours: true }));
        expect(r.findings).toContainEqual(expect.objectContaining({ pid: child.pid, where: "environ", label: "in-env", ours: true }));
        expect(r.findings.some((f) => f.where === "argv" && f.label === "in-env")).toBe(false);
        // Findings never carry the secret itself.
        expect(JSON.stringify(r)).not.toContain(needles[0].value);
    });

    it("catches the Automation API's `pulumi config set-all` (what drills used to run)", async () => {
        const backend = localBackend();
        try {
            const stack = await inlineStack(backend, { projectName: "supabase-dr", stackName: "drill-sampler-check", program: async () => ({}) });
            let caught: Finding | undefined;
            // The CLI lives about a second; a handful of tries rules out an unlucky schedule.
            for (let attempt = 0; attempt < 5 && !caught; attempt++) {
                const value = `postgresql://postgres:${secret()}@127.0.0.1:5432/postgres`;
                const sampler = sampleProcessTable([{ label: "sourceDbUrl", value }]);
                await stack.setAllConfig({ "supabase-dr:sourceDbUrl": { value, secret: true } });
                caught = (await sampler.stop()).findings.find((f) => f.where === "argv");
            }
            expect(caught).toMatchObject({ label: "sourceDbUrl", ours: true });
            expect(caught!.command).toMatch(/pulumi config set-all/);
            await stack.workspace.removeStack(stack.name);
        } finally {
            backend.cleanup();
        }
    });
});

describe("a drill with password-protected source and target", () => {
    let source: LocalCluster;
    let target: LocalCluster;
    let backend: LocalBackend;
    let backupDir: string;

    beforeAll(async () => {
        [source, target] = await Promise.all([startLocalCluster(), startLocalCluster()]);
        await withClient(source.url(), "admin", (c) => c.query("create database app"));
        await createSampleData(source.url("app"), 2000);
        backend = localBackend();
        backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-secrets-"));
    });
    afterAll(async () => {
        await Promise.all([source?.stop(), target?.stop()]);
        backend?.cleanup();
        if (backupDir) fs.rmSync(backupDir, { recursive: true, force: true });
    });

    it("puts no secret in any process's arguments, and keeps them Pulumi secrets in config and state", async () => {
        const secrets = {
            sourceDbUrl: source.url("app"),
            targetDbUrl: target.url(),
            apiBearerToken: secret(),
            maskingSalt: secret(),
        };
        const needles: Needle[] = [
            { label: "sourceDbUrl", value: secrets.sourceDbUrl },
            { label: "source password", value: source.password },
            { label: "targetDbUrl", value: secrets.targetDbUrl },
            { label: "target password", value: target.password },
            { label: "apiBearerToken", value: secrets.apiBearerToken },
            { label: "maskingSalt", value: secrets.maskingSalt },
            { label: "PULUMI_CONFIG_PASSPHRASE", value: backend.envVars.PULUMI_CONFIG_PASSPHRASE },
        ];
        const sampler = sampleProcessTable(needles);
        let sample: SampleResult | undefined;
        const result = await runDrill({ program: drillProgram, env: "secrets", backend, backupDir, secrets, keep: true }).finally(async () => (sample = await sampler.stop()));
        if (!sample) throw new Error("the sampler did not report");

        // The sampler really watched the drill: its config was set and its update ran while it looked.
        expect(sample.scans).toBeGreaterThan(100);
        expect(sample.seen).toContainEqual(expect.stringMatching(/^pulumi config set$/));
        expect(sample.seen).toContainEqual(expect.stringMatching(/^pulumi up /));
        const inArgs = sample.findings.filter((f) => f.where === "argv");
        expect(inArgs, JSON.stringify(inArgs)).toEqual([]);
        const foreignEnv = sample.findings.filter((f) => f.where === "environ" && !f.ours);
        expect(foreignEnv, JSON.stringify(foreignEnv)).toEqual([]);
        // In environments, only where a secret is needed: the engine (it decrypts config with the passphrase
        // and hands the plugin the program's config in PULUMI_CONFIG), the provider plugin that receives it,
        // and a PostgreSQL tool holding the password of the one server it talks to (PGPASSWORD). Everything
        // the provider starts (pg_dump, psql, pg_config's shell and its pipeline) used to inherit all of it.
        const needless = sample.findings.filter((f) => f.where === "environ" && !secretNeededIn(f));
        expect(needless, JSON.stringify(needless)).toEqual([]);
        console.log(`sampler: ${sample.scans} scans; saw ${sample.seen.join(", ")}; secrets in our own processes' environment: ${[...new Set(sample.findings.map((f) => `${f.label} (${f.command.split(" ")[0]})`))].join(", ")}`);
        expect(result.error).toBeUndefined();
        expect(result.status).toBe("PASS");

        // Still Pulumi secrets: encrypted in the stack's config file and in its state.
        const configFile = findFile(backend.workDir, `Pulumi.${result.stackName}.yaml`);
        const config = fs.readFileSync(configFile, "utf8");
        for (const key of Object.keys(secrets)) expect(config).toMatch(new RegExp(`supabase-dr:${key}:\\n\\s+secure: v1:`));
        const state = fs.readFileSync(findFile(backend.url.slice("file://".length), `${result.stackName}.json`), "utf8");
        expect(state).toContain("4dabf18193072939515e22adb298388d"); // the engine's secret signature
        for (const n of needles.slice(0, 6)) {
            expect(config.includes(n.value), `${n.label} in config`).toBe(false);
            expect(state.includes(n.value), `${n.label} in state`).toBe(false);
        }

        // A later run (another work dir, so no config file) still destroys the kept stack from its state.
        const later = localBackend({ url: backend.url, passphrase: backend.envVars.PULUMI_CONFIG_PASSPHRASE });
        try {
            await cleanupStack(later, result.stackName);
        } finally {
            later.cleanup();
        }
        expect(await drillStacks(backend)).toEqual([]);
        expect(await scratchDatabases(target.url())).toEqual([]);
    });
});

describe("`npm run drill` adopting from an S3 vault, with a storage restore", () => {
    // As weekly-drill.yml runs it: the secrets only in the command's environment, the vault the stack
    // file declares relocated by BACKUP_BUCKET (and S3_ENDPOINT), read with the drill-reader's keys.
    const BUCKET = "secrets-drill-vault";
    let source: LocalCluster;
    let s3: S3Server;
    let reader: S3User;
    let storage: FakeStorageApi;
    let work: string;
    let region: string;

    beforeAll(async () => {
        const prod = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, { vault?: { kind: string; region?: string } }> };
        const vault = prod.config["supabase-dr:drill"].vault;
        if (vault?.kind !== "s3" || !vault.region) throw new Error("Pulumi.prod.yaml's drill.vault is no longer an S3 vault with a region: this test relocates exactly that");
        region = vault.region;
        [source, s3, storage] = await Promise.all([startLocalCluster(), startS3Server({ iam: true, region }), startFakeStorageApi()]);
        work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-secrets-cli-"));
        await withClient(source.url(), "admin", (c) => c.query("create database app"));
        await createSampleData(source.url("app"), 500);

        // The vault as the infrastructure stacks make it: Object Lock, and the drill-reader's S3 grants
        // (lib/vault/policies.ts) for a plain user. The gateway has no KMS and no identity policies.
        await s3.createLockedBucket(BUCKET, "COMPLIANCE", 1);
        reader = await s3.createUser("reader");
        const grants = readerPolicy({ bucketArn: `arn:aws:s3:::${BUCKET}`, kmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/secrets-test", environment: "prod" });
        await s3.putBucketPolicy(BUCKET, {
            Version: "2012-10-17",
            Statement: grants.Statement.filter((st) => [st.Action].flat().every((a) => a.startsWith("s3:"))).map(({ Sid: _sid, ...st }) => ({ ...st, Principal: { AWS: [reader.accessKeyId] } })),
        });

        // Last night's backup and storage snapshot, written in-process with the root keys (no process
        // of this test holds them): the nightly job is not what this test samples.
        const store = new S3Store({ bucket: BUCKET, endpoint: s3.endpoint, region, credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey } });
        await runBackup({ sourceUrl: source.url("app"), env: "prod", store, retentionDays: 1, monthlyArchiveMonths: 1 });
        storage.createBucket("uploads");
        for (let i = 0; i < 12; i++) storage.putObject("uploads", `invoices/${i}.pdf`, `%PDF-1.4 invoice ${i}`, "application/pdf");
        await snapshotStorage({ storageUrl: storage.url, serviceKey: storage.serviceKey, env: "prod", store, now: new Date() });
    }, 300_000);
    afterAll(async () => {
        await Promise.all([source?.stop(), s3?.stop(), storage?.close()]);
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("puts no secret in any process's arguments, and in environments only where it is needed", async () => {
        const settingsFile = path.join(work, "storage.yaml");
        // storage.vault is named although it is drill.vault's bucket: scripts/drill.ts checks a --settings
        // file on its own, where storage without a vault is refused (see the report of this change).
        const storageVault = { kind: "s3", bucket: BUCKET, endpoint: s3.endpoint, region };
        fs.writeFileSync(settingsFile, yaml.dump({ storage: { storageUrl: storage.url, buckets: ["uploads"], vault: storageVault } }));
        const passphrase = secret();
        const secrets: Record<string, string> = {
            SOURCE_DB_URL: source.url("app"),
            SUPABASE_SERVICE_ROLE_KEY: storage.serviceKey,
            AWS_SECRET_ACCESS_KEY: reader.secretAccessKey,
            API_BEARER_TOKEN: secret(),
            MASKING_SALT: secret(),
            PULUMI_CONFIG_PASSPHRASE: passphrase,
        };
        const needles: Needle[] = [
            { label: "sourceDbUrl", value: secrets.SOURCE_DB_URL },
            { label: "source password", value: source.password },
            { label: "storageServiceKey", value: secrets.SUPABASE_SERVICE_ROLE_KEY },
            { label: "AWS_SECRET_ACCESS_KEY", value: secrets.AWS_SECRET_ACCESS_KEY },
            { label: "apiBearerToken", value: secrets.API_BEARER_TOKEN },
            { label: "maskingSalt", value: secrets.MASKING_SALT },
            { label: "PULUMI_CONFIG_PASSPHRASE", value: passphrase },
        ];
        const env: NodeJS.ProcessEnv = { ...process.env };
        // Nothing of the test machine's own drill configuration leaks in.
        for (const k of Object.keys(env)) if (/^(TARGET_DB_URL|BACKUP_PATH|SUPABASE_ACCESS_TOKEN|PGPASSWORD|AWS_.*|PULUMI_BACKEND_URL)$/.test(k)) delete env[k];
        Object.assign(env, secrets, {
            BACKUP_DIR: path.join(work, "artifacts"),
            BACKUP_BUCKET: BUCKET,
            S3_ENDPOINT: s3.endpoint,
            AWS_ACCESS_KEY_ID: reader.accessKeyId,
            AWS_REGION: region,
            PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
        });

        const sampler = sampleProcessTable(needles);
        let sample: SampleResult | undefined;
        const run = await runCommand("npm", ["run", "drill", "--", "--env", "prod", "--settings", settingsFile], { cwd: ROOT, env }).finally(async () => (sample = await sampler.stop()));
        if (!sample) throw new Error("the sampler did not report");
        const output = run.stdout + run.stderr;
        expect(output, output.slice(-4000)).toMatch(/Drill PASS/);
        expect(run.status).toBe(0);

        // The sampler watched the whole chain: the command's bundle, the engine's update, the restore.
        expect(sample.scans).toBeGreaterThan(100);
        expect(sample.seen).toContainEqual("bundle drill");
        expect(sample.seen).toContainEqual(expect.stringMatching(/^pulumi up /));
        expect(sample.seen).toContainEqual(expect.stringMatching(/^pg_restore /));
        const inArgs = sample.findings.filter((f) => f.where === "argv");
        expect(inArgs, JSON.stringify(inArgs)).toEqual([]);
        const foreignEnv = sample.findings.filter((f) => f.where === "environ" && !f.ours);
        expect(foreignEnv, JSON.stringify(foreignEnv)).toEqual([]);
        const needless = sample.findings.filter((f) => f.where === "environ" && !secretNeededIn(f));
        expect(needless, JSON.stringify(needless)).toEqual([]);
        const holders = [...new Set(sample.findings.map((f) => f.command.split(" ").slice(0, 2).map((a) => path.basename(a)).join(" ")))];
        console.log(`sampler (npm run drill): ${sample.scans} scans; saw ${sample.seen.join(", ")}; processes holding a secret in their environment: ${holders.join(", ")}`);

        // It did what it claims: the nightly backup from the vault, and the bucket restored and verified.
        const report = latestReport(path.join(work, "artifacts"));
        expect(report.backup.mode).toBe("adopt");
        expect(report.storage).toEqual([expect.objectContaining({ sourceBucket: "uploads", objects: 12 })]);
        expect([...storage.buckets.keys()]).toEqual(["uploads"]); // the restored bucket left with the stack
        for (const n of needles) expect(output.includes(n.value), `${n.label} in the command's output`).toBe(false);
    }, 600_000);
});

/** The drill_<id>.json of the newest drill under an artifacts directory. */
function latestReport(artifacts: string): { backup: { mode: string }; storage?: unknown[] } {
    const dirs = fs.readdirSync(artifacts).map((d) => path.join(artifacts, d)).filter((d) => fs.statSync(d).isDirectory());
    const newest = dirs.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
    const file = newest && fs.readdirSync(newest).find((f) => /^drill_[^.]+\.json$/.test(f));
    if (!file) throw new Error(`no drill_<id>.json under ${artifacts}`);
    return JSON.parse(fs.readFileSync(path.join(newest, file), "utf8"));
}

/** Runs a command to its end without blocking the event loop (the sampler runs meanwhile). */
function runCommand(command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill("SIGTERM"), 600_000);
        child.once("error", reject);
        child.once("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
    });
}

const ROOT = path.resolve(__dirname, "../..");
const PACKAGE_SCRIPTS = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

/** Whether a process legitimately holds this secret in its environment (see the drill test). */
function secretNeededIn(f: Finding): boolean {
    const program = path.basename(f.command.split(" ")[0] ?? "");
    const args = f.command.split(" ");
    if (program === "pulumi") return true; // the engine: passphrase, and the config it decrypts
    // The plugin: its launcher script (run by the engine as `/bin/sh <dir>/pulumi-resource-supabase-dr`)
    // and the node process it becomes. Not what either starts (a `dirname <that path>` is a finding).
    if (program === "pulumi-resource-supabase-dr" || (/^(sh|bash|dash)$/.test(program) && path.basename(args[1] ?? "") === "pulumi-resource-supabase-dr")) return true;
    if (program === "node" && /\/resource-supabase-dr-v[^ /]*\/main\.js$/.test(args[1] ?? "")) return true;
    // The command as its caller starts it (weekly-drill.yml: `npm run drill -- …` with the secrets in the
    // step's environment, its documented interface): npm, the `sh -c` npm runs the package script with,
    // the two wrappers, which exec into each other, and the bundled command that reads the secrets.
    // Not what the wrappers start to find Node and the bundle (scripts/helper-env.sh).
    if (program === "node" && path.basename(args[1] ?? "") === "npm" && args[2] === "run") return true;
    if (program === "sh" && args[1] === "-c" && f.command.startsWith(`sh -c ${PACKAGE_SCRIPTS.drill}`)) return true;
    if (program === "bash" && /^(scripts\/)?(with-node|run-cli)\.sh$/.test(path.relative(ROOT, path.resolve(ROOT, args[1] ?? "")))) return true;
    if (program === "node" && /\/cli-builds\/[^/]+\/drill\.js$/.test(args[1] ?? "")) return true;
    // Debian's pg_wrapper runs the tools as `perl /usr/bin/pg_dump …`.
    const tool = program === "perl" ? path.basename(f.command.split(" ")[1] ?? "") : program;
    if (/^(pg_dump|pg_restore|psql|pg_dumpall)$/.test(tool)) return /^(source|target) password$/.test(f.label);
    return false;
}

function findFile(root: string, name: string): string {
    const stack = [root];
    while (stack.length > 0) {
        const dir = stack.pop()!;
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, e.name);
            if (e.isDirectory()) stack.push(p);
            else if (e.name === name) return p;
        }
    }
    throw new Error(`${name} not found under ${root}`);
}
