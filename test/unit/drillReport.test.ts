// The drill report's verdict from step results on disk: PASS only when the data was checked and
// every target was met.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { writeStepResult } from "../../lib/drill/artifacts";
import { buildDrillReport, formatSummary, writeDrillReport, type DrillMeta } from "../../lib/drill/report";

const ID = "20261122100000";
const START = "2026-11-22T10:00:00.000Z";

interface ValidationFixture {
    status: "pass" | "fail";
    comparedWith: string;
    finishedAt?: string;
    dataCompared?: boolean;
    allowNoData?: boolean;
    extra?: { check: string; object: string; status: string; detail?: string }[];
}

function drillDir(validation: ValidationFixture, smoke?: unknown): DrillMeta {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-report-"));
    writeStepResult(dir, ID, "backup", {
        mode: "dump", manifestPath: "m", startedAt: START, finishedAt: START, durationMs: 1000,
        manifest: { manifestVersion: 1, id: `backup_${ID}`, format: "custom", root: "x", files: [], takenAt: "2026-11-22T09:00:00.000Z", takenAtSource: "snapshot", tools: {} },
    });
    writeStepResult(dir, ID, "restore", { format: "custom", startedAt: START, finishedAt: START, durationMs: 2000, checksumMs: 1, target: "h:1/d", errors: [], allowedErrors: [], logPath: "/x/restore.log" });
    writeStepResult(dir, ID, "validation", {
        status: validation.status, comparedWith: validation.comparedWith, startedAt: START,
        finishedAt: validation.finishedAt ?? "2026-11-22T10:10:00.000Z", durationMs: 500,
        results: [
            { check: "row_count", object: "public.t", status: validation.status, source: 1, target: validation.status === "pass" ? 1 : 0 },
            ...(validation.extra ?? []),
        ],
        ...(validation.dataCompared === undefined ? {} : { dataCompared: validation.dataCompared }),
        ...(validation.allowNoData ? { allowNoData: true } : {}),
    });
    if (smoke) writeStepResult(dir, ID, "smoke", smoke);
    return { id: ID, env: "test", stack: `drill-test-${ID}`, artifactsDir: dir, startedAt: START, targets: { rtoSeconds: 3600, rpoSeconds: 7200 }, nextDrillDays: 90, smokeConfigured: !!smoke };
}

describe("drill report", () => {
    it("PASS with RTO = start → validated and RPO = start − backup taken-at", () => {
        const r = buildDrillReport(drillDir({ status: "pass", comparedWith: "backup-fingerprint" }), new Date("2026-11-22T10:11:00Z"));
        expect(r.status).toBe("PASS");
        expect(r.rto_seconds).toBe(600);
        expect(r.rpo_seconds).toBe(3600);
        expect(r.next_drill_date).toBe("2027-02-20");
        expect(formatSummary(r)).toMatch(/Drill Status: PASS[\s\S]*Smoke Test Results: not run/);
    });

    it("FAIL when the RTO target is missed, saying so", () => {
        const r = buildDrillReport(drillDir({ status: "pass", comparedWith: "backup-fingerprint", finishedAt: "2026-11-22T12:00:00.000Z" }));
        expect(r.status).toBe("FAIL");
        expect(r.targets.rto_met).toBe(false);
        expect(r.issues.join()).toMatch(/RTO 7200s exceeds the target of 3600s/);
    });

    it("FAIL when nothing was compared with the source, even if every check passed", () => {
        const r = buildDrillReport(drillDir({ status: "pass", comparedWith: "none" }));
        expect(r.status).toBe("FAIL");
    });

    it("PASS without a comparison basis only when the caller accepted it (allowNoData), saying no data was compared", () => {
        const accepted = buildDrillReport(
            drillDir({ status: "pass", comparedWith: "none", dataCompared: false, allowNoData: true }),
            new Date("2026-11-22T10:11:00Z"),
        );
        expect(accepted.status).toBe("PASS");
        expect(accepted.validation).toMatchObject({ data_compared: false, no_data_allowed: true });
        expect(formatSummary(accepted)).toContain("- Validation: PASS (1 passed, 0 failed; compared with none, NO DATA COMPARED (accepted: allowNoData))");
        expect(buildDrillReport(drillDir({ status: "pass", comparedWith: "none", dataCompared: false })).status).toBe("FAIL");
    });

    it("says when a fingerprint comparison covered no table, and counts checks that were not compared", () => {
        const r = buildDrillReport(
            drillDir({
                status: "pass",
                comparedWith: "backup-fingerprint",
                dataCompared: false,
                allowNoData: true,
                extra: [{ check: "index", object: "all", status: "skip", detail: "not recorded in this backup's fingerprint (format 2)" }],
            }),
            new Date("2026-11-22T10:11:00Z"),
        );
        expect(r.status).toBe("PASS");
        expect(r.issues).toContain("No table data was compared with the source (accepted: allowNoData).");
        expect(r.validation?.not_compared).toBe(1);
        expect(formatSummary(r)).toContain(
            "- Validation: PASS (1 passed, 0 failed, 1 not compared; compared with backup-fingerprint, NO DATA COMPARED (accepted: allowNoData))",
        );
        const normal = buildDrillReport(drillDir({ status: "pass", comparedWith: "backup-fingerprint", dataCompared: true }));
        expect(formatSummary(normal)).toContain("- Validation: PASS (1 passed, 0 failed; compared with backup-fingerprint)");
    });

    it("FAIL on a validation difference", () => {
        expect(buildDrillReport(drillDir({ status: "fail", comparedWith: "backup-fingerprint" })).status).toBe("FAIL");
    });

    it("configured smoke must have run and passed: skipped or missing smoke FAILs, saying why", () => {
        const at = new Date("2026-11-22T10:11:00Z");
        const ok = { status: "pass" as const, comparedWith: "backup-fingerprint" };
        const skipped = { status: "skipped", passed: 0, total: 2, checks: [] };
        const passed = { status: "pass", passed: 1, total: 1, checks: [{ name: "GET /rest/v1/t", method: "GET", url: "https://ref.supabase.co/rest/v1/t", status: 200, latencyMs: 12, outcome: "PASS" }] };

        const notRun = buildDrillReport(drillDir(ok, skipped), at);
        expect(notRun.status).toBe("FAIL");
        expect(notRun.configured.smoke).toBe(true);
        expect(notRun.issues).toContain("Smoke tests were configured but could not run: no API of the restored environment to send them to (2 check(s) not run).");
        expect(notRun.recommendations.join()).toMatch(/drill\.smoke\.baseUrl or TARGET_API_URL/);
        expect(formatSummary(notRun)).toContain("- Smoke Test Results: could not run (2 check(s) not run)");

        const missing = buildDrillReport({ ...drillDir(ok), smokeConfigured: true }, at);
        expect(missing.status).toBe("FAIL");
        expect(missing.issues).toContain("Smoke tests were configured but did not run.");

        const fine = buildDrillReport(drillDir(ok, passed), at);
        expect(fine.status).toBe("PASS");
        expect(formatSummary(fine)).toContain("- Smoke Test Results: 1/1");
        // Not configured: no smoke result is needed.
        expect(buildDrillReport(drillDir(ok), at).status).toBe("PASS");
    });

    it("FAIL when a configured storage bucket was not restored; PASS once its result is there", async () => {
        const meta = { ...drillDir({ status: "pass", comparedWith: "backup-fingerprint" }), storageBuckets: ["uploads"] };
        const missing = buildDrillReport(meta);
        expect(missing.status).toBe("FAIL");
        expect(missing.issues.join()).toMatch(/Storage bucket uploads was not restored/);
        const { writeStorageStep } = await import("../../lib/drill/artifacts");
        writeStorageStep(meta.artifactsDir, ID, { sourceBucket: "uploads", restoredBucket: "restored-uploads-20261122", manifestKey: "k", objects: 3, bytes: 10, verifiedAt: START });
        const ok = buildDrillReport(meta, new Date("2026-11-22T10:11:00Z"));
        expect(ok.status).toBe("PASS");
        expect(formatSummary(ok)).toMatch(/Storage Restore: uploads → restored-uploads-20261122 \(3 objects verified\)/);
    });

    it("writes all four files and redacts registered secrets and URI passwords", () => {
        const meta = drillDir({ status: "pass", comparedWith: "backup-fingerprint" });
        const written = writeDrillReport({ ...meta, error: "boom postgresql://u:pw-xyz@h/db token-abcdef" }, ["token-abcdef"]);
        const files = [written.summaryPath, written.jsonPath, written.junitPath, written.prometheusPath];
        expect(files.map((f) => path.basename(f))).toEqual([`drill_summary_${ID}.md`, `drill_${ID}.json`, `drill_${ID}.junit.xml`, `drill_${ID}.prom`]);
        const text = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
        expect(text).toContain("Drill failed");
        expect(text).not.toContain("pw-xyz");
        expect(text).not.toContain("token-abcdef");
        expect(written.report.failure).toBe("boom postgresql://u:****@h/db ****");
    });

    it("redacts a secret that JSON would escape (quote, backslash) in every file", () => {
        const secret = 'to"ken\\with-escapes';
        const meta = drillDir({ status: "pass", comparedWith: "backup-fingerprint" });
        const written = writeDrillReport({ ...meta, error: `refused ${secret}` }, [secret]);
        const json = fs.readFileSync(written.jsonPath, "utf8");
        expect(json).not.toContain(JSON.stringify(secret).slice(1, -1));
        expect((JSON.parse(json) as { failure: string }).failure).toBe("refused ****");
        for (const f of [written.summaryPath, written.junitPath]) expect(fs.readFileSync(f, "utf8"), f).not.toContain("with-escapes");
    });

    it("lists the JUnit and Prometheus files among the artifacts, and what was configured", () => {
        const meta = { ...drillDir({ status: "pass", comparedWith: "backup-fingerprint" }), maskingConfigured: true, storageBuckets: ["avatars"] };
        const r = buildDrillReport(meta, new Date("2026-11-22T10:11:00Z"));
        expect(r.artifacts).toEqual(expect.arrayContaining([`drill_${ID}.junit.xml`, `drill_${ID}.prom`, `drill_summary_${ID}.md`, `drill_${ID}.json`]));
        expect(r.artifacts).toEqual([...r.artifacts].sort());
        expect(r.configured).toEqual({ masking: true, smoke: false, storage_buckets: ["avatars"] });
        expect(r.failure).toBeUndefined();
        expect(formatSummary(r)).toMatch(/Artifacts:[\s\S]*- drill_20261122100000\.junit\.xml\n[\s\S]*- drill_20261122100000\.prom\n/);
    });
});
