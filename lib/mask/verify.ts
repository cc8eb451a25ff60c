// The proof that masking worked, computed inside PostgreSQL in the masking transaction.
//
// Before the UPDATEs we store the sha256 of every original non-null value per rule in a temp table
// (dropped at commit, visible to this session only); afterwards we count masked values whose
// fingerprint is still among the originals. Only fingerprints and counts exist; values never
// leave the server.
import type { Client } from "pg";
import { tableSql, type MaskedTable } from "./catalog";
import { columnRef, fingerprint } from "./expressions";

const ORIGINALS = "pg_temp.supabase_dr_mask_originals";

export async function createOriginalsTable(client: Client): Promise<void> {
    await client.query(`CREATE TEMP TABLE supabase_dr_mask_originals (rule_no int NOT NULL, h bytea NOT NULL) ON COMMIT DROP`);
}

/** One scan per table: a fingerprint row per (rule, non-null original value). */
export async function recordOriginals(client: Client, t: MaskedTable): Promise<void> {
    const values = t.rules.map((r) => `(${r.no}, ${fingerprint(columnRef("t", r.column))})`).join(", ");
    await client.query(
        `INSERT INTO ${ORIGINALS} (rule_no, h)
         SELECT v.rule_no, v.h FROM ${tableSql(t)} AS t CROSS JOIN LATERAL (VALUES ${values}) AS v(rule_no, h)
         WHERE v.h IS NOT NULL`,
    );
}

/** Autovacuum never analyzes temp tables: without stats and an index the survivor check could pick a bad plan. */
export async function indexOriginals(client: Client): Promise<void> {
    await client.query(`CREATE INDEX ON ${ORIGINALS} (rule_no, h)`);
    await client.query(`ANALYZE ${ORIGINALS}`);
}

/** Non-null originals per rule: the number of values the masking replaced (or nulled). */
export async function originalCounts(client: Client): Promise<Map<number, number>> {
    const r = await client.query<{ rule_no: number; n: string }>(
        `SELECT rule_no, count(*) AS n FROM ${ORIGINALS} GROUP BY rule_no`,
    );
    return new Map(r.rows.map((row) => [row.rule_no, Number(row.n)]));
}

/**
 * After the UPDATE: per rule, how many values still equal some original of that column. For the
 * null strategy every remaining non-null value is a survivor. One scan per table.
 */
export async function countSurvivors(client: Client, t: MaskedTable): Promise<Map<number, number>> {
    const counts = t.rules.map((r) => {
        const ref = columnRef("t", r.column);
        const condition =
            r.rule.strategy === "null"
                ? `${ref} IS NOT NULL`
                : `${fingerprint(ref)} IN (SELECT o.h FROM ${ORIGINALS} o WHERE o.rule_no = ${r.no})`;
        return `count(*) FILTER (WHERE ${condition}) AS r${r.no}`;
    });
    const res = await client.query<Record<string, string>>(`SELECT ${counts.join(", ")} FROM ${tableSql(t)} AS t`);
    const row = res.rows[0];
    return new Map(t.rules.map((r) => [r.no, Number(row[`r${r.no}`])]));
}
