// The scratch-database module against a real PostgreSQL: ownership is enforced in code.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import {
    createScratchDatabase,
    dropScratchDatabase,
    scratchDatabaseExists,
} from "../../lib/postgres/scratchDatabase";

let pg: LocalCluster;
beforeAll(async () => {
    pg = await startLocalCluster();
});
afterAll(async () => {
    await pg?.stop();
});

describe("scratch databases", () => {
    it("creates a marked database and drops it, terminating open sessions", async () => {
        const db = await createScratchDatabase(pg.url(), "unit");
        expect(await scratchDatabaseExists(pg.url(), db.name)).toBe(true);
        // An open session must not block the drop.
        const holder = await withClient(db.connectionString, "scratch", async (c) => {
            await c.query("create table t(x int)");
            return "ok";
        });
        expect(holder).toBe("ok");
        expect(await dropScratchDatabase(pg.url(), db.name, db.ownerToken)).toBe("dropped");
        expect(await scratchDatabaseExists(pg.url(), db.name)).toBe(false);
        // Idempotent: a second delete finds it gone.
        expect(await dropScratchDatabase(pg.url(), db.name, db.ownerToken)).toBe("already-gone");
    });

    it("refuses to drop a database it did not create", async () => {
        await withClient(pg.url(), "admin", (c) => c.query("create database customer_data"));
        await expect(dropScratchDatabase(pg.url(), "customer_data", "any-token")).rejects.toThrow(
            /refusing to drop database 'customer_data'.*not created by this supabase-dr resource/,
        );
        expect(await scratchDatabaseExists(pg.url(), "customer_data")).toBe(true);
    });

    it("refuses to drop another resource's scratch database (wrong token)", async () => {
        const db = await createScratchDatabase(pg.url(), "unit");
        await expect(dropScratchDatabase(pg.url(), db.name, "0".repeat(32))).rejects.toThrow(/refusing to drop/);
        expect(await scratchDatabaseExists(pg.url(), db.name)).toBe(true);
        await dropScratchDatabase(pg.url(), db.name, db.ownerToken);
    });

    it("refuses to drop the admin connection's own database", async () => {
        await expect(dropScratchDatabase(pg.url("postgres"), "postgres", "x")).rejects.toThrow(/admin connection's own database/);
    });

    it("names host and port, never the password, when the server is unreachable", async () => {
        const url = `postgresql://postgres:${pg.password}@127.0.0.1:1/postgres`;
        const err = await createScratchDatabase(url, "unit").catch((e: Error) => e);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/cannot connect to scratch database server at 127\.0\.0\.1:1\/postgres/);
        expect((err as Error).message).not.toContain(pg.password);
    });
});
