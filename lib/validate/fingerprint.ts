// A database fingerprint: data and definitions summarised well enough to prove that a restore equals
// its source at the moment of the dump, small enough to keep as JSON in the backup manifest.
//
// Safe to call inside the caller's pg_dump snapshot transaction: nothing here begins or ends that
// transaction (see session.ts). A read the role may not make is not attempted (readability.ts: on the
// source, a refused statement is an ERROR line in production's log); what fails anyway is contained by
// a savepoint and recorded.
import { quoteLiteral } from "../postgres/connection";
import type { ClientBase } from "pg";
import {
    findTables,
    latestMigration,
    listExtensions,
    listFunctions,
    listPolicies,
    listSchemas,
    listTables,
    listTriggers,
    listViews,
    rlsSettings,
    serverVersion,
    type CatalogTable,
} from "./catalog";
import { listGrants } from "./grants";
import { listPublications } from "./publications";
import { readRefusal } from "./readability";
import { runRlsProbe } from "./rlsProbes";
import { listSequences } from "./sequenceValues";
import { storageBuckets } from "./storageBuckets";
import { planChecksums, planFields, TEXT_PLAN, type ChecksumBasis, type PlanChoice } from "./rowHash";
import { listColumns, listConstraints, listIndexes } from "./structure";
import { attempt, pinOutputSettings, withIsolatedReads, type Queryable } from "./session";
import { blockRanges, combineScans, qualifiedName, scanTable, scanTablePart, type BlockRange, type PartialScan, type TableScan } from "./tableScan";
import { FINGERPRINT_FORMAT, type Fingerprint, type FingerprintOptions, type RlsProbeResult, type TableFingerprint } from "./types";

export type { Fingerprint, FingerprintOptions, RlsProbe } from "./types";
export type { ChecksumBasis } from "./rowHash";

/** A scanned table's entry: its data, and how its checksum was computed so the other side can repeat it. */
function scannedTable(name: string, table: CatalogTable, scan: TableScan, choice: PlanChoice): TableFingerprint {
    return {
        table: name,
        rowCount: scan.rowCount,
        maxUpdatedAt: scan.maxUpdatedAt,
        hasUpdatedAt: table.hasUpdatedAt,
        checksum: scan.checksum,
        ...planFields(choice.plan),
        ...(choice.note ? { checksumNote: choice.note } : {}),
    };
}

async function fingerprintTable(client: Queryable, name: string, table: CatalogTable | undefined, choice: PlanChoice): Promise<TableFingerprint> {
    const empty = { table: name, rowCount: null, maxUpdatedAt: null, checksum: null };
    if (!table) return { ...empty, hasUpdatedAt: false, error: "table does not exist" };
    const refusal = await readRefusal(client, table);
    if (refusal) return { ...empty, hasUpdatedAt: table.hasUpdatedAt, error: refusal };
    const scan = await attempt(client, () => scanTable(client, table, table.hasUpdatedAt, choice.plan));
    if (!scan.ok) return { ...empty, hasUpdatedAt: table.hasUpdatedAt, error: scan.error };
    return scannedTable(name, table, scan.value, choice);
}

// Tables under this size are scanned in one piece; larger ones in several block ranges.
const SPLIT_MIN_BLOCKS = 1024;

async function tableBlocks(client: Queryable, table: CatalogTable): Promise<number> {
    if (table.partitioned) return 0; // scanned through the parent in one piece
    // By oid from the catalog: a name cast to regclass fails (an ERROR in the log) without USAGE on its schema.
    const r = await client.query<{ blocks: string }>(
        `select coalesce(max(pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::bigint), 0)::text as blocks
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1 and c.relname = $2`,
        [table.schema, table.name],
    );
    return Number(r.rows[0].blocks);
}

/**
 * Checksums every wanted table, sharing the work out over the clients: a big table is cut into block
 * ranges (its sums add up to the single-pass result), so one large table no longer serializes the run.
 */
async function fingerprintTables(
    main: Queryable,
    clients: Queryable[],
    wanted: [string, CatalogTable | undefined][],
    plans: Map<string, PlanChoice>,
): Promise<TableFingerprint[]> {
    // Every existing table has a plan (planChecksums is given them all); missing ones are never scanned.
    const choiceFor = (table: CatalogTable): PlanChoice => plans.get(qualifiedName(table.schema, table.name)) ?? { plan: TEXT_PLAN };
    if (clients.length === 1) {
        const out: TableFingerprint[] = [];
        for (const [name, table] of wanted) out.push(await fingerprintTable(main, name, table, table ? choiceFor(table) : { plan: TEXT_PLAN }));
        return out;
    }
    const jobs: { index: number; table: CatalogTable; range: BlockRange }[] = [];
    // Every client reads as the same role with the same pinned settings: one check serves them all.
    const refusals = new Map<number, string>();
    for (const [index, [, table]] of wanted.entries()) {
        if (!table) continue;
        const refusal = await readRefusal(main, table);
        if (refusal) {
            refusals.set(index, refusal);
            continue;
        }
        const blocks = await attempt(main, () => tableBlocks(main, table));
        // More parts than connections: live rows are not spread evenly over blocks (updates append new
        // row versions), so small parts pulled by whichever connection is free balance the load.
        const ranges = blocks.ok && blocks.value >= SPLIT_MIN_BLOCKS ? blockRanges(blocks.value, clients.length * 4) : [{}];
        for (const range of ranges) jobs.push({ index, table, range });
    }
    // Every part of a table is scanned with the same plan: only then do their sums add up.
    const parts = await runOnClients(
        clients,
        jobs.map((j) => (c: Queryable) => attempt(c, () => scanTablePart(c, j.table, j.table.hasUpdatedAt, j.range, choiceFor(j.table).plan))),
    );
    return wanted.map(([name, table], index) => {
        const empty = { table: name, rowCount: null, maxUpdatedAt: null, checksum: null };
        if (!table) return { ...empty, hasUpdatedAt: false, error: "table does not exist" };
        const refusal = refusals.get(index);
        if (refusal) return { ...empty, hasUpdatedAt: table.hasUpdatedAt, error: refusal };
        const mine = parts.filter((_, i) => jobs[i].index === index);
        const failed = mine.find((p) => !p.ok);
        if (failed && !failed.ok) return { ...empty, hasUpdatedAt: table.hasUpdatedAt, error: failed.error };
        const scan = combineScans(mine.map((p) => (p as { ok: true; value: PartialScan }).value));
        return scannedTable(name, table, scan, choiceFor(table));
    });
}

/** The tables whose data is checksummed: the named critical ones, or every table of the schemas. */
async function dataTables(
    client: Queryable,
    opts: FingerprintOptions,
    schemaTables: CatalogTable[],
): Promise<[string, CatalogTable | undefined][]> {
    const excluded = new Set(opts.excludeTables ?? []);
    if (opts.tables === undefined) {
        return schemaTables.map((t): [string, CatalogTable] => [qualifiedName(t.schema, t.name), t]).filter(([name]) => !excluded.has(name));
    }
    const found = await findTables(client, opts.tables);
    return [...found.entries()].filter(([name]) => !excluded.has(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface ParallelScans {
    /**
     * Extra idle connections to the same database: the table scans and RLS probes are shared out over
     * them and the main client (a 1 GB restore's validation is dominated by one scan per table).
     */
    helpers: ClientBase[];
    /** Snapshot the main client exported: helpers read exactly what it reads (SET TRANSACTION SNAPSHOT). */
    snapshot?: string;
}

/** Runs tasks over a set of clients, one task per client at a time; results keep the tasks' order. */
async function runOnClients<T>(clients: Queryable[], tasks: ((c: Queryable) => Promise<T>)[]): Promise<T[]> {
    const results: T[] = new Array(tasks.length);
    let next = 0;
    await Promise.all(
        clients.map(async (c) => {
            while (next < tasks.length) {
                const i = next++;
                results[i] = await tasks[i](c);
            }
        }),
    );
    return results;
}

/** Opens each helper's read-only transaction (sharing the snapshot when given) with pinned settings. */
async function prepareHelpers(parallel: ParallelScans | undefined): Promise<{ clients: Queryable[]; release(): Promise<void> }> {
    const helpers = parallel?.helpers ?? [];
    for (const h of helpers) {
        await h.query("begin isolation level repeatable read read only");
        // SET TRANSACTION SNAPSHOT takes no bind parameters; the id comes from pg_export_snapshot().
        if (parallel?.snapshot) await h.query(`set transaction snapshot ${quoteLiteral(parallel.snapshot)}`);
        await pinOutputSettings(h);
    }
    return {
        clients: helpers,
        async release() {
            for (const h of helpers) await h.query("rollback").catch(() => undefined);
        },
    };
}

/**
 * Fingerprints the database the client is connected to. `basis` is the source's fingerprint when this
 * is the target: each table's checksum is then computed exactly the way the source recorded for it
 * (the text form for a format 2 or 3 source), so that the two checksums can be compared at all.
 */
export async function takeFingerprint(
    client: ClientBase,
    opts: FingerprintOptions = {},
    parallel?: ParallelScans,
    basis?: ChecksumBasis,
): Promise<Fingerprint> {
    return withIsolatedReads(client, async () => {
        // Probes run with the session's own search_path, so read it before pinning ours.
        const searchPath = (await client.query<{ p: string }>("select current_setting('search_path') as p")).rows[0].p;
        await pinOutputSettings(client);

        const version = await serverVersion(client);
        const excludedSchemas = new Set(opts.excludeSchemas ?? []);
        const schemas = (await listSchemas(client, opts.schemas)).filter((s) => !excludedSchemas.has(s));
        // First, before the table scans: see sequenceValues.ts for why the reading moment matters.
        const sequences = await listSequences(client, schemas);
        const schemaTables = await listTables(client, schemas);
        const wanted = await dataTables(client, opts, schemaTables);
        const scanned = wanted.map(([, t]) => t).filter((t): t is CatalogTable => t !== undefined);
        const rlsTables = scanned.filter((t) => t.rlsEnabled);
        const plans = await planChecksums(client, version.num, scanned, basis);
        const helpers = await prepareHelpers(parallel);
        let tables: TableFingerprint[];
        let rlsProbes: RlsProbeResult[];
        try {
            const clients = [client, ...helpers.clients];
            tables = await fingerprintTables(client, clients, wanted, plans);
            rlsProbes = await runOnClients(clients, (opts.rlsProbes ?? []).map((probe) => (c: Queryable) => runRlsProbe(c, probe, rlsTables, searchPath)));
        } finally {
            await helpers.release();
        }

        const migrationExcluded = excludedSchemas.has("supabase_migrations");
        const migration = migrationExcluded ? { version: null } : await latestMigration(client);
        return {
            formatVersion: FINGERPRINT_FORMAT,
            serverVersion: version.version,
            serverVersionNum: version.num,
            schemas,
            tables,
            rls: rlsSettings(schemaTables),
            policies: await listPolicies(client, schemas),
            extensions: await listExtensions(client),
            functions: await listFunctions(client, schemas),
            triggers: await listTriggers(client, schemas),
            views: await listViews(client, schemas),
            latestMigration: migration.version,
            ...("error" in migration && migration.error ? { migrationError: migration.error } : {}),
            ...(migrationExcluded ? { migrationExcluded: true } : {}),
            rlsProbes,
            indexes: await listIndexes(client, schemas),
            constraints: await listConstraints(client, schemas),
            columns: await listColumns(client, schemas),
            grants: await listGrants(client, schemas),
            sequences,
            publications: await listPublications(client, schemas, version.num),
            storageBuckets: await storageBuckets(client, schemas),
        };
    });
}
