// `npm run drill` with the shipped stack files, as a user runs it, against a Supabase-shaped database
// (platform schemas, auth and storage rows, an application with RLS and a trigger on auth.users):
//   - prod (no masking) adopts the newest nightly backup from the vault (`npm run backup` into the
//     Object-Lock test server first; only the vault's address is overridden) and PASSes on the drill's
//     own cluster;
//   - staging masks Supabase Auth's personal data by default; the application's own email column has
//     no rule, so the drill FAILs before masking, naming the column and the setting to add, and PASSes
//     once the application's rules are given in a settings file.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { startS3Server, type S3Server } from "../helpers/s3Server";
import { createSupabaseFixture } from "../helpers/supabaseFixture";

const ROOT = path.resolve(__dirname, "../..");
let pg: LocalCluster;
let work: string;
let sourceUrl: string;
let s3: S3Server;
const VAULT = "stack-files-vault";

beforeAll(async () => {
    s3 = await startS3Server();
    await s3.createLockedBucket(VAULT, "COMPLIANCE", 1);
    pg = await startLocalCluster();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-stackfiles-"));
    sourceUrl = (await createSupabaseFixture(pg.url(), "app")).url;
});
afterAll(async () => {
    await pg?.stop();
    await s3?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

function run(script: string, args: string[], extra: Record<string, string> = {}) {
    const env = { ...process.env };
    for (const k of ["TARGET_DB_URL", "BACKUP_PATH", "MASKING_SALT", "STORAGE_URL", "BACKUP_BUCKET"]) delete env[k];
    return spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, script), ...args], {
        cwd: ROOT,
        env: {
            ...env,
            ...extra,
            SOURCE_DB_URL: sourceUrl,
            BACKUP_DIR: path.join(work, "artifacts"),
            PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "stack-files-test",
        },
        encoding: "utf8",
        timeout: 600_000,
    });
}

const drill = (args: string[], extra?: Record<string, string>) => run("scripts/drill.ts", args, extra);

describe("npm run drill with the shipped stack files", () => {
    it("prod adopts the nightly backup from the vault and PASSes on a Supabase-shaped database", () => {
        fs.mkdirSync(path.join(work, "state"), { recursive: true });
        const aws = { AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey, AWS_REGION: s3.region, S3_ENDPOINT: s3.endpoint };
        const backup = run("scripts/backup.ts", [], { ...aws, BACKUP_ENV: "prod", BACKUP_BUCKET: VAULT, RETENTION_DAYS: "1" });
        expect(backup.status, backup.stdout + backup.stderr).toBe(0);
        // The stack file's vault is the production bucket: only its address changes here.
        const settings = path.join(work, "prod-vault.yaml");
        const prod = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, { vault: Record<string, unknown> }> };
        expect(prod.config["supabase-dr:drill"].vault).toMatchObject({ kind: "s3" });
        fs.writeFileSync(settings, yaml.dump({ vault: { ...prod.config["supabase-dr:drill"].vault, bucket: VAULT, endpoint: s3.endpoint, region: s3.region } }));
        const r = drill(["--env", "prod", "--settings", settings], aws);
        expect(r.stdout + r.stderr, (r.stdout + r.stderr).slice(-4000)).toMatch(/Drill PASS/);
        expect(r.status).toBe(0);
        expect(r.stdout + r.stderr).not.toContain(pg.password);
        expect(r.stdout + r.stderr).not.toContain(s3.secretKey);
        const artifacts = path.join(work, "artifacts");
        const latest = fs.readdirSync(artifacts).map((d) => path.join(artifacts, d)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
        const report = JSON.parse(fs.readFileSync(path.join(latest, fs.readdirSync(latest).find((f) => /^drill_\d+\.json$/.test(f))!), "utf8"));
        expect(report.backup.mode).toBe("adopt"); // the nightly backup, not a dump made now
        expect(report.rpo_seconds).toBeGreaterThan(0);
    });

    it("staging masks Supabase Auth by default and names the application's unmasked column", () => {
        const r = drill(["--env", "staging"]);
        expect(r.status).toBe(1);
        expect(r.stdout + r.stderr).toMatch(/public\.profiles\.full_name/);
        expect(r.stdout + r.stderr).not.toContain(pg.password);
    });

    it("staging PASSes once the application's own rules are added in a settings file", () => {
        const settings = path.join(work, "app-masking.yaml");
        // The environment's defaults plus the application's columns: --settings replaces top-level keys.
        const staging = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8")) as { config: Record<string, { masking: unknown }> };
        const masking = staging.config["supabase-dr:drill"].masking as { rules: Record<string, unknown>; allowUnmasked: string[] };
        masking.rules = { ...masking.rules, "public.profiles.full_name": "name", "public.profiles.username": "name" };
        masking.allowUnmasked = [...masking.allowUnmasked, "public.projects.name"];
        fs.writeFileSync(settings, yaml.dump({ masking }));
        const r = drill(["--env", "staging", "--settings", settings]);
        expect(r.stdout + r.stderr, (r.stdout + r.stderr).slice(-4000)).toMatch(/Drill PASS/);
        expect(r.status).toBe(0);
        const artifacts = path.join(work, "artifacts");
        const run = fs.readdirSync(artifacts).map((d) => path.join(artifacts, d)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
        const result = JSON.parse(fs.readFileSync(path.join(run, fs.readdirSync(run).find((f) => f.startsWith("masking_") && f.endsWith(".json"))!), "utf8"));
        expect(result.status).toBe("pass");
        expect(result.survivorScan.status).toBe("pass");
        expect(result.survivorScan.columnsScanned).toBeGreaterThan(10);
    });
});
