// This repository's own GitHub Actions workflows cannot run here, so they are checked twice: by
// structure (schedules exactly as the runbooks say, least privilege, OIDC only where used, no secret in
// plain text, timeouts) and by the real actionlint, built from the Go module proxy by
// scripts/ensure-actionlint.sh (or taken from $ACTIONLINT_BIN).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { writeStepResult } from "../../lib/drill/artifacts";
import { writeDrillReport } from "../../lib/drill/report";
import { INFRA_SECRET_KEYS } from "../../lib/infra/config";
import { evaluateCondition, expand, runJob, type ConditionState, type StepOutcome, type WorkflowJob } from "../helpers/workflowSteps";

const ROOT = path.resolve(__dirname, "../..");
const DIR = path.join(ROOT, ".github", "workflows");

type Map = Record<string, unknown>;
interface Step { uses?: string; run?: string; with?: Map; env?: Record<string, string>; if?: string; name?: string; id?: string }
interface Job {
    "runs-on"?: string | string[];
    "timeout-minutes"?: number;
    permissions?: Record<string, string>;
    environment?: string;
    needs?: string | string[];
    if?: string;
    strategy?: { matrix?: Map };
    steps: Step[];
}
interface Workflow {
    name: string;
    on: Map;
    permissions?: Record<string, string>;
    concurrency?: { group: string; "cancel-in-progress"?: boolean };
    jobs: Record<string, Job>;
}

const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const raw: Record<string, string> = Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(DIR, f), "utf8")]));
const workflows: Record<string, Workflow> = Object.fromEntries(files.map((f) => [f, yaml.load(raw[f]) as Workflow]));
const jobsOf = (f: string): [string, Job][] => Object.entries(workflows[f].jobs);
const allJobs = (): [string, string, Job][] => files.flatMap((f) => jobsOf(f).map(([id, j]) => [f, id, j] as [string, string, Job]));
const crons = (f: string): string[] => ((workflows[f].on.schedule ?? []) as { cron: string }[]).map((s) => s.cron);
const runs = (f: string): string => jobsOf(f).flatMap(([, j]) => j.steps.map((s) => s.run ?? "")).join("\n");
/**
 * The environments a job can name: a literal, the matrix's values, or the results of an
 * `a == 'x' && 'y' || 'z'` expression (the quoted strings after && and the final ||).
 */
function environmentsOf(job: Job): string[] {
    const env = job.environment ?? "";
    if (env === "${{ matrix.environment }}") return ((job.strategy?.matrix?.include ?? []) as Map[]).map((m) => String(m.environment));
    if (!env.includes("${{")) return [env];
    return [...env.matchAll(/(?:&&|\|\|) '([^']+)'(?= \}\}| \|\|)/g)].map((m) => m[1]);
}
const stepUsing = (job: Job, action: string): Step[] => job.steps.filter((s) => s.uses?.split("@")[0] === action);

const packageScripts = (): Record<string, string> =>
    (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
/**
 * What `npm run <name>` must be for a command-line entry: scripts/<name>.ts, run from its
 * ahead-of-time bundle by scripts/run-cli.sh under the Node that scripts/with-node.sh ensures.
 */
const cliScript = (name: string) => `bash scripts/with-node.sh bash scripts/run-cli.sh ${name}`;
/** The package scripts `npm run [--silent] <name>` names in a workflow's run: scripts. */
const npmRunNames = (f: string): string[] =>
    [...runs(f).matchAll(/\bnpm run (?:--silent )?([a-z0-9][a-z0-9:-]*)/g)].map((m) => m[1]);

const PULUMI_VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version: string }>;
}).packages["node_modules/@pulumi/pulumi"].version;

describe("workflow set and triggers", () => {
    it("has exactly the six workflows of issue 4, the freshness alarm, the WAL archive's and the hosted PITR health check of issue 11", () => {
        expect(files).toEqual([
            "backup-freshness.yml", "deploy.yml", "monthly-storage-restore.yml", "nightly-backup.yml", "pitr-backup.yml",
            "preview.yml", "quarterly-retention-audit.yml", "supabase-pitr-health.yml", "weekly-drill.yml",
        ]);
    });

    it("previews on pull requests to main and deploys on pushes to main, nothing else", () => {
        expect(Object.keys(workflows["preview.yml"].on)).toEqual(["pull_request"]);
        expect(workflows["preview.yml"].on.pull_request).toEqual({ branches: ["main"] });
        expect(Object.keys(workflows["deploy.yml"].on)).toEqual(["push"]);
        expect(workflows["deploy.yml"].on.push).toEqual({ branches: ["main"] });
    });

    it("schedules exactly as the runbooks say (UTC), each with a manual trigger", () => {
        expect(crons("nightly-backup.yml")).toEqual(["0 1 * * *"]);          // 01:00 daily (runbook 004)
        expect(crons("backup-freshness.yml")).toEqual(["0 7 * * *"]);        // six hours after the nightly
        expect(crons("weekly-drill.yml")).toEqual(["0 4 * * 0"]);            // Sunday 04:00 (runbook 003)
        expect(crons("monthly-storage-restore.yml")).toEqual(["0 3 1 * *"]); // 1st of the month (runbook 004)
        expect(crons("quarterly-retention-audit.yml")).toEqual(["0 6 1 */3 *"]); // Jan/Apr/Jul/Oct 1st (runbook 004)
        // Weekly full (Sunday), daily differential, hourly archive health (issue 11).
        expect(crons("pitr-backup.yml")).toEqual(["0 2 * * 0", "0 2 * * 1-6", "15 * * * *"]);
        // Hourly hosted PITR health (issue 11): WAL-G pushes every 2 min, so a stale point shows within the hour.
        expect(crons("supabase-pitr-health.yml")).toEqual(["40 * * * *"]);
        for (const f of ["nightly-backup.yml", "backup-freshness.yml", "weekly-drill.yml", "monthly-storage-restore.yml", "quarterly-retention-audit.yml", "pitr-backup.yml", "supabase-pitr-health.yml"]) {
            expect(Object.keys(workflows[f].on).sort(), f).toEqual(["schedule", "workflow_dispatch"]);
        }
    });

    it("lets a manual drill choose the environment and keep the stack", () => {
        const inputs = (workflows["weekly-drill.yml"].on.workflow_dispatch as { inputs: Record<string, Map> }).inputs;
        expect(inputs.env).toMatchObject({ type: "choice", options: ["prod", "staging"], default: "prod" });
        expect(inputs.keep).toMatchObject({ type: "boolean", default: false });
    });
});

describe("least privilege", () => {
    it("grants only contents: read at workflow level", () => {
        for (const f of files) expect(workflows[f].permissions, f).toEqual({ contents: "read" });
    });

    it("gives every job explicit permissions, write only for id-token and the PR comment", () => {
        for (const [f, id, job] of allJobs()) {
            expect(job.permissions, `${f}:${id}`).toBeDefined();
            for (const [scope, level] of Object.entries(job.permissions ?? {})) {
                if (level === "write") expect(["id-token", "pull-requests"], `${f}:${id} ${scope}`).toContain(scope);
            }
            if (job.permissions?.["pull-requests"] === "write") expect(f).toBe("preview.yml");
        }
    });

    it("asks for an OIDC token exactly in the jobs that federate with AWS or Azure", () => {
        for (const [f, id, job] of allJobs()) {
            const federates = stepUsing(job, "aws-actions/configure-aws-credentials").length > 0 ||
                stepUsing(job, "azure/login").length > 0 ||
                job.steps.some((s) => s.env?.ARM_USE_OIDC === "true");
            expect(job.permissions?.["id-token"] === "write", `${f}:${id}`).toBe(federates);
        }
    });

    it("assumes roles through OIDC (role-to-assume), never with access keys", () => {
        for (const [f, id, job] of allJobs()) {
            for (const s of stepUsing(job, "aws-actions/configure-aws-credentials")) {
                expect(s.with?.["role-to-assume"], `${f}:${id}`).toMatch(/^\$\{\{ vars\.AWS_[A-Z_]+_ROLE_ARN \}\}$/);
                expect(s.with?.["aws-access-key-id"]).toBeUndefined();
                expect(s.with?.["aws-secret-access-key"]).toBeUndefined();
            }
        }
    });

    it("keeps prod's unattended jobs off the reviewer-gated prod environment", () => {
        // Required reviewers hold every job that names the environment, schedules included.
        expect(workflows["deploy.yml"].jobs.prod.environment).toBe("prod");
        const scheduled = ["nightly-backup.yml", "backup-freshness.yml", "weekly-drill.yml", "quarterly-retention-audit.yml", "monthly-storage-restore.yml", "pitr-backup.yml", "supabase-pitr-health.yml"];
        const seen = new Set<string>();
        for (const f of scheduled) {
            for (const [id, job] of jobsOf(f)) {
                expect(job.environment, `${f}:${id}`).toBeDefined();
                for (const env of environmentsOf(job)) {
                    seen.add(env);
                    expect(["prod-automation", "staging"], `${f}:${id}`).toContain(env);
                }
            }
        }
        expect([...seen].sort()).toEqual(["prod-automation", "staging"]);
    });
});

describe("hygiene", () => {
    it("gives every job a timeout, a pinned runner image, and every workflow a concurrency group", () => {
        for (const [f, id, job] of allJobs()) {
            expect(job["timeout-minutes"], `${f}:${id}`).toBeGreaterThan(0);
            expect(job["timeout-minutes"], `${f}:${id}`).toBeLessThanOrEqual(180);
            const runsOn = job["runs-on"];
            // pgBackRest backs up and checks a server from its own host (it reads PGDATA): those jobs
            // run on the environment's database host, a self-hosted runner labelled per stage.
            if (Array.isArray(runsOn)) {
                expect(f, `${f}:${id}`).toBe("pitr-backup.yml");
                expect(runsOn, `${f}:${id}`).toEqual(["self-hosted", "linux", "supabase-dr-db-${{ matrix.stage }}"]);
            } else {
                expect(runsOn, `${f}:${id}`).toMatch(/^ubuntu-\d+\.\d+$/);
            }
        }
        for (const f of files) expect(workflows[f].concurrency?.group, f).toBeTruthy();
        // Deploys and backups queue; they are never cancelled halfway.
        // A health check is not cancelled by the next one either: a slow API answer still yields a verdict.
        for (const f of ["deploy.yml", "nightly-backup.yml", "weekly-drill.yml", "pitr-backup.yml", "supabase-pitr-health.yml"]) {
            expect(workflows[f].concurrency?.["cancel-in-progress"], f).toBe(false);
        }
    });

    it("pins every action to a major version (or a commit)", () => {
        for (const [f, id, job] of allJobs()) {
            for (const s of job.steps.filter((x) => x.uses)) expect(s.uses, `${f}:${id}`).toMatch(/^[\w.-]+\/[\w./-]+@(v\d+|[0-9a-f]{40})$/);
        }
    });

    it("installs the Pulumi CLI at the SDK's version", () => {
        for (const [f, id, job] of allJobs()) {
            for (const s of stepUsing(job, "pulumi/actions")) {
                expect(s.uses, `${f}:${id}`).toBe("pulumi/actions@v6");
                expect(String(s.with?.["pulumi-version"]), `${f}:${id}`).toBe(PULUMI_VERSION);
            }
        }
    });
});

describe("no secret in plain text", () => {
    const CREDENTIAL_SHAPES: [string, RegExp][] = [
        ["connection string with a password", /postgres(ql)?:\/\/[^\s:/@]+:[^\s@]+@/i],
        ["Supabase access token", /\bsbp_[0-9a-f]{16,}/i],
        ["AWS access key", /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
        ["GitHub token", /\b(ghp|gho|ghs|ghu)_[A-Za-z0-9]{20,}|github_pat_/],
        ["private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
        ["JWT", /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./],
    ];

    it("contains no credential-shaped literal", () => {
        for (const f of files) {
            for (const [what, re] of CREDENTIAL_SHAPES) expect(re.test(raw[f]), `${f}: ${what}`).toBe(false);
        }
    });

    it("takes every secret-like value from secrets.*", () => {
        const secretLike = /(TOKEN|PASSWORD|PASSPHRASE|SECRET|SALT|_DB_URL|BACKEND_URL)$/;
        let checked = 0;
        for (const [f, id, job] of allJobs()) {
            for (const s of job.steps) {
                for (const [k, v] of Object.entries(s.env ?? {})) {
                    if (!secretLike.test(k) || k === "DRILL_BACKEND_URL") continue; // a URL without credentials, in vars
                    checked++;
                    expect(v, `${f}:${id} env ${k}`).toMatch(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
                }
                if (s.with?.["cloud-url"] !== undefined) expect(s.with["cloud-url"]).toBe("${{ secrets.PULUMI_BACKEND_URL }}");
            }
        }
        expect(checked).toBeGreaterThan(10);
    });

    it("uses only the secrets the stacks write to GitHub plus the bootstrap ones", () => {
        const known = new Set<string>([...Object.values(INFRA_SECRET_KEYS), "PULUMI_BACKEND_URL", "PULUMI_GITHUB_TOKEN"]);
        const used = new Set<string>();
        for (const f of files) for (const m of raw[f].matchAll(/secrets\.([A-Za-z0-9_]+)/g)) used.add(m[1]);
        expect([...used].filter((s) => !known.has(s))).toEqual([]);
        expect(used.has("SOURCE_DB_URL") && used.has("TARGET_DB_URL")).toBe(true);
    });
});

describe("what each workflow does", () => {
    it("preview: pulumi preview of staging and prod, diff as a PR comment, S3-style backend from a secret, OIDC role", () => {
        const job = workflows["preview.yml"].jobs.preview;
        expect(job.strategy?.matrix?.stack).toEqual(["staging", "prod"]);
        expect(job.permissions).toEqual({ contents: "read", "id-token": "write", "pull-requests": "write" });
        expect(job.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
        expect(job.steps.map((s) => s.uses?.split("@")[0] ?? s.run)).toEqual([
            "actions/checkout", "actions/setup-node", "npm ci --no-audit --no-fund",
            "aws-actions/configure-aws-credentials", "pulumi/actions",
        ]);
        expect(stepUsing(job, "actions/setup-node")[0].with?.["node-version"]).toBe(24);
        const [pulumiStep] = stepUsing(job, "pulumi/actions");
        expect(pulumiStep.with).toMatchObject({ command: "preview", "stack-name": "${{ matrix.stack }}", "comment-on-pr": true });
        expect(pulumiStep.env?.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    });

    it("deploy: up on staging, then on prod behind the prod environment", () => {
        const { staging, prod } = workflows["deploy.yml"].jobs;
        expect(staging.environment).toBe("staging");
        expect(prod.needs).toBe("staging");
        expect(prod.environment).toBe("prod");
        expect(stepUsing(staging, "pulumi/actions")[0].with).toMatchObject({ command: "up", "stack-name": "staging" });
        expect(stepUsing(prod, "pulumi/actions")[0].with).toMatchObject({ command: "up", "stack-name": "prod" });
    });

    it("nightly backup runs one command for the database, every Storage bucket and the Azure mirror, none of them optional", () => {
        const job = workflows["nightly-backup.yml"].jobs.backup;
        const step = job.steps.find((s) => s.run?.includes("npm run backup"));
        expect(step?.run?.trim()).toBe("npm run backup -- --require-storage --require-mirror");
        expect(step?.env).toEqual({
            BACKUP_ENV: "${{ matrix.stage }}",
            BACKUP_BUCKET: "${{ vars.BACKUP_BUCKET }}",
            AZURE_STORAGE_ACCOUNT: "${{ vars.AZURE_STORAGE_ACCOUNT }}",
            AZURE_CONTAINER: "${{ vars.AZURE_CONTAINER }}",
            STORAGE_URL: "${{ vars.STORAGE_URL }}",
            STORAGE_BUCKETS: "${{ vars.STORAGE_BUCKETS }}",
            SOURCE_DB_URL: "${{ secrets.SOURCE_DB_URL }}",
            SUPABASE_SERVICE_ROLE_KEY: "${{ secrets.SUPABASE_SERVICE_ROLE_KEY }}",
        });
        expect(stepUsing(job, "aws-actions/configure-aws-credentials")[0].with?.["role-to-assume"]).toBe("${{ vars.AWS_BACKUP_WRITER_ROLE_ARN }}");
        // The mirror's token comes from the Azure CLI session, so the login precedes the backup.
        expect(job.steps.indexOf(stepUsing(job, "azure/login")[0])).toBeLessThan(job.steps.indexOf(step!));
    });

    it("freshness alarm checks each environment's newest backup read-only, alarms through the webhook and pings the dead-man's switch", () => {
        const job = workflows["backup-freshness.yml"].jobs.freshness;
        const step = job.steps.find((s) => s.run?.includes("npm run freshness"));
        expect(step?.run?.trim()).toBe("npm run freshness");
        expect(step?.env).toEqual({
            BACKUP_ENV: "${{ matrix.stage }}",
            BACKUP_BUCKET: "${{ vars.BACKUP_BUCKET }}",
            RPO_SECONDS: "93600",
            WEBHOOK_URL: "${{ secrets.ALERT_WEBHOOK_URL }}",
            HEALTHCHECK_URL: "${{ secrets.FRESHNESS_HEALTHCHECK_URL }}",
        });
        // Reading the vault needs no write: the drill reader (get, list, decrypt).
        expect(stepUsing(job, "aws-actions/configure-aws-credentials")[0].with?.["role-to-assume"]).toBe("${{ vars.AWS_DRILL_READER_ROLE_ARN }}");
        expect(environmentsOf(job).sort()).toEqual(["prod-automation", "staging"]);
    });

    it("quarterly audit gives the retention audit the Azure archive's variables and logs in to Azure first, only where the stack made an archive", () => {
        const job = workflows["quarterly-retention-audit.yml"].jobs.audit;
        const step = job.steps.find((s) => s.run?.includes("npm run retention-audit"))!;
        expect(step.env).toEqual({
            AUDIT_ENV: "${{ matrix.stage }}",
            BACKUP_BUCKET: "${{ vars.BACKUP_BUCKET }}",
            AZURE_STORAGE_ACCOUNT: "${{ vars.AZURE_STORAGE_ACCOUNT }}",
            AZURE_CONTAINER: "${{ vars.AZURE_CONTAINER }}",
            AZURE_SUBSCRIPTION_ID: "${{ vars.AZURE_SUBSCRIPTION_ID }}",
            AZURE_RESOURCE_GROUP: "${{ vars.AZURE_RESOURCE_GROUP }}",
        });
        expect(stepUsing(job, "aws-actions/configure-aws-credentials")[0].with?.["role-to-assume"]).toBe("${{ vars.AWS_RETENTION_AUDITOR_ROLE_ARN }}");
        // The ARM and blob tokens come from the Azure CLI session: the login precedes the audit, and is
        // skipped (with the Azure section) where the environment has no archive.
        const [login] = stepUsing(job, "azure/login");
        expect(login.with).toEqual({ "client-id": "${{ vars.AZURE_CLIENT_ID }}", "tenant-id": "${{ vars.AZURE_TENANT_ID }}", "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}" });
        expect(login.if).toBe("vars.AZURE_CONTAINER != ''");
        const archive = (container: string): ConditionState => ({ jobFailed: false, steps: {}, context: { "vars.AZURE_CONTAINER": container } });
        expect(evaluateCondition(login.if, archive(""))).toBe(false);
        expect(evaluateCondition(login.if, archive("supabase-backups"))).toBe(true);
        expect(job.steps.indexOf(login)).toBeLessThan(job.steps.indexOf(step));
        expect(raw["quarterly-retention-audit.yml"]).not.toMatch(/not audited here/i);
    });

    it("weekly drill runs npm run drill and always uploads reports, never the dump", () => {
        const job = workflows["weekly-drill.yml"].jobs.drill;
        expect(runs("weekly-drill.yml")).toMatch(/args=\(--env "\$DRILL_ENV"\)[\s\S]*args\+=\(--keep\)[\s\S]*npm run drill -- "\$\{args\[@\]\}"/);
        const drillStep = job.steps.find((s) => s.run?.includes("npm run drill"));
        expect(drillStep?.env?.DRILL_ENV).toBe("${{ inputs.env || 'prod' }}");
        expect(drillStep?.env?.BACKUP_DIR).toBe("${{ runner.temp }}/drill-artifacts");
        const [upload] = stepUsing(job, "actions/upload-artifact");
        expect(upload.if).toBe("always()");
        const paths = String(upload.with?.path).trim().split("\n");
        expect(paths[0]).toBe("${{ runner.temp }}/drill-artifacts/");
        expect(paths).toContain("!${{ runner.temp }}/drill-artifacts/**/*.dump");
        expect(job.steps.indexOf(upload)).toBeGreaterThan(job.steps.indexOf(drillStep!));
    });

    it("weekly drill publishes the JUnit result as the job summary whenever the drill ran, before the upload", () => {
        const job = workflows["weekly-drill.yml"].jobs.drill;
        const drillStep = job.steps.find((s) => s.run?.includes("npm run drill"))!;
        const publish = job.steps.find((s) => s.run?.includes("junit-summary"))!;
        expect(drillStep.id).toBe("drill");
        expect(publish.run?.trim()).toBe('npm run --silent junit-summary -- "$BACKUP_DIR" >> "$GITHUB_STEP_SUMMARY"');
        expect(publish.if).toBe("always() && steps.drill.outcome != 'skipped'");
        expect(publish.env?.BACKUP_DIR).toBe(drillStep.env?.BACKUP_DIR);
        expect(publish.uses).toBeUndefined(); // no third-party action, no extra permission
        const [upload] = stepUsing(job, "actions/upload-artifact");
        expect(job.steps.indexOf(publish)).toBeGreaterThan(job.steps.indexOf(drillStep));
        expect(job.steps.indexOf(publish)).toBeLessThan(job.steps.indexOf(upload));
        expect(packageScripts()["junit-summary"]).toBe(cliScript("junit-summary"));
    });

    it("weekly drill's publish command, run as the runner runs it, appends the drill's verdict and failures to the summary", () => {
        const job = workflows["weekly-drill.yml"].jobs.drill;
        const command = job.steps.find((s) => s.run?.includes("junit-summary"))!.run!;
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "weekly-summary-"));
        try {
            // What `npm run drill` leaves in $BACKUP_DIR: drill_<env>_<id>/ with the report files.
            const id = "20261122040000";
            const start = "2026-11-22T04:00:00.000Z";
            const backupDir = path.join(tmp, "drill-artifacts");
            const artifactsDir = path.join(backupDir, `drill_prod_${id}`);
            writeStepResult(artifactsDir, id, "backup", {
                mode: "adopt", manifestPath: "m", startedAt: start, finishedAt: start, durationMs: 1000,
                manifest: { manifestVersion: 1, id: `backup_${id}`, format: "custom", root: "x", files: [], takenAt: "2026-11-22T01:00:00.000Z", takenAtSource: "snapshot", tools: {} },
            });
            writeDrillReport({
                id, env: "prod", stack: `drill-prod-${id}`, artifactsDir, startedAt: start, targets: { rtoSeconds: 7200, rpoSeconds: 86400 },
                nextDrillDays: 7, error: "restore failed: pg_restore: error: could not execute query",
            }, [], new Date("2026-11-22T04:20:00Z"));
            const summary = path.join(tmp, "step-summary.md");
            fs.writeFileSync(summary, "earlier step's summary\n");
            // The runner's shell for run: steps.
            const run = (dir: string) => spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", command], {
                cwd: ROOT, encoding: "utf8", env: { ...process.env, BACKUP_DIR: dir, GITHUB_STEP_SUMMARY: summary },
            });
            const r = run(backupDir);
            // The first run with given sources bundles the command (scripts/ensure-cli.sh reports
            // that on stderr, the step log); anything else there is a problem.
            expect(r.stderr.split("\n").filter((l) => l !== "" && !/^(ensure-cli: (?!error)|build-cli: )/.test(l))).toEqual([]);
            expect(r.status).toBe(0);
            const text = fs.readFileSync(summary, "utf8");
            expect(text.startsWith(`earlier step's summary\n### Restore drill ${id} (prod): FAIL\n`)).toBe(true);
            expect(text).toContain("- restore: **restore**: the restore step did not complete");
            expect(text).toContain("  ```text\n  restore failed: pg_restore: error: could not execute query\n  ```");
            expect(text).toContain("- validation: validation: did not run: the restore step did not complete");

            const empty = path.join(tmp, "nothing");
            fs.mkdirSync(empty);
            const none = run(empty);
            expect(none.status).toBe(1);
            expect(fs.readFileSync(summary, "utf8")).toContain("No drill JUnit result (drill_<id>.junit.xml) was found");
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("monthly rehearsal restores every bucket's newest snapshot, then this month's archive, from the Azure archive in staging", () => {
        const job = workflows["monthly-storage-restore.yml"].jobs["storage-restore"];
        expect(job.environment).toBe("staging");
        const rehearsals = job.steps.filter((s) => s.run?.includes("storage-restore-rehearsal"));
        expect(rehearsals.map((s) => s.run?.trim())).toEqual([
            "npm run storage-restore-rehearsal -- --env staging --from archive",
            "npm run storage-restore-rehearsal -- --env staging --from archive --monthly current",
        ]);
        // The archive's rehearsal runs even when the newest snapshots' failed (it says something else).
        expect(rehearsals[1].if).toBe("${{ !cancelled() }}");
        expect(rehearsals[1].env).toEqual(rehearsals[0].env);
        const step = rehearsals[0];
        expect(step?.env).toMatchObject({
            BACKUP_DIR: "${{ runner.temp }}/storage-restore",
            AZURE_STORAGE_ACCOUNT: "${{ vars.AZURE_STORAGE_ACCOUNT }}",
            AZURE_CONTAINER: "${{ vars.AZURE_CONTAINER }}",
            STORAGE_URL: "${{ vars.STORAGE_URL }}",
            SUPABASE_SERVICE_ROLE_KEY: "${{ secrets.SUPABASE_SERVICE_ROLE_KEY }}",
        });
        const [upload] = stepUsing(job, "actions/upload-artifact");
        expect(upload.with?.path).toBe(`${step?.env?.BACKUP_DIR}/`);
        expect(packageScripts()["storage-restore-rehearsal"]).toBe(cliScript("storage-restore-rehearsal"));
        expect(runs("quarterly-retention-audit.yml")).toContain("npm run retention-audit -- --env");
    });

    it("pitr-backup: backup and expire with the archive writer, check/verify/health with the reader, settings and passphrase from the stack", () => {
        const { backup, check, health } = workflows["pitr-backup.yml"].jobs;
        const role = (job: Job) => stepUsing(job, "aws-actions/configure-aws-credentials")[0].with?.["role-to-assume"];
        expect(role(backup)).toBe("${{ vars.AWS_PITR_WRITER_ROLE_ARN }}");
        expect(role(check)).toBe("${{ vars.AWS_PITR_READER_ROLE_ARN }}");
        expect(role(health)).toBe("${{ vars.AWS_PITR_READER_ROLE_ARN }}");
        const commands = (job: Job) => job.steps.filter((s) => s.run?.includes("npm run pitr")).map((s) => s.run?.trim());
        expect(commands(backup)).toEqual(['npm run pitr -- backup --type "$BACKUP_TYPE"', "npm run pitr -- expire"]);
        expect(commands(check)).toEqual(["npm run pitr -- check"]);
        expect(commands(health)).toEqual(["npm run pitr -- verify", 'npm run pitr -- health --out "$RUNNER_TEMP/pitr-health"']);
        for (const job of [backup, check, health]) {
            for (const s of job.steps.filter((x) => x.run?.includes("npm run pitr"))) {
                expect(s.env?.PITR_SETTINGS).toBe("${{ vars.PITR_SETTINGS }}");
                expect(s.env?.PITR_CIPHER_PASS).toBe("${{ secrets.PITR_CIPHER_PASS }}");
            }
        }
        // Sunday's run is the full backup; a manual run picks its type.
        expect(backup.steps.find((s) => s.run?.includes("backup --type"))?.env?.BACKUP_TYPE)
            .toBe("${{ inputs.type || (github.event.schedule == '0 2 * * 0' && 'full') || 'diff' }}");
        // Hourly runs check and judge health; backups and verify only on the daily schedules or by hand.
        const daily = "github.event_name == 'workflow_dispatch' || github.event.schedule != '15 * * * *'";
        expect(backup.if).toBe(daily);
        expect(health.steps.find((s) => s.run?.includes("pitr -- verify"))?.if).toBe(daily);
        expect(health.needs).toEqual(["backup", "check"]);
        expect(health.if).toBe("${{ !cancelled() }}");
        const [upload] = stepUsing(health, "actions/upload-artifact");
        expect(upload.if).toBe("always()");
        expect(upload.with?.path).toBe("${{ runner.temp }}/pitr-health/");
    });

    it("supabase-pitr-health: one health command per environment, token from the environment's secrets, settings and ref from its variables", () => {
        const { health } = workflows["supabase-pitr-health.yml"].jobs;
        expect(Object.keys(workflows["supabase-pitr-health.yml"].jobs)).toEqual(["health"]);
        expect(health.strategy?.matrix?.include).toEqual([
            { stage: "prod", environment: "prod-automation" },
            { stage: "staging", environment: "staging" },
        ]);
        // The Management API is reached with the token alone: no cloud role, no OIDC token.
        expect(health.permissions).toEqual({ contents: "read" });
        expect(health.steps.map((s) => s.uses?.split("@")[0] ?? s.name ?? s.run)).toEqual([
            "actions/checkout", "actions/setup-node", "npm ci --no-audit --no-fund", "hosted PITR health", "actions/upload-artifact",
        ]);
        const step = health.steps.find((s) => s.run?.includes("npm run --silent supabase-pitr"))!;
        expect(step.run).toMatch(/npm run --silent supabase-pitr -- health --project "\$SUPABASE_PROJECT_REF" --json \\\n\s+--prom "\$out\/supabase_pitr_health\.prom" \| tee "\$out\/supabase-pitr-health\.json"/);
        // The token travels in the environment only: the command line never names it.
        expect(step.run).not.toMatch(/TOKEN/);
        expect(step.env).toEqual({
            SUPABASE_PROJECT_REF: "${{ vars.SUPABASE_PROJECT_REF }}",
            SUPABASE_PITR_SETTINGS: "${{ vars.SUPABASE_PITR_SETTINGS }}",
            SUPABASE_ACCESS_TOKEN: "${{ secrets.SUPABASE_ACCESS_TOKEN }}",
        });
        expect(step.if).toBeUndefined();
        const [upload] = stepUsing(health, "actions/upload-artifact");
        expect(upload.if).toBe("always()");
        expect(upload.with?.path).toBe("${{ runner.temp }}/supabase-pitr-health/");
        expect(upload.with?.name).toBe("supabase-pitr-health-${{ matrix.stage }}-${{ github.run_id }}");
        expect(packageScripts()["supabase-pitr"]).toBe(cliScript("supabase-pitr"));
    });

    it("every `npm run X` of a workflow is a package script running the command-line entry scripts/X.ts", () => {
        const scripts = packageScripts();
        const named = new Set(files.flatMap(npmRunNames));
        expect([...named].sort()).toEqual(expect.arrayContaining(["backup", "drill", "junit-summary", "pitr", "retention-audit", "storage-restore-rehearsal", "supabase-pitr"]));
        for (const name of named) {
            expect(scripts[name], `package.json scripts.${name}`).toBe(cliScript(name));
            expect(fs.existsSync(path.join(ROOT, "scripts", `${name}.ts`)), `scripts/${name}.ts`).toBe(true);
        }
        // The runner the package scripts name, and the bundler it calls.
        for (const f of ["scripts/with-node.sh", "scripts/run-cli.sh", "scripts/ensure-cli.sh"]) expect(fs.existsSync(path.join(ROOT, f)), f).toBe(true);
    });

    it("no workflow carries a placeholder", () => {
        for (const f of files) expect(raw[f], f).not.toMatch(/PLACEHOLDER|arrives with issue|until then this workflow fails/i);
    });
});

describe("actionlint", () => {
    let actionlint = "";
    beforeAll(() => {
        if (process.env.ACTIONLINT_BIN) {
            actionlint = process.env.ACTIONLINT_BIN;
        } else {
            const r = spawnSync("bash", [path.join(ROOT, "scripts", "ensure-actionlint.sh")], { encoding: "utf8" });
            if (r.status !== 0) throw new Error(`scripts/ensure-actionlint.sh failed:\n${r.stderr}`);
            actionlint = path.join(r.stdout.trim().split("\n").pop() ?? "", "actionlint");
        }
        expect(fs.existsSync(actionlint), actionlint).toBe(true);
    }, 300_000);

    // shellcheck and pyflakes integrations are off so the result does not depend on what else the
    // machine has installed (the run: scripts were checked with shellcheck 0.9 when written).
    const lint = (targets: string[]) => {
        const r = spawnSync(actionlint, ["-format", "{{json .}}", "-shellcheck=", "-pyflakes=", ...targets], { encoding: "utf8", cwd: ROOT });
        if (r.error) throw r.error;
        return { status: r.status, errors: JSON.parse(r.stdout || "[]") as { message: string; filepath: string; line: number }[], stderr: r.stderr };
    };

    it("finds no problem in any workflow", () => {
        const r = lint(files.map((f) => path.join(DIR, f)));
        expect(r.errors.map((e) => `${e.filepath}:${e.line} ${e.message}`)).toEqual([]);
        expect(r.status).toBe(0);
    });

    it("does catch a broken workflow (bad cron, unknown action input, undefined matrix key)", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-"));
        try {
            const bad = path.join(tmp, "bad.yml");
            fs.writeFileSync(bad, [
                "on:",
                "  schedule:",
                "    - cron: \"0 25 * * *\"",
                "jobs:",
                "  x:",
                "    runs-on: ubuntu-24.04",
                "    steps:",
                "      - uses: actions/checkout@v4",
                "        with:",
                "          no-such-input: true",
                "      - run: echo \"${{ matrix.nope }}\"",
                "",
            ].join("\n"));
            const r = lint([bad]);
            expect(r.status).toBe(1);
            const messages = r.errors.map((e) => e.message).join("\n");
            expect(messages).toMatch(/invalid CRON format "0 25 \* \* \*"/);
            expect(messages).toMatch(/input "no-such-input" is not defined in action "actions\/checkout@v4"/);
            expect(messages).toMatch(/property "nope" is not defined/);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});

// The runner the workflow tests use (test/helpers/workflowSteps.ts) must decide steps as GitHub does,
// or a test passes a job GitHub would stop (or skips a step GitHub runs).
describe("GitHub step semantics of test/helpers/workflowSteps.ts", () => {
    const state = (jobFailed: boolean, steps: ConditionState["steps"] = {}, context: Record<string, string> = {}): ConditionState => ({ jobFailed, steps, context });
    const ran = (outcome: StepOutcome) => ({ outcome, conclusion: outcome });

    it("runs a step without if: only while the job succeeds; always(), failure() and !cancelled() after a failure", () => {
        expect(evaluateCondition(undefined, state(false))).toBe(true);
        expect(evaluateCondition(undefined, state(true))).toBe(false);
        expect(evaluateCondition("always()", state(true))).toBe(true);
        expect(evaluateCondition("${{ !cancelled() }}", state(true))).toBe(true);
        expect(evaluateCondition("failure()", state(true))).toBe(true);
        expect(evaluateCondition("failure()", state(false))).toBe(false);
        expect(evaluateCondition("success()", state(true))).toBe(false);
        expect(evaluateCondition("cancelled()", state(true))).toBe(false);
    });

    it("puts an implicit success() before an if: that names no status function", () => {
        const steps = { drill: ran("failure") };
        expect(evaluateCondition("steps.drill.outcome == 'failure'", state(true, steps))).toBe(false);
        expect(evaluateCondition("failure() && steps.drill.outcome == 'failure'", state(true, steps))).toBe(true);
        expect(evaluateCondition("github.event_name == 'schedule'", state(false, {}, { "github.event_name": "schedule" }))).toBe(true);
    });

    it("evaluates GitHub's operators: case-insensitive string equality, ||/&& returning operands, !, parentheses, contains()", () => {
        const ctx = { "inputs.env": "", "github.ref": "refs/heads/main" };
        expect(evaluateCondition("github.ref == 'REFS/HEADS/MAIN'", state(false, {}, ctx))).toBe(true);
        expect(evaluateCondition("(inputs.env || 'prod') == 'prod' && !contains(github.ref, 'tags')", state(false, {}, ctx))).toBe(true);
        expect(evaluateCondition("inputs.env", state(false, {}, ctx))).toBe(false);
        expect(expand("${{ (inputs.env || 'prod') == 'prod' && 'prod-automation' || 'staging' }}", { "inputs.env": "" })).toBe("prod-automation");
        expect(expand("${{ (inputs.env || 'prod') == 'prod' && 'prod-automation' || 'staging' }}", { "inputs.env": "staging" })).toBe("staging");
        expect(expand("${{ inputs.keep || false }}", { "inputs.keep": "" })).toBe("false");
        expect(expand("x-${{ runner.temp }}", { "runner.temp": "/t" })).toBe("x-/t");
    });

    it("fails on a name or a function it has no value for, naming it", () => {
        expect(() => evaluateCondition("github.event.schedule != '15 * * * *'", state(false))).toThrow(/no stand-in for github\.event\.schedule/);
        expect(() => evaluateCondition("hashFiles('x') != ''", state(false))).toThrow(/hashFiles\(\) is not supported/);
        expect(() => expand("${{ vars.NOPE }}", {})).toThrow(/no stand-in for \$\{\{ vars\.NOPE \}\}/);
        expect(() => expand("${{ always() }}", {})).toThrow(/only allowed in if:/);
    });

    it("weekly-drill.yml: the JUnit summary is published after a FAILED drill, not when the drill never ran", () => {
        const steps = workflows["weekly-drill.yml"].jobs.drill.steps;
        const publish = steps.find((s) => s.name === "Publish the drill's JUnit result as the job summary")!;
        const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact"))!;
        expect(evaluateCondition(publish.if, state(true, { drill: ran("failure") }))).toBe(true);
        expect(evaluateCondition(publish.if, state(false, { drill: ran("success") }))).toBe(true);
        // An earlier step failed, so the drill was skipped: nothing to publish; the upload still runs.
        expect(evaluateCondition(publish.if, state(true, { drill: ran("skipped") }))).toBe(false);
        expect(evaluateCondition(upload.if, state(true, { drill: ran("skipped") }))).toBe(true);
    });

    it("runJob stops at a failed step except for always()/failure() steps, honours continue-on-error and exports what a stand-in action provides", async () => {
        const job: WorkflowJob = {
            steps: [
                { uses: "acme/login@v1", with: { token: "${{ secrets.T }}" } },
                { name: "tolerated", run: "exit 3", "continue-on-error": true },
                { name: "sees the login", id: "first", run: "test \"$LOGIN\" = t0k3n" },
                { name: "fails", id: "bad", run: "echo broken; exit 1" },
                { name: "plain", run: "echo should not run" },
                { name: "on failure", if: "failure() && steps.bad.outcome == 'failure'", run: "echo cleanup" },
                { name: "only on success", if: "success()", run: "echo should not run" },
                { name: "always", if: "${{ always() }}", run: "echo always" },
            ],
        };
        const results = await runJob(job, {
            cwd: ROOT, context: { "secrets.T": "t0k3n" }, env: { PATH: process.env.PATH ?? "" },
            skippedActions: [], machineSetup: [],
            actions: { "acme/login": (inputs) => ({ LOGIN: inputs.token }) },
        });
        expect(results.map((r) => [r.step, r.skipped ? "skipped" : r.status])).toEqual([
            ["tolerated", 3], ["sees the login", 0], ["fails", 1], ["plain", "skipped"], ["on failure", 0], ["only on success", "skipped"], ["always", 0],
        ]);
        await expect(runJob({ steps: [{ uses: "acme/unknown@v1" }] }, { cwd: ROOT, context: {}, env: {}, skippedActions: [], machineSetup: [] }))
            .rejects.toThrow(/acme\/unknown@v1, which has no stand-in/);
    });
});
