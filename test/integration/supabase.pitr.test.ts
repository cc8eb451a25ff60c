// Hosted PITR end to end against the Management API stand-in, whose staging project is a REAL
// PostgreSQL 15 archiving through pgBackRest into the S3 test server (TLS): restore-pitr performs a
// real PITR in place (the project RESTORING and unreachable meanwhile, the same database URL serving
// the restored data afterwards). Runbook 000 (a project restored by hand, validated, then deleted), the
// in-place drill with --apply (mark → restore → exact match), and a mismatch that FAILs naming the table.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { restoreToTarget, type RestoredCluster } from "../../lib/pitr/restore";
import { waitForArchived } from "../../lib/pitr/restorePoint";
import { backup, stanzaCreate } from "../../lib/pitr/setup";
import { runPitrCli } from "../../lib/supabase/pitrCli";
import type { HostedMark } from "../../lib/supabase/pitrMark";
import type { PitrDrillReport } from "../../lib/supabase/pitrDrill";
import { startFakeSupabaseApi, type FakeSupabaseApi } from "../helpers/fakeSupabaseApi";
import { createPlainBucket, startPitrSource, type PitrSource } from "../helpers/pitrCluster";
import { startS3Server, type S3Server } from "../helpers/s3Server";

const PROD = "prodprodprodprodprod";
const STAGING = "stagingstagingstagin";
const SCRATCH = "scratchscratchscratc";

let s3: S3Server;
let src: PitrSource;
let fake: FakeSupabaseApi;
let dir: string;
let settingsFile: string;
let dbUrl: string;
let mark000: HostedMark;
let scratchCluster: RestoredCluster | undefined;

async function cli(args: string[], env: Record<string, string> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runPitrCli(args, { SUPABASE_ACCESS_TOKEN: fake.token, SUPABASE_API_URL: fake.url, SUPABASE_DB_URL: dbUrl, ...env }, { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join(""), err: err.join("") };
}

const count = (url: string, table: string) => withClient(url, "check", async (c) => Number((await c.query(`select count(*) as n from ${table}`)).rows[0].n));

beforeAll(async () => {
    s3 = await startS3Server();
    await createPlainBucket(s3, "hosted-pitr");
    src = await startPitrSource(s3, "hosted-pitr", "hosted");
    await withClient(src.cluster.url(), "source", async (c) => {
        // WAL-G pushes at least every 2 minutes on Supabase; 1 s keeps the stand-in's window moving in tests.
        await c.query("alter system set archive_timeout = '1s'");
        await c.query("select pg_reload_conf()");
        await c.query("create table accounts(id int primary key, balance numeric not null, updated_at timestamptz not null default now())");
        await c.query("create table ledger(id bigint generated always as identity primary key, account int not null references accounts, amount numeric not null)");
        await c.query("insert into accounts(id, balance) select g, 100 from generate_series(1, 50) g");
    });
    await stanzaCreate(src.ctx);
    await backup(src.ctx, "full");
    fake = await startFakeSupabaseApi();
    await fake.seedPitrProject({ ref: STAGING, name: "staging", backing: src });
    dbUrl = fake.databaseUrl(STAGING);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-pitr-int-"));
    settingsFile = path.join(dir, "pitr.yaml");
    fs.writeFileSync(
        settingsFile,
        [`prodProjectRef: ${PROD}`, `drillableProjects: [${STAGING}]`, "windowDays: 7", "drill:", "  pollIntervalSeconds: 1", "  windowWaitMinutes: 1", "  readyTimeoutMinutes: 3", ""].join("\n"),
    );
}, 240_000);

afterAll(async () => {
    await scratchCluster?.stop();
    await fake?.close();
    await src?.stop();
    await s3?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("hosted PITR against the stand-in backed by a real archive", () => {
    it("health reads the real window: enabled and fresh, but FAILs the 7-day window", async () => {
        const r = await cli(["health", "--settings", settingsFile, "--project", STAGING]);
        expect(r.out).toMatch(/^PASS pitr_enabled/m);
        expect(r.out).toMatch(/^PASS recovery_point/m);
        expect(r.out).toMatch(/^FAIL window: window is 0\.00 days/m);
        expect(r.code).toBe(1);
    });

    it("runbook 000: validates a project restored by hand at T, reports PASS and deletes it", async () => {
        const markFile = path.join(dir, "mark000.json");
        const m = await cli(["mark", "--settings", settingsFile, "--project", STAGING, "--out", markFile]);
        expect(m.code, m.err).toBe(0);
        mark000 = JSON.parse(fs.readFileSync(markFile, "utf8")) as HostedMark;
        expect(mark000.quietUntilUnix).toBeGreaterThanOrEqual(mark000.targetUnix);
        // Writes after the mark's quiet range: a restore to T must not contain them.
        await withClient(src.cluster.url(), "source", async (c) => {
            await c.query("insert into ledger(account, amount) select g, 1 from generate_series(1, 20) g");
            await waitForArchived(c, (await c.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0].lsn);
        });
        // "The click": the dashboard's restore to a new project, here a PITR of the same archive.
        scratchCluster = await restoreToTarget({ settings: src.settings, secrets: src.secrets, target: { type: "time", time: new Date(mark000.targetUnix * 1000) } });
        fake.seedProject({ ref: SCRATCH, name: "staging-restore", polls: 100, createdAt: new Date().toISOString() });
        expect(await count(scratchCluster.url(), "ledger")).toBe(0);

        const report = path.join(dir, "report000.json");
        const t = new Date(mark000.targetUnix * 1000).toISOString();
        const refused = await cli(["drill", "--settings", settingsFile, "--project", STAGING, "--target-project", STAGING, "--to", t, "--mark", markFile], { TARGET_DB_URL: scratchCluster.url() });
        expect(refused.code).toBe(3);
        const r = await cli(["drill", "--settings", settingsFile, "--project", STAGING, "--target-project", SCRATCH, "--to", t, "--mark", markFile, "--delete-target", "--report", report], {
            TARGET_DB_URL: scratchCluster.url(),
        });
        expect(r.code, r.err + r.out).toBe(0);
        const rep = JSON.parse(fs.readFileSync(report, "utf8")) as PitrDrillReport;
        expect(rep).toMatchObject({ status: "PASS", mode: "scratch-project", targetProject: SCRATCH, cleanup: { action: "deleted" } });
        expect(rep.validation!.differingSections).toEqual([]);
        expect(rep.validation!.tick).toEqual({ id: mark000.tick!.id, present: false });
        expect(fake.deleted).toEqual([SCRATCH]);
        expect(fake.count("POST", /restore-pitr/)).toBe(0);
    });

    it("in place with --apply: records a mark, restores to its T, the same URL serves the restored data, validation PASSes", async () => {
        const ledgerBefore = await count(dbUrl, "ledger");
        expect(ledgerBefore).toBe(20);
        const report = path.join(dir, "report004.json");
        const r = await cli(["drill", "--settings", settingsFile, "--project", STAGING, "--to", "mark", "--apply", "--report", report]);
        expect(r.code, r.err + r.out).toBe(0);
        expect(r.err).toMatch(/project stagingstagingstagin is RESTORING: restore running, the project is unavailable/);
        const rep = JSON.parse(fs.readFileSync(report, "utf8")) as PitrDrillReport;
        expect(rep.status).toBe("PASS");
        expect(fake.projects.get(STAGING)!.restoreTargets).toEqual([rep.recoveryTarget!.unix]);
        expect(rep.validation!.tick!.present).toBe(false);
        expect(rep.durations_seconds.restore).toBeGreaterThan(0);
        // In place: the project's URL now reaches the restored cluster (the ledger rows predate T).
        expect(fake.projects.get(STAGING)!.pitr!.restored).toHaveLength(1);
        expect(await count(dbUrl, "ledger")).toBe(20);
        expect(await withClient(dbUrl, "check", async (c) => (await c.query("select pg_is_in_recovery() as r")).rows[0].r)).toBe(false);
    });

    it("a restore that does not match the mark FAILs naming the table", async () => {
        // The mark of runbook 000, with the accounts table's recorded content altered: the restore to its T
        // is right, the record is not, and the comparison must say where.
        const tampered = structuredClone(mark000);
        const accounts = tampered.mark.fingerprint.tables.find((t) => t.table === "public.accounts")!;
        accounts.rowCount = (accounts.rowCount ?? 0) + 1;
        accounts.checksum = "0".repeat(accounts.checksum?.length ?? 32);
        const file = path.join(dir, "tampered.json");
        fs.writeFileSync(file, JSON.stringify(tampered));
        const r = await cli(["drill", "--settings", settingsFile, "--project", STAGING, "--to", new Date(mark000.targetUnix * 1000).toISOString(), "--mark", file, "--apply", "--json"]);
        expect(r.code).toBe(1);
        const rep = JSON.parse(r.out) as PitrDrillReport;
        expect(rep.status).toBe("FAIL");
        expect(rep.validation!.differingTables).toEqual(["public.accounts"]);
        expect(rep.issues.join("\n")).toMatch(/row_count public\.accounts/);
        expect(fake.projects.get(STAGING)!.restoreTargets).toHaveLength(2);
        expect(await count(dbUrl, "ledger")).toBe(0); // restored to before the ledger writes
    });
});
