// A FAILING drill, run by weekly-drill.yml's own steps, uploads no row value and no secret.
//
// The scratch server's template1 already holds the application's customers table with a row whose
// email is also in the source: the drill's scratch database is created from it, so the restore's COPY
// breaks the unique constraint and PostgreSQL quotes the row (DETAIL: Key (email)=(…), CONTEXT: COPY
// customers, line 1: "…"). The workflow's drill step and its JUnit summary step run as the runner runs
// them (test/helpers/workflowSteps.ts); then every file the upload step's `path:` patterns keep, the
// job summary and the steps' logs are searched for every planted row value and every secret.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { ensureEngine } from "../../lib/pulumi/engine";
import { loadWorkflow, runJob, WORKFLOWS_DIR, expand, type StepResult, type WorkflowStep } from "../helpers/workflowSteps";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOW = path.join(WORKFLOWS_DIR, "weekly-drill.yml");
const tag = randomBytes(4).toString("hex");
// Distinctive values, each in one column the restore or the report could quote.
const ROWS = {
    email: `ada.${tag}@leak-probe.example`,
    otherEmail: `grace.${tag}@leak-probe.example`,
    name: `Zenobia Quillfeather ${tag}`,
    note: `planted-note-${tag}`,
    memo: `ORDER-MEMO-${tag}`,
};

let source: LocalCluster;
let target: LocalCluster;
let work: string;

beforeAll(async () => {
    [source, target] = await Promise.all([startLocalCluster(), startLocalCluster()]);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-artifacts-"));
    await withClient(source.url(), "admin", (c) => c.query("create database app"));
    const table = "create table public.customers (id int primary key, email text not null constraint customers_email_key unique, full_name text, note text)";
    await withClient(source.url("app"), "source", async (c) => {
        await c.query(table);
        await c.query("insert into public.customers values (1, $1, $2, $3), (2, $4, $2, $3)", [ROWS.email, ROWS.name, ROWS.note, ROWS.otherEmail]);
        await c.query("create table public.orders (id int primary key, customer int references public.customers, memo text)");
        await c.query("insert into public.orders values (1, 1, $1)", [ROWS.memo]);
    });
    // The scratch database is created from template1: the restore meets a row with the same email.
    await withClient(target.url("template1"), "template1", async (c) => {
        await c.query(table);
        await c.query("insert into public.customers values (99, $1, null, null)", [ROWS.email]);
    });
}, 120_000);
afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A glob of upload-artifact's `path:` as a regular expression over absolute paths (** / * / ? only). */
function globRegExp(glob: string): RegExp {
    if (/[[\]{}]/.test(glob)) throw new Error(`upload path ${JSON.stringify(glob)} uses glob syntax this test does not model`);
    let re = "";
    for (let i = 0; i < glob.length; i++) {
        const ch = glob[i];
        if (glob.startsWith("**/", i)) {
            re += "(?:.*/)?";
            i += 2;
        } else if (glob.startsWith("**", i)) {
            re += ".*";
            i += 1;
        } else if (ch === "*") re += "[^/]*";
        else if (ch === "?") re += "[^/]";
        else re += ch.replace(/[.+^$()|\\]/g, "\\$&");
    }
    return new RegExp(`^${re}$`);
}

/** The files upload-artifact would upload: its `path:` lines, `!` lines excluding; a directory keeps all below it. */
function uploadedFiles(step: WorkflowStep, context: Record<string, string>, all: string[]): string[] {
    const lines = expand(String(step.with?.path ?? ""), context).split("\n").map((l) => l.trim()).filter(Boolean);
    const includes = lines.filter((l) => !l.startsWith("!"));
    const excludes = lines.filter((l) => l.startsWith("!")).map((l) => globRegExp(l.slice(1)));
    if (includes.length === 0) throw new Error("the upload step's path: keeps nothing");
    const kept = (file: string) =>
        includes.some((inc) => (inc.endsWith("/") ? file.startsWith(inc) : globRegExp(inc).test(file) || file.startsWith(`${inc}/`)));
    return all.filter((f) => kept(f) && !excludes.some((re) => re.test(f)));
}

function walk(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).isFile());
}

/** A file's text as a reader of the artifact sees it (gzip opened). */
function textOf(file: string): string {
    const bytes = fs.readFileSync(file);
    return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
}

describe("weekly-drill.yml with a restore that fails on a row", () => {
    it("uploads no row value and no secret, and its job summary names the failure without them", async () => {
        const workflow = loadWorkflow(WORKFLOW);
        const job = workflow.jobs.drill;
        const temp = path.join(work, "runner-temp");
        fs.mkdirSync(temp);
        const summaryFile = path.join(work, "step-summary.md");
        fs.writeFileSync(summaryFile, "");
        const secrets = {
            "secrets.SOURCE_DB_URL": source.url("app"),
            "secrets.TARGET_DB_URL": target.url(),
            "secrets.API_BEARER_TOKEN": randomBytes(18).toString("hex"),
            "secrets.MASKING_SALT": randomBytes(18).toString("hex"),
            "secrets.PULUMI_CONFIG_PASSPHRASE": randomBytes(18).toString("hex"),
        };
        const context: Record<string, string> = {
            ...secrets,
            "runner.temp": temp,
            "github.run_id": "4242",
            "github.run_attempt": "1",
            // A manual run for staging: its stack file has no vault, so the drill dumps SOURCE_DB_URL now.
            "inputs.env": "staging",
            "inputs.keep": "false",
            "vars.AWS_DRILL_READER_ROLE_ARN": "arn:aws:iam::111122223333:role/drill-reader",
            "vars.AWS_REGION": "eu-west-1",
            "vars.BACKUP_BUCKET": "",
            "vars.DRILL_BACKEND_URL": `file://${path.join(work, "state")}`,
            "vars.TARGET_API_URL": "",
        };
        const results = await runJob(job, {
            cwd: ROOT,
            context,
            env: { PATH: [ensureEngine(), process.env.PATH ?? ""].join(path.delimiter), HOME: process.env.HOME ?? "", RUNNER_TEMP: temp, GITHUB_STEP_SUMMARY: summaryFile },
            skippedActions: ["actions/checkout", "actions/setup-node", "pulumi/actions", "actions/upload-artifact"],
            // No vault in this drill: the role's keys are never used, but the step runs as in CI.
            actions: { "aws-actions/configure-aws-credentials": () => ({ AWS_ACCESS_KEY_ID: "AKIAUNUSEDDRILLREADER", AWS_SECRET_ACCESS_KEY: randomBytes(18).toString("hex") }) },
            machineSetup: [
                "npm ci --no-audit --no-fund",
                "sudo apt-get update -qq\nsudo apt-get install -y -qq postgresql-common\nsudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y\nsudo apt-get install -y -qq postgresql-client-17\n",
            ],
            timeoutMs: 600_000,
        });
        const drill = results.find((r) => r.id === "drill") as StepResult;
        const summaryStep = results.find((r) => /junit-summary/.test(r.step) || /JUnit/.test(r.step)) as StepResult;
        const drillLog = drill.stdout + drill.stderr;

        // It failed where it was made to fail: the restore, on the unique email.
        expect(drill.status, drillLog.slice(-4000)).toBe(1);
        expect(drillLog).toMatch(/customers_email_key/);
        expect(summaryStep.skipped).toBeFalsy();

        const backupDir = expand(job.steps.find((s) => s.id === "drill")!.env!.BACKUP_DIR, context);
        const all = walk(backupDir);
        const upload = job.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
        if (!upload) throw new Error("weekly-drill.yml has no upload-artifact step");
        const uploaded = uploadedFiles(upload, context, all);
        const names = uploaded.map((f) => path.basename(f));
        // The reports and logs go up, the dump stays (the patterns were read, not assumed).
        for (const want of [/^restore_.*\.log$/, /^drill_.*\.json$/, /^drill_.*\.junit\.xml$/, /^drill_.*\.prom$/, /^drill_summary_.*\.md$/]) {
            expect(names, `uploaded: ${names.join(", ")}`).toContainEqual(expect.stringMatching(want));
        }
        expect(all.filter((f) => !uploaded.includes(f)).map((f) => path.basename(f))).toContainEqual(expect.stringMatching(/\.dump$/));

        // The restore log is where PostgreSQL's row quotes would be: it has the error, redacted.
        const restoreLog = textOf(uploaded.find((f) => /\/restore_[^/]*\.log$/.test(f))!);
        expect(restoreLog).toMatch(/duplicate key value violates unique constraint "customers_email_key"\nDETAIL: {2}Key \(email\)=\(…\) already exists\./);
        expect(restoreLog).toMatch(/CONTEXT: {2}COPY customers, line 1/);

        const summary = fs.readFileSync(summaryFile, "utf8");
        expect(summary).toMatch(/FAIL/);
        const needles: [string, string][] = [
            ...Object.entries(ROWS),
            ...Object.entries(secrets),
            ["source password", source.password],
            ["target password", target.password],
        ];
        const places: [string, string][] = [
            ...uploaded.map((f): [string, string] => [path.relative(backupDir, f), textOf(f)]),
            ["job summary ($GITHUB_STEP_SUMMARY)", summary],
            ["drill step's log", drillLog],
            ["summary step's log", summaryStep.stdout + summaryStep.stderr],
        ];
        const leaks = places.flatMap(([where, text]) => needles.filter(([, value]) => text.includes(value)).map(([what]) => `${what} in ${where}`));
        expect(leaks).toEqual([]);
    }, 600_000);
});
