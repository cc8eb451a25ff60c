// .github/workflows/supabase-pitr-health.yml's own run: script, parsed from the YAML and run as the
// runner runs it (bash -eo pipefail, the step's env with vars/secrets filled in), through the real
// `npm run supabase-pitr`, against the Management API stand-in's GET /v1/projects/{ref}/database/backups.
// A healthy project passes with a textfile that says so; PITR off, a stale recovery point, a short window
// and missing or invalid variables fail the step naming what failed. Meanwhile the command lines of this
// test's whole process tree (/proc/*/cmdline) are sampled every few milliseconds: the access token must
// never be there, nor in anything the step prints or leaves for the artifact.
// The stand-in needs no database for this endpoint: each project's backups answer is seeded.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeSupabaseApi, type FakeBackups, type FakeSupabaseApi } from "../helpers/fakeSupabaseApi";
import { loadWorkflow, runJob, WORKFLOWS_DIR, type StepResult, type Workflow } from "../helpers/workflowSteps";

const ROOT = path.resolve(__dirname, "../..");
const PROD = "prodprodprodprodprod";
const DISABLED = "offoffoffoffoffoffof";
const STALE = "stalestalestalestale";
const SHORT = "shortshortshortshort";
const DAY = 86_400;
const SETTINGS = [`prodProjectRef: ${PROD}`, "windowDays: 7", "rpoSeconds: 120", "rpoMarginSeconds: 60", ""].join("\n");
const OUT = "supabase-pitr-health";

let fake: FakeSupabaseApi;
let workflow: Workflow;
let dir: string;

const pitr = (earliestAgo: number, latestAgo: number): FakeBackups => {
    const now = Math.floor(Date.now() / 1000);
    return { pitrEnabled: true, walgEnabled: true, earliestUnix: now - earliestAgo, latestUnix: now - latestAgo, backups: [] };
};

/** Whether `pid` is `root` or one of its descendants (parent links from /proc/<pid>/stat). */
function descendsFrom(pid: number, root: number): boolean {
    for (let p = pid, i = 0; p > 1 && i < 64; i++) {
        if (p === root) return true;
        try {
            const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
            p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        } catch {
            return false;
        }
    }
    return false;
}

/** Command lines of this test's own process tree (other test files may run meanwhile). */
function ownCmdlines(): string[] {
    const lines: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        if (Number(pid) === process.pid || !descendsFrom(Number(pid), process.pid)) continue;
        try {
            lines.push(fs.readFileSync(`/proc/${pid}/cmdline`).toString("utf8").split("\0").join(" "));
        } catch {
            // the process ended meanwhile
        }
    }
    return lines;
}

interface JobRun {
    result: StepResult;
    /** The files the upload step would take. */
    files: Record<string, string>;
    /** Every distinct command line seen in this test's process tree while the job ran. */
    cmdlines: string[];
}

/** The workflow's health job for one environment row, with the given variables (undefined: not set). */
async function runHealthJob(vars: { ref?: string; settings?: string }, stage = "prod"): Promise<JobRun> {
    const temp = fs.mkdtempSync(path.join(dir, "runner-"));
    const seen = new Set<string>();
    const timer = setInterval(() => ownCmdlines().forEach((l) => seen.add(l)), 10);
    let results: StepResult[];
    try {
        results = await runJob(workflow.jobs.health, {
            cwd: ROOT,
            context: {
                "matrix.stage": stage,
                "vars.SUPABASE_PROJECT_REF": vars.ref ?? "",
                "vars.SUPABASE_PITR_SETTINGS": vars.settings ?? "",
                "secrets.SUPABASE_ACCESS_TOKEN": fake.token,
            },
            conditions: { "always()": true },
            // What the runner provides; SUPABASE_API_URL points the CLI at the stand-in (the workflow sets none).
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", RUNNER_TEMP: temp, SUPABASE_API_URL: fake.url },
            skippedActions: ["actions/checkout", "actions/setup-node", "actions/upload-artifact"],
            machineSetup: ["npm ci --no-audit --no-fund"],
        });
    } finally {
        clearInterval(timer);
    }
    expect(results.map((r) => r.step)).toEqual(["hosted PITR health"]);
    const outDir = path.join(temp, OUT);
    const files = fs.existsSync(outDir) ? Object.fromEntries(fs.readdirSync(outDir).map((f) => [f, fs.readFileSync(path.join(outDir, f), "utf8")])) : {};
    const run = { result: results[0], files, cmdlines: [...seen] };
    // The token: not on any command line, not in the log, not in the artifact.
    expect(run.cmdlines.filter((l) => l.includes(fake.token))).toEqual([]);
    for (const text of [run.result.stdout, run.result.stderr, ...Object.values(files)]) expect(text).not.toContain(fake.token);
    return run;
}

/** stderr without the bundler's progress lines (the first run with given sources builds the bundle). */
const problems = (r: StepResult) => r.stderr.split("\n").filter((l) => l !== "" && !/^(ensure-cli: (?!error)|build-cli: )/.test(l));

const metric = (prom: string, name: string, project: string) => {
    const m = prom.match(new RegExp(`^supabase_dr_hosted_pitr_${name}\\{project="${project}"\\} (\\S+)$`, "m"));
    return m ? Number(m[1]) : undefined;
};

beforeAll(async () => {
    workflow = loadWorkflow(path.join(WORKFLOWS_DIR, "supabase-pitr-health.yml"));
    fake = await startFakeSupabaseApi();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-pitr-health-wf-"));
    fake.seedProject({ ref: PROD, name: "prod", backups: pitr(7.5 * DAY, 40) });
    fake.seedProject({ ref: DISABLED, name: "no-pitr", backups: { pitrEnabled: false, walgEnabled: true, backups: [] } });
    fake.seedProject({ ref: STALE, name: "stale", backups: pitr(7.5 * DAY, 3_600) });
    fake.seedProject({ ref: SHORT, name: "short", backups: pitr(2 * DAY, 30) });
});

afterAll(async () => {
    await fake?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("supabase-pitr-health.yml against the Management API stand-in", () => {
    it("a healthy project: the step passes, prints the PASS verdict as JSON, and the textfile says ok", async () => {
        const { result, files, cmdlines } = await runHealthJob({ ref: PROD, settings: SETTINGS });
        expect(problems(result)).toEqual([]);
        expect(result.status).toBe(0);
        // The log shows what the artifact holds (tee).
        expect(JSON.parse(result.stdout)).toEqual(JSON.parse(files["supabase-pitr-health.json"]));
        const health = JSON.parse(files["supabase-pitr-health.json"]) as { project: string; status: string; checks: { name: string; status: string }[]; latestRecoveryPointAgeSeconds: number };
        expect(health.project).toBe(PROD);
        expect(health.status).toBe("PASS");
        expect(health.checks.map((c) => `${c.name}:${c.status}`)).toEqual(["pitr_enabled:PASS", "walg_enabled:PASS", "recovery_point:PASS", "window:PASS", "backups:PASS"]);
        expect(health.latestRecoveryPointAgeSeconds).toBeGreaterThanOrEqual(40);
        expect(Object.keys(files).sort()).toEqual(["supabase-pitr-health.json", "supabase_pitr_health.prom"]);
        const prom = files["supabase_pitr_health.prom"];
        expect(metric(prom, "status", PROD)).toBe(1);
        expect(metric(prom, "enabled", PROD)).toBe(1);
        expect(metric(prom, "window_days", PROD)).toBeCloseTo(7.5, 1);
        // The only API call was the backups endpoint of this project, with the token.
        expect(fake.count("GET", new RegExp(`^/v1/projects/${PROD}/database/backups$`))).toBe(1);
        // The sampler saw the CLI itself (its argv names the project), so the token check above had something to look at.
        expect(cmdlines.some((l) => l.includes("health") && l.includes(`--project ${PROD}`))).toBe(true);
    }, 180_000);

    it("PITR disabled: the step exits 1 naming pitr_enabled, and the textfile says not ok", async () => {
        const { result, files } = await runHealthJob({ ref: DISABLED, settings: SETTINGS }, "staging");
        expect(result.status).toBe(1);
        const health = JSON.parse(result.stdout) as { status: string; reasons: string[] };
        expect(health.status).toBe("FAIL");
        expect(health.reasons[0]).toMatch(/^pitr_enabled: PITR is not enabled on the project \(pitr_enabled false\)/);
        expect(metric(files["supabase_pitr_health.prom"], "status", DISABLED)).toBe(0);
        expect(metric(files["supabase_pitr_health.prom"], "enabled", DISABLED)).toBe(0);
    }, 60_000);

    it("a stale recovery point (1 h old against 120 s + 60 s): exit 1 naming recovery_point", async () => {
        const { result, files } = await runHealthJob({ ref: STALE, settings: SETTINGS });
        expect(result.status).toBe(1);
        const health = JSON.parse(result.stdout) as { reasons: string[] };
        expect(health.reasons).toEqual([expect.stringMatching(/^recovery_point: latest recovery point \S+ is 60\.\d min old, over the RPO target of 120 s \+ 60 s margin/)]);
        const prom = files["supabase_pitr_health.prom"];
        expect(metric(prom, "status", STALE)).toBe(0);
        expect(metric(prom, "latest_recovery_point_age_seconds", STALE)).toBeGreaterThanOrEqual(3_600);
    }, 60_000);

    it("a window shorter than the configured days: exit 1 naming window", async () => {
        const { result } = await runHealthJob({ ref: SHORT, settings: SETTINGS });
        expect(result.status).toBe(1);
        expect((JSON.parse(result.stdout) as { reasons: string[] }).reasons).toEqual([expect.stringMatching(/^window: window is 2\.00 days .* shorter than the configured 7 days/)]);
    }, 60_000);

    it("a missing or invalid variable fails the step naming it, before any API call", async () => {
        const before = fake.requests.length;
        const noRef = await runHealthJob({ settings: SETTINGS });
        expect(noRef.result.status).not.toBe(0);
        expect(noRef.result.stderr).toContain("the GitHub variable SUPABASE_PROJECT_REF is not set in this environment");

        const noSettings = await runHealthJob({ ref: PROD });
        expect(noSettings.result.status).toBe(2);
        expect(noSettings.result.stderr).toContain("supabase-pitr: --settings <file> or $SUPABASE_PITR_SETTINGS is required");

        const badSettings = await runHealthJob({ ref: PROD, settings: SETTINGS.replace("windowDays: 7", "windowDays: 30") });
        expect(badSettings.result.status).toBe(2);
        expect(badSettings.result.stderr).toMatch(/\$SUPABASE_PITR_SETTINGS\.windowDays: expected 7, 14 or 28/);
        expect(fake.requests.length).toBe(before);
    }, 60_000);

    it("a wrong token is refused by the API: the step fails without printing the token it sent", async () => {
        const real = fake.token;
        const wrong = `sbp_${"0".repeat(40)}`;
        // Only this call's secret differs; runHealthJob's leak checks look for the accepted token.
        const temp = fs.mkdtempSync(path.join(dir, "runner-"));
        const results = await runJob(workflow.jobs.health, {
            cwd: ROOT,
            context: { "matrix.stage": "prod", "vars.SUPABASE_PROJECT_REF": PROD, "vars.SUPABASE_PITR_SETTINGS": SETTINGS, "secrets.SUPABASE_ACCESS_TOKEN": wrong },
            conditions: { "always()": true },
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", RUNNER_TEMP: temp, SUPABASE_API_URL: fake.url },
            skippedActions: ["actions/checkout", "actions/setup-node", "actions/upload-artifact"],
            machineSetup: ["npm ci --no-audit --no-fund"],
        });
        expect(results[0].status).toBe(1);
        expect(results[0].stderr).toMatch(/401|unauthori[sz]ed/i);
        for (const text of [results[0].stdout, results[0].stderr]) {
            expect(text).not.toContain(wrong);
            expect(text).not.toContain(real);
        }
    }, 60_000);
});
