// Shared set-up for drill tests through the real engine: a PostgreSQL cluster with a source database,
// a local file backend, and checks that a finished drill left nothing behind.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { backendWorkspace, localBackend, type LocalBackend } from "../../lib/pulumi/engine";
import { PROJECT } from "../../lib/drill/run";

export interface DrillHarness {
    pg: LocalCluster;
    backend: LocalBackend;
    backupDir: string;
    stop(): Promise<void>;
}

export async function startHarness(): Promise<DrillHarness> {
    const pg = await startLocalCluster();
    const backend = localBackend();
    const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-drill-"));
    return {
        pg,
        backend,
        backupDir,
        async stop() {
            await pg.stop();
            backend.cleanup();
            fs.rmSync(backupDir, { recursive: true, force: true });
        },
    };
}

/** Scratch databases still on the server (a finished drill must leave none). */
export async function scratchDatabases(adminUrl: string): Promise<string[]> {
    return withClient(adminUrl, "admin", async (c) =>
        (await c.query<{ datname: string }>("select datname from pg_database where datname like 'drill%' order by 1")).rows.map((r) => r.datname),
    );
}

export async function drillStacks(backend: LocalBackend): Promise<string[]> {
    const ws = await backendWorkspace(backend, PROJECT);
    return (await ws.listStacks()).map((s) => s.name);
}

/** A content checksum of every public table, to prove the source is unchanged by a drill. */
export async function databaseChecksum(url: string): Promise<string> {
    return withClient(url, "source", async (c) => {
        const tables = (await c.query<{ t: string }>("select format('%I.%I', schemaname, tablename) as t from pg_tables where schemaname not in ('pg_catalog','information_schema') order by 1")).rows;
        const parts: string[] = [];
        for (const { t } of tables) {
            const r = await c.query<{ h: string }>(`select coalesce(md5(string_agg(md5(x::text), '' order by md5(x::text))), 'empty') as h from ${t} x`);
            parts.push(`${t}:${r.rows[0].h}`);
        }
        return parts.join(",");
    });
}
