// The scheduled chain, rehearsed over a simulated calendar of 40 days (REHEARSAL_DAYS, default 40) by
// running the workflows' own steps (parsed from .github/workflows/*.yml) with GitHub's step semantics
// (test/helpers/workflowSteps.ts: `if:`, a failed step stops the job), expressions replaced by local
// stand-ins, each `run:` script run by bash with the step's env as the runner does. A workflow cannot
// drift from what is tested.
//
// The vault is the Object-Lock S3 test server (Versity Gateway, over HTTPS with its own CA): one bucket
// per environment, locked as Pulumi.<env>.yaml says (prod COMPLIANCE, staging GOVERNANCE), reached
// through the principals the workflows assume — configure-aws-credentials' stand-in hands each job the
// keys of a gateway user whose bucket-policy grants are the S3 statements of the project's own role
// policies (lib/vault/policies.ts: backup writer, drill reader, retention auditor). Root never acts
// for a job.
//
// Lifecycle: the gateway applies none, so the rules the BackupVault component declares
// (vaultLifecycleRules of the stack file's settings) run in LifecycleModel, fed every version the
// server holds with the calendar time of the job that put it; what the model does to a current
// version, the rehearsal does on the server the way S3 lifecycle does it: a DeleteObject without a
// version id (a delete marker; allowed under a lock). Removing noncurrent versions cannot be done on
// the server: their locks run on the real clock and hold for weeks yet; the model counts them, and
// the audit must count them on the server.
//
// Clocks. The calendar runs FORWARD from the next 01:00 UTC (day 1; day 40 is 39 days later), so
// every retain-until a job computes from NOW lies in the future for the server, which enforces it on
// the real clock, and is at least as long after the put's real LastModified as the stack says. Jobs
// get the calendar time as NOW (keys, locks, lifecycle, audit). The source database
// has the real clock, so a backup's capture time (takenAt) is real, and a drill's RPO (drill start −
// capture time) is measured on that real clock. The freshness check compares its NOW with takenAt, so
// its NOW is the calendar time translated onto the source's clock through the last night the schedule
// ran: real start of that nightly + (calendar time − that night's 01:00). The age it finds is then the
// calendar age of the newest backup, which is what a real 07:00 check would see.
//
// Covered: nightly-backup.yml (both matrix stages, database + every bucket + Azure mirror) each night
// but one — the missed night; backup-freshness.yml at 07:00 on the first day, the days around the missed
// night and the last day (FRESH, the healthcheck pinged;
// after the missed night STALE, exit 1, the webhook alarmed); weekly-drill.yml every Sunday at 04:00
// and after the last night (the prod stack file's drill adopts the newest vault backup, read by the
// drill reader, through the real Pulumi engine); monthly-storage-restore.yml on each 1st;
// quarterly-retention-audit.yml after the last night, as the retention auditor: the S3 vault PASSes
// for both environments; the Azure archive (Azurite's blobs, its container policy served by an ARM
// stand-in as each stack deploys it — Unlocked in both stack files) FAILs prod's audit, and once prod's
// policy is Locked the audit PASSes for both.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import type { AddressInfo } from "node:net";
import * as yaml from "js-yaml";
import { DeleteObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveVaultSettings } from "../../components/BackupVault";
import { dailyRetainUntil, monthlyRetainUntil } from "../../lib/backupJob/plan";
import { readStackFile } from "../../lib/infra/stackFile";
import { ensureEngine } from "../../lib/pulumi/engine";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { entriesOutside, monthlyManifestKey, parseManifest, type StorageManifest } from "../../lib/storage/manifest";
import { readText } from "../../lib/storage/snapshot";
import { AzureBlobStore } from "../../lib/vault/azureStore";
import { dayPath, environmentPrefixes } from "../../lib/vault/keys";
import { LifecycleModel, vaultLifecycleRules } from "../../lib/vault/lifecycle";
import { readerPolicy, retentionAuditorPolicy, writerPolicy, type PolicyDocument, type PolicyStatement } from "../../lib/vault/policies";
import { S3Store } from "../../lib/vault/s3Store";
import { startAzurite, type Azurite } from "../helpers/azurite";
import { fakeAzCli, startFakeAzureArm, type FakeAzureArm } from "../helpers/fakeAzureArm";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { createSampleData } from "../helpers/sampleData";
import { startS3Server, type S3Server, type S3User } from "../helpers/s3Server";
import { expand, loadWorkflow, runJob, WORKFLOWS_DIR, type StepResult } from "../helpers/workflowSteps";

const ROOT = path.resolve(__dirname, "../..");
const DAYS = Number(process.env.REHEARSAL_DAYS || 40);
if (!Number.isInteger(DAYS) || DAYS < 4) throw new Error(`REHEARSAL_DAYS must be a whole number ≥ 4 (got ${JSON.stringify(process.env.REHEARSAL_DAYS)})`);
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const PASSPHRASE = "rehearsal-state-passphrase";
const ACCOUNT = "111122223333"; // a made-up AWS account: the ARNs only have to be well-formed
const ENVS = ["prod", "staging"] as const;
type Env = (typeof ENVS)[number];

// Day 1 is the day of the next 01:00 UTC (today, or tomorrow once 01:00 has passed); day n at `hour`
// UTC is that day + (n − 1) days. Never earlier: a lock computed from a NOW before the real put would
// be shorter than its length after the put's LastModified, and the audit rightly fails such a lock.
const day1 = Math.ceil((Date.now() - HOUR_MS) / DAY_MS) * DAY_MS;
const dayAt = (n: number, hour = 1) => new Date(day1 + (n - 1) * DAY_MS + hour * HOUR_MS);

/** The night the schedule skips: late enough for a week of history, never a 1st (monthly archives) nor a Sunday (drill). */
function missedNight(): number {
    for (let d = Math.min(18, DAYS - 1); d >= 2; d--) if (dayAt(d).getUTCDate() !== 1 && dayAt(d).getUTCDay() !== 0) return d;
    throw new Error(`no day of ${DAYS} can be the missed night`);
}
const MISSED = missedNight();
// The 07:00 freshness check runs on the days that can tell something (every day would cost ~90 s of
// the suite for 35 more FRESH answers): the first, the days around the missed night, the last.
const FRESHNESS_DAYS = new Set([1, MISSED - 1, MISSED, MISSED + 1, DAYS]);

// `uses:` steps that need GitHub or a cloud login, and what stands in for them: checkout is this work
// tree, node and its modules are installed, pulumi/actions' CLI is the engine the test run built
// (globalSetup), azure/login's session is Azurite's public development account, upload-artifact keeps
// the files where they are. configure-aws-credentials is replaced below: it exports the keys of the
// role the step names.
const SKIPPED_ACTIONS = ["actions/checkout", "actions/setup-node", "azure/login", "pulumi/actions", "actions/upload-artifact"];
// `run:` steps that install the machine (dependencies are in node_modules; PostgreSQL client tools are
// installed here). Matched by their exact text, so a changed install step fails this test.
const MACHINE_SETUP = [
    "npm ci --no-audit --no-fund",
    "sudo apt-get update -qq\nsudo apt-get install -y -qq postgresql-common\nsudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y\nsudo apt-get install -y -qq postgresql-client-17\n",
];

type Role = "writer" | "reader" | "auditor";
const ROLE_VARS: Record<string, Role> = {
    "vars.AWS_BACKUP_WRITER_ROLE_ARN": "writer",
    "vars.AWS_DRILL_READER_ROLE_ARN": "reader",
    "vars.AWS_RETENTION_AUDITOR_ROLE_ARN": "auditor",
};
const roleArn = (env: Env, role: Role) => `arn:aws:iam::${ACCOUNT}:role/supabase-dr-${role}-${env}`;

interface Version { key: string; versionId: string; lastModified: Date; isLatest: boolean }

/** One environment's vault: its bucket on the server, its stack's settings, its principals, its lifecycle model. */
interface EnvVault {
    env: Env;
    /** The GitHub environment whose variables name this vault (the stack file's github.environment). */
    githubEnvironment: string;
    bucket: string;
    settings: ReturnType<typeof resolveVaultSettings>;
    model: LifecycleModel;
    users: Record<Role, S3User>;
    /** Server version ids (data and delete markers) the rehearsal has accounted for → "key model-id". */
    known: Map<string, string>;
    /** "key model-id" of versions and markers the model removed that the server still holds (their locks run on the real clock). */
    removedByModel: Set<string>;
    /** Current storage manifests already verified byte by byte (key → entries' keys). */
    manifests: Map<string, string[]>;
}

let pg: LocalCluster;
let azurite: Azurite;
let api: FakeStorageApi;
let s3: S3Server;
let root: S3Client;
let receiver: { url: string; calls: { path: string; body: string; day: number }[]; close: () => Promise<void> };
// Azure Resource Manager for the quarterly audit's read of the archive's immutability policy, and the
// `az` the workflow's azure/login session would give (tokens only).
let arm: FakeAzureArm;
let azBin: string;
const AZURE_SUBSCRIPTION = "00000000-0000-0000-0000-00000000cafe";
const resourceGroupOf = (env: string) => `supabase-dr-${env}-archive`;
let work: string;
let pulumiBin: string;
let currentDay = 0;
const vaults = {} as Record<Env, EnvVault>;
const log: { day: number; workflow: string; job: string; step: string; status: number | null }[] = [];
// The last night the schedule ran: its calendar time and the real time its nightly started.
let lastNight: { calendar: Date; real: number } | undefined;

const vaultOf = (githubEnvironment: string): EnvVault => {
    const v = ENVS.map((e) => vaults[e]).find((x) => x.githubEnvironment === githubEnvironment);
    if (!v) throw new Error(`no vault for the GitHub environment ${JSON.stringify(githubEnvironment)}`);
    return v;
};

/**
 * The roles' S3 grants as the bucket's policy, each statement for that role's user: the gateway's IAM
 * has no identity policies. KMS statements are left out (the gateway has no KMS). Statements that are
 * the same for two roles become one with both principals, and Sids are dropped: the gateway keeps a
 * bucket's policy in an extended attribute, which ext4 limits to about 4 KB.
 */
function bucketPolicy(v: EnvVault): { Version: string; Statement: object[] } {
    const input = { bucketArn: `arn:aws:s3:::${v.bucket}`, kmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/rehearsal`, environment: v.env };
    const roles: [Role, PolicyDocument][] = [["writer", writerPolicy(input)], ["reader", readerPolicy(input)], ["auditor", retentionAuditorPolicy(input)]];
    const statements = new Map<string, Omit<PolicyStatement, "Sid" | "Principal"> & { Principal: { AWS: string[] } }>();
    for (const [role, doc] of roles) {
        for (const { Sid: _sid, Principal: _principal, ...grant } of doc.Statement) {
            if (![grant.Action].flat().every((a) => a.startsWith("s3:"))) continue;
            const same = JSON.stringify(grant);
            const s = statements.get(same) ?? { ...grant, Principal: { AWS: [] } };
            s.Principal.AWS.push(v.users[role].accessKeyId);
            statements.set(same, s);
        }
    }
    const policy = { Version: "2012-10-17", Statement: [...statements.values()] };
    const bytes = JSON.stringify(policy).length;
    if (bytes > 3600) throw new Error(`${v.bucket}'s bucket policy is ${bytes} bytes: the test server stores it in an extended attribute (ext4: about 4 KB with the bucket's other attributes)`);
    return policy;
}

async function createVault(env: Env): Promise<EnvVault> {
    const stack = readStackFile(ROOT, env);
    if (!stack?.github) throw new Error(`Pulumi.${env}.yaml has no supabase-dr:github section (the GitHub environment its jobs run in)`);
    const settings = resolveVaultSettings({ environment: stack.environment, ...stack.aws });
    const users = { writer: await s3.createUser(`writer${env}`), reader: await s3.createUser(`reader${env}`), auditor: await s3.createUser(`auditor${env}`) };
    const v: EnvVault = {
        env,
        githubEnvironment: stack.github.environment,
        // The stack's own bucket name where it names one (prod), else a short stand-in for Pulumi's auto-name.
        bucket: stack.aws.bucketName ?? `vault-${env}`,
        settings,
        model: new LifecycleModel(vaultLifecycleRules(settings)),
        users,
        known: new Map(),
        removedByModel: new Set(),
        manifests: new Map(),
    };
    await s3.createLockedBucket(v.bucket, settings.objectLockMode, settings.retentionDays);
    await s3.putBucketPolicy(v.bucket, bucketPolicy(v));
    return v;
}

async function listVersions(bucket: string): Promise<{ versions: Version[]; markers: Version[] }> {
    const versions: Version[] = [];
    const markers: Version[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    const seen = new Set<string>();
    do {
        const page = await root.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
        // The gateway (v1.8.0) can list the entry a page ended on again at the top of the next page
        // (seen with a delete marker there): each version id counts once.
        for (const x of page.Versions ?? []) if (!seen.has(x.VersionId!)) versions.push({ key: x.Key!, versionId: x.VersionId!, lastModified: x.LastModified!, isLatest: !!x.IsLatest });
        for (const x of page.DeleteMarkers ?? []) if (!seen.has(x.VersionId!)) markers.push({ key: x.Key!, versionId: x.VersionId!, lastModified: x.LastModified!, isLatest: !!x.IsLatest });
        for (const x of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) seen.add(x.VersionId!);
        [keyMarker, versionMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextVersionIdMarker] : [undefined, undefined];
    } while (keyMarker !== undefined);
    return { versions, markers };
}

async function currentKeys(bucket: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
        const page = await root.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const o of page.Contents ?? []) keys.push(o.Key!);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
}

/**
 * After a night: every version the server gained goes into the model at the job's calendar time, and
 * its lock must be what the stack file says (mode; retention days for daily objects, monthly months
 * for monthly archives, both counted from the job's NOW). Nothing but the lifecycle adds delete markers.
 */
async function recordNight(v: EnvVault, night: Date): Promise<number> {
    const { versions, markers } = await listVersions(v.bucket);
    for (const m of markers) expect(v.known.has(m.versionId), `${v.bucket}: a delete marker on ${m.key} that the lifecycle did not add`).toBe(true);
    const fresh = versions.filter((x) => !v.known.has(x.versionId)).sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime() || a.key.localeCompare(b.key));
    for (const x of fresh) {
        const h = await root.send(new HeadObjectCommand({ Bucket: v.bucket, Key: x.key, VersionId: x.versionId }));
        const monthly = x.key.startsWith("monthly/");
        const until = monthly ? monthlyRetainUntil(night, v.settings.monthlyArchiveMonths) : dailyRetainUntil(night, v.settings.retentionDays);
        expect({ key: x.key, mode: h.ObjectLockMode, until: h.ObjectLockRetainUntilDate?.toISOString() }, `${v.bucket}: the lock of ${x.key} against Pulumi.${v.env}.yaml`)
            .toEqual({ key: x.key, mode: v.settings.objectLockMode, until: until.toISOString() });
        v.known.set(x.versionId, `${x.key} ${v.model.put(x.key, night, h.ObjectLockRetainUntilDate).versionId}`);
    }
    expectVersionsMatchModel(v, versions, markers, night.toISOString());
    return fresh.length;
}

/**
 * Every version and delete marker on the server is one the model has, or had and removed (S3 would
 * remove it once its lock lapses on the real clock): matched one to one by id.
 */
function expectVersionsMatchModel(v: EnvVault, versions: Version[], markers: Version[], where: string): void {
    const modelIds = [...v.model.allKeys().flatMap((k) => v.model.versions(k).map((x) => `${k} ${x.versionId}`)), ...v.removedByModel].sort();
    const serverIds = [...versions, ...markers].map((x) => v.known.get(x.versionId) ?? `${x.key} unknown server version ${x.versionId}`).sort();
    expect(serverIds, `${where}: ${v.bucket}'s versions and delete markers against the lifecycle model's`).toEqual(modelIds);
}

/** S3's lifecycle up to `until`: delete markers on the server as the rules add them; removals counted. */
async function applyLifecycle(v: EnvVault, until: Date): Promise<void> {
    for (const e of v.model.advanceTo(until)) {
        if (e.kind === "delete-marker") {
            const out = await root.send(new DeleteObjectCommand({ Bucket: v.bucket, Key: e.key }));
            expect(out.DeleteMarker, `${v.bucket}: a plain DELETE of ${e.key} (rule ${e.rule}) added a delete marker`).toBe(true);
            // The event names the version it made noncurrent; the marker is the one the model added at that time.
            const marker = v.model.versions(e.key).find((x) => x.deleteMarker && x.created.getTime() === e.at.getTime());
            if (!marker) throw new Error(`the lifecycle model has no delete marker of ${e.key} at ${e.at.toISOString()}`);
            v.known.set(out.VersionId!, `${e.key} ${marker.versionId}`);
        } else v.removedByModel.add(`${e.key} ${e.versionId}`);
    }
}

/** What a plain GET finds on the server is exactly what the model says is current. */
async function expectModelMatchesServer(v: EnvVault, where: string): Promise<string[]> {
    const server = await currentKeys(v.bucket);
    const model = v.model.allKeys().filter((k) => v.model.current(k));
    expect(server, `${where}: ${v.bucket}'s current objects against the lifecycle model`).toEqual(model);
    return server;
}

/** The drill reader's view of the vault, over HTTPS. */
const readerStore = (v: EnvVault) => new S3Store({ bucket: v.bucket, client: s3.clientFor(v.users.reader, { https: true }) });

async function expectRestorable(store: S3Store, manifest: StorageManifest, live: Map<string, Buffer> | undefined, where: string): Promise<void> {
    await Promise.all(manifest.objects.map(async (e) => {
        const chunks: Buffer[] = [];
        for await (const c of await store.get(e.vaultKey)) chunks.push(c as Buffer);
        expect(sha(Buffer.concat(chunks)), `${where}: ${e.key}`).toBe(e.sha256);
        if (live) expect(e.sha256, `${where}: ${e.key} against the live object`).toBe(sha(live.get(e.key)!));
    }));
    if (live) expect(manifest.objects.map((o) => o.key).sort()).toEqual([...live.keys()].sort());
}

/**
 * Every storage snapshot a plain GET still finds restores: new manifests are read back object by object
 * (reader, HTTPS); for all of them, every object they name is still current. No manifest outlives its objects.
 */
async function expectSnapshotsRestorable(v: EnvVault, current: string[], where: string): Promise<void> {
    const present = new Set(current);
    const store = readerStore(v);
    for (const key of current) {
        if (!key.endsWith("/manifest.json") || !(key.startsWith("storage/") || key.startsWith("monthly/storage/"))) continue;
        if (!v.manifests.has(key)) {
            const m = parseManifest(await readText(store, key), key);
            await expectRestorable(store, m, undefined, `${where} ${key}`);
            v.manifests.set(key, m.objects.map((e) => e.vaultKey));
        }
        const gone = v.manifests.get(key)!.filter((k) => !present.has(k));
        expect(gone, `${where}: ${key} names objects the lifecycle already hid`).toEqual([]);
    }
}

interface StepRun extends StepResult { workflow: string; job: string; matrix: Record<string, string>; temp: string }

/** The run's own values (matrix, runner, github.*, inputs); environmentContext adds the environment's. */
function contextFor(runnerTemp: string, matrix: Record<string, string>): Record<string, string> {
    return {
        ...Object.fromEntries(Object.entries(matrix).map(([k, val]) => [`matrix.${k}`, val])),
        "runner.temp": runnerTemp,
        "github.run_id": String(1000 + currentDay),
        "github.run_attempt": "1",
        // Scheduled runs have no inputs.
        "inputs.env": "",
        "inputs.keep": "",
    };
}

/** The variables and secrets of the GitHub environment whose vault is `v`. */
function environmentContext(v: EnvVault, base: Record<string, string>): Record<string, string> {
    return {
        ...base,
        "vars.BACKUP_BUCKET": v.bucket,
        "vars.AWS_REGION": s3.region,
        ...Object.fromEntries(Object.entries(ROLE_VARS).map(([name, role]) => [name, roleArn(v.env, role)])),
        "vars.AZURE_STORAGE_ACCOUNT": "devstoreaccount1",
        "vars.AZURE_CONTAINER": "archive",
        "vars.AZURE_CLIENT_ID": "11111111-1111-1111-1111-111111111111",
        "vars.AZURE_TENANT_ID": "22222222-2222-2222-2222-222222222222",
        "vars.AZURE_SUBSCRIPTION_ID": AZURE_SUBSCRIPTION,
        // Each stack's ArchiveVault has its own resource group; here both share Azurite's one container.
        "vars.AZURE_RESOURCE_GROUP": resourceGroupOf(v.env),
        "vars.STORAGE_URL": api.url,
        "vars.STORAGE_BUCKETS": "",
        "secrets.SOURCE_DB_URL": pg.url(),
        "secrets.SUPABASE_SERVICE_ROLE_KEY": api.serviceKey,
        // The drill's own cluster (no TARGET_DB_URL), no smoke API.
        "vars.DRILL_BACKEND_URL": `file://${path.join(work, "drill-state")}`,
        "vars.TARGET_API_URL": "",
        "secrets.TARGET_DB_URL": "",
        "secrets.API_BEARER_TOKEN": "",
        "secrets.MASKING_SALT": "",
        "secrets.PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "secrets.ALERT_WEBHOOK_URL": `${receiver.url}/alert/${v.env}`,
        "secrets.FRESHNESS_HEALTHCHECK_URL": `${receiver.url}/ping/${v.env}`,
    };
}

/** configure-aws-credentials: the keys of the user standing in for the role the step assumes. */
function assumeRole(inputs: Record<string, string>): Record<string, string> {
    for (const v of ENVS.map((e) => vaults[e])) {
        for (const role of Object.values(ROLE_VARS)) {
            if (inputs["role-to-assume"] !== roleArn(v.env, role)) continue;
            const u = v.users[role];
            return { AWS_ACCESS_KEY_ID: u.accessKeyId, AWS_SECRET_ACCESS_KEY: u.secretAccessKey, AWS_REGION: inputs["aws-region"], AWS_DEFAULT_REGION: inputs["aws-region"] };
        }
    }
    throw new Error(`configure-aws-credentials: no stand-in for the role ${JSON.stringify(inputs["role-to-assume"])}`);
}

const secretsInPlay = () => [pg.password, api.serviceKey, s3.secretKey, receiver.url, ...ENVS.flatMap((e) => Object.values(vaults[e].users).map((u) => u.secretAccessKey))];

/**
 * Runs every job (each matrix entry) of a workflow at calendar time `at` as the runner would. `now`
 * is the NOW the steps get (default `at`). Returns failures: run steps whose exit status, or skip, is
 * not the expected one (exit 0 unless `expectStatus` says otherwise for the step's name).
 */
async function runWorkflow(file: string, at: Date, opts: { now?: Date; expectStatus?: (step: string, matrix: Record<string, string>) => number | "skipped" } = {}): Promise<{ failures: string[]; runs: StepRun[] }> {
    const failures: string[] = [];
    const runs: StepRun[] = [];
    const wf = loadWorkflow(path.join(WORKFLOWS_DIR, file)) as ReturnType<typeof loadWorkflow> & { jobs: Record<string, { environment?: string }> };
    for (const [jobId, job] of Object.entries(wf.jobs)) {
        for (const matrix of job.strategy?.matrix?.include ?? [{}]) {
            const temp = fs.mkdtempSync(path.join(work, "runner-"));
            const base = contextFor(temp, matrix);
            if (!job.environment) throw new Error(`${file}:${jobId} names no GitHub environment: its variables would be the repository's`);
            const context = environmentContext(vaultOf(expand(job.environment, base)), base);
            const summary = path.join(temp, "step-summary.md");
            fs.writeFileSync(summary, "");
            const results = await runJob(job, {
                cwd: ROOT,
                context,
                env: {
                    PATH: [azBin, pulumiBin, process.env.PATH ?? ""].join(path.delimiter), HOME: process.env.HOME ?? "", RUNNER_TEMP: temp,
                    AZURE_ARM_ENDPOINT: arm.endpoint,
                    NOW: (opts.now ?? at).toISOString(), GITHUB_STEP_SUMMARY: summary,
                    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
                    // The vault's endpoint over TLS, trusting the test server's CA as runners trust AWS's.
                    S3_ENDPOINT: s3.httpsEndpoint, NODE_EXTRA_CA_CERTS: s3.caFile,
                },
                skippedActions: SKIPPED_ACTIONS,
                actions: { "aws-actions/configure-aws-credentials": assumeRole },
                machineSetup: MACHINE_SETUP,
                timeoutMs: 600_000,
            });
            for (const r of results) {
                log.push({ day: currentDay, workflow: file, job: jobId, step: r.step, status: r.status });
                runs.push({ ...r, workflow: file, job: jobId, matrix, temp });
                const want = opts.expectStatus?.(r.step, matrix) ?? 0;
                const got = r.skipped ? "skipped" : r.status;
                if (got !== want) failures.push(`${file}:${jobId} ${JSON.stringify(matrix)} day ${currentDay} "${r.step}" ${got === "skipped" ? "skipped" : `exit ${got}`}, expected ${want}\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-6000)}`);
                for (const out of [r.stdout, r.stderr]) for (const secret of secretsInPlay()) expect(out.includes(secret), `${file} "${r.step}" printed a secret`).toBe(false);
            }
        }
    }
    return { failures, runs };
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

/** The newest database backup manifest of prod in the vault (what a drill must adopt). */
async function newestProdManifest(): Promise<{ key: string; takenAt: string }> {
    const store = readerStore(vaults.prod);
    let newest: string | undefined;
    for await (const o of store.list("db/prod/")) if (o.key.endsWith(".manifest.json") && (!newest || o.key > newest)) newest = o.key;
    expect(newest, "a database backup of prod in the vault").toBeDefined();
    const m = JSON.parse(await readText(store, newest!)) as { takenAt: string };
    return { key: newest!, takenAt: m.takenAt };
}

/** The weekly drill PASSed on the newest nightly backup of the S3 vault, with RPO = drill start − capture time. */
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
    expect(report.backup.vault_object).toBe(`s3://${vaults.prod.bucket}/${newest.key}`); // the report names what it adopted
    expect(drill!.stdout).toContain(`vault: ${vaults.prod.bucket} (BACKUP_BUCKET, as in drill.vault)`);
    expect(report.rpo_seconds).toBe(Math.max(0, Math.round((Date.parse(report.timestamps.drill_started_at) - Date.parse(newest.takenAt)) / 1000)));
    expect(report.targets.rpo_met).toBe(true);
    expect(report.validation.compared_with).toBe("backup-fingerprint");
    // The summary step ran after the drill (always() && steps.drill.outcome != 'skipped') and turned its JUnit file into the summary.
    expect(runs.find((r) => r.step === "Publish the drill's JUnit result as the job summary")?.status).toBe(0);
    expect(fs.readFileSync(path.join(drill!.temp, "step-summary.md"), "utf8")).toMatch(/PASS/);
}

/** The freshness step's NOW: the calendar time on the source database's clock (see the top of this file). */
function onSourceClock(at: Date): Date {
    if (!lastNight) throw new Error("no nightly has run yet: the source clock has no anchor");
    return new Date(lastNight.real + (at.getTime() - lastNight.calendar.getTime()));
}

/** The stacks' AWS region (aws:region of Pulumi.prod.yaml): the server signs for it, as the vault's region would. */
function stackRegion(): string {
    const regions = ENVS.map((env) => (yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${env}.yaml`), "utf8")) as { config: Record<string, unknown> }).config["aws:region"]);
    if (typeof regions[0] !== "string" || regions.some((r) => r !== regions[0])) throw new Error(`the stack files name different AWS regions (${regions.join(", ")}): one test server cannot sign for both`);
    return regions[0];
}

/**
 * The webhook and the dead-man's switch: one local HTTP server under a random path (its URL is a
 * secret, as a Slack webhook's is). Records each call's path below that prefix, body and day.
 */
async function startReceiver(): Promise<typeof receiver> {
    const prefix = `/hook-${sha(String(Math.random())).slice(0, 16)}`;
    const calls: { path: string; body: string; day: number }[] = [];
    const server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
            const url = req.url ?? "";
            calls.push({ path: url.startsWith(prefix) ? url.slice(prefix.length) : `(outside the prefix) ${url}`, body, day: currentDay });
            res.writeHead(200).end("ok");
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;
    return { url, calls, close: () => new Promise((r) => server.close(() => r())) };
}

beforeAll(async () => {
    [pg, azurite, api, s3, receiver, arm] = await Promise.all([startLocalCluster(), startAzurite(), startFakeStorageApi(), startS3Server({ iam: true, region: stackRegion() }), startReceiver(), startFakeAzureArm()]);
    root = s3.s3Client();
    for (const env of ENVS) vaults[env] = await createVault(env);
    await createSampleData(pg.url(), 300);
    await new AzureBlobStore({ connectionString: azurite.connectionString, container: "archive" }).ensureContainer();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-rehearsal-"));
    azBin = fakeAzCli(path.join(work, "az-bin"), arm.token).dir;
    fs.mkdirSync(path.join(work, "drill-state"));
    pulumiBin = ensureEngine();
    api.createBucket("avatars", true);
    api.createBucket("uploads");
    // Never changes in 40 days: the object an incremental snapshot would have pointed at from day 1.
    api.putObject("avatars", "team/logo.png", Buffer.from("PNG logo, set once"), "image/png");
    api.putObject("uploads", "contracts/master.pdf", "%PDF master contract", "application/pdf");
}, 180_000);

afterAll(async () => {
    await Promise.all([pg?.stop(), azurite?.stop(), api?.close(), s3?.stop(), receiver?.close(), arm?.stop()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe(`${DAYS} simulated days of the scheduled workflows on an Object-Lock S3 vault`, () => {
    it("every night backs up database, buckets and mirror with the stack's locks; every snapshot the lifecycle keeps restores; a missed night alarms; drills, monthly rehearsals and the audit pass", async () => {
        const failures: string[] = [];
        const timing: Record<string, number> = {};
        const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
            const t = Date.now();
            try {
                return await fn();
            } finally {
                timing[what] = (timing[what] ?? 0) + (Date.now() - t);
            }
        };
        let monthly = 0;
        let drills = 0;
        for (let day = 1; day <= DAYS; day++) {
            currentDay = day;
            const night = dayAt(day);
            for (const env of ENVS) await timed("lifecycle and checks", () => applyLifecycle(vaults[env], night));
            await changeSources(day);
            if (day !== MISSED) {
                lastNight = { calendar: night, real: Date.now() };
                const nightly = await timed("nightly-backup", () => runWorkflow("nightly-backup.yml", night));
                failures.push(...nightly.failures);
                for (const env of ENVS) expect(await recordNight(vaults[env], night), `day ${day}: versions ${env}'s nightly added`).toBeGreaterThan(0);
            }
            if (night.getUTCDate() === 1) {
                monthly++;
                failures.push(...(await timed("monthly-storage-restore", () => runWorkflow("monthly-storage-restore.yml", dayAt(day, 3)))).failures);
            }
            // Sundays 04:00 (the schedule), and once more after the last night (a manual run).
            if (night.getUTCDay() === 0 || day === DAYS) {
                drills++;
                const weekly = await timed("weekly-drill", () => runWorkflow("weekly-drill.yml", dayAt(day, 4)));
                failures.push(...weekly.failures);
                if (weekly.failures.length === 0) await expectDrillOnNewestBackup(weekly.runs, `day ${day} weekly drill`);
            }
            // 07:00: fresh after a night that ran; stale, exit 1, alarmed after the missed one.
            if (FRESHNESS_DAYS.has(day)) {
                const calls = receiver.calls.length;
                const fresh = await timed("backup-freshness", () => runWorkflow("backup-freshness.yml", dayAt(day, 7), {
                    now: onSourceClock(dayAt(day, 7)),
                    expectStatus: () => (day === MISSED ? 1 : 0),
                }));
                failures.push(...fresh.failures);
                expect(fresh.runs.map((r) => r.matrix.stage).sort(), `day ${day}: a freshness check per stage`).toEqual(["prod", "staging"]);
                const received = receiver.calls.slice(calls);
                const paths = received.map((c) => c.path).sort();
                if (day === MISSED) {
                    expect(paths, `day ${day} (missed night): alarms, no healthcheck ping`).toEqual(["/alert/prod", "/alert/staging"]);
                    for (const c of received) {
                        const body = JSON.parse(c.body) as { status: string; newest_backup: string; age_seconds: number };
                        expect(body.status).toBe("stale");
                        expect(body.newest_backup).toContain(`/${dayPath(dayAt(day - 1))}/`); // the night before is the newest
                        expect(body.age_seconds).toBeGreaterThan(30 * 3600 - 120);
                    }
                    for (const r of fresh.runs) expect(r.stdout).toMatch(/stale/i);
                } else {
                    expect(paths, `day ${day}: healthcheck pings, no alarm`).toEqual(["/ping/prod", "/ping/staging"]);
                    for (const r of fresh.runs) expect(r.stdout).toMatch(/FRESH/);
                }
            }
            expect(failures, failures.join("\n\n")).toEqual([]);

            await timed("lifecycle and checks", async () => {
                for (const env of ENVS) {
                    const current = await expectModelMatchesServer(vaults[env], `day ${day}`);
                    await expectSnapshotsRestorable(vaults[env], current, `day ${day}`);
                }
            });
        }
        if (DAYS >= 31) expect(monthly).toBeGreaterThanOrEqual(1);
        expect(drills).toBeGreaterThanOrEqual(Math.floor(DAYS / 7));
        expect(log.filter((l) => l.workflow === "nightly-backup.yml").length).toBe((DAYS - 1) * 2);

        const prod = vaults.prod;
        const store = readerStore(prod);
        // The lifecycle really ran: day 1's snapshot and dump are hidden, only about a week of nights stays current.
        if (DAYS >= 10) {
            expect(await store.head(`storage/prod/avatars/${dayPath(dayAt(1))}/manifest.json`)).toBeUndefined();
            expect(await store.head(`storage/prod/avatars/${dayPath(dayAt(1))}/objects/team/logo.png`)).toBeUndefined();
        }
        if (DAYS >= 20 && MISSED < DAYS - 9) {
            const kept: string[] = [];
            for await (const o of store.list("storage/prod/avatars/")) if (o.key.endsWith("manifest.json")) kept.push(o.key);
            expect(kept.length).toBeGreaterThanOrEqual(7);
            expect(kept.length).toBeLessThanOrEqual(8);
        }

        // Day DAYS: the newest snapshot of each bucket holds every live object, byte-identical.
        for (const bucket of ["avatars", "uploads"]) {
            const key = `storage/prod/${bucket}/${dayPath(dayAt(DAYS))}/manifest.json`;
            const live = new Map([...api.buckets.get(bucket)!.objects].map(([k, o]) => [k, o.data]));
            await expectRestorable(store, parseManifest(await readText(store, key), key), live, `day ${DAYS} ${bucket}`);
        }

        // Monthly storage archives of each environment: one per bucket on the first night and on each
        // 1st, self-contained, locked for the stack's monthly window, still current, restorable, and
        // the same in the Azure archive.
        const archiveNights = Array.from({ length: DAYS }, (_, i) => dayAt(i + 1)).filter((d, i) => i === 0 || d.getUTCDate() === 1);
        const archive = new AzureBlobStore({ connectionString: azurite.connectionString, container: "archive" });
        for (const env of ENVS) {
            const v = vaults[env];
            const envStore = readerStore(v);
            for (const bucket of ["avatars", "uploads"]) {
                const found: string[] = [];
                for await (const o of envStore.list(`monthly/storage/${env}/${bucket}/`)) if (o.key.endsWith("/manifest.json")) found.push(o.key);
                expect(found).toEqual(archiveNights.map((n) => monthlyManifestKey(env, bucket, n)));
                for (const n of archiveNights) {
                    const key = monthlyManifestKey(env, bucket, n);
                    const m = parseManifest(await readText(envStore, key), key);
                    expect(m).toMatchObject({ tier: "monthly", takenAt: n.toISOString() });
                    expect(entriesOutside(m, key.replace(/manifest\.json$/, ""))).toEqual([]);
                    for (const k of [key, ...m.objects.map((e) => e.vaultKey)]) {
                        const h = await envStore.head(k);
                        expect({ mode: h?.retentionMode, until: h?.retainUntil?.toISOString() }, k)
                            .toEqual({ mode: v.settings.objectLockMode, until: monthlyRetainUntil(n, v.settings.monthlyArchiveMonths).toISOString() });
                        expect(v.model.current(k), k).toBeDefined();
                    }
                    await expectRestorable(envStore, m, undefined, `monthly ${key}`);
                    expect(await readText(archive, key)).toBe(await readText(envStore, key));
                }
            }
        }

        // The quarterly audit after the last night, as the retention auditor: the S3 vault PASSes for prod
        // (COMPLIANCE) and staging (GOVERNANCE), having counted every version the server holds — the
        // model's plus those the model removed but whose locks (real clock) still hold them on the server.
        // The Azure archive's container policy is as each stack deploys it (supabase-dr:azure
        // immutabilityDays, lockImmutabilityPolicy): both stack files leave it Unlocked, so prod's audit
        // FAILs on the archive alone (an account owner could shorten or remove the policy) and staging's
        // PASSes with a note; once prod's policy is Locked, prod's audit PASSes too.
        const isAudit = (step: string) => step.startsWith("npm run retention-audit");
        const archiveOf = (env: Env) => readStackFile(ROOT, env)!.azure!;
        const setArchivePolicies = (lockedProd: boolean) => {
            for (const env of ENVS) {
                const a = archiveOf(env);
                arm.setPolicy({ subscriptionId: AZURE_SUBSCRIPTION, resourceGroup: resourceGroupOf(env), account: "devstoreaccount1", container: "archive" },
                    { kind: "policy", state: a.lockImmutabilityPolicy || (env === "prod" && lockedProd) ? "Locked" : "Unlocked", days: a.immutabilityDays });
            }
        };
        const archiveFails = (env: Env, lockedProd: boolean) => env === "prod" && !archiveOf(env).lockImmutabilityPolicy && !lockedProd;
        for (const lockedProd of [false, true]) {
            setArchivePolicies(lockedProd);
            const audit = await timed("quarterly-retention-audit", () => runWorkflow("quarterly-retention-audit.yml", dayAt(DAYS, 6), {
                expectStatus: (step, matrix) => (isAudit(step) && archiveFails(matrix.stage as Env, lockedProd) ? 1 : 0),
            }));
            expect(audit.failures, audit.failures.join("\n\n")).toEqual([]);
            const audits = audit.runs.filter((r) => isAudit(r.step));
            expect(audits.map((r) => r.matrix.stage).sort()).toEqual(["prod", "staging"]);
            for (const r of audits) {
                const v = vaults[r.matrix.stage as Env];
                const { versions, markers } = await listVersions(v.bucket);
                const inPrefixes = (k: string) => environmentPrefixes(v.env).some((p) => k.startsWith(p));
                expect(versions.every((x) => inPrefixes(x.key))).toBe(true);
                expectVersionsMatchModel(v, versions, markers, `day ${DAYS}, the audit`);
                const text = fs.readFileSync(path.join(r.temp, `retention-audit-${v.env}.md`), "utf8");
                expect(r.stdout).toContain(text); // the report file is what the step printed
                expect(text).toMatch(new RegExp(`^Total:\\s+${versions.length} versions`, "m"));
                expect(text).toMatch(new RegExp(`^Delete markers: ${markers.length}\\b`, "m"));
                expect(text).toContain(`Bucket lock: PASS — Object Lock enabled, default retention ${v.settings.objectLockMode} for ${v.settings.retentionDays} day(s)`);
                expect(text).toMatch(/^Version locks: PASS/m);
                expect(text).toMatch(/^Immutability proof: PASS — the delete of .* was refused by Object Lock/m);
                const fails = archiveFails(v.env, lockedProd);
                expect(text).toMatch(new RegExp(`^Azure archive: ${fails ? "FAIL" : "PASS"} — `, "m"));
                expect(text).toMatch(new RegExp(`^ {2}Container policy: ${fails ? "FAIL" : "PASS"} — ${fails || v.env !== "prod" ? "Unlocked" : "Locked"}, ${archiveOf(v.env).immutabilityDays} day\\(s\\)`, "m"));
                if (fails) expect(text).toMatch(/Unlocked where Locked is required/);
                expect(text).toMatch(new RegExp(`^Result: ${fails ? "FAIL" : "PASS"}$`, "m"));
            }
        }
        // Wall time per workflow, for the README (REHEARSAL_TIMING=1 prints it).
        if (process.env.REHEARSAL_TIMING) process.stderr.write(`rehearsal timing (s): ${JSON.stringify(Object.fromEntries(Object.entries(timing).map(([k, ms]) => [k, Math.round(ms / 1000)])))}\n`);
    }, 3_600_000);
});
