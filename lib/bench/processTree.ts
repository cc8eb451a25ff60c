// The drill's process tree read from /proc, each process labelled with the part of the drill it is.
//
//   orchestrator  this node process (the Automation API host running the inline program)
//   engine        `pulumi` and any Go plugin it starts (pulumi-language-*, pulumi-resource-* binaries)
//   provider      what the engine starts that is not Pulumi's: the dynamic-provider node process,
//                 where dump, restore and validation run (plus its helpers, e.g. tsx's esbuild)
//   pgTools       pg_dump / pg_restore / psql, pgBackRest, pg_ctl and their workers: PostgreSQL's and
//                 pgBackRest's memory, not ours
//
// The PostgreSQL server is normally not in the tree (pg_ctl daemonizes it). While `pg_ctl start` waits
// for a PITR cluster to reach consistency, though, the postmaster and its startup (WAL replay) process
// are still pg_ctl's children: they are PostgreSQL's memory, so they stay out of the drill's total.
import * as fs from "node:fs";
import * as path from "node:path";

export type ProcessRole = "orchestrator" | "engine" | "provider" | "pgTools";
export const ROLES: ProcessRole[] = ["orchestrator", "engine", "provider", "pgTools"];

export interface ProcEntry {
    pid: number;
    ppid: number;
    /** The kernel's name for the process (at most 15 characters). */
    comm: string;
}

const PG_TOOLS = new Set(["pg_dump", "pg_restore", "psql", "pgbackrest", "pg_ctl", "postgres"]);

/** Parses /proc/<pid>/stat: "1234 (comm) S 1200 ...". comm may hold spaces and ')'. */
export function parseProcStat(text: string): ProcEntry {
    const open = text.indexOf("(");
    const close = text.lastIndexOf(")");
    if (open < 0 || close < open) throw new Error(`unexpected /proc stat line: ${text.slice(0, 80)}`);
    const pid = Number(text.slice(0, open).trim());
    const rest = text.slice(close + 1).trim().split(/\s+/);
    const ppid = Number(rest[1]);
    if (!Number.isInteger(pid) || !Number.isInteger(ppid)) throw new Error(`unexpected /proc stat line: ${text.slice(0, 80)}`);
    return { pid, ppid, comm: text.slice(open + 1, close) };
}

/** A "kB" field of /proc/<pid>/status (VmRSS, VmHWM, RssAnon); undefined for kernel threads and zombies. */
export function parseStatusKb(text: string, field: "VmRSS" | "VmHWM" | "RssAnon"): number | undefined {
    const m = new RegExp(`^${field}:\\s*(\\d+)\\s*kB`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
}

/** The role of a process, given its name and its parent's role. */
export function roleOf(comm: string, parentRole: ProcessRole): ProcessRole {
    if (PG_TOOLS.has(comm) || parentRole === "pgTools") return "pgTools";
    if (comm.startsWith("pulumi")) return "engine";
    // The provider plugin is a shell script that execs node: whatever the engine starts that is not
    // a Pulumi binary is provider code.
    if (parentRole === "engine") return "provider";
    return parentRole;
}

/** Roles of rootPid and all its descendants (processes outside the tree are left out). */
export function classifyTree(procs: ProcEntry[], rootPid: number): Map<number, ProcessRole> {
    const children = new Map<number, ProcEntry[]>();
    for (const p of procs) {
        if (p.pid === rootPid) continue; // a pid is never its own descendant, whatever ppid says
        const list = children.get(p.ppid) ?? [];
        list.push(p);
        children.set(p.ppid, list);
    }
    const roles = new Map<number, ProcessRole>([[rootPid, "orchestrator"]]);
    const queue = [rootPid];
    while (queue.length > 0) {
        const parent = queue.shift()!;
        for (const child of children.get(parent) ?? []) {
            if (roles.has(child.pid)) continue;
            roles.set(child.pid, roleOf(child.comm, roles.get(parent)!));
            queue.push(child.pid);
        }
    }
    return roles;
}

/** Every process /proc lists now; ones that exit while we read are skipped. */
export function listProcesses(procRoot = "/proc"): ProcEntry[] {
    const procs: ProcEntry[] = [];
    for (const name of fs.readdirSync(procRoot)) {
        if (!/^\d+$/.test(name)) continue;
        const text = readOrUndefined(path.join(procRoot, name, "stat"));
        if (text === undefined) continue;
        try {
            procs.push(parseProcStat(text));
        } catch {
            // a malformed line is a process we cannot place; leave it out
        }
    }
    return procs;
}

export function readOrUndefined(file: string): string | undefined {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return undefined; // the process exited (ENOENT, ESRCH)
    }
}
