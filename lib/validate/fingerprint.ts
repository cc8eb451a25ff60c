// A database fingerprint: data and definitions summarised well enough to prove that a restore equals
// its source at the moment of the dump, small enough to keep as JSON in the backup manifest.
//
// Safe to call inside the caller's pg_dump snapshot transaction: nothing here begins or ends that
// transaction (see session.ts), and every failing read is contained by a savepoint and recorded.
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
import { runRlsProbe } from "./rlsProbes";
import { attempt, pinOutputSettings, withIsolatedReads, type Queryable } from "./session";
import { qualifiedName, scanTable } from "./tableScan";
import type { Fingerprint, FingerprintOptions, RlsProbeResult, TableFingerprint } from "./types";

export type { Fingerprint, FingerprintOptions, RlsProbe } from "./types";

async function fingerprintTable(client: Queryable, name: string, table: CatalogTable | undefined): Promise<TableFingerprint> {
    const empty = { table: name, rowCount: null, maxUpdatedAt: null, checksum: null };
    if (!table) return { ...empty, hasUpdatedAt: false, error: "table does not exist" };
    const scan = await attempt(client, () => scanTable(client, table));
    if (!scan.ok) return { ...empty, hasUpdatedAt: table.hasUpdatedAt, error: scan.error };
    return {
        table: name,
        rowCount: scan.value.rowCount,
        maxUpdatedAt: scan.value.maxUpdatedAt,
        hasUpdatedAt: table.hasUpdatedAt,
        checksum: scan.value.checksum,
    };
}

/** The tables whose data is checksummed: the named critical ones, or every table of the schemas. */
async function dataTables(
    client: Queryable,
    opts: FingerprintOptions,
    schemaTables: CatalogTable[],
): Promise<[string, CatalogTable | undefined][]> {
    if (opts.tables === undefined) return schemaTables.map((t) => [qualifiedName(t.schema, t.name), t]);
    const found = await findTables(client, opts.tables);
    return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export async function takeFingerprint(client: ClientBase, opts: FingerprintOptions = {}): Promise<Fingerprint> {
    return withIsolatedReads(client, async () => {
        // Probes run with the session's own search_path, so read it before pinning ours.
        const searchPath = (await client.query<{ p: string }>("select current_setting('search_path') as p")).rows[0].p;
        await pinOutputSettings(client);

        const version = await serverVersion(client);
        const schemas = await listSchemas(client, opts.schemas);
        const schemaTables = await listTables(client, schemas);
        const tables: TableFingerprint[] = [];
        const scanned: CatalogTable[] = [];
        for (const [name, table] of await dataTables(client, opts, schemaTables)) {
            tables.push(await fingerprintTable(client, name, table));
            if (table) scanned.push(table);
        }

        const rlsTables = scanned.filter((t) => t.rlsEnabled);
        const rlsProbes: RlsProbeResult[] = [];
        for (const probe of opts.rlsProbes ?? []) {
            rlsProbes.push(await runRlsProbe(client, probe, rlsTables, searchPath));
        }

        const migration = await latestMigration(client);
        return {
            formatVersion: 2,
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
            ...(migration.error ? { migrationError: migration.error } : {}),
            rlsProbes,
        };
    });
}
