// The per-rule proof that masking worked, computed inside PostgreSQL in the masking transaction.
//
// Before the UPDATEs we store the sha256 of every original non-null value per rule in a temp table
// (dropped at commit, visible to this session only); afterwards we count masked values whose
// fingerprint is still among the originals of their rule. The same pass also stores the form the
// whole-database survivor scan looks for (survivorScan.ts). Only fingerprints and counts exist;
// values never leave the server.
import type { Client } from "pg";
import { tableSql, type MaskedTable } from "./catalog";
import { fingerprint, SqlParams } from "./expressions";
import { ruleValueRef } from "./jsonPath";

export const ORIGINALS = "pg_temp.supabase_dr_mask_originals";

export async function createOriginalsTable(client: Client): Promise<void> {
    // h: fingerprint of the value as stored (the per-rule proof). g: fingerprint of the form searched
    // for everywhere: lower-cased for the email strategy, since emails compare case-insensitively.
    // ci says which; chars/octets are g's source lengths (short values are not searched for elsewhere).
    await client.query(
        `CREATE TEMP TABLE supabase_dr_mask_originals (
             rule_no int NOT NULL, h bytea NOT NULL, ci boolean NOT NULL, g bytea NOT NULL,
             chars int NOT NULL, octets int NOT NULL
         ) ON COMMIT DROP`,
    );
}

/** One scan per table: a row per (rule, non-null original value). */
export async function recordOriginals(client: Client, t: MaskedTable): Promise<void> {
    const params = new SqlParams();
    const values = t.rules
        .map((r) => `(${r.no}, (${ruleValueRef("t", r, params)})::text, ${r.rule.strategy === "email"})`)
        .join(", ");
    await client.query(
        `INSERT INTO ${ORIGINALS} (rule_no, h, ci, g, chars, octets)
         SELECT v.rule_no, ${fingerprint("v.x")}, v.ci, ${fingerprint("s.y")}, char_length(s.y), octet_length(s.y)
         FROM ${tableSql(t)} AS t
         CROSS JOIN LATERAL (VALUES ${values}) AS v(rule_no, x, ci)
         CROSS JOIN LATERAL (SELECT CASE WHEN v.ci THEN lower(v.x) ELSE v.x END) AS s(y)
         WHERE v.x IS NOT NULL`,
        params.values,
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
 * After the UPDATE: per rule, how many values still equal some original of that rule. For the
 * null strategy every remaining non-null value is a survivor. One scan per table.
 */
export async function countSurvivors(client: Client, t: MaskedTable): Promise<Map<number, number>> {
    const params = new SqlParams();
    const counts = t.rules.map((r) => {
        const ref = ruleValueRef("t", r, params);
        const condition =
            r.rule.strategy === "null"
                ? `${ref} IS NOT NULL`
                : // EXISTS probes the (rule_no, h) index; an IN (SELECT ...) too big to hash would rescan per row.
                  `EXISTS (SELECT 1 FROM ${ORIGINALS} o WHERE o.rule_no = ${r.no} AND o.h = ${fingerprint(ref)})`;
        return `count(*) FILTER (WHERE ${condition}) AS r${r.no}`;
    });
    const res = await client.query<Record<string, string>>(`SELECT ${counts.join(", ")} FROM ${tableSql(t)} AS t`, params.values);
    const row = res.rows[0];
    return new Map(t.rules.map((r) => [r.no, Number(row[`r${r.no}`])]));
}
