// scripts/recover.ts as the operator runs it: exit codes, --help, and secrets. While the CLI runs, the
// whole process table's command lines (/proc/*/cmdline) are sampled every few milliseconds: neither the
// live password nor any URI carrying a password may appear there (the CLI, pg_dump/pg_restore and the
// temporary cluster's tools all get passwords through the environment), nor in what the CLI prints.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { runPgTool, uriWithoutPassword } from "../../lib/postgres/tools";

const ROOT = path.resolve(__dirname, "../..");
const SECRET_VALUE = "secret-row-value-4711";
let cluster: LocalCluster;
let liveUrl: string;
let work: string;
let backup: string;

interface CliRun {
    code: number;
    stdout: string;
    stderr: string;
    /** Command lines seen while it ran that carried the password or a URI with a password. */
    leaks: string[];
    samples: number;
}

/** Whether `pid` is `root` or one of its descendants (parent links from /proc/<pid>/stat). */
function descendsFrom(pid: number, root: number): boolean {
    for (let p = pid, i = 0; p > 1 && i < 64; i++) {
        if (p === root) return true;
        try {
            const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
            p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        } catch {
            return false;
        }
    }
    return false;
}

// Only this test's own process tree: other test files running meanwhile may hold URLs of their own.
function sampleCmdlines(password: string, leaks: Set<string>): number {
    let seen = 0;
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        if (!descendsFrom(Number(pid), process.pid)) continue;
        let argv: string;
        try {
            argv = fs.readFileSync(`/proc/${pid}/cmdline`).toString("utf8").split("\0").join(" ");
        } catch {
            continue; // the process ended meanwhile
        }
        seen++;
        if (argv.includes(password) || /[a-z]+:\/\/[^\s:/@]+:[^\s@/]+@/i.test(argv)) leaks.add(argv.slice(0, 200));
    }
    return seen;
}

async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
    const leaks = new Set<string>();
    let samples = 0;
    const timer = setInterval(() => (samples += sampleCmdlines(cluster.password, leaks) > 0 ? 1 : 0), 5);
    try {
        return await new Promise((resolve, reject) => {
            const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [path.join(ROOT, "scripts/recover.ts"), ...args], {
                cwd: work,
                env: { ...process.env, LIVE_DB_URL: liveUrl, ...env },
            });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", reject);
            child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, leaks: [...leaks], samples }));
        });
    } finally {
        clearInterval(timer);
    }
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-cli-test-"));
    cluster = await startLocalCluster();
    await withClient(cluster.url(), "admin", (c) => c.query("create database live"));
    liveUrl = cluster.url("live");
    await withClient(liveUrl, "live", (c) =>
        c.query(`create table public.accounts (id int primary key, email text not null, note text);
                 insert into public.accounts select g, 'user' || g || '@example.com', '${SECRET_VALUE}' from generate_series(1, 20) g`),
    );
    backup = path.join(work, "live.dump");
    expect((await runPgTool("pg_dump", ["-Fc", "-f", backup, `--dbname=${uriWithoutPassword(liveUrl)}`], { connection: liveUrl })).exitCode).toBe(0);
    await withClient(liveUrl, "live", (c) => c.query("delete from public.accounts where id in (3, 4)"));
});

afterAll(async () => {
    await cluster?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("scripts/recover.ts", () => {
    it("--help documents every command; each command has its own help", async () => {
        const general = await cli(["--help"]);
        expect(general.code).toBe(0);
        for (const c of ["rows", "undo", "freeze", "unfreeze", "storage"]) expect(general.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
        const rows = await cli(["rows", "--help"]);
        expect(rows.code).toBe(0);
        expect(rows.stdout).toMatch(/--keys[\s\S]*--where[\s\S]*--apply[\s\S]*LIVE_DB_URL/);
    });

    it("bad usage exits 2; a connection string on the command line is refused", async () => {
        expect((await cli(["rows", "--table", "public.accounts"])).code).toBe(2);
        expect((await cli(["nonsense"])).code).toBe(2);
        const withUrl = await cli(["rows", "--backup", backup, "--table", "public.accounts", "--key", "id", "--where", "true", "--live", "x"]);
        expect(withUrl.code).toBe(2);
        expect(withUrl.stderr).toMatch(/LIVE_DB_URL environment variable only/);
        const unset = await cli(["freeze"], { LIVE_DB_URL: "" });
        expect(unset.code).toBe(2);
    });

    it("rows: dry run then --apply; no password in any command line or output, no row value on stderr", async () => {
        const dry = await cli(["rows", "--backup", backup, "--table", "public.accounts", "--key", "id", "--where", "id between 2 and 5"]);
        expect(dry.stderr).not.toMatch(/recover: /);
        expect(dry.code).toBe(0);
        expect(dry.stdout).toContain('+ insert (id)=("3")');
        expect(dry.stdout).toContain(SECRET_VALUE); // the diff shows values: it is what the operator asked for
        expect(dry.stderr).toContain("dry run: public.accounts on (id): 2 to insert, 0 to update, 2 identical");
        expect(dry.stderr).not.toContain(SECRET_VALUE);
        expect(dry.stderr).toMatch(/\[\d+s\] restoring public\.accounts/);

        const diffFile = path.join(work, "diff.txt");
        const applied = await cli(["rows", "--backup", backup, "--table", "public.accounts", "--key", "id", "--where", "id between 2 and 5", "--apply", "--diff-out", diffFile]);
        expect(applied.code).toBe(0);
        expect(applied.stdout).toBe("");
        expect(fs.readFileSync(diffFile, "utf8")).toContain(SECRET_VALUE);
        expect((fs.statSync(diffFile).mode & 0o777).toString(8)).toBe("600");
        expect(applied.stderr).toMatch(/applied: 2 inserted, 0 updated; before-image .*before-public\.accounts-.*\.jsonl/);
        expect(applied.stderr).not.toContain(SECRET_VALUE);

        for (const run of [dry, applied]) {
            expect(run.samples).toBeGreaterThan(10);
            expect(run.leaks).toEqual([]);
            expect(run.stdout + run.stderr).not.toContain(cluster.password);
        }
        const count = await withClient(liveUrl, "live", (c) => c.query<{ n: number }>("select count(*)::int as n from public.accounts"));
        expect(count.rows[0].n).toBe(20);
    });

    it("a refusal exits 3 and names the problem, not the values", async () => {
        await withClient(liveUrl, "live", (c) => c.query("alter table public.accounts add column plan text"));
        const r = await cli(["rows", "--backup", backup, "--table", "public.accounts", "--key", "id", "--where", "true"]);
        expect(r.code).toBe(3);
        expect(r.stderr).toMatch(/recover: REFUSED: refusing: the columns of public\.accounts differ between the backup and live \(only in live: plan\)/);
        expect(r.stdout + r.stderr).not.toContain(SECRET_VALUE);
        expect(r.leaks).toEqual([]);
    });
});
