// Leftover cleanup on a shared backend, against a fake backend: which stacks a drill may clean up
// (never one a live drill holds), how it retries backend errors that pass, and two cleaners racing.
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { describe, expect, it } from "vitest";
import { classifyBackendError, cleanLeftovers, withBackendRetry, type DrillStackStore } from "../../lib/drill/lifecycle";
import {
    claimIsLive,
    formatClaim,
    KEEP_TAG,
    newClaim,
    OWNER_TAG,
    parseClaim,
    processStartTime,
    releaseClaim,
    stackHolder,
    stackNameTime,
    type OwnerClaim,
} from "../../lib/drill/stackLocks";

// Messages as the engine prints them (pulumi 3.259–3.276, file backend).
const TRANSIENT = "error: list bucket: lstat /tmp/state/.pulumi/stacks/supabase-dr/drill-a-20261130000000.json.18a2b3c4d5e6f708.tmp: no such file or directory";
const GONE = "error: no stack named 'drill-x-20260101000000' found";
const EXISTS = "error: stack 'organization/supabase-dr/drill-x-20260101000000' already exists";
const LOCKED = "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.";

const noSleep = { sleep: async () => undefined };

/** A process that has exited: its pid is free (and not reused within the test). */
let dead: number | undefined;
function deadPid(): number {
    dead ??= Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
    return dead;
}

function claimOf(over: Partial<OwnerClaim>): OwnerClaim {
    return { host: os.hostname(), pid: 1, token: "t0", at: new Date().toISOString(), ...over };
}

interface FakeStack {
    tags: Record<string, string>;
    locks?: string[];
}

/** An in-memory backend with the engine's behaviour where it matters: gone stacks, one lock per stack. */
function fakeStore(stacks: Record<string, FakeStack>, faults: { list?: string[]; tags?: Record<string, string>; destroy?: Record<string, string> } = {}) {
    const destroyed: string[] = [];
    const busy = new Set<string>();
    const tick = () => new Promise((r) => setTimeout(r, Math.random() * 4));
    const need = (name: string) => {
        if (!stacks[name]) throw new Error(`error: no stack named '${name}' found`);
        return stacks[name];
    };
    const store: DrillStackStore = {
        async list() {
            await tick();
            const fault = faults.list?.shift();
            if (fault) throw new Error(fault);
            return Object.keys(stacks);
        },
        async tags(name) {
            await tick();
            if (faults.tags?.[name]) throw new Error(faults.tags[name]);
            return { ...need(name).tags };
        },
        async setTag(name, key, value) {
            await tick();
            need(name).tags[key] = value;
        },
        async removeTag(name, key) {
            await tick();
            delete need(name).tags[key];
        },
        liveLocks: (name) => stacks[name]?.locks ?? [],
        async destroy(name) {
            await tick();
            need(name);
            if (busy.has(name)) throw new Error(LOCKED);
            if (faults.destroy?.[name]) throw new Error(faults.destroy[name]);
            busy.add(name);
            await tick();
            busy.delete(name);
            delete stacks[name];
            destroyed.push(name);
        },
    };
    return { store, destroyed, stacks };
}

describe("backend errors", () => {
    it("are told apart: a listing racing a state write passes, a missing stack is gone", () => {
        expect(classifyBackendError(new Error(TRANSIENT))).toBe("transient");
        expect(classifyBackendError({ message: "failed", commandResult: { stderr: TRANSIENT } })).toBe("transient");
        expect(classifyBackendError(new Error("error: could not read checkpoint: unexpected end of JSON input"))).toBe("transient");
        expect(classifyBackendError(new Error("operation error S3: ListObjectsV2, https response error StatusCode: 503, SlowDown"))).toBe("transient");
        expect(classifyBackendError(new Error(GONE))).toBe("gone");
        expect(classifyBackendError(new Error(EXISTS))).toBe("exists");
        expect(classifyBackendError(new Error(LOCKED))).toBe("locked");
        expect(classifyBackendError(new Error("error: incorrect passphrase"))).toBe("other");
    });

    it("that pass are retried with growing pauses; others are not", async () => {
        const pauses: number[] = [];
        let calls = 0;
        const value = await withBackendRetry(
            async () => {
                if (++calls < 3) throw new Error(TRANSIENT);
                return "ok";
            },
            { sleep: async (ms) => void pauses.push(ms) },
        );
        expect(value).toBe("ok");
        expect(pauses).toEqual([250, 500]);

        calls = 0;
        await expect(withBackendRetry(async () => (calls++, Promise.reject(new Error("error: incorrect passphrase"))), noSleep)).rejects.toThrow(/passphrase/);
        expect(calls).toBe(1);

        calls = 0;
        await expect(withBackendRetry(async () => (calls++, Promise.reject(new Error(TRANSIENT))), { ...noSleep, attempts: 4 })).rejects.toThrow(/no such file/);
        expect(calls).toBe(4);
    });
});

describe("owner claims", () => {
    it("round-trip through a tag value; anything else is no claim", () => {
        const c = claimOf({ pid: 42, procStart: "123", token: "abc" });
        expect(parseClaim(formatClaim(c))).toEqual(c);
        expect(parseClaim("true")).toBeUndefined();
        expect(parseClaim('{"pid":"42"}')).toBeUndefined();
        expect(parseClaim(undefined)).toBeUndefined();
    });

    it("are live while their process runs, and only then", () => {
        const mine = newClaim();
        expect(claimIsLive(mine)).toBe(true);
        releaseClaim(mine);
        // Same process, finished drill: no longer protects its stack.
        expect(claimIsLive(mine)).toBe(false);
        expect(claimIsLive(claimOf({ pid: deadPid() }))).toBe(false);
        const parent = process.ppid;
        expect(claimIsLive(claimOf({ pid: parent, procStart: processStartTime(parent) }))).toBe(true);
        // The pid is alive but started at another time: reused by an unrelated process.
        expect(claimIsLive(claimOf({ pid: parent, procStart: "1" }))).toBe(false);
        // Another machine's drill: trusted for 24 h.
        expect(claimIsLive(claimOf({ host: "ci-runner-7", pid: deadPid() }))).toBe(true);
        expect(claimIsLive(claimOf({ host: "ci-runner-7", at: new Date(Date.now() - 25 * 3600_000).toISOString() }))).toBe(false);
    });

    it("a stack without a claim is starting while the time in its name is recent", () => {
        const now = Date.UTC(2026, 10, 30, 12, 0, 0);
        expect(stackNameTime("drill-prod-20261130120000")).toBe(now);
        expect(stackNameTime("drill-self-target")).toBeUndefined();
        expect(stackHolder("drill-prod-20261130115900", {}, [], now)).toEqual({ kind: "starting" });
        expect(stackHolder("drill-prod-20261130100000", {}, [], now)).toBeUndefined();
        expect(stackHolder("drill-self-target", {}, [], now)).toBeUndefined();
        expect(stackHolder("drill-prod-20261130100000", { [KEEP_TAG]: "true" }, [], now)).toEqual({ kind: "kept" });
        expect(stackHolder("drill-prod-20261130100000", {}, ["/locks/x.json"], now)).toEqual({ kind: "engine-lock", files: ["/locks/x.json"] });
    });
});

describe("leftover cleanup", () => {
    it("cleans only stacks no live drill holds", async () => {
        const live = newClaim();
        const starting = `drill-f-${new Date().toISOString().replace(/[-:TZ.]/g, "").slice(0, 14)}`;
        const { store, destroyed } = fakeStore({
            "drill-a-20260101000000": { tags: { [OWNER_TAG]: formatClaim(live) } },
            "drill-b-20260101000000": { tags: { [OWNER_TAG]: formatClaim(claimOf({ pid: deadPid() })) } },
            "drill-c-20260101000000": { tags: { [KEEP_TAG]: "true" } },
            "drill-d-20260101000000": { tags: {}, locks: ["/locks/live.json"] },
            "drill-e-20260101000000": { tags: {} },
            [starting]: { tags: {} },
            "drill-g-20260101000000": { tags: { [OWNER_TAG]: formatClaim(claimOf({ host: "ci-runner-7" })) } },
            prod: { tags: {} },
        });
        try {
            const r = await cleanLeftovers(store, { retry: noSleep });
            expect(r.cleaned.sort()).toEqual(["drill-b-20260101000000", "drill-e-20260101000000"]);
            expect(destroyed.sort()).toEqual(r.cleaned);
            expect(r.running.sort()).toEqual(["drill-a-20260101000000", "drill-d-20260101000000", starting, "drill-g-20260101000000"].sort());
            expect(r.failed).toEqual([]);
        } finally {
            releaseClaim(live);
        }
    });

    it("retries a listing that races another drill's state write", async () => {
        const { store, destroyed } = fakeStore({ "drill-a-20260101000000": { tags: {} } }, { list: [TRANSIENT, TRANSIENT] });
        const r = await cleanLeftovers(store, { retry: noSleep });
        expect(r.listError).toBeUndefined();
        expect(destroyed).toEqual(["drill-a-20260101000000"]);
    });

    it("does not fail the drill when the backend cannot be listed at all", async () => {
        const { store } = fakeStore({ "drill-a-20260101000000": { tags: {} } }, { list: Array(9).fill(TRANSIENT) });
        const r = await cleanLeftovers(store, { retry: noSleep });
        expect(r.listError).toMatch(/listing the backend's stacks failed; the next run retries: .*no such file/);
        expect(r.cleaned).toEqual([]);
    });

    it("skips a stack removed by its own drill since the listing; reports one it cannot judge", async () => {
        const { store, destroyed } = fakeStore(
            { "drill-a-20260101000000": { tags: {} }, "drill-b-20260101000000": { tags: {} } },
            { tags: { "drill-a-20260101000000": GONE, "drill-b-20260101000000": "error: permission denied" } },
        );
        const r = await cleanLeftovers(store, { retry: noSleep });
        expect(destroyed).toEqual([]);
        expect(r.failed).toEqual([{ stack: "drill-b-20260101000000", reason: "error: permission denied" }]);
    });

    it("a failed destroy is reported and unclaimed, so the next run (of this process too) retries it", async () => {
        const f = fakeStore({ "drill-a-20260101000000": { tags: {} } }, { destroy: { "drill-a-20260101000000": "error: update failed: cannot connect to scratch server" } });
        const r = await cleanLeftovers(f.store, { retry: noSleep });
        expect(r.failed.map((x) => x.stack)).toEqual(["drill-a-20260101000000"]);
        expect(f.stacks["drill-a-20260101000000"].tags[OWNER_TAG]).toBeUndefined();
        const fixed = fakeStore(f.stacks);
        expect((await cleanLeftovers(fixed.store, { retry: noSleep })).cleaned).toEqual(["drill-a-20260101000000"]);
    });

    it("two drills cleaning at once destroy each leftover once, and neither fails", async () => {
        for (let round = 0; round < 20; round++) {
            const stacks: Record<string, FakeStack> = {};
            for (const n of ["a", "b", "c"]) stacks[`drill-${n}-20260101000000`] = { tags: { [OWNER_TAG]: formatClaim(claimOf({ pid: deadPid() })) } };
            const { store, destroyed } = fakeStore(stacks);
            const [x, y] = await Promise.all([cleanLeftovers(store, { retry: noSleep }), cleanLeftovers(store, { retry: noSleep })]);
            expect(destroyed.sort()).toEqual(["drill-a-20260101000000", "drill-b-20260101000000", "drill-c-20260101000000"]);
            expect([...x.cleaned, ...y.cleaned].sort()).toEqual(destroyed);
            expect([...x.failed, ...y.failed]).toEqual([]);
        }
    });
});
