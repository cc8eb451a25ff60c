import { describe, expect, it } from "vitest";
import { formatSmokeReport, type SmokeResult } from "../../lib/smoke";

describe("formatSmokeReport", () => {
    it("writes one line per check, then passed N/M", () => {
        const result: SmokeResult = {
            status: "fail",
            passed: 1,
            total: 3,
            checks: [
                { name: "GET /api/health", method: "GET", url: "http://h/api/health", status: 200, latencyMs: 35, outcome: "PASS" },
                { name: "GET /api/ready", method: "GET", url: "http://h/api/ready", status: 503, latencyMs: 12, outcome: "FAIL", reason: "server error 503 (5xx always fails); body: {}" },
                { name: "GET /api/ops/samples", method: "GET", url: "http://h/api/ops/samples", outcome: "FAIL", reason: "path check needs a base URL" },
            ],
        };
        expect(formatSmokeReport(result)).toBe(
            [
                "PASS GET /api/health 200 35ms",
                "FAIL GET /api/ready 503 12ms: server error 503 (5xx always fails); body: {}",
                "FAIL GET /api/ops/samples - -: path check needs a base URL",
                "passed 1/3",
                "",
            ].join("\n"),
        );
    });

    it("keeps each check on one line and redacts given secrets again", () => {
        const report = formatSmokeReport(
            {
                status: "fail",
                passed: 0,
                total: 1,
                checks: [{ name: "multi\nline", method: "GET", url: "u", status: 400, latencyMs: 1, outcome: "FAIL", reason: "got\r\nBearer tok_abcdef123 back" }],
            },
            ["tok_abcdef123"],
        );
        expect(report).toBe("FAIL multi line 400 1ms: got Bearer **** back\npassed 0/1\n");
    });

    it("says why smoke was skipped, without a FAIL", () => {
        expect(formatSmokeReport({ status: "skipped", passed: 0, total: 5, checks: [] })).toBe("SKIPPED no base URL (TARGET_API_URL unset), 5 check(s) not run\n");
        expect(formatSmokeReport({ status: "skipped", passed: 0, total: 0, checks: [] })).toBe("SKIPPED no smoke checks configured\n");
    });
});
