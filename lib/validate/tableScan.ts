// One streaming pass over a table, computed entirely inside PostgreSQL: row count, content checksum
// and max(updated_at). No row ever reaches Node, so memory stays flat however large the table is.
//
// The checksum hashes each row to 64 bits and SUMS the hashes as numbers: addition does not care
// about row order (a restore may store rows in any order) and, unlike XOR, counts duplicate rows. A
// changed value changes its row's hash and so the sum. Two sums with different seeds make a
// cancelling pair of changes astronomically unlikely; sum(bigint) is exact (no wrap-around).
// A row's hash comes from one of two methods (the plan, recorded per table in the fingerprint):
// - text: hashtextextended of the row's text form (formats 2 and 3, servers before 14, and tables
//   no column of which has a safe native hash). hashtextextended rather than md5: about 3x faster, and
//   stable across PostgreSQL versions and platforms (hash partitioning, which pg_upgrade preserves,
//   depends on it);
// - row-hash: hash_record_extended over the columns, mixed once more (rowHash.ts); several times
//   cheaper, as no value is printed.
import { createHash } from "node:crypto";
import { quoteIdent } from "../postgres/connection";
import { rowHashSql, TEXT_PLAN, type ChecksumPlan } from "./rowHash";
import type { Queryable } from "./session";

export interface TableRef {
    schema: string;
    name: string;
    /** Partitioned parents are scanned with their partitions; other tables with ONLY (no children). */
    partitioned: boolean;
    hasUpdatedAt: boolean;
}

export interface TableScan {
    rowCount: number;
    checksum: string;
    maxUpdatedAt: string | null;
}

// An alias no real column is likely to use: an unqualified `t::text` would pick a column named t.
const ROW_ALIAS = "supabase_dr_row";

/** A block range of a table, for scanning one table in parts: [fromBlock, toBlock), open-ended when absent. */
export interface BlockRange {
    fromBlock?: number;
    toBlock?: number;
}

/** One part's raw results: the checksum is finished in Node once every part is in (see combineScans). */
export interface PartialScan {
    rowCount: number;
    sum0: bigint;
    sum1: bigint;
    maxUpdatedAt: string | null;
}

/** Each row's hash input, as text: the row's text form, or its row hash as decimal text. */
function rowInputSql(plan: ChecksumPlan): string {
    return plan.method === "text" ? `${ROW_ALIAS}::text` : rowHashSql(plan, ROW_ALIAS);
}

export function tableScanSql(table: TableRef, withUpdatedAt = table.hasUpdatedAt, range: BlockRange = {}, plan: ChecksumPlan = TEXT_PLAN): string {
    const relation = `${table.partitioned ? "" : "only "}${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
    const updatedAt = withUpdatedAt ? `, ${ROW_ALIAS}.${quoteIdent("updated_at")} as u` : "";
    // to_json prints timestamps as ISO 8601 (in the pinned UTC zone for timestamptz).
    const maxUpdatedAt = withUpdatedAt ? "pg_catalog.to_json(max(u)) #>> '{}'" : "null::text";
    // A TID range scan (PostgreSQL 14+) reads only the part's blocks; the first and last parts are
    // open-ended so the parts always cover the whole table, however its size changed since measured.
    const bounds = [
        range.fromBlock !== undefined ? `${ROW_ALIAS}.ctid >= '(${range.fromBlock},0)'::tid` : "",
        range.toBlock !== undefined ? `${ROW_ALIAS}.ctid < '(${range.toBlock},0)'::tid` : "",
    ].filter(Boolean);
    const where = bounds.length > 0 ? ` where ${bounds.join(" and ")}` : "";
    // sum(bigint) adds in 128-bit integers: much cheaper than a numeric sum, and just as exact.
    return `select count(*)::text as row_count,
        coalesce(sum(pg_catalog.hashtextextended(r, 0)), 0)::text as sum0,
        coalesce(sum(pg_catalog.hashtextextended(r, 2654435761)), 0)::text as sum1,
        ${maxUpdatedAt} as max_updated_at
        from (select ${rowInputSql(plan)} as r${updatedAt} from ${relation} as ${ROW_ALIAS}${where}) as scan`;
}

export async function scanTablePart(
    client: Queryable,
    table: TableRef,
    withUpdatedAt = table.hasUpdatedAt,
    range: BlockRange = {},
    plan: ChecksumPlan = TEXT_PLAN,
): Promise<PartialScan> {
    const r = await client.query<{ row_count: string; sum0: string; sum1: string; max_updated_at: string | null }>(
        tableScanSql(table, withUpdatedAt, range, plan),
    );
    const row = r.rows[0];
    return { rowCount: Number(row.row_count), sum0: BigInt(row.sum0), sum1: BigInt(row.sum1), maxUpdatedAt: row.max_updated_at };
}

/** Adds the parts' sums (addition is what makes the checksum order-free) and finishes the checksum. */
export function combineScans(parts: PartialScan[]): TableScan {
    let rowCount = 0;
    let sum0 = 0n;
    let sum1 = 0n;
    let maxUpdatedAt: string | null = null;
    for (const p of parts) {
        rowCount += p.rowCount;
        sum0 += p.sum0;
        sum1 += p.sum1;
        // Same format and zone on every part (pinned settings): text order is time order.
        if (p.maxUpdatedAt !== null && (maxUpdatedAt === null || p.maxUpdatedAt > maxUpdatedAt)) maxUpdatedAt = p.maxUpdatedAt;
    }
    const checksum = createHash("md5").update(`${sum0}/${sum1}`).digest("hex");
    return { rowCount, checksum, maxUpdatedAt };
}

export async function scanTable(client: Queryable, table: TableRef, withUpdatedAt = table.hasUpdatedAt, plan: ChecksumPlan = TEXT_PLAN): Promise<TableScan> {
    return combineScans([await scanTablePart(client, table, withUpdatedAt, {}, plan)]);
}

/** Splits a table of `blocks` pages into `parts` block ranges (the first and last open-ended). */
export function blockRanges(blocks: number, parts: number): BlockRange[] {
    if (parts <= 1 || blocks < parts) return [{}];
    const step = Math.ceil(blocks / parts);
    return Array.from({ length: parts }, (_, i) => ({
        fromBlock: i === 0 ? undefined : i * step,
        toBlock: i === parts - 1 ? undefined : (i + 1) * step,
    }));
}

export function qualifiedName(schema: string, name: string): string {
    return `${schema}.${name}`;
}
