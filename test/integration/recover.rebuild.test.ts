// recover rebuild (runbook 001 path D) against the Management API stand-in, whose new projects are
// backed by a real PostgreSQL (their database) and whose project gateway serves Storage from a Storage
// stand-in: a Supabase-shaped live database backed up with pg_dump, two buckets of the old project
// snapshotted into a directory vault by the nightly code, an old project with two Edge Function
// secrets. Every assertion reads the stand-ins' state, the databases or the files written.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classify } from "../../lib/errors";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { runPgTool, uriWithoutPassword } from "../../lib/postgres/tools";
import { recoverRebuild, type RecoverRebuildOptions } from "../../lib/recover/rebuild";
import { readRebuildState } from "../../lib/recover/rebuildState";
import { snapshotStorage } from "../../lib/storage/snapshot";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { startFakeSupabaseApi, virtualClock, type FakeSupabaseApi } from "../helpers/fakeSupabaseApi";
import { NEW_MIGRATIONS, writeMigrations } from "../helpers/migrationsFixture";
import { createSupabaseFixture } from "../helpers/supabaseFixture";

const SNAPSHOT_DAY = new Date("2026-03-01T01:00:00Z");
const INCIDENT = new Date("2026-03-01T15:00:00Z");
const STRIPE = "sk_live_correct_value_123";
const RESEND = "re_old_value_456";

/** Where the rebuilt projects live: the Management API stand-in, their database server, their Storage. */
interface Platform {
    projectServer: LocalCluster;
    newStorage: FakeStorageApi;
    api: FakeSupabaseApi;
    /** The old project, with two Edge Function secrets. */
    oldRef: string;
}

let live: LocalCluster;
let oldStorage: FakeStorageApi;
let newStorage: FakeStorageApi;
let api: FakeSupabaseApi;
let main: Platform;
let store: DirBlobStore;
let work: string;
let artifacts: string;
let liveUrl: string;
let backup: string;
let migrations: string;
let secretValues: string;
let oldRef: string;

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function options(over: Partial<RecoverRebuildOptions> = {}, p: Platform = main): RecoverRebuildOptions {
    return {
        accessToken: p.api.token,
        organization: "acme",
        region: "eu-central-1",
        projectName: "acme-prod-rebuilt",
        apiBaseUrl: p.api.url,
        projectApiUrl: p.api.projectApiUrl,
        backupPath: backup,
        migrationsDir: migrations,
        storageStore: store,
        storageEnv: "prod",
        oldRef: p.oldRef,
        secretValuesFile: secretValues,
        liveUrl,
        now: INCIDENT,
        apply: false,
        artifactsDir: artifacts,
        clock: virtualClock(),
        ...over,
    };
}

/** Every object of a bucket as key → [sha256, content type]. */
function objects(s: FakeStorageApi, bucket: string): Record<string, [string, string]> {
    const out: Record<string, [string, string]> = {};
    for (const [k, o] of s.buckets.get(bucket)?.objects ?? []) out[k] = [sha(o.data), o.contentType];
    return out;
}

/** A Management API stand-in whose new projects' databases are on their own server, with the old project seeded. */
async function startPlatform(): Promise<Platform> {
    const server = await startLocalCluster();
    const storage = await startFakeStorageApi();
    const fake = await startFakeSupabaseApi({ database: { adminUrl: server.url() }, projectStorage: { url: storage.url, serviceKey: storage.serviceKey } });
    const old = fake.seedProject({ name: "acme-prod", organizationSlug: "acme", polls: 1_000 });
    old.secrets.set("STRIPE_SECRET_KEY", STRIPE);
    old.secrets.set("RESEND_API_KEY", RESEND);
    return { projectServer: server, newStorage: storage, api: fake, oldRef: old.ref };
}

async function stopPlatform(p: Platform | undefined): Promise<void> {
    await p?.api.close();
    await p?.newStorage.close();
    await p?.projectServer.stop();
}

/** The new project's session-pooler URL, with the password the rebuild kept in its 0600 file. */
function newProjectDbUrl(p: Platform, ref: string, dbPasswordFile: string): string {
    return `postgresql://${encodeURIComponent(`postgres.${ref}`)}:${encodeURIComponent(fs.readFileSync(dbPasswordFile, "utf8").trim())}@127.0.0.1:${p.projectServer.port}/postgres`;
}

const countTasks = (url: string) => withClient(url, "db", async (c) => (await c.query<{ n: number }>("select count(*)::int as n from public.tasks")).rows[0].n);

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-rebuild-"));
    fs.chmodSync(work, 0o755);
    artifacts = path.join(work, "artifacts");
    [live, main] = await Promise.all([startLocalCluster(), startPlatform()]);
    ({ newStorage, api, oldRef } = main);
    liveUrl = (await createSupabaseFixture(live.url(), "app", { users: 4 })).url;
    backup = path.join(work, "app.dump");
    const dumped = await runPgTool("pg_dump", ["-Fc", "-f", backup, `--dbname=${uriWithoutPassword(liveUrl)}`], { connection: liveUrl });
    expect(dumped.exitCode).toBe(0);
    migrations = writeMigrations(path.join(work, "migrations"));

    oldStorage = await startFakeStorageApi();
    oldStorage.createBucket("avatars", true);
    oldStorage.createBucket("invoices");
    oldStorage.putObject("avatars", "u/1.png", Buffer.from("PNG one"), "image/png");
    oldStorage.putObject("avatars", "u/2.png", Buffer.from("PNG two"), "image/png", "max-age=60");
    oldStorage.putObject("invoices", "2026/02/inv-1.pdf", Buffer.from("%PDF one"), "application/pdf");
    store = new DirBlobStore(path.join(work, "vault"), () => SNAPSHOT_DAY);
    await snapshotStorage({ storageUrl: oldStorage.url, serviceKey: oldStorage.serviceKey, env: "prod", store, now: SNAPSHOT_DAY });

    secretValues = path.join(work, "secrets.env");
    fs.writeFileSync(secretValues, `# kept by the operator\nSTRIPE_SECRET_KEY="${STRIPE}"\nRESEND_API_KEY=re_a_newer_value\n`, { mode: 0o600 });
});

afterAll(async () => {
    await stopPlatform(main);
    await oldStorage?.close();
    await live?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("recover rebuild", () => {
    it("the dry run prints the plan and creates nothing", async () => {
        const r = await recoverRebuild(options());
        expect(r.planText).toContain("project: create 'acme-prod-rebuilt' in organization 'acme', region eu-central-1");
        expect(r.planText).toMatch(/avatars: 2 object\(s\), 14 bytes, public/);
        expect(r.planText).toMatch(/invoices: 1 object\(s\), 8 bytes, private/);
        expect(r.planText).toContain("project secrets to carry over: RESEND_API_KEY, STRIPE_SECRET_KEY");
        expect(r.planText).not.toContain(STRIPE);
        expect(api.count("POST", /^\/v1\/projects$/)).toBe(0);
        expect(api.projects.size).toBe(1);
        expect(newStorage.buckets.size).toBe(0);
        expect(fs.existsSync(artifacts)).toBe(false);
    });

    it("--apply that fails in the storage step, then the retry resumes with the same project and finishes", async () => {
        // One failed upload (storage-js does not retry): the first run stops there.
        newStorage.addFault({ match: /^POST \/object\/invoices\//, status: 500, times: 1 });
        const first = await recoverRebuild(options({ apply: true })).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(first).toBeInstanceOf(Error);
        const state = readRebuildState(artifacts)!;
        expect(state.ref).toMatch(/^[a-z]{20}$/);
        expect(first!.message).toContain(`it resumes with project ${state.ref}`);
        expect(state.done).toEqual(["project", "database", "storage:avatars"]);
        expect(api.count("POST", /^\/v1\/projects$/)).toBe(1);
        const failedAudit = fs.readdirSync(artifacts).filter((f) => f.startsWith("audit-recover-rebuild-"));
        expect(failedAudit).toHaveLength(1);
        expect(JSON.parse(fs.readFileSync(path.join(artifacts, failedAudit[0]), "utf8"))).toMatchObject({ outcome: "failed", project: { ref: state.ref } });

        // The outage is over: the same command again.
        const r = await recoverRebuild(options({ apply: true }));
        expect(r.resumed).toBe(true);
        expect(r.endpoints!.ref).toBe(state.ref);
        expect(api.count("POST", /^\/v1\/projects$/)).toBe(1);
        expect([...api.projects.values()].map((p) => p.name).sort()).toEqual(["acme-prod", "acme-prod-rebuilt"]);
        expect(api.deleted).toEqual([]);

        // Storage: every object with the snapshot's content and type; avatars was not uploaded again.
        expect(objects(newStorage, "avatars")).toEqual(objects(oldStorage, "avatars"));
        expect(objects(newStorage, "invoices")).toEqual(objects(oldStorage, "invoices"));
        expect(newStorage.buckets.get("avatars")!.public).toBe(true);
        expect(newStorage.buckets.get("invoices")!.public).toBe(false);
        expect(r.restored!.find((b) => b.bucket === "avatars")).toMatchObject({ uploaded: 0, alreadyThere: 2, verified: 2 });
        expect(r.restored!.find((b) => b.bucket === "invoices")).toMatchObject({ uploaded: 1, verified: 1 });

        // Database: the backup's rows, and the migrations it lacked, through the new project's URL.
        const dbUrl = newProjectDbUrl(main, state.ref!, state.dbPasswordFile);
        expect(await countTasks(dbUrl)).toBe(await countTasks(liveUrl));
        const versions = await withClient(dbUrl, "db", async (c) => (await c.query<{ version: string }>("select version from supabase_migrations.schema_migrations order by version")).rows.map((x) => x.version));
        expect(versions.slice(-2)).toEqual(NEW_MIGRATIONS);
        expect(r.schema!.verified).toBe(true);

        // Secrets: the verified one set on the new project, the mismatching one left to set by hand.
        const newProject = api.projects.get(state.ref!)!;
        expect(newProject.secrets.get("STRIPE_SECRET_KEY")).toBe(STRIPE);
        expect(newProject.secrets.has("RESEND_API_KEY")).toBe(false);
        expect(r.secrets!.copied).toEqual([{ name: "STRIPE_SECRET_KEY", verified: true }]);
        expect(r.secrets!.toSet.map((t) => t.name)).toEqual(["RESEND_API_KEY"]);
        const report = fs.readFileSync(r.reportFile!, "utf8");
        expect(report).toContain(`API URL:       ${api.projectApiUrl.replace("{ref}", state.ref!)}`);
        expect(report).toContain(`database host: db.${state.ref}.supabase.co`);
        expect(report).toMatch(/\[x\] API key 'service_role'/);
        expect(report).toMatch(/\[ \] RESEND_API_KEY: set by hand/);
        expect(report).toMatch(/\[ \] payment provider keys/);
        expect(report).toMatch(/\[ \] webhook endpoints/);
        for (const value of [STRIPE, RESEND, "re_a_newer_value", newProject.serviceRoleKey, newProject.anonKey, newProject.dbPass, api.token]) {
            expect(report).not.toContain(value);
            expect(r.planText).not.toContain(value);
        }
        expect((fs.statSync(state.dbPasswordFile).mode & 0o777).toString(8)).toBe("600");
        const audit = JSON.parse(fs.readFileSync(r.audit!, "utf8"));
        expect(audit).toMatchObject({ action: "recover rebuild", outcome: "completed", resumed: true, project: { ref: state.ref, name: "acme-prod-rebuilt" } });
        expect(JSON.stringify(audit)).not.toContain(STRIPE);
        // The old project was only read.
        expect(api.requests.filter((q) => q.path.startsWith(`/v1/projects/${oldRef}`)).map((q) => q.method)).toEqual(expect.arrayContaining(["GET"]));
        expect(api.requests.some((q) => q.path.startsWith(`/v1/projects/${oldRef}`) && q.method !== "GET")).toBe(false);
    });

    it("refuses another project name in the same artifacts directory", async () => {
        const refused = await recoverRebuild(options({ apply: true, projectName: "other" })).then(() => undefined, (e: unknown) => e as Error);
        expect(refused?.message).toMatch(/belongs to the rebuild of 'acme-prod-rebuilt'/);
        expect(classify(refused)).toMatchObject({ code: "REFUSED", exitCode: 3 });
    });
});

// The create whose answer is lost (runbook 001 path D, run again after a failure): the state file says
// the create was sent, so a retry looks the project up by its unique name before anything else. These
// tests run against a platform of their own: the first one restores a whole project, and the stand-in
// serves every project's database and Storage from one server each.
describe("recover rebuild: the create call's answer is lost", () => {
    const POSTS = /^\/v1\/projects$/;
    const SEARCH = /^GET \/v1\/organizations\/acme\/projects$/;
    const CREATE = /^POST \/v1\/projects$/;
    let lost: Platform;
    const named = (name: string) => [...lost.api.projects.values()].filter((p) => p.name === name);
    const failure = (o: RecoverRebuildOptions) => recoverRebuild(o).then(() => undefined, (e: unknown) => e as Error);

    beforeAll(async () => {
        lost = await startPlatform();
    });
    afterAll(async () => {
        await stopPlatform(lost);
    });

    it("the create answers 500 after creating and the check fails too: the run stops without sending it again; the retry adopts the project by name and finishes", async () => {
        const dir = path.join(work, "lost-answer");
        lost.api.faults.createThenFail = { remaining: 1 };
        // The lookup before the create passes; every later one fails: nothing can tell whether the create happened.
        lost.api.faults.serverError = { remaining: Infinity, skip: 1, match: SEARCH };
        const first = await failure(options({ apply: true, artifactsDir: dir }, lost));

        expect(first).toBeInstanceOf(Error);
        expect(classify(first)).toMatchObject({ code: "SUPABASE_API", category: "external", exitCode: 5 });
        expect(first!.message).toMatch(/^Supabase Management API createAProject failed \(HTTP 500\): upstream timeout; not sent again, as it may have taken effect: checking for it failed 4 time\(s\), last: .*getAllProjectsForOrganization failed \(HTTP 500\)/);
        expect(first!.message).toContain("run the same command again: it looks the project up by name before creating one");
        const state = readRebuildState(dir)!;
        expect(state.createRequested).toBe(true);
        expect(state.ref).toBeUndefined();
        expect(state.done).toEqual([]);
        // One create sent, one project made: never a second POST after an answer that may have been lost.
        expect(lost.api.count("POST", POSTS)).toBe(1);
        expect(named("acme-prod-rebuilt")).toHaveLength(1);
        const created = named("acme-prod-rebuilt")[0];
        expect(first!.message).not.toContain(created.dbPass);
        expect(first!.message).not.toContain(lost.api.token);
        const failedAudit = fs.readdirSync(dir).filter((f) => f.startsWith("audit-recover-rebuild-"));
        expect(failedAudit).toHaveLength(1);
        expect(JSON.parse(fs.readFileSync(path.join(dir, failedAudit[0]), "utf8"))).toMatchObject({ outcome: "failed", project: { ref: null, name: "acme-prod-rebuilt" }, stepsDone: [] });

        // The API answers again: the same command.
        lost.api.faults.serverError = undefined;
        const r = await recoverRebuild(options({ apply: true, artifactsDir: dir }, lost));
        expect(r.resumed).toBe(true);
        expect(r.endpoints!.ref).toBe(created.ref);
        expect(readRebuildState(dir)).toMatchObject({ ref: created.ref, createRequested: true, done: ["project", "database", "storage:avatars", "storage:invoices", "secrets"], completedAt: expect.any(String) });
        expect(lost.api.count("POST", POSTS)).toBe(1);
        expect(named("acme-prod-rebuilt").map((p) => p.ref)).toEqual([created.ref]);
        expect(lost.api.projects.size).toBe(2);
        expect(lost.api.deleted).toEqual([]);

        // Database, buckets and secrets restored into the adopted project, with the password the first run generated.
        expect(created.dbPass).toBe(fs.readFileSync(state.dbPasswordFile, "utf8").trim());
        const dbUrl = newProjectDbUrl(lost, created.ref, state.dbPasswordFile);
        expect(await countTasks(dbUrl)).toBe(await countTasks(liveUrl));
        expect(r.schema!.verified).toBe(true);
        expect(objects(lost.newStorage, "avatars")).toEqual(objects(oldStorage, "avatars"));
        expect(objects(lost.newStorage, "invoices")).toEqual(objects(oldStorage, "invoices"));
        expect(r.restored!.map((b) => [b.bucket, b.uploaded, b.verified])).toEqual([["avatars", 2, 2], ["invoices", 1, 1]]);
        expect(created.secrets.get("STRIPE_SECRET_KEY")).toBe(STRIPE);
        expect(r.secrets!.copied).toEqual([{ name: "STRIPE_SECRET_KEY", verified: true }]);
    });

    it("the create answers 500 before creating: the run stops without sending it again, and the retry creates exactly one project", async () => {
        const dir = path.join(work, "not-created");
        const name = "acme-prod-second";
        const postsBefore = lost.api.count("POST", POSTS);
        lost.api.faults.serverError = { remaining: 1, match: CREATE };
        const first = await failure(options({ apply: true, artifactsDir: dir, projectName: name }, lost));
        expect(classify(first)).toMatchObject({ code: "SUPABASE_API", category: "external" });
        expect(first!.message).toMatch(/\(HTTP 500\): Internal server error; not sent again, as it may have taken effect: the check after it found no sign of it .*\(creating project 'acme-prod-second' in organization 'acme'\)/);
        expect(readRebuildState(dir)).toMatchObject({ createRequested: true, done: [] });
        expect(readRebuildState(dir)!.ref).toBeUndefined();
        expect(lost.api.count("POST", POSTS)).toBe(postsBefore + 1);
        expect(named(name)).toHaveLength(0);

        // The retry creates the project; it is stopped right after (its keys answer 404 once), since this
        // platform's database server already holds the first test's restore.
        lost.api.faults.notFound = { remaining: 1, match: /^GET \/v1\/projects\/[a-z]+\/api-keys$/ };
        const second = await failure(options({ apply: true, artifactsDir: dir, projectName: name }, lost));
        expect(lost.api.count("POST", POSTS)).toBe(postsBefore + 2);
        expect(named(name)).toHaveLength(1);
        const ref = named(name)[0].ref;
        expect(readRebuildState(dir)).toMatchObject({ ref, createRequested: true, done: [] });
        expect(second!.message).toContain(`it resumes with project ${ref}`);
    });

    it("the create answers 500 after creating and the check works: the same run adopts the project", async () => {
        const dir = path.join(work, "adopted");
        const name = "acme-prod-third";
        const postsBefore = lost.api.count("POST", POSTS);
        lost.api.faults.createThenFail = { remaining: 1 };
        lost.api.faults.notFound = { remaining: 1, match: /^GET \/v1\/projects\/[a-z]+\/api-keys$/ };
        const stopped = await failure(options({ apply: true, artifactsDir: dir, projectName: name }, lost));
        expect(stopped!.message).toMatch(/^Supabase Management API getProjectApiKeys failed \(HTTP 404\)/);
        expect(lost.api.count("POST", POSTS)).toBe(postsBefore + 1);
        expect(named(name)).toHaveLength(1);
        expect(readRebuildState(dir)).toMatchObject({ ref: named(name)[0].ref, createRequested: true });
    });

    it("two projects carry the name: the retry refuses and names both, and picks neither", async () => {
        const dir = path.join(work, "ambiguous");
        const name = "acme-prod-fourth";
        lost.api.faults.serverError = { remaining: 1, match: CREATE };
        await failure(options({ apply: true, artifactsDir: dir, projectName: name }, lost));
        expect(readRebuildState(dir)).toMatchObject({ createRequested: true });
        // Meanwhile someone created the project twice by hand (or another run did).
        const a = lost.api.seedProject({ name, organizationSlug: "acme" });
        const b = lost.api.seedProject({ name, organizationSlug: "acme" });
        const postsBefore = lost.api.count("POST", POSTS);
        const refused = await failure(options({ apply: true, artifactsDir: dir, projectName: name }, lost));
        expect(classify(refused)).toMatchObject({ code: "REFUSED", category: "refused", exitCode: 3 });
        expect(refused!.message).toContain(`organization 'acme' has 2 projects named '${name}'`);
        expect(refused!.message).toContain(a.ref);
        expect(refused!.message).toContain(b.ref);
        expect(lost.api.count("POST", POSTS)).toBe(postsBefore);
        expect(readRebuildState(dir)!.ref).toBeUndefined();
        // Neither was touched: no project call beyond the lookup.
        expect(lost.api.requests.some((q) => q.path.startsWith(`/v1/projects/${a.ref}`) || q.path.startsWith(`/v1/projects/${b.ref}`))).toBe(false);
        expect(named(name)).toHaveLength(2);
    });
});
