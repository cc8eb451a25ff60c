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

let live: LocalCluster;
let projectServer: LocalCluster;
let oldStorage: FakeStorageApi;
let newStorage: FakeStorageApi;
let api: FakeSupabaseApi;
let store: DirBlobStore;
let work: string;
let artifacts: string;
let liveUrl: string;
let backup: string;
let migrations: string;
let secretValues: string;
let oldRef: string;

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

function options(over: Partial<RecoverRebuildOptions> = {}): RecoverRebuildOptions {
    return {
        accessToken: api.token,
        organization: "acme",
        region: "eu-central-1",
        projectName: "acme-prod-rebuilt",
        apiBaseUrl: api.url,
        projectApiUrl: api.projectApiUrl,
        backupPath: backup,
        migrationsDir: migrations,
        storageStore: store,
        storageEnv: "prod",
        oldRef,
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

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-rebuild-"));
    fs.chmodSync(work, 0o755);
    artifacts = path.join(work, "artifacts");
    [live, projectServer] = await Promise.all([startLocalCluster(), startLocalCluster()]);
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

    newStorage = await startFakeStorageApi();
    api = await startFakeSupabaseApi({ database: { adminUrl: projectServer.url() }, projectStorage: { url: newStorage.url, serviceKey: newStorage.serviceKey } });
    const old = api.seedProject({ name: "acme-prod", organizationSlug: "acme", polls: 1_000 });
    oldRef = old.ref;
    old.secrets.set("STRIPE_SECRET_KEY", STRIPE);
    old.secrets.set("RESEND_API_KEY", RESEND);
    secretValues = path.join(work, "secrets.env");
    fs.writeFileSync(secretValues, `# kept by the operator\nSTRIPE_SECRET_KEY="${STRIPE}"\nRESEND_API_KEY=re_a_newer_value\n`, { mode: 0o600 });
});

afterAll(async () => {
    await api?.close();
    await Promise.all([oldStorage?.close(), newStorage?.close()]);
    await Promise.all([live?.stop(), projectServer?.stop()]);
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
        const dbUrl = `postgresql://${encodeURIComponent(`postgres.${state.ref}`)}:${encodeURIComponent(fs.readFileSync(state.dbPasswordFile, "utf8").trim())}@127.0.0.1:${projectServer.port}/postgres`;
        const count = (url: string) => withClient(url, "db", async (c) => (await c.query<{ n: number }>("select count(*)::int as n from public.tasks")).rows[0].n);
        expect(await count(dbUrl)).toBe(await count(liveUrl));
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
        await expect(recoverRebuild(options({ apply: true, projectName: "other" }))).rejects.toThrow(/belongs to the rebuild of 'acme-prod-rebuilt'/);
    });
});
