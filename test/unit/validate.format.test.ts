// The validation report as an operator reads it: verdict first, failures with both sides, runbook
// style name|value lines, then passes; never a password.
import { describe, expect, it } from "vitest";
import { formatValidationReport } from "../../lib/validate/format";
import type { CheckResult } from "../../lib/validate/types";

const results: CheckResult[] = [
    { check: "row_count", object: "public.tasks", status: "fail", source: 5, target: 4 },
    { check: "checksum", object: "public.tasks", status: "fail", source: "aaa", target: "bbb", detail: "content differs" },
    { check: "row_count", object: "public.profiles", status: "pass", source: 3, target: 3 },
    { check: "policy", object: "public.tasks.tasks_owner", status: "fail", source: { qual: "(owner = auth.uid())", cmd: "SELECT" }, detail: "missing on target" },
    { check: "assertion", object: "invalid_progress", status: "pass", source: 0, target: "0" },
    { check: "assertion", object: "broken", status: "fail", source: 0, detail: "query failed: syntax error" },
    { check: "extension", object: "pgcrypto", status: "pass", source: { version: "1.3", schema: "public" }, target: { version: "1.3", schema: "public" } },
];

describe("formatValidationReport", () => {
    const report = formatValidationReport(results);
    const lines = report.split("\n");

    it("starts with a one-line verdict counting failures and passes", () => {
        expect(lines[0]).toBe("Restore validation: FAIL — 4 of 7 checks failed, 3 passed");
    });

    it("lists every failure before any pass, with source and target values", () => {
        const failLines = lines.filter((l) => l.startsWith("FAIL "));
        expect(failLines).toEqual([
            "FAIL row_count public.tasks: source 5 | target 4",
            "FAIL checksum public.tasks: source aaa | target bbb — content differs",
            'FAIL policy public.tasks.tasks_owner: source {"cmd":"SELECT","qual":"(owner = auth.uid())"} | target (absent) — missing on target',
            "FAIL assertion broken: source 0 | target (absent) — query failed: syntax error",
        ]);
        const lastFail = lines.findIndex((l) => l.startsWith("FAIL assertion broken"));
        const firstPass = lines.findIndex((l) => l.startsWith("pass "));
        expect(lastFail).toBeGreaterThan(0);
        expect(firstPass).toBeGreaterThan(lastFail);
    });

    it("prints runbook 003 style name|value lines for row counts and assertions", () => {
        expect(report).toContain("Row counts (table|target rows|source rows):\npublic.tasks|4|5\npublic.profiles|3|3\n");
        expect(report).toContain("Assertions (name|value):\ninvalid_progress|0\nbroken|ERROR\n");
    });

    it("lists passes with short values only", () => {
        expect(lines).toContain("pass row_count public.profiles = 3");
        expect(lines).toContain("pass extension pgcrypto");
        expect(lines).toContain("Passes (3):");
    });

    it("says PASS only when everything passed, and FAIL when nothing ran", () => {
        expect(formatValidationReport(results.filter((r) => r.status === "pass")).split("\n")[0]).toBe(
            "Restore validation: PASS — all 3 checks passed",
        );
        expect(formatValidationReport([])).toBe("Restore validation: FAIL — no checks were run\n");
    });

    it("redacts URI passwords and registered secrets", () => {
        const leaky: CheckResult[] = [
            {
                check: "assertion",
                object: "remote",
                status: "fail",
                detail: "could not connect to postgresql://app:hunter22@db.example:5432/x with token s3cr3t-token",
            },
        ];
        const text = formatValidationReport(leaky, { secrets: ["s3cr3t-token"] });
        expect(text).not.toContain("hunter22");
        expect(text).not.toContain("s3cr3t-token");
        expect(text).toContain("postgresql://app:****@db.example:5432/x");
    });
});

describe("checks that could not be compared", () => {
    const withSkips: CheckResult[] = [
        { check: "row_count", object: "public.tasks", status: "pass", source: 5, target: 5 },
        { check: "index", object: "all", status: "skip", detail: "not recorded in this backup's fingerprint (format 2): indexes were not compared" },
        { check: "grant", object: "all", status: "skip", detail: "not recorded in this backup's fingerprint (format 2): grants were not compared" },
    ];

    it("are counted apart from passes in the verdict and listed in their own section", () => {
        const lines = formatValidationReport(withSkips).split("\n");
        expect(lines[0]).toBe('Restore validation: PASS — all 1 compared checks passed; 2 not compared (see "Not compared")');
        expect(lines).toContain("Not compared (2):");
        expect(lines).toContain("not compared index all — not recorded in this backup's fingerprint (format 2): indexes were not compared");
        expect(lines).toContain("Passes (1):");
        expect(lines.filter((l) => l.startsWith("pass "))).toEqual(["pass row_count public.tasks = 5"]);
    });

    it("never make a PASS on their own", () => {
        expect(formatValidationReport(withSkips.filter((r) => r.status === "skip")).split("\n")[0]).toBe(
            'Restore validation: FAIL — no checks were run; 2 not compared (see "Not compared")',
        );
    });

    it("print notes right under the verdict", () => {
        const lines = formatValidationReport(withSkips.slice(0, 1), { notes: ["NO DATA WAS COMPARED: reason."] }).split("\n");
        expect(lines.slice(0, 2)).toEqual(["Restore validation: PASS — all 1 checks passed", "NO DATA WAS COMPARED: reason."]);
    });
});

describe("block ranges for split table scans", () => {
    it("cover the whole table with open ends, in order", async () => {
        const { blockRanges } = await import("../../lib/validate/tableScan");
        expect(blockRanges(100, 1)).toEqual([{}]);
        expect(blockRanges(3, 4)).toEqual([{}]);
        expect(blockRanges(10, 3)).toEqual([
            { fromBlock: undefined, toBlock: 4 },
            { fromBlock: 4, toBlock: 8 },
            { fromBlock: 8, toBlock: undefined },
        ]);
    });

    it("combine partial sums into the single-pass checksum", async () => {
        const { combineScans } = await import("../../lib/validate/tableScan");
        const whole = combineScans([{ rowCount: 3, sum0: 6n, sum1: -4n, maxUpdatedAt: "2026-01-02" }]);
        const parts = combineScans([
            { rowCount: 1, sum0: 1n, sum1: -10n, maxUpdatedAt: "2026-01-01" },
            { rowCount: 2, sum0: 5n, sum1: 6n, maxUpdatedAt: "2026-01-02" },
            { rowCount: 0, sum0: 0n, sum1: 0n, maxUpdatedAt: null },
        ]);
        expect(parts).toEqual(whole);
    });
});
