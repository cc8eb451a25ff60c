// The commands as an operator runs them, given bad input: each exits with the code of its error's class
// (lib/errors.ts, mapped by lib/cli/run.ts) and prints `<command>: <CODE>: <message>` naming the
// problem, never a password. The refusal is checked to have changed nothing.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { runPgTool, uriWithoutPassword } from "../../lib/postgres/tools";

const ROOT = path.resolve(__dirname, "../..");
// Variables of the developer's or CI's environment that would change what the commands do.
const INHERITED = ["SOURCE_DB_URL", "TARGET_DB_URL", "BACKUP_PATH", "BACKUP_DIR", "BACKUP_BUCKET", "BACKUP_ENV", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE",
    "DRILL_ENV", "LIVE_DB_URL", "RECOVER_TEMP_ADMIN_URL", "STORAGE_URL", "STORAGE_BUCKETS", "AZURE_STORAGE_ACCOUNT", "AZURE_CONTAINER",
    "AZURE_STORAGE_CONNECTION_STRING", "SUPABASE_DR_VERBOSE", "NOW"];

let work: string;
let cluster: LocalCluster;
let liveUrl: string;
let backup: string;

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

function run(script: string, args: string[], env: Record<string, string>): Promise<Run> {
    const base = { ...process.env };
    for (const k of INHERITED) delete base[k];
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "scripts", script), ...args], {
            cwd: work,
            env: { ...base, ...env },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "cli-exit-codes-"));
    cluster = await startLocalCluster();
    await withClient(cluster.url(), "admin", (c) => c.query("create database live"));
    liveUrl = cluster.url("live");
    await withClient(liveUrl, "live", (c) =>
        c.query("create table public.accounts (id int primary key, email text not null); insert into public.accounts select g, 'u' || g || '@example.com' from generate_series(1, 10) g"),
    );
    backup = path.join(work, "live.dump");
    expect((await runPgTool("pg_dump", ["-Fc", "-f", backup, `--dbname=${uriWithoutPassword(liveUrl)}`], { connection: liveUrl })).exitCode).toBe(0);
    await withClient(liveUrl, "live", (c) => c.query("delete from public.accounts where id in (3, 4)"));
}, 120_000);

afterAll(async () => {
    await cluster?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("exit codes of the commands", () => {
    it("an unknown flag exits 2 (USAGE) and names the flag", async () => {
        const drill = await run("drill.ts", ["--env", "ci", "--keep-stack"], { SOURCE_DB_URL: "postgresql://u@h/db" });
        expect(drill.code, drill.stderr).toBe(2);
        expect(drill.stderr).toMatch(/^drill: USAGE: Unknown option '--keep-stack'/);
        expect(drill.stderr).toContain("Usage: npm run drill");
        const rehearsal = await run("storage-restore-rehearsal.ts", ["--bogus"], {});
        expect(rehearsal.code, rehearsal.stderr).toBe(2);
        expect(rehearsal.stderr).toMatch(/^storage-restore-rehearsal: USAGE: Unknown option '--bogus'/);
        const audit = await run("retention-audit.ts", ["--bogus"], {});
        expect(audit.code, audit.stderr).toBe(2);
        expect(audit.stderr).toMatch(/^retention-audit: USAGE: unknown option --bogus/);
    });

    it("a settings file with an unknown key exits 2 (CONFIG_INVALID) naming the property path", async () => {
        const file = path.join(work, "settings.yaml");
        fs.writeFileSync(file, "restore:\n  jobz: 2\n");
        // "exitcodes" has no Pulumi.<env>.yaml: only the file's settings apply.
        const r = await run("drill.ts", ["--env", "exitcodes", "--settings", file], { SOURCE_DB_URL: "postgresql://u@h/db" });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(`drill: CONFIG_INVALID: invalid drill settings (${file}):`);
        expect(r.stderr).toContain("supabase-dr:drill.restore: unknown key jobz; did you mean jobs?");
        expect(r.stderr).not.toContain("Usage:");
        expect(r.stderr).not.toMatch(/^\s+at /m);
    });

    it("recover rows --apply whose temporary copy would be made on the live server exits 3 (SOURCE_PROTECTED), changing nothing", async () => {
        const r = await run("recover.ts", ["rows", "--backup", backup, "--table", "public.accounts", "--key", "id", "--where", "true", "--apply"], {
            LIVE_DB_URL: liveUrl,
            // The backup's own source server as the "throw-away" server of the temporary copy.
            RECOVER_TEMP_ADMIN_URL: cluster.url(),
        });
        expect(r.code, r.stderr).toBe(3);
        expect(r.stderr).toMatch(/^recover: SOURCE_PROTECTED: refusing: LIVE_DB_URL \(.*\) is on the temporary server/m);
        expect(r.stdout + r.stderr).not.toContain(cluster.password);
        const rows = await withClient(liveUrl, "live", (c) => c.query<{ n: number }>("select count(*)::int as n from public.accounts"));
        expect(rows.rows[0].n).toBe(8);
        const databases = await withClient(cluster.url(), "admin", (c) => c.query<{ n: number }>("select count(*)::int as n from pg_database where datname like 'recover%'"));
        expect(databases.rows[0].n).toBe(0);
    });

    it("a tool missing from PATH exits 4 (TOOL_MISSING) naming the tool", async () => {
        // The backup job's Azure archive needs the Azure CLI's login: with only node on PATH, `az` is missing.
        const r = await run("backup.ts", [], {
            PATH: path.dirname(process.execPath),
            SOURCE_DB_URL: liveUrl,
            BACKUP_ENV: "exitcodes",
            BACKUP_BUCKET: `file://${path.join(work, "vault")}`,
            AZURE_STORAGE_ACCOUNT: "exitcodes",
            AZURE_CONTAINER: "archive",
        });
        expect(r.code, r.stderr).toBe(4);
        expect(r.stderr).toMatch(/^backup: TOOL_MISSING: no Azure token for \S+: the Azure CLI \(az\) is not installed or not on PATH$/m);
        expect(r.stdout + r.stderr).not.toContain(cluster.password);
        expect(fs.existsSync(path.join(work, "vault"))).toBe(false);
    });

    it("--verbose adds the cause chain, still without the password", async () => {
        const r = await run("backup.ts", ["--verbose"], {
            PATH: path.dirname(process.execPath),
            SOURCE_DB_URL: liveUrl,
            BACKUP_ENV: "exitcodes",
            BACKUP_BUCKET: `file://${path.join(work, "vault")}`,
            AZURE_STORAGE_ACCOUNT: "exitcodes",
            AZURE_CONTAINER: "archive",
        });
        expect(r.code, r.stderr).toBe(4);
        expect(r.stderr).toMatch(/^ {2}caused by Error \[ENOENT\]: .*az.*ENOENT/m);
        expect(r.stderr).toMatch(/^\s+at /m);
        expect(r.stdout + r.stderr).not.toContain(cluster.password);
    });
});
