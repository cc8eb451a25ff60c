// A point-in-time recovery drill's inputs and report, without a server: the --pitr* flags, the
// drill.pitr settings and what they need of the secrets (every problem with its property path), and
// the report's T, reached target, durations and RPO from the steps' results.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { drillArgsFromConfig, drillSecretIssues, parseUserDrillSettings } from "../../lib/drill/config";
import { writeStepResult } from "../../lib/drill/artifacts";
import { formatJUnit } from "../../lib/drill/junit";
import type { PitrStep } from "../../lib/drill/pitrRestore";
import { pitrTargetFromFlags } from "../../lib/drill/pitrTarget";
import { formatPrometheus } from "../../lib/drill/prometheus";
import { buildDrillReport, formatSummary, type DrillMeta, type ValidationStep } from "../../lib/drill/report";

const ARCHIVE = { env: "prod", stanza: "prod-db", repository: { bucket: "acme-vault", endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1" }, retention: { full: 2 } };
const POSIX = { env: "demo", stanza: "demo-db", repository: { type: "posix", path: "/srv/pgbackrest" }, retention: { full: 1 } };

function issuesOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (err) {
        return ((err as { issues?: { path: string; message: string }[] }).issues ?? []).map((i) => `${i.path}: ${i.message}`);
    }
    return [];
}

describe("--pitr* flags", () => {
    const now = new Date("2026-11-30T12:00:00Z");

    it("give one target: a zoned time, an LSN, a restore point or a mark", () => {
        expect(pitrTargetFromFlags({}, now)).toBeUndefined();
        expect(pitrTargetFromFlags({ pitr: "2026-11-30T10:15:00+01:00" }, now)).toEqual({ type: "time", time: "2026-11-30T09:15:00.000Z" });
        expect(pitrTargetFromFlags({ pitrLsn: "16/b374d848" }, now)).toEqual({ type: "lsn", lsn: "16/B374D848" });
        expect(pitrTargetFromFlags({ pitrName: "before-migration" }, now)).toEqual({ type: "name", name: "before-migration" });
        expect(pitrTargetFromFlags({ pitrMark: "latest" }, now)).toEqual({ type: "mark", mark: "latest" });
    });

    it("refuse a time without a zone, a future time, a malformed LSN, two targets, a long name", () => {
        expect(() => pitrTargetFromFlags({ pitr: "2026-11-30T10:15:00" }, now)).toThrow(/--pitr "2026-11-30T10:15:00": expected an ISO 8601 time with a zone/);
        expect(() => pitrTargetFromFlags({ pitr: "yesterday" }, now)).toThrow(/with a zone/);
        expect(() => pitrTargetFromFlags({ pitr: "2026-11-30T13:00:00Z" }, now)).toThrow(/is in the future/);
        expect(() => pitrTargetFromFlags({ pitrLsn: "0/XYZ" }, now)).toThrow(/--pitr-lsn "0\/XYZ": expected an LSN such as 0\/3000028/);
        expect(() => pitrTargetFromFlags({ pitr: "2026-11-30T10:00:00Z", pitrMark: "latest" }, now)).toThrow("--pitr and --pitr-mark: give one recovery target");
        expect(() => pitrTargetFromFlags({ pitrName: "x".repeat(64) }, now)).toThrow(/at most 63 characters/);
        expect(() => pitrTargetFromFlags({ pitrMark: "" }, now)).toThrow("--pitr-mark needs a value");
    });
});

describe("drill.pitr settings", () => {
    it("accept the archive's own schema (lib/pitr/settings) and a target", () => {
        const s = parseUserDrillSettings({ pitr: { archive: ARCHIVE, target: { type: "mark", mark: "latest" }, database: "app" } });
        expect(s.pitr?.archive.repository).toMatchObject({ type: "s3", bucket: "acme-vault", uriStyle: "host" });
        expect(s.pitr?.archive.cipher).toBe("aes-256-cbc");
    });

    it("name every problem with its path: archive keys, target forms, combinations", () => {
        const issues = issuesOf(() =>
            parseUserDrillSettings({
                backupPath: "/b/backup.dump",
                target: { kind: "database" },
                pitr: { archive: { ...ARCHIVE, repository: { ...ARCHIVE.repository, endpoint: "http://s3.local" }, cipherPass: "x" }, target: { type: "time", time: "2026-11-30T10:15:00" }, databse: "app" },
            }),
        );
        expect(issues).toEqual(expect.arrayContaining([
            expect.stringMatching(/^supabase-dr:drill\.pitr\.archive\.repository\.endpoint: expected an https:\/\/ URL/),
            expect.stringMatching(/^supabase-dr:drill\.pitr\.archive: unknown key cipherPass/),
            'supabase-dr:drill.pitr.target.time: expected an ISO 8601 time with a zone such as 2026-11-22T10:15:00Z, got "2026-11-30T10:15:00"',
            "supabase-dr:drill.pitr: unknown key databse; did you mean database?",
            "supabase-dr:drill.backupPath: cannot be combined with pitr.target: a PITR drill restores from the WAL archive",
            "supabase-dr:drill.target: a PITR drill restores into its own throw-away cluster: leave target out (or kind cluster)",
        ]));
        expect(issuesOf(() => parseUserDrillSettings({ pitr: { archive: ARCHIVE, target: { type: "lsn", lsn: "zz" } } }))).toEqual([
            "supabase-dr:drill.pitr.target.lsn: expected an LSN such as 0/3000028, got \"zz\"",
        ]);
        expect(issuesOf(() => parseUserDrillSettings({ pitr: { archive: ARCHIVE, target: { type: "snapshot" } } }))[0]).toMatch(/^supabase-dr:drill\.pitr\.target\.type: expected \{type: "time", time\}/);
    });

    it("a mark target on a posix archive needs the marks' store", () => {
        expect(issuesOf(() => parseUserDrillSettings({ pitr: { archive: POSIX, target: { type: "mark", mark: "latest" } } }))).toEqual([
            "supabase-dr:drill.pitr.marks: required for a mark target when the archive is a posix repository (where the marks are)",
        ]);
        expect(issuesOf(() => parseUserDrillSettings({ pitr: { archive: POSIX, marks: { kind: "dir", path: "/srv/vault" }, target: { type: "mark", mark: "latest" } } }))).toEqual([]);
    });

    it("the archive's secrets are required as the archive needs them, under their config keys", () => {
        const raw = { pitr: { archive: ARCHIVE, target: { type: "time", time: "2026-11-30T10:15:00Z" } } };
        expect(drillSecretIssues(raw, {}).map((i) => i.path)).toEqual([
            "supabase-dr:pitrS3Key", "supabase-dr:pitrS3KeySecret", "supabase-dr:pitrCipherPass", "supabase-dr:sourceDbUrl",
        ]);
        expect(drillSecretIssues(raw, {}).find((i) => i.path === "supabase-dr:sourceDbUrl")?.message).toMatch(/heartbeat log .* is read from it, nothing else/);
        // A mark brings its own basis: no source; a posix archive without encryption needs no secret at all.
        const posixMark = { pitr: { archive: { ...POSIX, cipher: "none" }, marks: { kind: "dir", path: "/v" }, target: { type: "mark", mark: "latest" } } };
        expect(drillSecretIssues(posixMark, {})).toEqual([]);
        // Without a target, drill.pitr is only the archive's description: an ordinary drill.
        expect(drillSecretIssues({ pitr: { archive: ARCHIVE } }, {}).map((i) => i.path)).toEqual(["supabase-dr:sourceDbUrl"]);
    });

    it("become the drill component's pitr arguments, secrets apart", () => {
        const args = drillArgsFromConfig(
            { env: "prod", id: "20261130120000", artifactsDir: "/a", startedAt: "2026-11-30T12:00:00Z", pitr: { archive: ARCHIVE, target: { type: "mark", mark: "latest" } } },
            { pitrS3Key: "AKIAEXAMPLE", pitrS3KeySecret: "secret/key", pitrCipherPass: "pass phrase" },
            "drill-prod-20261130120000",
        );
        expect(args.pitr).toMatchObject({ target: { type: "mark", mark: "latest" }, database: "postgres", secrets: { s3Key: "AKIAEXAMPLE", s3KeySecret: "secret/key", cipherPass: "pass phrase" } });
        expect(JSON.stringify(args.pitr?.archive)).not.toMatch(/AKIAEXAMPLE|pass phrase/);
        expect(args.target).toEqual({ kind: "cluster" });
    });
});

describe("the report of a PITR drill", () => {
    let dir: string | undefined;
    afterEach(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
        dir = undefined;
    });

    function drill(target: PitrStep["target"], lastCommitTime: string | null, validation?: Partial<ValidationStep>) {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-pitr-report-"));
        const id = "20261130120000";
        const step: PitrStep = {
            target,
            targetAsked: target.type === "time" ? `time ${target.time}` : "mark m.json (LSN 0/5000028)",
            stanza: "prod-db",
            repository: "s3://acme-vault/pitr/prod",
            backupLabel: "20261130-010000F",
            reached: { lsn: "0/5000028", lastCommitTime },
            startedAt: "2026-11-30T12:00:05.000Z",
            finishedAt: "2026-11-30T12:01:05.000Z",
            durations: { restoreMs: 20_000, replayMs: 35_000, promoteMs: 1_000, totalMs: 60_000 },
            jobs: { databases: [{ database: "postgres", cronJobsDeactivated: 3, netRequestsDropped: 0 }], backendsTerminated: 1 },
            jobsSummary: "postgres: 3 pg_cron job(s) deactivated, 0 pg_net request(s) dropped; 1 worker session(s) ended",
            changedTables: ["cron.job"],
            database: "postgres",
            rootDir: "/tmp/supabase-dr-pg-x",
        };
        writeStepResult(dir, id, "pitr", step);
        writeStepResult(dir, id, "validation", {
            status: "pass", comparedWith: target.type === "mark" ? "consistent-point" : "heartbeat-log",
            startedAt: "2026-11-30T12:01:05.000Z", finishedAt: "2026-11-30T12:01:35.000Z", durationMs: 30_000,
            results: [{ check: "heartbeat_before_target", object: "supabase_dr.pitr_heartbeat", status: "pass" }], dataCompared: true, ...validation,
        });
        const meta: DrillMeta = {
            id, env: "prod", stack: `drill-prod-${id}`, artifactsDir: dir, startedAt: "2026-11-30T12:00:00.000Z",
            targets: { rtoSeconds: 900, rpoSeconds: 120 }, nextDrillDays: 7, pitrTarget: target,
        };
        return buildDrillReport(meta, new Date("2026-11-30T12:02:00.000Z"));
    }

    it("to a time: T, the reached target, durations, RPO = T − last replayed commit; PASS without a backup step", () => {
        const r = drill({ type: "time", time: "2026-11-30T11:30:00.000Z" }, "2026-11-30T11:29:58.600Z");
        expect(r.status).toBe("PASS");
        expect(r.rpo_seconds).toBe(1);
        expect(r.rto_seconds).toBe(95);
        expect(r.pitr).toMatchObject({ target_asked: "time 2026-11-30T11:30:00.000Z", reached_lsn: "0/5000028", reached_last_commit_time: "2026-11-30T11:29:58.600Z", replay_seconds: 35, backup_label: "20261130-010000F" });
        expect(r.durations_seconds).toMatchObject({ restore: 60, replay: 35 });
        const summary = formatSummary(r);
        expect(summary).toContain("- Point-in-time Target: time 2026-11-30T11:30:00.000Z");
        expect(summary).toContain("- Target Reached: LSN 0/5000028, last commit 2026-11-30T11:29:58.600Z");
        expect(summary).toContain("- Scheduled Jobs: postgres: 3 pg_cron job(s) deactivated");
        expect(summary).not.toContain("Backup Duration");
        const junit = formatJUnit(r);
        expect(junit).toContain('name="point-in-time restore to time 2026-11-30T11:30:00.000Z"');
        expect(junit).toContain('name="base backup 20261130-010000F (pgBackRest)"');
        expect(junit).not.toMatch(/<failure/);
        expect(formatPrometheus(r)).toMatch(/supabase_dr_drill_pitr_target_timestamp_seconds\{env="prod",stack="drill-prod-20261130120000"\} 1796038200\n/);
        expect(formatPrometheus(r)).toMatch(/supabase_dr_drill_duration_seconds\{[^}]*step="replay"\} 35\n/);
    });

    it("an RPO over the target fails the drill and says why; no replayed commit leaves RPO unmeasured", () => {
        const late = drill({ type: "time", time: "2026-11-30T11:30:00.000Z" }, "2026-11-30T11:20:00.000Z");
        expect(late.status).toBe("FAIL");
        expect(late.issues).toContain("RPO 600s exceeds the target of 120s (the last transaction replayed is that much older than T: is WAL archived late?).");
        const none = drill({ type: "time", time: "2026-11-30T11:30:00.000Z" }, null);
        expect(none.status).toBe("FAIL");
        expect(none.rpo_seconds).toBeUndefined();
        expect(none.issues.join("\n")).toMatch(/replayed no transaction before T/);
    });

    it("at a mark RPO is 0; a validation failure fails the drill; a missing PITR step names the restore", () => {
        expect(drill({ type: "mark", mark: "m.json" }, "2026-11-30T11:29:00.000Z").rpo_seconds).toBe(0);
        const bad = drill({ type: "mark", mark: "m.json" }, null, {
            status: "fail", results: [{ check: "row_count", object: "public.orders", status: "fail", source: 10, target: 11 }],
        });
        expect(bad.status).toBe("FAIL");
        expect(bad.issues).toContain("Validation row_count failed for public.orders");

        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-pitr-report-"));
        const r = buildDrillReport({
            id: "20261130120001", env: "prod", stack: "drill-prod-20261130120001", artifactsDir: dir, startedAt: "2026-11-30T12:00:00.000Z",
            targets: { rtoSeconds: 900, rpoSeconds: 120 }, nextDrillDays: 7, pitrTarget: { type: "lsn", lsn: "0/5000028" }, error: "recovery did not reach the target",
        });
        expect(r.status).toBe("FAIL");
        expect(r.issues).toContain("The point-in-time restore did not complete.");
        expect(r.issues.join("\n")).not.toMatch(/No backup artifact/);
        expect(r.pitr).toEqual({ target_asked: "LSN 0/5000028", target: { type: "lsn", lsn: "0/5000028" }, completed: false });
        expect(formatJUnit(r)).toMatch(/<testcase name="restore" classname="drill.restore"[^>]*>\s*<failure message="the restore step did not complete"/);
    });
});
