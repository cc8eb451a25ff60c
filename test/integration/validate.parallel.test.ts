// Table scans shared out over helper connections give exactly the single-connection fingerprint, and
// helpers that share an exported snapshot see that snapshot, not later writes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { takeFingerprint } from "../../lib/validate";
import { createSampleData } from "../helpers/sampleData";

let pg: LocalCluster;
beforeAll(async () => {
    pg = await startLocalCluster();
    await createSampleData(pg.url(), 3000);
    await withClient(pg.url(), "db", async (c) => {
        await c.query("create table public.extra as select g as id, md5(g::text) as v from generate_series(1, 5000) g");
        // Over 8 MB (1024 blocks): scanned in block ranges, whose sums must add up to the single pass.
        await c.query("create table public.big as select g as id, repeat(md5(g::text), 8) as v, now() as updated_at from generate_series(1, 40000) g");
        await c.query("delete from public.big where id % 3 = 0");
        await c.query("update public.big set v = 'changed' where id % 10 = 1");
    });
});
afterAll(async () => {
    await pg?.stop();
});

describe("parallel fingerprints", () => {
    it("equal the single-connection fingerprint", async () => {
        const single = await withClient(pg.url(), "db", (c) => takeFingerprint(c));
        const helpers = [await connect(pg.url()), await connect(pg.url())];
        try {
            const parallel = await withClient(pg.url(), "db", (c) => takeFingerprint(c, {}, { helpers }));
            expect(parallel).toEqual(single);
            expect(parallel.tables.length).toBeGreaterThanOrEqual(4);
            const big = await withClient(pg.url(), "db", async (c) => Number((await c.query("select pg_relation_size('public.big') / 8192 as b")).rows[0].b));
            expect(big).toBeGreaterThanOrEqual(1024);
        } finally {
            for (const h of helpers) await h.end();
        }
    });

    it("helpers read the exported snapshot, not writes made after it", async () => {
        const main = await connect(pg.url());
        const helper = await connect(pg.url());
        try {
            await main.query("begin isolation level repeatable read read only");
            const snapshot = (await main.query<{ s: string }>("select pg_export_snapshot() as s")).rows[0].s;
            await withClient(pg.url(), "writer", (c) => c.query("insert into public.extra values (999999, 'later')"));
            const fp = await takeFingerprint(main, {}, { helpers: [helper], snapshot });
            await main.query("commit");
            expect(fp.tables.find((t) => t.table === "public.extra")?.rowCount).toBe(5000);
            const now = await withClient(pg.url(), "db", (c) => takeFingerprint(c));
            expect(now.tables.find((t) => t.table === "public.extra")?.rowCount).toBe(5001);
        } finally {
            await main.end();
            await helper.end();
        }
    });
});
