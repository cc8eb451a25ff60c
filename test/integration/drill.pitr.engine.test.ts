// Point-in-time recovery drills through the real Pulumi engine, on real parts: a PostgreSQL 15 source
// archiving through pgBackRest into an encrypted posix repository, a write workload and a heartbeat
// running while a consistent-point mark and T are taken (lib/demo/pitr.ts). Then:
//   - to the mark: PitrRestore into the drill's own cluster, validation reproduces the mark's
//     fingerprint exactly → PASS; the source's pg_cron jobs were deactivated in the copy; destroy
//     removes the cluster's directory; no secret in any process's arguments meanwhile;
//   - to T: heartbeat ordering → PASS, RPO = T − last replayed commit;
//   - to a mark whose fingerprint was altered → FAIL naming the table.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preparePitrSource, demoPitrDrillSettings, type PitrSourceDemo } from "../../lib/demo/pitr";
import type { PitrStep } from "../../lib/drill/pitrRestore";
import { runDrill, type RunDrillResult } from "../../lib/drill/run";
import { markKey, readMark } from "../../lib/pitr/marks";
import { withClient } from "../../lib/postgres/connection";
import { localBackend, type LocalBackend } from "../../lib/pulumi/engine";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { drillProgram } from "../../programs/drill";
import { drillStacks } from "../helpers/drillHarness";

let demo: PitrSourceDemo;
let backend: LocalBackend;
let backupDir: string;

// Lookalikes of pg_cron's and pg_net's tables (the extensions are not installed here): the drill must
// deactivate the jobs in the restored copy before anything else runs. pg_net's queue is UNLOGGED, as in
// pg_net, so recovery leaves it empty.
const SCHEDULED_WORK_SQL = `
create schema cron;
create table cron.job (jobid bigserial primary key, schedule text not null, command text not null, active boolean not null default true);
insert into cron.job (schedule, command, active) values ('* * * * *', 'select 1', true), ('0 3 * * *', 'vacuum', true), ('0 4 * * *', 'select 2', false);
create schema net;
create unlogged table net.http_request_queue (id bigserial primary key, method text not null, url text not null);
insert into net.http_request_queue (method, url) values ('POST', 'https://hooks.example.com/prod');
`;

// A worker thread reads every process's command line while a drill runs (the test's own event loop
// waits on the engine): a secret must never be in one.
const SAMPLER = String.raw`
const { workerData, parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const { needles, stop } = workerData;
const flag = new Int32Array(stop);
const found = new Set();
let scans = 0;
while (Atomics.load(flag, 0) === 0) {
    let entries = [];
    try { entries = fs.readdirSync("/proc"); } catch {}
    for (const name of entries) {
        if (!/^\d+$/.test(name)) continue;
        let line = "";
        try { line = fs.readFileSync("/proc/" + name + "/cmdline").toString("utf8").split("\0").join(" "); } catch { continue; }
        for (const n of needles) if (line.includes(n.value)) found.add(n.label + " in the arguments of " + line.split(" ")[0]);
    }
    scans++;
    Atomics.wait(flag, 0, 0, 5);
}
parentPort.postMessage({ scans, found: [...found] });
`;

function sampleArguments(needles: { label: string; value: string }[]): { stop(): Promise<{ scans: number; found: string[] }> } {
    const stop = new SharedArrayBuffer(4);
    const worker = new Worker(SAMPLER, { eval: true, workerData: { needles, stop } });
    const done = new Promise<{ scans: number; found: string[] }>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
    });
    return {
        async stop() {
            Atomics.store(new Int32Array(stop), 0, 1);
            Atomics.notify(new Int32Array(stop), 0);
            const r = await done;
            await worker.terminate();
            return r;
        },
    };
}

function pitrStepOf(r: RunDrillResult): PitrStep {
    return JSON.parse(fs.readFileSync(path.join(r.artifactsDir, `pitr_${r.report.drill_id}.json`), "utf8")) as PitrStep;
}

async function pitrDrill(target: "mark" | "time", overrides: { markKey?: string } = {}): Promise<RunDrillResult> {
    const settings = demoPitrDrillSettings(demo, target);
    if (overrides.markKey) settings.pitr.target = { type: "mark", mark: overrides.markKey };
    return runDrill({
        program: drillProgram,
        env: "pitrtest",
        backend,
        backupDir,
        secrets: { pitrCipherPass: demo.cipherPass, ...(target === "time" ? { sourceDbUrl: demo.cluster.url("app") } : {}) },
        settings: { ...settings, validation: { assertions: [{ name: "no_negative_priority", sql: "select count(*) from public.tasks where priority < 1", expected: 0 }] } },
    });
}

beforeAll(async () => {
    backend = localBackend();
    backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-pitr-drill-"));
    demo = await preparePitrSource({
        scale: 0.05,
        log: () => undefined,
        beforeBackup: (url) => withClient(url, "source", (c) => c.query(SCHEDULED_WORK_SQL)).then(() => undefined),
    });
}, 240_000);

afterAll(async () => {
    await demo?.stop();
    backend?.cleanup();
    if (backupDir) fs.rmSync(backupDir, { recursive: true, force: true });
});

describe("PITR drill through the engine", () => {
    it("to a consistent-point mark taken under writes: PASS with the mark's fingerprint reproduced exactly, jobs disabled, cluster removed", async () => {
        expect(demo.transactions).toBeGreaterThan(100); // the workload really wrote around the mark
        const sampler = sampleArguments([
            { label: "cipher passphrase", value: demo.cipherPass },
            { label: "source password", value: demo.cluster.password },
        ]);
        let result: RunDrillResult;
        try {
            result = await pitrDrill("mark");
        } finally {
            const sampled = await sampler.stop();
            expect(sampled.scans).toBeGreaterThan(100);
            expect(sampled.found).toEqual([]);
        }
        expect(result.error).toBeUndefined();
        expect(result.status).toBe("PASS");
        const r = result.report;
        expect(r.validation?.compared_with).toBe("consistent-point");
        expect(r.validation?.checks.filter((c) => c.status === "fail")).toEqual([]);
        // Every table of the mark compared by checksum and passed, except two that cannot match and say why:
        // the unlogged queue (never in WAL) and the jobs the drill itself deactivated.
        const mark = await readMark(new DirBlobStore(demo.marksDir), demo.markKey);
        const reported = ["cron.job", "net.http_request_queue"];
        const checksummed = r.validation!.checks.filter((c) => c.check === "checksum" && c.status === "pass").map((c) => c.object);
        expect(checksummed.sort()).toEqual(mark.fingerprint.tables.filter((t) => t.checksum && !reported.includes(t.table)).map((t) => t.table).sort());
        expect(checksummed).toContain("public.tasks");
        const skipped = r.validation!.checks.filter((c) => c.check === "table_data" && c.status === "skip");
        expect(skipped.map((c) => c.object).sort()).toEqual(reported);
        expect(skipped.find((c) => c.object === "net.http_request_queue")?.detail).toMatch(/UNLOGGED/);
        expect(skipped.find((c) => c.object === "cron.job")?.detail).toMatch(/changed by the drill on purpose/);
        expect(r.pitr).toMatchObject({ completed: true, mark: { key: demo.markKey, lsn: demo.markLsn }, stanza: "demo-db" });
        expect(r.pitr?.reached_lsn).toBeTruthy();
        expect(r.rpo_seconds).toBe(0);
        expect(r.targets.rto_met).toBe(true);
        // pg_cron's two active jobs deactivated in the copy; the unlogged pg_net queue came back empty.
        expect(r.pitr?.scheduled_jobs).toMatch(/app: 2 pg_cron job\(s\) deactivated, 0 pg_net request\(s\) dropped/);
        const step = pitrStepOf(result);
        expect(step.jobs.databases).toEqual([{ database: "app", cronJobsDeactivated: 2, netRequestsDropped: 0 }]);
        // Destroyed: the cluster's directory is gone, the stack removed; the source untouched.
        expect(fs.existsSync(step.rootDir)).toBe(false);
        expect(await drillStacks(backend)).toEqual([]);
        const active = await withClient(demo.cluster.url("app"), "source", async (c) => Number((await c.query("select count(*) as n from cron.job where active")).rows[0].n));
        expect(active).toBe(2);
        // No secret in any artifact.
        for (const f of fs.readdirSync(result.artifactsDir)) {
            const text = fs.readFileSync(path.join(result.artifactsDir, f), "utf8");
            expect(text.includes(demo.cipherPass), f).toBe(false);
        }
        expect(fs.readFileSync(result.summaryPath, "utf8")).toMatch(/Point-in-time Target: mark .*\n- Target Reached: LSN /);
    }, 240_000);

    it("to a time T: PASS by heartbeat ordering, RPO = T − last replayed commit", async () => {
        const result = await pitrDrill("time");
        expect(result.error).toBeUndefined();
        expect(result.status).toBe("PASS");
        const r = result.report;
        expect(r.validation?.compared_with).toBe("heartbeat-log");
        const before = r.validation!.checks.find((c) => c.check === "heartbeat_before_target")!;
        const after = r.validation!.checks.find((c) => c.check === "heartbeat_after_target")!;
        expect(before.status).toBe("pass");
        expect(after.status).toBe("pass");
        expect(Number(before.source)).toBeGreaterThan(0); // markers really judged on both sides of T
        expect(after.detail).toMatch(/none of [1-9]\d* marker\(s\) written after T/);
        const reached = Date.parse(r.pitr!.reached_last_commit_time!);
        expect(reached).toBeLessThanOrEqual(demo.targetTime.getTime());
        expect(r.rpo_seconds).toBe(Math.max(0, Math.round((demo.targetTime.getTime() - reached) / 1000)));
        expect(r.pitr?.target_asked).toBe(`time ${demo.targetTime.toISOString()}`);
        expect(fs.existsSync(pitrStepOf(result).rootDir)).toBe(false);
    }, 240_000);

    it("to a mark whose fingerprint does not match what recovery gives: FAIL naming the table", async () => {
        const store = new DirBlobStore(demo.marksDir);
        const mark = await readMark(store, demo.markKey);
        const tampered = structuredClone(mark);
        const tasks = tampered.fingerprint.tables.find((t) => t.table === "public.tasks")!;
        tasks.rowCount = (tasks.rowCount ?? 0) + 1;
        tampered.slot = `${mark.slot}_altered`;
        const key = markKey(demo.settings, tampered);
        const body = Buffer.from(JSON.stringify(tampered));
        await store.put(key, Readable.from([body]), { sha256: createHash("sha256").update(body).digest("hex"), bytes: body.length });

        const result = await pitrDrill("mark", { markKey: key });
        expect(result.status).toBe("FAIL");
        expect(result.error).toMatch(/validation failed/);
        expect(result.error).toMatch(/FAIL row_count public\.tasks/);
        expect(result.report.validation?.checks.filter((c) => c.status === "fail").map((c) => c.object)).toContain("public.tasks");
        expect(fs.readFileSync(result.summaryPath, "utf8")).toMatch(/Drill Status: FAIL[\s\S]*Validation row_count failed for public\.tasks/);
        expect(fs.existsSync(pitrStepOf(result).rootDir)).toBe(false);
        expect(await drillStacks(backend)).toEqual([]);
    }, 240_000);
});
