// Peak memory of the drill's process tree: samples VmRSS of every process under this one about every
// 100 ms, per role (see processTree.ts), and keeps the peaks.
//
// Sampling can miss a spike between two ticks, so each process's VmHWM (the kernel's own high-water
// mark of its RSS) is kept too. This process's HWM is reset first (clear_refs 5), or it would still
// hold whatever seeding the database cost.
//
// RSS counts file-backed pages too (the pulumi binary's mapped code, shared libraries), which the
// kernel can drop and re-read; RssAnon is the private memory the process really allocated. Both are
// kept: RSS is the number the target is about, RssAnon says how much of it is ours to reduce.
import * as fs from "node:fs";
import * as path from "node:path";
import { classifyTree, listProcesses, parseStatusKb, readOrUndefined, ROLES, type ProcessRole } from "./processTree";

export interface ProcessSample {
    pid: number;
    role: ProcessRole;
    comm: string;
    rssKb: number;
    hwmKb?: number;
    /** RssAnon: private memory (heap, stacks), without mapped files. */
    anonKb?: number;
}

export interface RolePeak {
    /** Highest sum of the role's VmRSS seen in one sample. */
    peakRssKb: number;
    /** Highest VmHWM of any single process of the role. */
    peakHwmKb: number;
    /** Highest sum of the role's RssAnon seen in one sample. */
    peakAnonKb: number;
    /** Distinct processes of the role seen. */
    processes: number;
    /** The role's VmRSS in the first sample: what it held before the measured work began. */
    startRssKb: number;
    /** Highest VmHWM per process name (node, esbuild, pulumi, ...): which process the peak is. */
    byName: Record<string, number>;
}

export interface MemoryPeaks {
    roles: Record<ProcessRole, RolePeak>;
    /** Highest orchestrator + engine + provider VmRSS in one sample (pg tools excluded). */
    drillTotalPeakKb: number;
    /** The same for RssAnon. */
    drillTotalAnonPeakKb: number;
    samples: number;
    /** Longest time between two samples: a busy event loop stretches it. */
    maxGapMs: number;
    /** Whether this process's VmHWM was reset before sampling (else it includes earlier work). */
    orchestratorHwmReset: boolean;
}

/** The peaks of a series of samples; pure, so the arithmetic can be tested without /proc. */
export class PeakTracker {
    private readonly peaks = Object.fromEntries(
        ROLES.map((r) => [r, { peakRssKb: 0, peakHwmKb: 0, peakAnonKb: 0, startRssKb: 0, byName: {} }]),
    ) as Record<ProcessRole, Omit<RolePeak, "processes">>;
    private readonly pids = Object.fromEntries(ROLES.map((r) => [r, new Set<number>()])) as Record<ProcessRole, Set<number>>;
    private totalPeakKb = 0;
    private totalAnonPeakKb = 0;
    private samples = 0;
    private lastAt?: number;
    private maxGapMs = 0;

    constructor(private readonly orchestratorHwmReset = false) {}

    add(processes: ProcessSample[], at: number): void {
        const sums = Object.fromEntries(ROLES.map((r) => [r, 0])) as Record<ProcessRole, number>;
        const anon = { ...sums };
        for (const p of processes) {
            sums[p.role] += p.rssKb;
            anon[p.role] += p.anonKb ?? p.rssKb;
            this.pids[p.role].add(p.pid);
            const peak = this.peaks[p.role];
            const hwm = p.hwmKb ?? p.rssKb;
            peak.peakHwmKb = Math.max(peak.peakHwmKb, hwm);
            peak.byName[p.comm] = Math.max(peak.byName[p.comm] ?? 0, hwm);
        }
        for (const role of ROLES) {
            this.peaks[role].peakRssKb = Math.max(this.peaks[role].peakRssKb, sums[role]);
            this.peaks[role].peakAnonKb = Math.max(this.peaks[role].peakAnonKb, anon[role]);
            if (this.samples === 0) this.peaks[role].startRssKb = sums[role];
        }
        this.totalPeakKb = Math.max(this.totalPeakKb, sums.orchestrator + sums.engine + sums.provider);
        this.totalAnonPeakKb = Math.max(this.totalAnonPeakKb, anon.orchestrator + anon.engine + anon.provider);
        if (this.lastAt !== undefined) this.maxGapMs = Math.max(this.maxGapMs, at - this.lastAt);
        this.lastAt = at;
        this.samples++;
    }

    result(): MemoryPeaks {
        const roles = Object.fromEntries(
            ROLES.map((r) => [r, { ...this.peaks[r], byName: { ...this.peaks[r].byName }, processes: this.pids[r].size }]),
        ) as Record<ProcessRole, RolePeak>;
        return {
            roles,
            drillTotalPeakKb: this.totalPeakKb,
            drillTotalAnonPeakKb: this.totalAnonPeakKb,
            samples: this.samples,
            maxGapMs: this.maxGapMs,
            orchestratorHwmReset: this.orchestratorHwmReset,
        };
    }
}

/** VmRSS and VmHWM of rootPid and every descendant, with their roles. */
export function takeSample(rootPid: number, procRoot = "/proc"): ProcessSample[] {
    const procs = listProcesses(procRoot);
    const names = new Map(procs.map((p) => [p.pid, p.comm]));
    const samples: ProcessSample[] = [];
    for (const [pid, role] of classifyTree(procs, rootPid)) {
        const status = readOrUndefined(path.join(procRoot, String(pid), "status"));
        const rssKb = status === undefined ? undefined : parseStatusKb(status, "VmRSS");
        if (rssKb === undefined) continue; // exited, or a zombie with no memory left
        samples.push({
            pid,
            role,
            comm: names.get(pid) ?? "?",
            rssKb,
            hwmKb: parseStatusKb(status!, "VmHWM"),
            anonKb: parseStatusKb(status!, "RssAnon"),
        });
    }
    return samples;
}

/** Resets a process's VmHWM to its current RSS (Linux ≥ 4.0); false where /proc does not allow it. */
export function resetPeakRss(pid: number, procRoot = "/proc"): boolean {
    try {
        fs.writeFileSync(path.join(procRoot, String(pid), "clear_refs"), "5");
        return true;
    } catch {
        return false;
    }
}

export interface RssSampler {
    /** Takes a last sample, stops the timer and returns the peaks. */
    stop(): MemoryPeaks;
}

export interface RssSamplerOptions {
    /** Default: this process. */
    rootPid?: number;
    intervalMs?: number;
    procRoot?: string;
}

export function startRssSampler(opts: RssSamplerOptions = {}): RssSampler {
    const rootPid = opts.rootPid ?? process.pid;
    const procRoot = opts.procRoot ?? "/proc";
    const tracker = new PeakTracker(resetPeakRss(rootPid, procRoot));
    const tick = () => tracker.add(takeSample(rootPid, procRoot), Date.now());
    tick(); // throws here, not in a timer, when /proc cannot be read at all
    const timer = setInterval(() => {
        try {
            tick();
        } catch {
            // one lost sample; the next tick tries again
        }
    }, opts.intervalMs ?? 100);
    timer.unref(); // never keep the process alive for a sampler
    return {
        stop() {
            clearInterval(timer);
            tick();
            return tracker.result();
        },
    };
}
