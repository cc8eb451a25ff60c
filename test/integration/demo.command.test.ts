// `npm run demo`, the embedded default, as a user runs it: one command, a PASS drill, artifacts kept,
// nothing else left behind.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

describe("npm run demo", () => {
    it("runs a full drill against a throw-away PostgreSQL and reports PASS", () => {
        const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-demo-"));
        try {
            const r = spawnSync("npm", ["run", "--silent", "demo"], {
                cwd: path.resolve(__dirname, "../.."),
                env: { ...process.env, BACKUP_DIR: backupDir },
                encoding: "utf8",
                timeout: 300_000,
            });
            const output = r.stdout + r.stderr;
            expect(r.status, output.slice(-3000)).toBe(0);
            expect(output).toMatch(/seeded [\d,]+ rows/);
            expect(output).toMatch(/Drill Status: PASS/);
            expect(output).toMatch(/destroyed and removed/);
            const [drillDir] = fs.readdirSync(backupDir);
            const files = fs.readdirSync(path.join(backupDir, drillDir));
            for (const prefix of ["backup_", "restore_", "validation_", "masking_", "drill_summary_", "drill_"]) {
                expect(files.some((f) => f.startsWith(prefix)), prefix).toBe(true);
            }
            const report = JSON.parse(fs.readFileSync(path.join(backupDir, drillDir, files.find((f) => /^drill_\d+\.json$/.test(f))!), "utf8"));
            expect(report.status).toBe("PASS");
            expect(report.validation.checks.filter((c: { check: string }) => c.check === "rls_visibility").length).toBeGreaterThan(0);
            expect(report.masking.status).toBe("pass");
            const rows = report.validation.checks
                .filter((c: { check: string }) => c.check === "row_count")
                .reduce((sum: number, c: { target: number }) => sum + Number(c.target), 0);
            expect(rows).toBeGreaterThanOrEqual(100_000);
        } finally {
            fs.rmSync(backupDir, { recursive: true, force: true });
        }
    });
});
