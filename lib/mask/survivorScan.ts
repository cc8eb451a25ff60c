// Whole-database survivor scan: after masking, look for ANY original value of ANY rule in EVERY
// text-like and json column of every table, not only in the column it was masked in. Copies are
// where masking usually leaks: an email copied into public.profiles, an audit log's jsonb payload,
// a materialized view built before the refresh, auth.identities' provider_id.
//
// Runs inside the masking transaction after the UPDATEs and compares sha256 fingerprints inside
// PostgreSQL: values never leave the server and the result holds only table/column names and
// counts. Cost: one sequential pass per table that has text or json columns, each value hashed once
// or twice and probed against small indexed temp tables.
import type { Client } from "pg";
import { quoteIdent } from "../postgres/connection";
import { pgErrorText } from "../redact";
import { tableSql } from "./catalog";
import { ORIGINALS } from "./verify";

/** Originals shorter than this (in characters) are not searched for outside their own rule: "n/a", "yes", "1" would match everywhere. */
export const MIN_SEARCH_CHARS = 4;

// Fingerprints searched for as they are, and lower-cased ones (email strategy) matched against lower(value).
const EXACT_TABLE = "supabase_dr_mask_search_exact";
const CI_TABLE = "supabase_dr_mask_search_ci";
const EXACT = `pg_temp.${EXACT_TABLE}`;
const CI = `pg_temp.${CI_TABLE}`;
// Every string anywhere in a document, the root included. strict: lax mode would unwrap arrays and
// visit elements twice.
const STRING_LEAVES = `'strict $.** ? (@.type() == "string")'`;

export interface SurvivorLocation {
    /** "schema.table" */
    table: string;
    column: string;
    /** Rows whose value (or any string inside the json document or array) equals an original. */
    rows: number;
}

export interface SurvivorScanResult {
    status: "pass" | "fail";
    /** Distinct originals searched for (email-strategy values lower-cased and matched case-insensitively). */
    searched: number;
    /** Distinct originals shorter than minChars: only their own rule's proof checks them. */
    tooShort: number;
    minChars: number;
    tablesScanned: number;
    columnsScanned: number;
    survivors: SurvivorLocation[];
    /** Columns the scan could not read ("schema.table.column: why"). Not counted as survivors. */
    notSearched: string[];
}

interface ScanColumn {
    schema: string;
    table: string;
    column: string;
    kind: "text" | "json";
    is_array: boolean;
    readable: boolean;
    rls: boolean;
}

interface SearchSet {
    exact: number;
    ci: number;
    /** Upper bound on the UTF-8 length of a value that can match (cheap pre-filter before hashing). */
    maxOctets: number;
}

/** Builds the searched fingerprints from the originals table (after recordOriginals, before or after the UPDATEs). */
async function buildSearchSet(client: Client): Promise<SearchSet & { tooShort: number }> {
    for (const [table, ci] of [[EXACT_TABLE, false], [CI_TABLE, true]] as const) {
        await client.query(`CREATE TEMP TABLE ${table} (h bytea PRIMARY KEY) ON COMMIT DROP`);
        await client.query(
            `INSERT INTO pg_temp.${table} SELECT DISTINCT g FROM ${ORIGINALS} WHERE ci = ${ci} AND chars >= ${MIN_SEARCH_CHARS}`,
        );
        // Temp tables are never analyzed by autovacuum; the probes' plans need the row counts.
        await client.query(`ANALYZE pg_temp.${table}`);
    }
    const r = await client.query<{ exact: string; ci: string; short: string; max_exact: number | null; max_ci: number | null }>(
        `SELECT (SELECT count(*) FROM ${EXACT}) AS exact, (SELECT count(*) FROM ${CI}) AS ci,
                (SELECT count(*) FROM (SELECT DISTINCT ci, g FROM ${ORIGINALS} WHERE chars < ${MIN_SEARCH_CHARS}) s) AS short,
                (SELECT max(octets) FROM ${ORIGINALS} WHERE NOT ci AND chars >= ${MIN_SEARCH_CHARS}) AS max_exact,
                (SELECT max(octets) FROM ${ORIGINALS} WHERE ci AND chars >= ${MIN_SEARCH_CHARS}) AS max_ci`,
    );
    const row = r.rows[0];
    // A value matching case-insensitively can be longer than its lower-cased form: lower() may map a
    // 3-byte character to a 1-byte one (KELVIN SIGN -> k), never more than that.
    const maxOctets = Math.max(row.max_exact ?? 0, 3 * (row.max_ci ?? 0));
    return { exact: Number(row.exact), ci: Number(row.ci), tooShort: Number(row.short), maxOctets };
}

/** Text-like and json columns of every table, partitioned table and populated materialized view outside the system schemas. */
async function scanColumns(client: Client): Promise<ScanColumn[]> {
    const r = await client.query<ScanColumn>(
        `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
                CASE WHEN eb.oid IN ('json'::regtype, 'jsonb'::regtype) THEN 'json' ELSE 'text' END AS kind,
                el.is_array, has_column_privilege(c.oid, a.attnum, 'SELECT') AS readable,
                row_security_active(c.oid) AS rls
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         JOIN pg_type t ON t.oid = a.atttypid
         -- Unwrap a domain, then an array, then a domain of the element: text[], citext, my_email_domain ...
         CROSS JOIN LATERAL (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END AS oid) vt
         JOIN pg_type v ON v.oid = vt.oid
         CROSS JOIN LATERAL (SELECT CASE WHEN v.typcategory = 'A' THEN v.typelem ELSE v.oid END AS oid,
                                    v.typcategory = 'A' AS is_array) el
         JOIN pg_type e ON e.oid = el.oid
         CROSS JOIN LATERAL (SELECT CASE WHEN e.typtype = 'd' THEN e.typbasetype ELSE e.oid END AS oid) eb
         JOIN pg_type b ON b.oid = eb.oid
         WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition AND (c.relkind <> 'm' OR c.relispopulated)
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
           -- name (catalog identifiers, 63 bytes) is left out on purpose; every other string type is in.
           AND (eb.oid IN ('json'::regtype, 'jsonb'::regtype) OR (b.typcategory = 'S' AND eb.oid <> 'name'::regtype))
         ORDER BY n.nspname, c.relname, a.attnum`,
    );
    return r.rows;
}

/**
 * SQL that is true when the text x equals a searched original. Correlated EXISTS probes of the
 * primary keys, on purpose: an `IN (SELECT ...)` is only hashed while the set fits in work_mem, and
 * beyond that PostgreSQL rescans the whole set for every value (hours instead of seconds).
 */
function matches(x: string, set: SearchSet): string {
    const probes: string[] = [];
    if (set.exact > 0) probes.push(`EXISTS (SELECT 1 FROM ${EXACT} s WHERE s.h = sha256(convert_to(${x}, 'UTF8')))`);
    if (set.ci > 0) probes.push(`EXISTS (SELECT 1 FROM ${CI} s WHERE s.h = sha256(convert_to(lower(${x}), 'UTF8')))`);
    return `(octet_length(${x}) <= ${set.maxOctets} AND (${probes.join(" OR ")}))`;
}

/** SQL that is true when a row's column holds an original: the value itself, an array element, or any string in a document. */
function columnHoldsOriginal(c: ScanColumn, set: SearchSet): string {
    const col = `t.${quoteIdent(c.column)}`;
    if (c.kind === "text") {
        return c.is_array
            ? `EXISTS (SELECT 1 FROM unnest(${col}) AS e(x) WHERE ${matches("e.x::text", set)})`
            : matches(`${col}::text`, set);
    }
    const leaves = (doc: string) => `jsonb_path_query(${doc}::jsonb, ${STRING_LEAVES}) AS l(v)`;
    const from = c.is_array ? `unnest(${col}) AS e(x) CROSS JOIN LATERAL ${leaves("e.x")}` : leaves(col);
    return `EXISTS (SELECT 1 FROM ${from} WHERE ${matches("(l.v #>> '{}')", set)})`;
}

function groupByTable(columns: ScanColumn[]): ScanColumn[][] {
    const byTable = new Map<string, ScanColumn[]>();
    for (const c of columns) {
        const key = JSON.stringify([c.schema, c.table]);
        byTable.set(key, [...(byTable.get(key) ?? []), c]);
    }
    return [...byTable.values()];
}

/** One pass over a table; returns survivors per column. A failing scan (e.g. a json value jsonb cannot hold) is reported, not thrown. */
async function scanTable(
    client: Client,
    cols: ScanColumn[],
    set: SearchSet,
): Promise<{ survivors: SurvivorLocation[]; error?: string }> {
    const { schema, table } = cols[0];
    const counts = cols.map((c, i) => `count(*) FILTER (WHERE ${columnHoldsOriginal(c, set)}) AS c${i}`);
    await client.query("SAVEPOINT supabase_dr_survivor_scan");
    try {
        const r = await client.query<Record<string, string>>(`SELECT ${counts.join(", ")} FROM ${tableSql({ schema, table })} AS t`);
        await client.query("RELEASE SAVEPOINT supabase_dr_survivor_scan");
        const row = r.rows[0];
        const survivors = cols
            .map((c, i) => ({ table: `${schema}.${table}`, column: c.column, rows: Number(row[`c${i}`]) }))
            .filter((s) => s.rows > 0);
        return { survivors };
    } catch (err) {
        await client.query("ROLLBACK TO SAVEPOINT supabase_dr_survivor_scan");
        // err.message only: pg's DETAIL can quote values.
        return { survivors: [], error: pgErrorText(err) };
    }
}

/** The result when there is nothing to search for (no rule matched a row). */
export function emptyScan(): SurvivorScanResult {
    return {
        status: "pass",
        searched: 0,
        tooShort: 0,
        minChars: MIN_SEARCH_CHARS,
        tablesScanned: 0,
        columnsScanned: 0,
        survivors: [],
        notSearched: [],
    };
}

/**
 * Searches every text-like and json column of the database for the originals recorded in
 * ORIGINALS. Must run in the masking transaction after the UPDATEs. Columns the masking role cannot
 * read in full (no SELECT privilege, row level security hiding rows) are listed in notSearched.
 */
export async function scanForSurvivors(client: Client): Promise<SurvivorScanResult> {
    const set = await buildSearchSet(client);
    const result: SurvivorScanResult = { ...emptyScan(), searched: set.exact + set.ci, tooShort: set.tooShort };
    if (result.searched === 0) return result;
    for (const cols of groupByTable(await scanColumns(client))) {
        const label = `${cols[0].schema}.${cols[0].table}`;
        if (cols[0].rls) {
            result.notSearched.push(`${label}: row level security hides rows from this role`);
            continue;
        }
        for (const c of cols.filter((c) => !c.readable)) result.notSearched.push(`${label}.${c.column}: no SELECT privilege`);
        const readable = cols.filter((c) => c.readable);
        if (readable.length === 0) continue;
        const scanned = await scanTable(client, readable, set);
        if (scanned.error !== undefined) {
            result.notSearched.push(`${label}: ${scanned.error}`);
            continue;
        }
        result.tablesScanned += 1;
        result.columnsScanned += readable.length;
        result.survivors.push(...scanned.survivors);
    }
    result.status = result.survivors.length === 0 ? "pass" : "fail";
    return result;
}
