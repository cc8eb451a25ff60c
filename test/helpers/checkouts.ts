// Other checkouts of this repository, for tests about state that must outlive the checkout that
// made it: a copy of the current sources, or the sources of an older commit, each with this
// checkout's node_modules linked in; and the drill command run from one of them.
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../../lib/pulumi/engine";

/** The files of this checkout that git does not ignore (tracked, and new ones not yet committed). */
function checkoutFiles(): string[] {
    return execFileSync("git", ["-C", REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" })
        .split("\0")
        // Files only: a work tree may hold a link to another's node_modules, which git's ignore rule
        // `node_modules/` (directories) does not cover; each copy links its own below.
        .filter((f) => f !== "" && fs.existsSync(path.join(REPO_ROOT, f)) && !fs.statSync(path.join(REPO_ROOT, f)).isDirectory());
}

function linkNodeModules(dest: string): void {
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dest, "node_modules"), "dir");
}

/** A copy of this checkout's current sources (committed or not) in `dest`. */
export function copyCheckout(dest: string): void {
    fs.mkdirSync(dest, { recursive: true });
    for (const file of checkoutFiles()) {
        fs.mkdirSync(path.dirname(path.join(dest, file)), { recursive: true });
        fs.copyFileSync(path.join(REPO_ROOT, file), path.join(dest, file));
        fs.chmodSync(path.join(dest, file), fs.statSync(path.join(REPO_ROOT, file)).mode);
    }
    linkNodeModules(dest);
}

/** The sources of `commit` in `dest` (git archive: no worktree registered in this repository). */
export function checkoutAt(commit: string, dest: string): void {
    fs.mkdirSync(dest, { recursive: true });
    const tar = execFileSync("git", ["-C", REPO_ROOT, "archive", "--format=tar", commit], { maxBuffer: 256 * 2 ** 20 });
    execFileSync("tar", ["-x", "-C", dest], { input: tar });
    linkNodeModules(dest);
}

/** Upgrades a checkout in place to this checkout's sources, as `git pull` would: old files go, new ones come. */
export function upgradeCheckout(dest: string): void {
    for (const entry of fs.readdirSync(dest)) {
        if (entry !== "node_modules") fs.rmSync(path.join(dest, entry), { recursive: true, force: true });
    }
    fs.rmSync(path.join(dest, "node_modules"));
    copyCheckout(dest);
}

export interface CliResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** `npm run drill -- <args>` of the given checkout (its scripts/drill.ts, through its tsx), from `cwd`. */
export function runDrillCommand(checkout: string, args: string[], env: Record<string, string>, cwd: string): Promise<CliResult> {
    const tsx = path.join(checkout, "node_modules", "tsx", "dist", "cli.mjs");
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [tsx, path.join(checkout, "scripts", "drill.ts"), ...args], {
            cwd,
            env: { ...process.env, ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

/** The drill stack a `--keep` run left, from its output. */
export function keptStackName(output: string): string {
    const m = /--keep: stack (drill-[a-z0-9-]+-\d{14}) /.exec(output);
    if (!m) throw new Error(`the drill did not report a kept stack; its output:\n${output.slice(-4000)}`);
    return m[1];
}
