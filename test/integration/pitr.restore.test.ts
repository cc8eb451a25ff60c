// Point-in-time recovery end to end on real parts: PostgreSQL 15 (wal_level = logical, archive_mode on)
// archiving through pgBackRest 2.45 into the S3 test server over HTTPS, in a bucket with Object Lock
// (COMPLIANCE) and repository encryption. While a write-heavy workload runs, consistent-point marks are
// taken and stored in the vault; every PITR to a mark's LSN must reproduce its fingerprint exactly.
// PITR to a time is checked with heartbeat ordering; to a named restore point and to "immediate" with
// the rows they must and must not contain. Targets in the future or before the oldest backup are refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { connect, withClient } from "../../lib/postgres/connection";
import { archiveHealth } from "../../lib/pitr/health";
import { checkHeartbeatOrdering, startHeartbeat, type HeartbeatMarker } from "../../lib/pitr/heartbeat";
import { info } from "../../lib/pitr/info";
import { compareWithMark } from "../../lib/pitr/markCheck";
import { listMarks, markTarget, readMark, storeMark, takeMark, type ConsistentMark } from "../../lib/pitr/marks";
import { restoreToTarget } from "../../lib/pitr/restore";
import { createRestorePoint, waitForArchived, type RestorePoint } from "../../lib/pitr/restorePoint";
import { backup, check, stanzaCreate } from "../../lib/pitr/setup";
import { takeFingerprint } from "../../lib/validate/fingerprint";
import { S3Store } from "../../lib/vault/s3Store";
import { startPitrSource, type PitrSource } from "../helpers/pitrCluster";
import { startS3Server, type S3Server } from "../helpers/s3Server";

const BUCKET = "pitr-vault";
const MARKS = 5;

let s3: S3Server;
let src: PitrSource;
let vault: S3Store;
const marks: ConsistentMark[] = [];
let restorePoint: RestorePoint;
let heartbeats: HeartbeatMarker[] = [];
let timeTarget: Date;
let committedTransactions = 0;
let rowsBeforeFirstMark = 0;

/** Several sessions of short read-write transactions: balance updates, ledger inserts, deletes. */
function startWorkload(url: string, sessions = 4): { stop(): Promise<number> } {
    let stopped = false;
    let count = 0;
    const loops = Array.from({ length: sessions }, async (_, s) => {
        const c: Client = await connect(url, "workload");
        try {
            let i = 0;
            while (!stopped) {
                i++;
                const account = ((i * 7 + s * 13) % 200) + 1;
                await c.query("begin");
                await c.query("update accounts set balance = balance + $1, updated_at = clock_timestamp() where id = $2", [i % 17, account]);
                await c.query("insert into ledger(account, amount, note) values ($1, $2, $3)", [account, i % 17, `s${s}-t${i}`]);
                if (i % 25 === 0) await c.query("delete from ledger where id in (select id from ledger where account = $1 order by id limit 1)", [account]);
                await c.query("commit");
                count++;
            }
        } finally {
            await c.end();
        }
    });
    return {
        async stop() {
            stopped = true;
            await Promise.all(loops);
            return count;
        },
    };
}

beforeAll(async () => {
    s3 = await startS3Server();
    await s3.createLockedBucket(BUCKET, "COMPLIANCE", 1);
    vault = new S3Store({ bucket: BUCKET, endpoint: s3.endpoint, region: s3.region, credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey } });
    src = await startPitrSource(s3, BUCKET, "pitrtest");
    await withClient(src.cluster.url(), "source", async (c) => {
        await c.query("create table accounts(id int primary key, balance numeric not null, updated_at timestamptz not null default now())");
        await c.query("create table ledger(id bigint generated always as identity primary key, account int not null references accounts, amount numeric not null, note text, created_at timestamptz not null default clock_timestamp())");
        await c.query("insert into accounts(id, balance) select g, 1000 from generate_series(1, 200) g");
    });
    await stanzaCreate(src.ctx);
    await check(src.ctx);
    await backup(src.ctx, "full");

    // The workload and the heartbeat run while the marks, the restore point and T are taken.
    const workload = startWorkload(src.cluster.url());
    const heartbeat = await startHeartbeat(src.cluster.url(), 250);
    await new Promise((r) => setTimeout(r, 1000));
    rowsBeforeFirstMark = await withClient(src.cluster.url(), "source", async (c) => Number((await c.query("select count(*) as n from ledger")).rows[0].n));
    for (let i = 0; i < MARKS; i++) {
        const mark = await takeMark(src.cluster.url(), src.settings);
        await storeMark(vault, src.settings, mark);
        marks.push(mark);
        if (i === Math.floor(MARKS / 2)) {
            await new Promise((r) => setTimeout(r, 300));
            timeTarget = new Date();
            await new Promise((r) => setTimeout(r, 300));
        }
    }
    restorePoint = await withClient(src.cluster.url(), "source", (c) => createRestorePoint(c, "before-cleanup"));
    await new Promise((r) => setTimeout(r, 500));
    committedTransactions = await workload.stop();
    heartbeats = await heartbeat.stop();
    await withClient(src.cluster.url(), "source", async (c) => {
        // After the restore point: a PITR to its name must not contain this.
        await c.query("create table after_restore_point(x int)");
        const lsn = (await c.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0].lsn;
        await waitForArchived(c, lsn);
    });
}, 240_000);

afterAll(async () => {
    await src?.stop();
    await s3?.stop();
});

describe("WAL archive in an Object Lock bucket", () => {
    it("is healthy: a fresh backup, a continuous archive, a recent segment", async () => {
        const health = await archiveHealth(src.ctx);
        expect(health.reasons).toEqual([]);
        expect(health.status).toBe("PASS");
        expect(health.gaps).toEqual([]);
        expect(health.segmentsChecked).toBeGreaterThan(2);
        expect(health.newestBackup?.type).toBe("full");
    });

    it("stored every mark in the vault beside the archive, readable back", async () => {
        const keys = await listMarks(vault, src.settings);
        expect(keys).toHaveLength(MARKS);
        expect(keys.every((k) => k.startsWith("pitr/pitrtest/marks/"))).toBe(true);
        const first = await readMark(vault, keys[0]);
        expect(first.lsn).toBe(marks[0].lsn);
        expect(first.fingerprint).toEqual(marks[0].fingerprint);
    });
});

describe("PITR to a consistent point under a write-heavy workload", () => {
    it("the workload really wrote between the marks", () => {
        expect(committedTransactions).toBeGreaterThan(200);
        const checksums = new Set(marks.map((m) => JSON.stringify(m.fingerprint.tables)));
        expect(checksums.size).toBe(MARKS); // every mark saw a different state
    });

    it(`reproduces each of ${MARKS} marks' fingerprints exactly (zero mismatches)`, async () => {
        const mismatches: string[] = [];
        for (const mark of marks) {
            const restored = await restoreToTarget({ settings: src.settings, secrets: src.secrets, target: markTarget(mark) });
            try {
                expect(restored.reached.lsn).toBeTruthy();
                const fp = await withClient(restored.url(), "restored", (c) => takeFingerprint(c, {}, undefined, mark.fingerprint));
                const verdict = compareWithMark(mark, fp);
                if (!verdict.ok) mismatches.push(`${mark.lsn}: ${verdict.differingSections.join(", ")} ${verdict.failures.map((f) => `${f.check} ${f.object}`).join(", ")}`);
                // Table data exactly as the snapshot saw it: row counts and checksums, table by table.
                expect(fp.tables).toEqual(mark.fingerprint.tables);
                expect(restored.durations.restoreMs).toBeGreaterThan(0);
            } finally {
                await restored.stop();
            }
        }
        expect(mismatches.join("\n")).toBe("");
    }, 300_000);
});

describe("PITR to a time, a restore point, immediate", () => {
    it("to time T: every heartbeat acknowledged by T is there, none written after T", async () => {
        const restored = await restoreToTarget({ settings: src.settings, secrets: src.secrets, target: { type: "time", time: timeTarget } });
        try {
            const ordering = await withClient(restored.url(), "restored", (c) => checkHeartbeatOrdering(c, heartbeats, timeTarget));
            expect(ordering.missing).toEqual([]);
            expect(ordering.unexpected).toEqual([]);
            expect(ordering.judgedBefore).toBeGreaterThan(0);
            expect(ordering.judgedAfter).toBeGreaterThan(0);
            expect(ordering.ok).toBe(true);
            expect(restored.reached.lastCommitTime).not.toBeNull();
            expect(Date.parse(restored.reached.lastCommitTime!)).toBeLessThanOrEqual(timeTarget.getTime());
        } finally {
            await restored.stop();
        }
    });

    it("to a named restore point: what came after it is absent, the workload before it present", async () => {
        const restored = await restoreToTarget({
            settings: src.settings, secrets: src.secrets, target: { type: "name", name: restorePoint.name, createdAt: new Date(restorePoint.time) },
        });
        try {
            await withClient(restored.url(), "restored", async (c) => {
                expect((await c.query("select to_regclass('public.after_restore_point') as t")).rows[0].t).toBeNull();
                expect(Number((await c.query("select count(*) as n from ledger")).rows[0].n)).toBeGreaterThan(rowsBeforeFirstMark);
            });
            expect(restored.reached.lsn).toBeTruthy();
        } finally {
            await restored.stop();
        }
    });

    it("immediate: the state at the end of the backup (no workload rows, no heartbeat table)", async () => {
        const restored = await restoreToTarget({ settings: src.settings, secrets: src.secrets, target: { type: "immediate" } });
        try {
            await withClient(restored.url(), "restored", async (c) => {
                expect(Number((await c.query("select count(*) as n from ledger")).rows[0].n)).toBe(0);
                expect(Number((await c.query("select count(*) as n from accounts")).rows[0].n)).toBe(200);
                expect((await c.query("select to_regclass('supabase_dr.pitr_heartbeat') as t")).rows[0].t).toBeNull();
                // Promoted and writable, and the password we set is the one that works over TCP.
                await c.query("create table promoted_ok(x int)");
            });
        } finally {
            await restored.stop();
        }
    });
});

describe("targets that cannot be reached are refused before anything is restored", () => {
    it("a time in the future", async () => {
        const future = new Date(Date.now() + 3600_000);
        await expect(restoreToTarget({ settings: src.settings, secrets: src.secrets, target: { type: "time", time: future } })).rejects.toThrow(/in the future.*refused/);
    });

    it("a time before the oldest backup", async () => {
        const oldest = (await info(src.ctx)).oldestBackup!;
        const before = new Date(oldest.stopTime.getTime() - 60_000);
        await expect(restoreToTarget({ settings: src.settings, secrets: src.secrets, target: { type: "time", time: before } }))
            .rejects.toThrow(new RegExp(`before the oldest backup ${oldest.label}.*refused`));
    });

    it("an LSN before the oldest backup", async () => {
        await expect(restoreToTarget({ settings: src.settings, secrets: src.secrets, target: { type: "lsn", lsn: "0/100" } })).rejects.toThrow(/before the oldest backup/);
    });
});
