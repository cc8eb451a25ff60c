import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { classifyTree, listProcesses, parseProcStat, parseStatusKb, roleOf, type ProcEntry } from "../../lib/bench/processTree";
import { PeakTracker, resetPeakRss, startRssSampler, takeSample } from "../../lib/bench/rssSampler";

describe("parseProcStat", () => {
    it("reads pid, name and parent", () => {
        expect(parseProcStat("4242 (node) S 4200 4242 4200 0 -1 4194560 1234")).toEqual({ pid: 4242, ppid: 4200, comm: "node" });
    });
    it("keeps names with spaces and parentheses whole", () => {
        expect(parseProcStat("77 (a (b) c) R 1 77 77 0")).toEqual({ pid: 77, ppid: 1, comm: "a (b) c" });
    });
    it("refuses a line it cannot place", () => {
        expect(() => parseProcStat("garbage")).toThrow(/unexpected \/proc stat line/);
        expect(() => parseProcStat("12 (x) S notanumber")).toThrow(/unexpected/);
    });
});

describe("parseStatusKb", () => {
    const status = "Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  215000 kB\nVmRSS:\t  180512 kB\nThreads:\t11\n";
    it("reads VmRSS and VmHWM", () => {
        expect(parseStatusKb(status, "VmRSS")).toBe(180512);
        expect(parseStatusKb(status, "VmHWM")).toBe(215000);
    });
    it("gives undefined for kernel threads and zombies (no Vm lines)", () => {
        expect(parseStatusKb("Name:\tkworker/0:1\nState:\tI (idle)\n", "VmRSS")).toBeUndefined();
    });
});

describe("classifyTree", () => {
    // bench node (100) → esbuild, pulumi (engine) → provider sh → node → pg_dump → worker;
    // pulumi → pulumi-language-nodejs; an unrelated node and postgres outside the tree.
    const procs: ProcEntry[] = [
        { pid: 1, ppid: 0, comm: "init" },
        { pid: 100, ppid: 50, comm: "node" },
        { pid: 101, ppid: 100, comm: "esbuild" },
        { pid: 110, ppid: 100, comm: "pulumi" },
        { pid: 111, ppid: 110, comm: "pulumi-language" },
        { pid: 120, ppid: 110, comm: "node" },
        { pid: 121, ppid: 120, comm: "esbuild" },
        { pid: 130, ppid: 120, comm: "pg_dump" },
        { pid: 131, ppid: 130, comm: "pg_dump" },
        { pid: 140, ppid: 120, comm: "pg_restore" },
        { pid: 141, ppid: 140, comm: "pg_restore" },
        { pid: 200, ppid: 1, comm: "node" },
        { pid: 300, ppid: 1, comm: "postgres" },
    ];
    it("labels each process of the tree with its part of the drill", () => {
        const roles = classifyTree(procs, 100);
        expect(Object.fromEntries(roles)).toEqual({
            100: "orchestrator",
            101: "orchestrator",
            110: "engine",
            111: "engine",
            120: "provider",
            121: "provider",
            130: "pgTools",
            131: "pgTools",
            140: "pgTools",
            141: "pgTools",
        });
    });
    it("leaves out processes outside the tree, and survives a ppid cycle", () => {
        const cyclic = [...procs, { pid: 400, ppid: 401, comm: "x" }, { pid: 401, ppid: 400, comm: "y" }];
        const roles = classifyTree(cyclic, 100);
        for (const pid of [1, 200, 300, 400, 401]) expect(roles.has(pid)).toBe(false);
        expect(classifyTree([{ pid: 5, ppid: 5, comm: "node" }], 5)).toEqual(new Map([[5, "orchestrator"]]));
    });
    it("gives pg tool children the pg tools' role whatever their name", () => {
        expect(roleOf("sh", "pgTools")).toBe("pgTools");
        expect(roleOf("pulumi", "orchestrator")).toBe("engine");
        expect(roleOf("sh", "engine")).toBe("provider");
        expect(roleOf("psql", "provider")).toBe("pgTools");
        expect(roleOf("node", "orchestrator")).toBe("orchestrator");
    });
});

describe("PeakTracker", () => {
    it("keeps the highest per-role sum, the highest single HWM, and the drill total without pg tools", () => {
        const t = new PeakTracker(true);
        t.add(
            [
                { pid: 1, role: "orchestrator", comm: "node", rssKb: 100_000, hwmKb: 100_000, anonKb: 70_000 },
                { pid: 2, role: "provider", comm: "node", rssKb: 50_000, hwmKb: 60_000, anonKb: 30_000 },
                { pid: 3, role: "pgTools", comm: "pg_dump", rssKb: 900_000 },
            ],
            1000,
        );
        t.add(
            [
                { pid: 1, role: "orchestrator", comm: "node", rssKb: 90_000, hwmKb: 100_000, anonKb: 60_000 },
                { pid: 2, role: "provider", comm: "node", rssKb: 80_000, hwmKb: 80_000, anonKb: 50_000 },
                { pid: 4, role: "provider", comm: "esbuild", rssKb: 20_000, hwmKb: 25_000, anonKb: 10_000 },
                { pid: 5, role: "engine", comm: "pulumi", rssKb: 40_000, hwmKb: 40_000, anonKb: 5_000 },
            ],
            1250,
        );
        t.add([{ pid: 1, role: "orchestrator", comm: "node", rssKb: 95_000, hwmKb: 100_000 }], 1350);
        const r = t.result();
        expect(r.roles.orchestrator).toMatchObject({ peakRssKb: 100_000, peakHwmKb: 100_000, processes: 1, startRssKb: 100_000 });
        expect(r.roles.provider).toMatchObject({ peakRssKb: 100_000, peakHwmKb: 80_000, processes: 2, startRssKb: 50_000 });
        expect(r.roles.provider.byName).toEqual({ node: 80_000, esbuild: 25_000 });
        expect(r.roles.engine).toMatchObject({ peakRssKb: 40_000, startRssKb: 0, processes: 1 });
        expect(r.roles.pgTools.peakRssKb).toBe(900_000);
        // 90 + 100 + 40 in the second sample beats 100 + 50 in the first; pg_dump's 900 never counts.
        expect(r.drillTotalPeakKb).toBe(230_000);
        expect(r.roles.provider.peakAnonKb).toBe(60_000);
        expect(r.drillTotalAnonPeakKb).toBe(125_000); // 60 + 50 + 10 + 5 beats 70 + 30
        expect(r.samples).toBe(3);
        expect(r.maxGapMs).toBe(250);
        expect(r.orchestratorHwmReset).toBe(true);
    });
    it("falls back to RSS when a process has no HWM line", () => {
        const t = new PeakTracker();
        t.add([{ pid: 9, role: "engine", comm: "pulumi", rssKb: 7 }], 0);
        expect(t.result().roles.engine.peakHwmKb).toBe(7);
        expect(t.result().orchestratorHwmReset).toBe(false);
    });
});

describe("sampling a /proc tree", () => {
    let root: string;
    const write = (pid: number, stat: string, status?: string) => {
        fs.mkdirSync(path.join(root, String(pid)), { recursive: true });
        fs.writeFileSync(path.join(root, String(pid), "stat"), stat);
        if (status !== undefined) fs.writeFileSync(path.join(root, String(pid), "status"), status);
    };
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-proc-"));
        write(10, "10 (node) S 1 0", "VmHWM:\t 2048 kB\nVmRSS:\t 1024 kB\nRssAnon:\t 800 kB\nRssFile:\t 224 kB\n");
        write(11, "11 (pulumi) S 10 0", "VmHWM:\t 512 kB\nVmRSS:\t 512 kB\n");
        write(12, "12 (node) S 11 0", "VmRSS:\t 300 kB\n");
        write(13, "13 (zombie) Z 12 0", "State:\tZ (zombie)\n");
        write(14, "14 (gone) S 12 0"); // exited between the stat and the status read
        write(99, "99 (node) S 1 0", "VmRSS:\t 9999 kB\n");
        fs.mkdirSync(path.join(root, "self"));
        fs.writeFileSync(path.join(root, "10", "clear_refs"), "");
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("lists numeric entries only and reads the tree's memory", () => {
        expect(listProcesses(root).map((p) => p.pid).sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14, 99]);
        const sample = takeSample(10, root).sort((a, b) => a.pid - b.pid);
        expect(sample).toEqual([
            { pid: 10, role: "orchestrator", comm: "node", rssKb: 1024, hwmKb: 2048, anonKb: 800 },
            { pid: 11, role: "engine", comm: "pulumi", rssKb: 512, hwmKb: 512, anonKb: undefined },
            { pid: 12, role: "provider", comm: "node", rssKb: 300, hwmKb: undefined, anonKb: undefined },
        ]);
    });
    it("resets the root's high-water mark and reports peaks when stopped", () => {
        const sampler = startRssSampler({ rootPid: 10, procRoot: root, intervalMs: 5 });
        expect(fs.readFileSync(path.join(root, "10", "clear_refs"), "utf8")).toBe("5");
        fs.writeFileSync(path.join(root, "12", "status"), "VmRSS:\t 4000 kB\n");
        const peaks = sampler.stop();
        expect(peaks.samples).toBeGreaterThanOrEqual(2);
        expect(peaks.roles.provider.peakRssKb).toBe(4000);
        expect(peaks.drillTotalPeakKb).toBe(1024 + 512 + 4000);
        expect(peaks.orchestratorHwmReset).toBe(true);
    });
    it("says so when the high-water mark cannot be reset, and fails at once without /proc", () => {
        expect(resetPeakRss(12345, root)).toBe(false);
        expect(() => startRssSampler({ rootPid: 10, procRoot: path.join(root, "missing") })).toThrow(/ENOENT/);
    });
    it("works on the real /proc for this process", () => {
        const sample = takeSample(process.pid);
        const self = sample.find((p) => p.pid === process.pid);
        expect(self?.role).toBe("orchestrator");
        expect(self!.rssKb).toBeGreaterThan(10_000);
    });
});
