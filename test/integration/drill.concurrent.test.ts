// Drills running at once on one backend, through the real engine: two drills of the same environment
// started in the same second (Promise.all), the second one starting while the first sets its config
// (no engine lock held), and a third process cleaning up leftovers over and over the whole time.
// Both drills PASS, nobody touches a stack a live drill holds, and nothing is left behind.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LeftoverCleanup } from "../../lib/drill/lifecycle";
import { runDrill, type RunDrillResult } from "../../lib/drill/run";
import { drillProgram } from "../../programs/drill";
import { inlineStack, REPO_ROOT } from "../../lib/pulumi/engine";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { createSampleData } from "../helpers/sampleData";
import { databaseChecksum, drillStacks, scratchDatabases, startHarness, type DrillHarness } from "../helpers/drillHarness";

let h: DrillHarness;
let target: LocalCluster;
const sources: string[] = [];
const checksums: string[] = [];

beforeAll(async () => {
    [h, target] = await Promise.all([startHarness(), startLocalCluster()]);
    for (const db of ["app_one", "app_two"]) {
        await withClient(h.pg.url(), "admin", (c) => c.query(`create database ${db}`));
        await createSampleData(h.pg.url(db), 1500);
        sources.push(h.pg.url(db));
        checksums.push(await databaseChecksum(h.pg.url(db)));
    }
});
afterAll(async () => {
    await Promise.all([h?.stop(), target?.stop()]);
});

// Another process on this machine cleaning up leftovers in a loop (as every drill starts by doing),
// until its stop file appears. Its claims checks go by pid and process start time, not by this
// process's memory. It reports each round as one JSON line.
const WATCHER = `
import * as fs from "node:fs";
import { cleanupLeftovers } from ${JSON.stringify(path.join(REPO_ROOT, "lib/drill/lifecycle"))};
import { localBackend } from ${JSON.stringify(path.join(REPO_ROOT, "lib/pulumi/engine"))};
(async () => {
    const [url, stopFile] = process.argv.slice(2);
    const backend = localBackend({ url });
    try {
        while (!fs.existsSync(stopFile)) process.stdout.write(JSON.stringify(await cleanupLeftovers(backend)) + "\\n");
    } finally {
        backend.cleanup();
    }
})().catch((err) => { process.stderr.write(String(err?.stack ?? err)); process.exit(1); });
`;

function startWatcher(dir: string): { stop(): Promise<LeftoverCleanup[]> } {
    const script = path.join(dir, "watcher.ts");
    const stopFile = path.join(dir, "stop");
    fs.writeFileSync(script, WATCHER);
    const child = spawn(path.join(REPO_ROOT, "node_modules", ".bin", "tsx"), [script, h.backend.url, stopFile], {
        // The passphrase goes in the environment, as the drill command takes it.
        env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: h.backend.envVars.PULUMI_CONFIG_PASSPHRASE },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    return {
        async stop() {
            fs.writeFileSync(stopFile, "");
            const code = await exited;
            if (code !== 0) throw new Error(`leftover watcher exited with ${code}: ${stderr}`);
            return stdout
                .trim()
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l) as LeftoverCleanup);
        },
    };
}

describe("two drills at once on one backend", () => {
    it("both PASS, each in its own stack, neither cleaned up by the other or a third run, nothing left", { timeout: 900_000 }, async () => {
        // A leftover of an interrupted drill: the first drill to start cleans it up.
        const leftover = await inlineStack(h.backend, { projectName: "supabase-dr", stackName: "drill-conc-20260101000000", program: async () => ({}) });
        await leftover.up();

        const now = new Date();
        let firstConfiguring!: () => void;
        const configuring = new Promise<void>((r) => (firstConfiguring = r));
        let watcher: ReturnType<typeof startWatcher> | undefined;
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-conc-"));
        const outputs = ["", ""];
        let results: RunDrillResult[];
        let rounds: LeftoverCleanup[] = [];
        try {
            results = await Promise.all([
                runDrill({
                    program: drillProgram,
                    env: "conc",
                    backend: h.backend,
                    backupDir: h.backupDir,
                    secrets: { sourceDbUrl: sources[0], targetDbUrl: target.url() },
                    now,
                    onOutput: (t) => {
                        outputs[0] += t;
                        // Its stack exists and is claimed; setting its config holds no engine lock.
                        if (/^configuring drill-conc-/m.test(t)) firstConfiguring();
                    },
                }),
                configuring.then(() => {
                    watcher = startWatcher(work);
                    // Same env, same start second: it must get a stack and an artifacts dir of its own.
                    // No target URL: it starts its own throw-away cluster.
                    return runDrill({ program: drillProgram, env: "conc", backend: h.backend, backupDir: h.backupDir, secrets: { sourceDbUrl: sources[1] }, now, onOutput: (t) => (outputs[1] += t) });
                }),
            ]);
        } finally {
            rounds = (await watcher?.stop()) ?? [];
            fs.rmSync(work, { recursive: true, force: true });
        }
        const [a, b] = results;
        for (const [i, r] of results.entries()) {
            expect(r.error, outputs[i].slice(-3000)).toBeUndefined();
            expect(r.status).toBe("PASS");
            expect(r.leftovers.failed).toEqual([]);
            expect(r.leftovers.listError).toBeUndefined();
        }
        expect(a.stackName).not.toBe(b.stackName);
        expect(a.artifactsDir).not.toBe(b.artifactsDir);
        expect(b.report.drill_id).not.toBe(a.report.drill_id);
        expect(a.leftovers.cleaned).toEqual(["drill-conc-20260101000000"]);
        // The second drill looked while the first one was configuring or running, and left it alone.
        expect(b.leftovers.cleaned).toEqual([]);
        expect(b.leftovers.running).toContain(a.stackName);

        expect(rounds.length).toBeGreaterThan(0);
        for (const round of rounds) {
            expect(round.cleaned).toEqual([]);
            expect(round.failed).toEqual([]);
            expect(round.listError).toBeUndefined();
        }
        // The watcher saw the drills it left alone.
        expect(rounds.some((r) => r.running.includes(b.stackName))).toBe(true);

        expect(await drillStacks(h.backend)).toEqual([]);
        expect(await scratchDatabases(target.url())).toEqual([]);
        for (const [i, url] of sources.entries()) expect(await databaseChecksum(url)).toBe(checksums[i]);
    });
});
