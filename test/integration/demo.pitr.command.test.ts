// `npm run demo -- --pitr`, as a user runs it: a point-in-time recovery drill end to end through the
// engine, PASS with T (the mark) and the reached target printed, and nothing left behind: the source,
// its archive and the drill's restored cluster removed, the stack destroyed.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

describe("npm run demo -- --pitr", () => {
    it("runs a PITR drill to a consistent-point mark and reports PASS with the mark and the reached LSN", () => {
        const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-demo-pitr-"));
        try {
            const r = spawnSync("npm", ["run", "--silent", "demo", "--", "--pitr"], {
                cwd: path.resolve(__dirname, "../.."),
                // A small seed: the drill's steps are what is shown, not the volume.
                env: { ...process.env, BACKUP_DIR: backupDir, DEMO_SCALE: "0.1" },
                encoding: "utf8",
                timeout: 400_000,
            });
            const output = r.stdout + r.stderr;
            expect(r.status, output.slice(-3000)).toBe(0);
            expect(output).toMatch(/consistent-point mark pitr\/demo\/marks\/\S+ at LSN [0-9A-F]+\/[0-9A-F]+/);
            expect(output).toMatch(/\[demo\] PITR drill PASS: mark \S+ \(LSN [0-9A-F]+\/[0-9A-F]+\); reached LSN [0-9A-F]+\/[0-9A-F]+, last commit \d{4}-\d\d-\d\dT[\d:.]+Z; validation consistent-point: pass/);
            expect(output).toMatch(/Drill Status: PASS/);
            expect(output).toMatch(/destroyed and removed/);
            const [drillDir] = fs.readdirSync(backupDir);
            const files = fs.readdirSync(path.join(backupDir, drillDir));
            const id = drillDir.split("_").pop();
            const report = JSON.parse(fs.readFileSync(path.join(backupDir, drillDir, `drill_${id}.json`), "utf8"));
            expect(report.status).toBe("PASS");
            expect(report.validation.compared_with).toBe("consistent-point");
            expect(report.rpo_seconds).toBe(0);
            expect(report.masking.status).toBe("pass");
            expect(files).toContain(`pitr_${id}.json`);
            // Removed: the restored cluster (destroy), the source's archive directory (the demo's end).
            const step = JSON.parse(fs.readFileSync(path.join(backupDir, drillDir, `pitr_${id}.json`), "utf8"));
            expect(fs.existsSync(step.rootDir)).toBe(false);
            const repository = /posix:(\S+?)\)/.exec(output)?.[1];
            expect(repository).toBeTruthy();
            expect(fs.existsSync(path.dirname(repository!))).toBe(false);
        } finally {
            fs.rmSync(backupDir, { recursive: true, force: true });
        }
    });
});
