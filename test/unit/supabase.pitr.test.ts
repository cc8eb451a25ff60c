// Hosted PITR without a database: health verdicts (PASS, disabled, stale, short window) through the CLI
// against the Management API stand-in, the settings schema, the guards (production ref, not drillable,
// T outside the window or the mark's quiet range) that must refuse before restore-pitr is ever called,
// the stand-in's published errors (400 outside the window, 400 without PITR, 429 retried), and the
// quiet-moment rule of hosted marks.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SupabaseApi, SupabaseApiError } from "../../lib/supabase/client";
import { runPitrCli } from "../../lib/supabase/pitrCli";
import { assertDeletableScratch, assertDrillableInPlace, DrillRefused } from "../../lib/supabase/pitrGuard";
import { assessPitrHealth, pitrHealthPrometheus } from "../../lib/supabase/pitrHealth";
import { assertTargetReproducesMark, quietProblem, type HostedMark } from "../../lib/supabase/pitrMark";
import { parseHostedPitrSettings } from "../../lib/supabase/pitrSettings";
import { startFakeSupabaseApi, virtualClock, type FakeSupabaseApi } from "../helpers/fakeSupabaseApi";

const PROD = "prodprodprodprodprod";
const STAGING = "stagingstagingstagin";
const OTHER = "otherotherotherother";
const NOW_S = Math.floor(Date.now() / 1000);
const DAY = 86_400;

let fake: FakeSupabaseApi;
let dir: string;
let settingsFile: string;

function io() {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

function cli(args: string[], env: Record<string, string> = {}) {
    const o = io();
    const code = runPitrCli(args, { SUPABASE_ACCESS_TOKEN: fake.token, SUPABASE_API_URL: fake.url, ...env }, o.io, { retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    return code.then((c) => ({ code: c, out: o.out.join(""), err: o.err.join("") }));
}

function pitrBackups(earliest: number, latest: number) {
    return { pitrEnabled: true, walgEnabled: true, earliestUnix: earliest, latestUnix: latest, backups: [] };
}

/** A stored mark (synthetic fingerprint: the guards never get as far as comparing it). */
function storedMark(project: string, targetUnix: number, quietUntilUnix: number): HostedMark {
    return {
        formatVersion: 1,
        kind: "supabase-hosted-pitr-mark",
        project,
        mark: { formatVersion: 1, env: "staging", stanza: project, lsn: "0/3000060", time: new Date((targetUnix - 1) * 1000 + 400).toISOString(), slot: "s", fingerprint: {} as HostedMark["mark"]["fingerprint"] },
        targetUnix,
        quietUntilUnix,
        before: { snapshot: "750:750:", at: new Date((targetUnix - 1) * 1000).toISOString() },
        after: { snapshot: "750:750:", at: new Date((quietUntilUnix + 2) * 1000 + 100).toISOString() },
        fingerprintOptions: { excludeSchemas: ["cron", "net"] },
    };
}

function writeMark(name: string, mark: HostedMark): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(mark));
    return file;
}

beforeAll(async () => {
    fake = await startFakeSupabaseApi();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-pitr-unit-"));
    settingsFile = path.join(dir, "pitr.yaml");
    fs.writeFileSync(settingsFile, [`prodProjectRef: ${PROD}`, `drillableProjects: [${STAGING}]`, "windowDays: 7", "drill:", "  pollIntervalSeconds: 1", ""].join("\n"));
    fake.seedProject({ ref: PROD, name: "prod", polls: 100, backups: pitrBackups(NOW_S - 8 * DAY, NOW_S - 30) });
    fake.seedProject({ ref: STAGING, name: "staging", polls: 100, backups: pitrBackups(NOW_S - 8 * DAY, NOW_S - 30) });
    fake.seedProject({ ref: OTHER, name: "other", polls: 100, backups: pitrBackups(NOW_S - 8 * DAY, NOW_S - 30) });
});

afterAll(async () => {
    await fake?.close();
    fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
    fake.faults.rateLimit = undefined;
});

describe("PITR health (freshness job)", () => {
    const limits = parseHostedPitrSettings({ prodProjectRef: PROD, windowDays: 7 });
    const now = new Date(NOW_S * 1000);
    const response = (over: Partial<{ pitr: boolean; walg: boolean; earliest: number; latest: number }>) => ({
        region: "eu-central-1",
        pitr_enabled: over.pitr ?? true,
        walg_enabled: over.walg ?? true,
        backups: [],
        physical_backup_data: { earliest_physical_backup_date_unix: over.earliest ?? NOW_S - 7.2 * DAY, latest_physical_backup_date_unix: over.latest ?? NOW_S - 45 },
    });

    it("PASSes an enabled project with a fresh recovery point and a full window", () => {
        const h = assessPitrHealth(PROD, response({}), limits, now);
        expect(h.status).toBe("PASS");
        expect(h.checks.map((c) => c.status)).toEqual(["PASS", "PASS", "PASS", "PASS", "PASS"]);
        expect(h.latestRecoveryPointAgeSeconds).toBe(45);
    });

    it("FAILs when PITR is disabled, naming the flag", () => {
        const h = assessPitrHealth(PROD, { ...response({ pitr: false }), physical_backup_data: {} }, limits, now);
        expect(h.status).toBe("FAIL");
        expect(h.reasons.join("\n")).toMatch(/pitr_enabled: PITR is not enabled/);
    });

    it("FAILs a stale recovery point (over 120 s + 60 s margin), and passes at the limit", () => {
        expect(assessPitrHealth(PROD, response({ latest: NOW_S - 180 }), limits, now).status).toBe("PASS");
        const h = assessPitrHealth(PROD, response({ latest: NOW_S - 181 }), limits, now);
        expect(h.status).toBe("FAIL");
        expect(h.reasons).toEqual([expect.stringMatching(/^recovery_point: .* 181 s old, over the RPO target of 120 s \+ 60 s margin/)]);
    });

    it("FAILs a window shorter than the configured days (beyond the tolerance)", () => {
        const h = assessPitrHealth(PROD, response({ earliest: NOW_S - 2 * DAY }), limits, now);
        expect(h.status).toBe("FAIL");
        expect(h.reasons).toEqual([expect.stringMatching(/^window: window is 2\.00 days .* shorter than the configured 7 days/)]);
        expect(assessPitrHealth(PROD, response({ earliest: NOW_S - 6.8 * DAY }), limits, now).status).toBe("PASS"); // 6 h tolerance
        expect(assessPitrHealth(PROD, response({ earliest: NOW_S - 6.7 * DAY }), limits, now).status).toBe("FAIL");
    });

    it("writes Prometheus textfile lines with the project label", () => {
        const text = pitrHealthPrometheus(assessPitrHealth(PROD, response({ latest: NOW_S - 600 }), limits, now));
        expect(text).toContain(`supabase_dr_hosted_pitr_status{project="${PROD}"} 0\n`);
        expect(text).toContain(`supabase_dr_hosted_pitr_latest_recovery_point_age_seconds{project="${PROD}"} 600\n`);
        expect(text).toMatch(/# TYPE supabase_dr_hosted_pitr_window_days gauge\n/);
    });

    it("CLI: one line per check, exit 0 on PASS and 1 on FAIL; --prom written", async () => {
        const prom = path.join(dir, "health.prom");
        const ok = await cli(["health", "--settings", settingsFile, "--project", PROD, "--prom", prom]);
        expect(ok.code).toBe(0);
        expect(ok.out.trim().split("\n")).toHaveLength(6);
        expect(ok.out).toMatch(/^PASS pitr_enabled: /m);
        expect(ok.out).toMatch(/^PASS hosted PITR of project prodprodprodprodprod$/m);
        expect(fs.readFileSync(prom, "utf8")).toContain(`supabase_dr_hosted_pitr_status{project="${PROD}"} 1`);

        const stale = "stalestalestalestale";
        fake.seedProject({ ref: stale, name: "stale", polls: 100, backups: pitrBackups(NOW_S - 8 * DAY, NOW_S - 3600) });
        const bad = await cli(["health", "--settings", settingsFile, "--project", stale]);
        expect(bad.code).toBe(1);
        expect(bad.out).toMatch(/^FAIL recovery_point: .*60\.0 min old/m);

        const off = "offoffoffoffoffoffof";
        fake.seedProject({ ref: off, name: "off", polls: 100, backups: { pitrEnabled: false } });
        const disabled = await cli(["health", "--settings", settingsFile, "--project", off, "--json"]);
        expect(disabled.code).toBe(1);
        expect(JSON.parse(disabled.out).checks[0]).toMatchObject({ name: "pitr_enabled", status: "FAIL" });
    });
});

describe("settings", () => {
    it("refuses the production ref in drillableProjects and names unknown keys", () => {
        expect(() => parseHostedPitrSettings({ prodProjectRef: PROD, drillableProjects: [STAGING, PROD], windowDays: 7 })).toThrow(
            /supabase-pitr\.drillableProjects\[1\]: prodprodprodprodprod is the production project/,
        );
        expect(() => parseHostedPitrSettings({ prodProjectRef: PROD, windowDays: 30 })).toThrow(/supabase-pitr\.windowDays: expected 7, 14 or 28/);
        expect(() => parseHostedPitrSettings({ prodProjectRef: PROD, windowDays: 7, drillableProject: [STAGING] })).toThrow(/unknown key drillableProject; did you mean drillableProjects\?/);
    });
});

describe("guards: a refused drill never reaches restore-pitr", () => {
    const restoreCalls = () => fake.count("POST", /\/database\/backups\/restore-pitr$/);
    const settings = parseHostedPitrSettings({ prodProjectRef: PROD, drillableProjects: [STAGING], windowDays: 7 });

    it("in code: the production ref is refused even if a settings object lists it", () => {
        const forged = { ...settings, drillableProjects: [PROD] };
        expect(() => assertDrillableInPlace(forged, PROD)).toThrow(/it is the production project/);
        expect(() => assertDrillableInPlace(settings, OTHER)).toThrow(/not listed in drillableProjects \(listed: stagingstagingstagin\)/);
        expect(() => assertDrillableInPlace(settings, STAGING)).not.toThrow();
    });

    it("refuses the production project (exit 3, no API call at all)", async () => {
        const before = fake.requests.length;
        const r = await cli(["drill", "--settings", settingsFile, "--project", PROD, "--to", "mark", "--apply"], { SUPABASE_DB_URL: "postgresql://u:secretpw@127.0.0.1:1/postgres" });
        expect(r.code).toBe(3);
        expect(r.err).toMatch(/REFUSED: refusing to restore project prodprodprodprodprod in place: it is the production project/);
        expect(fake.requests.length).toBe(before);
    });

    it("refuses a project not listed as drillable", async () => {
        const r = await cli(["drill", "--settings", settingsFile, "--project", OTHER, "--to", "mark"]);
        expect(r.code).toBe(3);
        expect(r.err).toMatch(/not listed in drillableProjects/);
        expect(restoreCalls()).toBe(0);
    });

    it("refuses T outside the window, and T outside the mark's quiet range", async () => {
        const old = NOW_S - 9 * DAY;
        const oldMark = writeMark("old.json", storedMark(STAGING, old, old + 5));
        const r = await cli(["drill", "--settings", settingsFile, "--project", STAGING, "--to", new Date(old * 1000).toISOString(), "--mark", oldMark, "--apply"], { SUPABASE_DB_URL: "postgresql://u:pw@127.0.0.1:1/postgres" });
        expect(r.code).toBe(3);
        expect(r.err).toMatch(/is before the window/);

        const recent = NOW_S - 3600;
        const mark = writeMark("recent.json", storedMark(STAGING, recent, recent + 5));
        const outside = await cli(["drill", "--settings", settingsFile, "--project", STAGING, "--to", new Date((recent + 6) * 1000).toISOString(), "--mark", mark]);
        expect(outside.code).toBe(3);
        expect(outside.err).toMatch(/outside the mark's quiet range/);

        const foreign = writeMark("foreign.json", storedMark(OTHER, recent, recent + 5));
        const wrongProject = await cli(["drill", "--settings", settingsFile, "--project", STAGING, "--to", new Date(recent * 1000).toISOString(), "--mark", foreign]);
        expect(wrongProject.code).toBe(3);
        expect(wrongProject.err).toMatch(/recorded on project otherotherotherother, not on stagingstagingstagin/);
        expect(restoreCalls()).toBe(0);
    });

    it("dry-run prints the plan and calls nothing but the backups list", async () => {
        const recent = NOW_S - 3600;
        const mark = writeMark("dry.json", storedMark(STAGING, recent, recent + 5));
        const before = fake.requests.length;
        const r = await cli(["drill", "--settings", settingsFile, "--project", STAGING, "--to", new Date((recent + 2) * 1000).toISOString(), "--mark", mark]);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(/^DRY-RUN PITR drill \(in-place\)/);
        expect(r.err).toMatch(/would: POST \/v1\/projects\/stagingstagingstagin\/database\/backups\/restore-pitr \{"recovery_time_target_unix": \d+\}: restores IN PLACE/);
        expect(fake.requests.slice(before).map((q) => `${q.method} ${q.path}`)).toEqual([`GET /v1/projects/${STAGING}/database/backups`]);
    });

    it("runbook 000: the scratch target can be neither prod, the source nor a staging project; deletion needs a later creation time", async () => {
        const recent = NOW_S - 3600;
        const mark = writeMark("src.json", storedMark(OTHER, recent, recent + 5));
        const r = await cli(["drill", "--settings", settingsFile, "--project", OTHER, "--target-project", PROD, "--to", new Date(recent * 1000).toISOString(), "--mark", mark, "--delete-target"], { TARGET_DB_URL: "postgresql://u:pw@127.0.0.1:1/postgres" });
        expect(r.code).toBe(3);
        expect(r.err).toMatch(/target project prodprodprodprodprod is the production project/);
        expect(() => assertDeletableScratch(settings, OTHER, "scratchscratchscratc", new Date((recent - 10) * 1000).toISOString(), new Date(recent * 1000))).toThrow(DrillRefused);
        expect(() => assertDeletableScratch(settings, OTHER, STAGING, new Date().toISOString(), new Date(recent * 1000))).toThrow(/drillable staging project/);
        expect(fake.deleted).toEqual([]);
    });
});

describe("Management API stand-in: restore-pitr's published answers", () => {
    it("400 for a target outside the window, 400 without PITR, 201 inside; 429 is retried", async () => {
        const clock = virtualClock();
        const api = new SupabaseApi({ accessToken: fake.token, apiBaseUrl: fake.url, clock, retry: { baseDelayMs: 1 } });
        const err = await api.restorePitr(OTHER, NOW_S - 10 * DAY).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SupabaseApiError);
        expect((err as SupabaseApiError).status).toBe(400);
        expect((err as Error).message).toMatch(/restorePitrBackup failed \(HTTP 400\): recovery_time_target_unix must be between/);

        const off = "disableddisableddisa";
        fake.seedProject({ ref: off, name: "no-pitr", polls: 100, backups: { pitrEnabled: false } });
        await expect(api.restorePitr(off, NOW_S - 60)).rejects.toThrow(/HTTP 400\): Point in time recovery is not enabled/);

        fake.faults.rateLimit = { remaining: 1, match: /restore-pitr/, resetHeader: "3" };
        await expect(api.restorePitr(OTHER, NOW_S - 3600)).resolves.toBe(true);
        expect(clock.sleeps).toEqual([3000]);
        expect(fake.projects.get(OTHER)!.restoreTargets).toEqual([NOW_S - 3600]);
        const backups = await api.listBackups(OTHER);
        expect(backups).toMatchObject({ pitr_enabled: true, walg_enabled: true, physical_backup_data: { earliest_physical_backup_date_unix: NOW_S - 8 * DAY, latest_physical_backup_date_unix: NOW_S - 30 } });
    });
});

describe("Management API stand-in: restore-pitr is never sent twice", () => {
    it("after a 5xx it only checks whether the restore started; finding none, it fails saying so, with one request sent", async () => {
        const clock = virtualClock();
        const api = new SupabaseApi({ accessToken: fake.token, apiBaseUrl: fake.url, clock, retry: { baseDelayMs: 1 } });
        const before = fake.requests.filter((q) => q.method === "POST" && /restore-pitr/.test(q.path)).length;
        fake.faults.serverError = { remaining: 1, match: /restore-pitr/ };
        let checks = 0;
        const err = await api.restorePitr(OTHER, NOW_S - 7200, async () => {
            checks++;
            return (await api.getProject(OTHER)).status === "RESTORING" ? true : undefined;
        }).catch((e: unknown) => e);
        expect((err as Error).message).toMatch(/restorePitrBackup failed \(HTTP 500\).*not sent again, as it may have taken effect/);
        expect(checks).toBe(1);
        expect(fake.requests.filter((q) => q.method === "POST" && /restore-pitr/.test(q.path)).length - before).toBe(1);
        expect(fake.projects.get(OTHER)!.restoreTargets).not.toContain(NOW_S - 7200);
    });
});

describe("hosted marks: the quiet-moment rule", () => {
    it("is quiet only with nothing running before and no transaction completed in between", () => {
        const at = new Date().toISOString();
        expect(quietProblem({ snapshot: "750:750:", at }, { snapshot: "750:750:", at })).toBeUndefined();
        expect(quietProblem({ snapshot: "748:750:748", at }, { snapshot: "750:750:", at })).toMatch(/1 transaction\(s\) were running .*xip 748/);
        expect(quietProblem({ snapshot: "750:750:", at }, { snapshot: "752:753:752", at })).toMatch(/3 transaction id\(s\) completed .*xmax 750 → 753/);
    });

    it("accepts exactly the whole seconds of the quiet range", () => {
        const m = storedMark(STAGING, 1_000, 1_004);
        expect(() => assertTargetReproducesMark(m, 1_000)).not.toThrow();
        expect(() => assertTargetReproducesMark(m, 1_004)).not.toThrow();
        expect(() => assertTargetReproducesMark(m, 999)).toThrow(/outside the mark's quiet range/);
        expect(() => assertTargetReproducesMark(m, 1_005)).toThrow(/outside the mark's quiet range/);
    });
});
