// Runs the generators over a few connections at once. Rows are a pure function of their number,
// so splitting a table into chunks and loading them in any order gives identical contents.
import type { Client } from "pg";
import { connect } from "../postgres/connection";
import { CONCURRENT_LOADERS, FIRST_LOADERS, HELPERS_SQL, type TableLoader } from "./generators";
import type { DemoRowCounts } from "./sizing";

// Rows per INSERT for the big tables: bounds each statement's duration, balances the workers and
// gives progress ticks.
const CHUNK_ROWS = 50_000;

// JIT compiles these long expressions for every chunk and never pays back; the generated rows can
// be regenerated, so commits need not wait for the WAL flush.
export const LOAD_SESSION_SQL = `
set client_min_messages = warning;
set jit = off;
set synchronous_commit = off;
set search_path = public, extensions;
set timezone = 'UTC';
`;

interface Chunk {
    loader: TableLoader;
    lo: number;
    hi: number;
}

function chunksOf(loader: TableLoader, counts: DemoRowCounts): Chunk[] {
    const total = loader.rows(counts);
    if (!loader.chunked) return [{ loader, lo: 1, hi: total }];
    const chunks: Chunk[] = [];
    for (let lo = 1; lo <= total; lo += CHUNK_ROWS) chunks.push({ loader, lo, hi: Math.min(total, lo + CHUNK_ROWS - 1) });
    return chunks;
}

class TableProgress {
    private readonly started = new Map<string, number>();
    private readonly loaded = new Map<string, number>();

    constructor(private readonly counts: DemoRowCounts, private readonly report: (msg: string) => void) {}

    start(loader: TableLoader): void {
        if (!this.started.has(loader.table)) this.started.set(loader.table, Date.now());
    }

    done(chunk: Chunk): void {
        const { loader } = chunk;
        const total = loader.rows(this.counts);
        const loaded = (this.loaded.get(loader.table) ?? 0) + chunk.hi - chunk.lo + 1;
        this.loaded.set(loader.table, loaded);
        if (loaded < total) {
            this.report(`${loader.table}: ${loaded}/${total} rows`);
        } else {
            const seconds = (Date.now() - (this.started.get(loader.table) ?? Date.now())) / 1000;
            this.report(`${loader.table}: ${total} rows in ${seconds.toFixed(1)} s`);
        }
    }
}

async function openWorker(url: string): Promise<Client> {
    const client = await connect(url, "demo database");
    try {
        await client.query(LOAD_SESSION_SQL);
        await client.query(HELPERS_SQL);
        return client;
    } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
    }
}

async function runChunk(client: Client, chunk: Chunk, counts: DemoRowCounts, progress: TableProgress): Promise<void> {
    progress.start(chunk.loader);
    try {
        await client.query(chunk.loader.sql(counts, chunk.lo, chunk.hi));
    } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        e.message = `loading ${chunk.loader.table} rows ${chunk.lo}..${chunk.hi}: ${e.message}`;
        throw e;
    }
    progress.done(chunk);
}

/** Loads every demo table into the (already created, still unindexed) schema at url. */
export async function loadDemoRows(url: string, counts: DemoRowCounts, report: (msg: string) => void, workers: number): Promise<void> {
    const progress = new TableProgress(counts, report);
    const clients: Client[] = [];
    try {
        for (let i = 0; i < Math.max(1, workers); i++) clients.push(await openWorker(url));
        for (const loader of FIRST_LOADERS) {
            for (const chunk of chunksOf(loader, counts)) await runChunk(clients[0], chunk, counts, progress);
        }
        const queue = CONCURRENT_LOADERS.flatMap((loader) => chunksOf(loader, counts));
        let failed = false;
        // Each worker takes the next chunk until the queue is empty or another worker failed.
        await Promise.all(
            clients.map(async (client) => {
                for (let chunk = queue.shift(); chunk && !failed; chunk = queue.shift()) {
                    try {
                        await runChunk(client, chunk, counts, progress);
                    } catch (err) {
                        failed = true;
                        throw err;
                    }
                }
            }),
        );
    } finally {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    }
}
