// .github/workflows/pitr-backup.yml's own run: scripts, parsed from the YAML and run as the runner runs
// them, against real parts: PostgreSQL 15 with archive_mode = on, pgBackRest 2.45, and the S3 test
// server over HTTPS. The operator's one-time `npm run pitr -- setup --apply` first (printed as a dry
// run before); then the scheduled runs: Sunday's full backup, a weekday's differential backup and the
// hourly check, then the daily health job (verify + health) — all PASS, in a bucket with Object Lock.
// Then an archive in an UNLOCKED bucket (prepared meanwhile) loses a WAL segment: the health job FAILs
// naming the segment.
// Stand-ins: configure-aws-credentials' temporary keys are the S3 server's keys; the database host's
// peer authentication is the test cluster's password (PGPASSWORD).
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DeleteObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretEnvironment } from "../../lib/pitr/config";
import { waitForArchived } from "../../lib/pitr/restorePoint";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { parseOpsSettings, type OpsSettings } from "../../lib/pitrOps/settings";
import { serverSideSettings } from "../../lib/pitrOps/setup";
import { createPlainBucket, readableCaCopy } from "../helpers/pitrCluster";
import { startS3Server, type S3Server } from "../helpers/s3Server";
import { loadWorkflow, runJob, runScript, WORKFLOWS_DIR, type StepResult, type Workflow } from "../helpers/workflowSteps";

const ROOT = path.resolve(__dirname, "../..");
const FULL = "0 2 * * 0";
const DIFF = "0 2 * * 1-6";
const HOURLY = "15 * * * *";
const DAILY_OR_MANUAL = "github.event_name == 'workflow_dispatch' || github.event.schedule != '15 * * * *'";
const TYPE_EXPR = "inputs.type || (github.event.schedule == '0 2 * * 0' && 'full') || 'diff'";

let s3: S3Server;
let ca: { dir: string; caFile: string };
let workflow: Workflow;
const cipherPass = randomBytes(32).toString("base64url");
const sources: Source[] = [];

interface Source { cluster: LocalCluster; settings: OpsSettings; dir: string }

/** A server ready for archiving (wal_level, archive_mode) but not yet set up: that is setup's job. */
async function startSource(bucket: string, env: string): Promise<Source> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-pitr-wf-"));
    fs.chmodSync(dir, 0o755);
    const settingsFor = (cluster: Pick<LocalCluster, "dataDir" | "port" | "rootDir" | "user">) => parseOpsSettings({
        env,
        stanza: `${env}-db`,
        repository: { bucket, endpoint: s3.httpsEndpoint.replace("//127.0.0.1:", "//localhost:"), region: s3.region, uriStyle: "path", keyType: "shared", caFile: ca.caFile },
        cipher: "aes-256-cbc",
        retention: { full: 2, diff: 2 },
        processMax: 2,
        rpoSeconds: 300,
        maxBackupAgeHours: 26,
        server: {
            dataDir: cluster.dataDir, port: cluster.port, socketDir: cluster.rootDir, user: cluster.user,
            configFile: path.join(dir, "etc", "pgbackrest.conf"), logPath: path.join(dir, "log"), lockPath: path.join(dir, "lock"), spoolPath: path.join(dir, "spool"),
            archiveKeyType: "shared",
        },
    }, "test settings");
    // The server's environment holds archive_command's secrets, as a service unit's EnvironmentFile would.
    const probe = settingsFor({ dataDir: "/x", port: 1, rootDir: "/x", user: "postgres" });
    const cluster = await startLocalCluster({
        settings: { wal_level: "logical", archive_mode: "on", max_wal_senders: 10, max_replication_slots: 10 },
        env: secretEnvironment(serverSideSettings(probe), { s3Key: s3.accessKey, s3KeySecret: s3.secretKey, cipherPass }),
    });
    const source = { cluster, settings: settingsFor(cluster), dir };
    sources.push(source);
    return source;
}

let shimDir: string | undefined;

/** What package.json's "pitr" line is: the bundled scripts/pitr.ts, as every other command-line entry. */
const PITR_SCRIPT = "bash scripts/with-node.sh bash scripts/run-cli.sh pitr";

/**
 * `npm run pitr` is the line "pitr": "bash scripts/with-node.sh bash scripts/run-cli.sh pitr" of
 * package.json. Until that line is there, an `npm` first on PATH runs exactly that for
 * `npm run pitr -- …` (and the real npm for anything else); once it is, the real npm runs it.
 */
function npmOnPath(): string {
    const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    if (scripts.pitr !== undefined) {
        expect(scripts.pitr).toBe(PITR_SCRIPT);
        return process.env.PATH ?? "";
    }
    if (!shimDir) {
        shimDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-npm-shim-"));
        const realNpm = execFileSync("bash", ["-c", "command -v npm"], { encoding: "utf8" }).trim();
        fs.writeFileSync(path.join(shimDir, "npm"), [
            "#!/usr/bin/env bash",
            'if [ "$1" = run ] && [ "$2" = pitr ]; then',
            "  shift 2; [ \"$1\" = -- ] && shift",
            `  cd ${JSON.stringify(ROOT)} && exec ${PITR_SCRIPT} "$@"`,
            "fi",
            `exec ${JSON.stringify(realNpm)} "$@"`,
            "",
        ].join("\n"), { mode: 0o755 });
    }
    return [shimDir, process.env.PATH ?? ""].join(path.delimiter);
}

/** stderr without the bundler's progress lines (the first run with given sources builds the bundle). */
const problems = (r: StepResult) => r.stderr.split("\n").filter((l) => l !== "" && !/^(ensure-cli: (?!error)|build-cli: )/.test(l));

function baseEnv(src: Source, runnerTemp: string): Record<string, string> {
    return {
        PATH: npmOnPath(), HOME: process.env.HOME ?? "", RUNNER_TEMP: runnerTemp,
        AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey,
        PGPASSWORD: src.cluster.password,
    };
}

async function runWorkflowJob(src: Source, jobId: string, schedule: string): Promise<{ results: StepResult[]; temp: string }> {
    const job = workflow.jobs[jobId];
    const temp = fs.mkdtempSync(path.join(src.dir, "runner-"));
    const context: Record<string, string> = {
        "vars.PITR_SETTINGS": JSON.stringify(src.settings),
        "secrets.PITR_CIPHER_PASS": cipherPass,
        [TYPE_EXPR]: schedule === FULL ? "full" : "diff",
    };
    const conditions = { [DAILY_OR_MANUAL]: schedule !== HOURLY, "!cancelled()": true, "always()": true };
    const results = await runJob(job, {
        cwd: ROOT, context, conditions, env: baseEnv(src, temp),
        skippedActions: ["actions/checkout", "actions/setup-node", "aws-actions/configure-aws-credentials", "actions/upload-artifact"],
        machineSetup: ["npm ci --no-audit --no-fund"],
    });
    for (const r of results) for (const text of [r.stdout, r.stderr]) {
        expect(text).not.toContain(cipherPass);
        expect(text).not.toContain(s3.secretKey);
        expect(text).not.toContain(src.cluster.password);
    }
    return { results, temp };
}

const failures = (results: StepResult[]) => results.filter((r) => !r.skipped && r.status !== 0).map((r) => `${r.step} exit ${r.status}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);

async function pitrCli(src: Source, args: string[], extra: Record<string, string> = {}): Promise<StepResult> {
    const settingsFile = path.join(src.dir, "settings.json");
    fs.writeFileSync(settingsFile, JSON.stringify(src.settings));
    return runScript(`${PITR_SCRIPT} ${args.join(" ")} --settings "${settingsFile}"`, { ...baseEnv(src, src.dir), PITR_CIPHER_PASS: cipherPass, ...extra }, ROOT);
}

/**
 * The second archive, in an UNLOCKED bucket (Object Lock would refuse the deletion): set up, a full
 * backup by the workflow's job, four switched segments, then one segment in the middle deleted.
 * Returns the source and the missing segment's name.
 */
async function prepareGapArchive(): Promise<{ src: Source; name: string }> {
    const bucket = "pitr-wf-plain";
    await createPlainBucket(s3, bucket);
    const src = await startSource(bucket, "wfgap");
    const setup = await pitrCli(src, ["setup", "--apply"], { PITR_DB_URL: src.cluster.url() });
    expect(setup.status, setup.stderr).toBe(0);
    const full = await runWorkflowJob(src, "backup", FULL);
    expect(failures(full.results)).toEqual([]);
    await withClient(src.cluster.url(), "source", async (c) => {
        await c.query("create table t(g int)");
        for (let i = 0; i < 4; i++) {
            await c.query("insert into t select generate_series(1, 100)");
            await c.query("select pg_switch_wal()");
        }
        await waitForArchived(c, (await c.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0].lsn);
    });
    const listed = await s3.s3Client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "pitr/wfgap/archive/wfgap-db/15-1/" }));
    const segments = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => /\/[0-9A-F]{24}-[0-9a-f]{40}/.test(k)).sort();
    expect(segments.length).toBeGreaterThan(4);
    const victim = segments[segments.length - 3];
    await s3.s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: victim }));
    return { src, name: path.basename(victim).split("-")[0] };
}

// Prepared while the locked vault's runs go on (they mostly wait on checkpoints, archiving and S3):
// the two archives share nothing but the S3 server. Its test awaits it (and sees its failure).
let gapArchive: Promise<{ src: Source; name: string }>;

beforeAll(async () => {
    workflow = loadWorkflow(path.join(WORKFLOWS_DIR, "pitr-backup.yml"));
    s3 = await startS3Server();
    ca = readableCaCopy(s3);
    gapArchive = prepareGapArchive();
    gapArchive.catch(() => undefined);
}, 120_000);

afterAll(async () => {
    await gapArchive?.catch(() => undefined);
    for (const s of sources) {
        await s.cluster.stop();
        fs.rmSync(s.dir, { recursive: true, force: true });
    }
    if (ca) fs.rmSync(ca.dir, { recursive: true, force: true });
    if (shimDir) fs.rmSync(shimDir, { recursive: true, force: true });
    await s3?.stop();
});

describe("pitr-backup.yml on an Object-Locked vault", () => {
    let src: Source;

    it("setup prints the server's settings as a dry run and changes nothing", async () => {
        await s3.createLockedBucket("pitr-wf-vault", "COMPLIANCE", 1);
        src = await startSource("pitr-wf-vault", "wfvault");
        const r = await pitrCli(src, ["setup"]);
        expect(problems(r)).toEqual([]);
        expect(r.status).toBe(0);
        expect(r.stdout).toContain("archive_mode = 'on'");
        expect(r.stdout).toContain(`archive_command = 'pgbackrest --config=${src.settings.server.configFile} --stanza=wfvault-db archive-push %p'`);
        expect(r.stdout).toContain("repo1-path=/pitr/wfvault");
        expect(r.stdout).toContain("PGBACKREST_REPO1_CIPHER_PASS=…");
        expect(fs.existsSync(src.settings.server.configFile)).toBe(false);
        // archive_mode is on (the server was started ready for archiving); archive_command is still unset.
        const command = await withClient(src.cluster.url(), "source", async (c) => (await c.query<{ s: string }>("select current_setting('archive_command') as s")).rows[0].s);
        expect(command).toBe("");
    });

    it("setup --apply refuses a server that is not the settings' one", async () => {
        const other = { ...src, settings: { ...src.settings, server: { ...src.settings.server, port: src.settings.server.port + 1 } } };
        const r = await pitrCli(other, ["setup", "--apply"], { PITR_DB_URL: src.cluster.url() });
        expect(r.status).toBe(3); // refused for safety (lib/errors.ts)
        expect(r.stderr).toMatch(/refusing to set up PITR_DB_URL's server: it runs data directory .* on port \d+, the settings name server\.dataDir .* and server\.port \d+/);
        expect(fs.existsSync(src.settings.server.configFile)).toBe(false);
    });

    it("setup --apply on PITR_DB_URL's server: config file, archive_command, stanza, check", async () => {
        const r = await pitrCli(src, ["setup", "--apply"], { PITR_DB_URL: src.cluster.url() });
        expect(problems(r)).toEqual([]);
        expect(r.status).toBe(0);
        expect(r.stdout).toContain("stanza wfvault-db created; pgbackrest check passed");
        const text = fs.readFileSync(src.settings.server.configFile, "utf8");
        expect(text).toContain("[wfvault-db]");
        expect(text).not.toContain(cipherPass);
        expect(text).not.toContain(s3.secretKey);
    });

    it("Sunday: full backup and expire; a weekday: differential backup and expire; hourly check — all pass", async () => {
        await withClient(src.cluster.url(), "source", (c) => c.query("create table t as select g from generate_series(1, 20000) g"));
        const full = await runWorkflowJob(src, "backup", FULL);
        expect(failures(full.results)).toEqual([]);
        expect(full.results.map((r) => r.step)).toEqual(["pgbackrest backup", "pgbackrest expire"]);
        expect(full.results[0].stdout).toMatch(/backup: full backup \d{8}-\d{6}F of stanza wfvault-db done/);
        expect(full.results[1].stdout).toContain("expire: no backup beyond retention");

        await withClient(src.cluster.url(), "source", (c) => c.query("insert into t select g from generate_series(1, 5000) g"));
        const diff = await runWorkflowJob(src, "backup", DIFF);
        expect(failures(diff.results)).toEqual([]);
        expect(diff.results[0].stdout).toMatch(/backup: diff backup \d{8}-\d{6}F_\d{8}-\d{6}D of stanza wfvault-db done/);

        const check = await runWorkflowJob(src, "check", HOURLY);
        expect(failures(check.results)).toEqual([]);
        expect(check.results.map((r) => r.step)).toEqual(["pgbackrest check"]);
    });

    it("the daily health job: install check, verify PASS, health PASS with its JSON and Prometheus textfile", async () => {
        const { results, temp } = await runWorkflowJob(src, "health", DIFF);
        expect(failures(results)).toEqual([]);
        expect(results.map((r) => r.step)).toEqual(["pgBackRest", "pgbackrest verify", "archive health"]);
        expect(results[0].stdout).toMatch(/pgBackRest 2\.\d+/);
        expect(results[1].stdout).toContain("verify: stanza wfvault-db: PASS");
        expect(results[2].stdout).toMatch(/pitr health wfvault\/wfvault-db: PASS — newest WAL [0-9A-F]{24} \d+ s old \(RPO 300 s\)/);
        const json = JSON.parse(fs.readFileSync(path.join(temp, "pitr-health", "pitr-health-wfvault.json"), "utf8")) as { status: string; gaps: unknown[]; newestBackup: { type: string } };
        expect(json.status).toBe("PASS");
        expect(json.gaps).toEqual([]);
        expect(json.newestBackup.type).toBe("diff");
        const prom = fs.readFileSync(path.join(temp, "pitr-health", "pitr-health-wfvault.prom"), "utf8");
        expect(prom).toContain('supabase_dr_pitr_health_ok{env="wfvault",stanza="wfvault-db"} 1');
        expect(prom).toContain('supabase_dr_pitr_wal_missing_segments{env="wfvault",stanza="wfvault-db"} 0');
    });
});

describe("pitr-backup.yml's health job on an archive with a missing WAL segment", () => {
    it("FAILs, naming the segment, and the textfile says so", async () => {
        const { src, name } = await gapArchive;
        const { results, temp } = await runWorkflowJob(src, "health", HOURLY);
        expect(results.map((r) => [r.step, r.skipped === true])).toEqual([["pgBackRest", false], ["pgbackrest verify", true], ["archive health", false]]);
        const health = results[2];
        expect(health.status).toBe(1);
        expect(health.stdout).toContain(`pitr health wfgap/wfgap-db: FAIL`);
        expect(health.stdout).toContain(`WAL segment ${name} is missing from the archive`);
        const prom = fs.readFileSync(path.join(temp, "pitr-health", "pitr-health-wfgap.prom"), "utf8");
        expect(prom).toContain('supabase_dr_pitr_health_ok{env="wfgap",stanza="wfgap-db"} 0');
        expect(prom).toContain('supabase_dr_pitr_wal_missing_segments{env="wfgap",stanza="wfgap-db"} 1');
    });
});
