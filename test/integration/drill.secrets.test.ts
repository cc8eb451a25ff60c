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
function record(pid, where, label, argv) {
    const command = mask(argv.slice(0, 3).join(" ")).slice(0, 200);
    const key = pid + where + label;
    if (!findings.has(key)) findings.set(key, { pid, where, label, command, ours: ours(pid) });
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
        for (const n of needles) if (line.includes(n.value)) record(pid, "argv", n.label, argv);
        const environ = read("/proc/" + pid + "/environ");
        if (environ) {
            const env = environ.toString("utf8");
            for (const n of needles) if (env.includes(n.value)) record(pid, "environ", n.label, argv);
        }
        if (/(^|\/)(pulumi|pg_dump|pg_restore|psql)$/.test(argv[0] ?? "")) {
            const command = mask(argv.slice(0, 3).map((a) => a.split("/").pop()).join(" "));
            if (!seen.has(command) && ours(pid)) seen.add(command);
        }
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

/** Whether a process legitimately holds this secret in its environment (see the drill test). */
function secretNeededIn(f: Finding): boolean {
    const program = path.basename(f.command.split(" ")[0] ?? "");
    if (program === "pulumi") return true; // the engine: passphrase, and the config it decrypts
    if (/pulumi-resource-supabase-dr|resource-supabase-dr-v[^ ]*\/main\.js/.test(f.command)) return true; // the plugin
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
