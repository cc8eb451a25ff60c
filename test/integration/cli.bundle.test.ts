// The command-line entries run from ahead-of-time bundles (scripts/run-cli.sh → ensure-cli.sh →
// build-cli.mjs), as `npm run <name>` runs them:
//   - a real drill through the engine, with no TypeScript compiler or loader in the orchestrator;
//   - a new scripts/*.ts entry is bundled with no list to update; an edit is picked up (rebuilt), and
//     two checkouts share a bundle while their sources agree and never overwrite each other's after;
//   - bundled, each module still finds its own files in the checkout it runs in, `require.main` is
//     true in the entry only, and Pulumi's closure serializer still works (loading TypeScript then).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { copyCheckout } from "../helpers/checkouts";
import { createSampleData } from "../helpers/sampleData";

const ROOT = path.resolve(__dirname, "../..");

interface LoadReport {
    bundle: string;
    checkout: string;
    execArgv: string[];
    loadedModules: string[];
}

/** What a TypeScript loader (tsx, ts-node) or the compiler leaves in a process. */
function typescriptTraces(report: LoadReport): string[] {
    return [
        ...report.execArgv.filter((a) => /tsx|ts-node|--loader|--import|--require|--experimental-strip-types/.test(a)),
        ...report.loadedModules.filter((m) => /[\\/](tsx|ts-node|typescript)[\\/]/.test(m)),
    ];
}

describe("npm run drill from its bundle", () => {
    let pg: LocalCluster;
    let dir: string;
    beforeAll(async () => {
        pg = await startLocalCluster();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-cli-bundle-"));
        await withClient(pg.url(), "admin", (c) => c.query("create database app"));
        await createSampleData(pg.url("app"), 500);
    });
    afterAll(async () => {
        await pg?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("runs a drill through the real engine with no TypeScript compiler or loader in the orchestrator", () => {
        const reportFile = path.join(dir, "load-report.json");
        const env = { ...process.env };
        for (const k of ["SOURCE_DB_URL", "TARGET_DB_URL", "BACKUP_DIR", "BACKUP_PATH", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"]) delete env[k];
        const r = spawnSync("npm", ["run", "--silent", "drill", "--", "--env", "ci"], {
            cwd: ROOT,
            env: {
                ...env,
                SOURCE_DB_URL: pg.url("app"),
                TARGET_DB_URL: pg.url(),
                BACKUP_DIR: path.join(dir, "artifacts"),
                PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
                PULUMI_CONFIG_PASSPHRASE: "cli-bundle-test",
                SUPABASE_DR_CLI_REPORT: reportFile,
            },
            encoding: "utf8",
            timeout: 300_000,
        });
        const output = r.stdout + r.stderr;
        expect(r.status, output.slice(-3000)).toBe(0);
        expect(output).toMatch(/Drill Status: PASS/);
        expect(output).not.toContain(pg.password);
        const report = JSON.parse(fs.readFileSync(reportFile, "utf8")) as LoadReport;
        // The orchestrator ran the bundle (kept outside the checkout), told which checkout it serves.
        expect(report.bundle).toMatch(/[\\/]cli-builds[\\/][0-9a-f]{16}[\\/]drill\.js$/);
        expect(report.bundle.startsWith(ROOT + path.sep)).toBe(false);
        expect(report.checkout).toBe(ROOT);
        expect(typescriptTraces(report)).toEqual([]);
        // Everything else was bundled: the bundle is the only module node loaded from a file.
        expect(report.loadedModules).toEqual([report.bundle]);
    });
});

describe("bundles of two checkouts", () => {
    let work: string;
    let cache: string;
    let one: string;
    let two: string;

    // A new entry no list names, importing: a message to edit, a lib module that finds the checkout
    // from its own __dirname, another entry whose main() must not run, and Pulumi's closure serializer.
    const PROBE = `import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { REPO_ROOT } from "../lib/pulumi/engine";
import { PROBE_MESSAGE } from "../lib/cliProbeMessage";
import { DRILL_SETTINGS_SCHEMA_FILE } from "./schema";

const typescriptLoaded = () => Object.keys(require.cache).some((f) => f.includes(path.sep + "typescript" + path.sep));

async function main(): Promise<void> {
    const before = typescriptLoaded();
    const answer = 42;
    const serialized = await pulumi.runtime.serializeFunction(() => answer);
    process.stdout.write(JSON.stringify({
        message: PROBE_MESSAGE,
        repoRoot: REPO_ROOT,
        schemaFile: DRILL_SETTINGS_SCHEMA_FILE,
        typescriptBefore: before,
        typescriptAfter: typescriptLoaded(),
        serializedCapturesAnswer: serialized.text.includes("42"),
    }) + "\\n");
}

if (require.main === module) void main();
`;

    function addProbe(checkout: string, message: string): void {
        fs.writeFileSync(path.join(checkout, "scripts", "cli-probe.ts"), PROBE);
        fs.writeFileSync(path.join(checkout, "lib", "cliProbeMessage.ts"), `export const PROBE_MESSAGE = ${JSON.stringify(message)};\n`);
    }

    /** scripts/run-cli.sh of a checkout, on this test's Node, with the bundles kept in this test's cache. */
    function runCli(checkout: string, args: string[], extraEnv: Record<string, string> = {}) {
        const r = spawnSync("bash", [path.join(checkout, "scripts", "run-cli.sh"), ...args], {
            cwd: work,
            env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`, SUPABASE_DR_CACHE: cache, ...extraEnv },
            encoding: "utf8",
            timeout: 240_000,
        });
        return { ...r, built: /ensure-cli: bundling scripts\//.test(r.stderr) };
    }

    function probe(checkout: string) {
        const reportFile = path.join(work, `report-${path.basename(checkout)}.json`);
        const r = runCli(checkout, ["cli-probe"], { SUPABASE_DR_CLI_REPORT: reportFile });
        expect(r.status, r.stdout + r.stderr).toBe(0);
        const lines = r.stdout.trim().split("\n");
        return {
            built: r.built,
            stdout: r.stdout,
            result: JSON.parse(lines[lines.length - 1]) as Record<string, unknown>,
            report: JSON.parse(fs.readFileSync(reportFile, "utf8")) as LoadReport,
        };
    }

    const sourcesHash = (checkout: string) =>
        spawnSync("bash", [path.join(checkout, "scripts", "ensure-cli.sh"), "--sources-hash"], { encoding: "utf8" }).stdout.trim();

    beforeAll(() => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-cli-checkouts-"));
        cache = path.join(work, "cache");
        one = path.join(work, "one");
        two = path.join(work, "two");
        copyCheckout(one);
        addProbe(one, "first");
        copyCheckout(two);
        addProbe(two, "first");
    });
    afterAll(() => {
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("bundles a new entry on first use and shares the bundle with a checkout of the same sources, each finding its own files", () => {
        expect(sourcesHash(one)).toBe(sourcesHash(two));

        const first = probe(one);
        expect(first.built).toBe(true);
        expect(first.result.message).toBe("first");
        // lib/pulumi/engine.ts's REPO_ROOT (from its __dirname) and scripts/schema.ts's file are this checkout's.
        expect(first.result.repoRoot).toBe(one);
        expect(first.result.schemaFile).toBe(path.join(one, "schema", "drill-settings.schema.json"));
        // scripts/schema.ts is bundled into the probe, but its main() (which writes the schema file) did not run.
        expect(first.stdout).not.toMatch(/drill-settings\.schema\.json (written|is up to date)/);
        // TypeScript is loaded only when a closure is serialized, and serializing still works.
        expect(first.result.typescriptBefore).toBe(false);
        expect(first.result.serializedCapturesAnswer).toBe(true);
        expect(first.result.typescriptAfter).toBe(true);
        expect(first.report.bundle.startsWith(path.join(cache, "cli-builds") + path.sep)).toBe(true);

        const second = probe(two);
        expect(second.built).toBe(false);
        expect(second.report.bundle).toBe(first.report.bundle);
        expect(second.result.repoRoot).toBe(two);
        expect(second.result.schemaFile).toBe(path.join(two, "schema", "drill-settings.schema.json"));
    });

    it("rebuilds a checkout's bundle when a source changes, and leaves the other checkout's bundle alone", () => {
        const before = probe(two);
        expect(before.built).toBe(false);

        fs.writeFileSync(path.join(one, "lib", "cliProbeMessage.ts"), 'export const PROBE_MESSAGE = "edited";\n');
        expect(sourcesHash(one)).not.toBe(sourcesHash(two));
        const edited = probe(one);
        expect(edited.built).toBe(true);
        expect(edited.result.message).toBe("edited");
        expect(edited.report.bundle).not.toBe(before.report.bundle);

        const other = probe(two);
        expect(other.built).toBe(false);
        expect(other.result.message).toBe("first");
        expect(other.report.bundle).toBe(before.report.bundle);
        expect(fs.existsSync(edited.report.bundle)).toBe(true);
    });

    it("refuses to bundle a source its cache key does not cover, naming it", () => {
        fs.mkdirSync(path.join(one, "tools", "probe"), { recursive: true });
        fs.writeFileSync(path.join(one, "tools", "probe", "extra.ts"), "export const EXTRA = 1;\n");
        fs.writeFileSync(path.join(one, "scripts", "cli-probe-extra.ts"), 'import { EXTRA } from "../tools/probe/extra";\nconsole.log(EXTRA);\n');
        const r = runCli(one, ["cli-probe-extra"]);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/not among the sources scripts\/ensure-cli\.sh hashes[\s\S]*tools\/probe\/extra\.ts/);
        const bundles = fs.readdirSync(path.join(cache, "cli-builds"), { recursive: true }).map(String);
        expect(bundles.filter((f) => f.endsWith("cli-probe-extra.js"))).toEqual([]);
    });

    it("names the commands when asked for one that does not exist, and a bundle refuses to run without its checkout", () => {
        const r = runCli(one, ["no-such-command"]);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/no scripts\/no-such-command\.ts in .*\(commands: .*\bdrill\b/);

        const { report } = probe(two);
        const direct = spawnSync(process.execPath, [report.bundle], { encoding: "utf8", env: { ...process.env, SUPABASE_DR_CLI_CHECKOUT: "" } });
        expect(direct.status).toBe(2);
        expect(direct.stderr).toMatch(/needs \$SUPABASE_DR_CLI_CHECKOUT .*scripts\/run-cli\.sh/);
    });
});
