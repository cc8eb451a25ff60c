// `npm run drill` as a user runs it: bad input is refused with a clear message (and no password),
// and a real drill runs from the environment variables of runbook 003.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { createSampleData } from "../helpers/sampleData";

const ROOT = path.resolve(__dirname, "../..");

function drill(args: string[], env: Record<string, string | undefined>) {
    const clean = { ...process.env };
    for (const k of ["SOURCE_DB_URL", "TARGET_DB_URL", "BACKUP_DIR", "BACKUP_PATH", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"]) delete clean[k];
    return spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "scripts/drill.ts"), ...args], {
        cwd: ROOT,
        env: { ...clean, ...env },
        encoding: "utf8",
        timeout: 300_000,
    });
}

describe("drill command input checks", () => {
    it("requires a source, a backup or a vault (TARGET_DB_URL is optional: the drill starts its own cluster)", () => {
        const r = drill(["--env", "ci"], {});
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/SOURCE_DB_URL \(or --source\), BACKUP_PATH \(or --backup\) or a vault in the settings is required/);
    });

    it("refuses a password on the command line without echoing it", () => {
        const r = drill(["--source", "postgresql://u:topsecret-99@h/db"], { TARGET_DB_URL: "postgresql://u@h/db" });
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/--source holds a password/);
        expect(r.stderr).not.toContain("topsecret-99");
    });

    it("requires a passphrase with a custom backend, and a sane env name", () => {
        expect(drill(["--backend", "file:///tmp/x"], { TARGET_DB_URL: "postgresql://u@h/db", SOURCE_DB_URL: "postgresql://u@h/a" }).stderr).toMatch(/PULUMI_CONFIG_PASSPHRASE is required/);
        expect(drill(["--env", "Prod!"], {}).stderr).toMatch(/--env 'Prod!' must be lowercase/);
    });
});

describe("drill command end to end", () => {
    let pg: LocalCluster;
    let dir: string;
    beforeAll(async () => {
        pg = await startLocalCluster();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-cli-"));
        await withClient(pg.url(), "admin", (c) => c.query("create database app"));
        await createSampleData(pg.url("app"), 1000);
    });
    afterAll(async () => {
        await pg?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("runs a drill from SOURCE_DB_URL / TARGET_DB_URL / BACKUP_DIR and exits 0 on PASS", () => {
        // "ci" has no Pulumi.ci.yaml, so no environment settings apply (staging's would mask PII
        // tables this sample database does not have).
        const r = drill(["--env", "ci"], {
            SOURCE_DB_URL: pg.url("app"),
            TARGET_DB_URL: pg.url(),
            BACKUP_DIR: path.join(dir, "artifacts"),
            PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "cli-test-passphrase",
        });
        const output = r.stdout + r.stderr;
        expect(r.status, output.slice(-3000)).toBe(0);
        expect(output).toMatch(/Drill Status: PASS/);
        expect(output).not.toContain(pg.password);
        const [drillDir] = fs.readdirSync(path.join(dir, "artifacts"));
        expect(drillDir).toMatch(/^drill_ci_\d{14}$/);
    });
});
