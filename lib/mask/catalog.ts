// Checks every rule against the target's catalog before anything is written, so a typo in config
// fails the whole run with a message naming the rule instead of half-masking the copy.
import type { Client } from "pg";
import { quoteIdent } from "../postgres/connection";
import { ID_STRATEGIES, ruleKey, splitTableName, type MaskRule, type MaskStrategy } from "./rules";

export interface ResolvedRule {
    /** Position in the rule list; keys the proof's temp table. */
    no: number;
    schema: string;
    table: string;
    column: string;
    idColumn: string;
    rule: MaskStrategy;
    /** "schema.table.column" */
    key: string;
}

export interface MaskedTable {
    schema: string;
    table: string;
    rules: ResolvedRule[];
}

/** "schema.table" */
export function tableLabel(t: { schema: string; table: string }): string {
    return `${t.schema}.${t.table}`;
}

/** "schema"."table" for SQL text. */
export function tableSql(t: { schema: string; table: string }): string {
    return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}

const RELKIND_NAMES: Record<string, string> = {
    v: "a view",
    m: "a materialized view",
    f: "a foreign table",
    S: "a sequence",
    i: "an index",
    c: "a composite type",
};

/** Resolves rules against the catalog; throws one error listing every rule that does not fit. */
export async function resolveRules(client: Client, rules: MaskRule[]): Promise<ResolvedRule[]> {
    const problems: string[] = [];
    const resolved: ResolvedRule[] = [];
    for (const [no, rule] of rules.entries()) {
        const { schema, table } = splitTableName(rule.table);
        const key = ruleKey(rule);
        const label = `${schema}.${table}`;
        const idColumn = rule.idColumn ?? "id";
        const rel = await client.query<{ oid: number; relkind: string }>(
            `SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2`,
            [schema, table],
        );
        if (rel.rowCount === 0) {
            problems.push(`masking rule ${key}: table ${label} does not exist`);
            continue;
        }
        const { oid, relkind } = rel.rows[0];
        if (relkind !== "r" && relkind !== "p") {
            problems.push(`masking rule ${key}: ${label} is ${RELKIND_NAMES[relkind] ?? "not a table"}, not a table`);
            continue;
        }
        const wanted = ID_STRATEGIES.has(rule.rule.strategy) ? [rule.column, idColumn] : [rule.column];
        const cols = await client.query<{ attname: string }>(
            `SELECT attname FROM pg_attribute
             WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attname = ANY($2::text[])`,
            [oid, wanted],
        );
        const present = new Set(cols.rows.map((r) => r.attname));
        if (!present.has(rule.column)) {
            problems.push(`masking rule ${key}: column "${rule.column}" does not exist in ${label}`);
            continue;
        }
        if (!present.has(idColumn) && wanted.includes(idColumn)) {
            problems.push(
                `masking rule ${key}: id column "${idColumn}" does not exist in ${label} ` +
                    `(the ${rule.rule.strategy} strategy embeds it; set "idColumn")`,
            );
            continue;
        }
        resolved.push({ no, schema, table, column: rule.column, idColumn, rule: rule.rule, key });
    }
    if (problems.length > 0) throw new Error(problems.join("; "));
    return resolved;
}

/** Groups rules by table, in first-seen order, so each table gets one UPDATE. */
export function groupByTable(rules: ResolvedRule[]): MaskedTable[] {
    const byTable = new Map<string, MaskedTable>();
    for (const r of rules) {
        const label = tableLabel(r);
        let entry = byTable.get(label);
        if (!entry) {
            entry = { schema: r.schema, table: r.table, rules: [] };
            byTable.set(label, entry);
        }
        entry.rules.push(r);
    }
    return [...byTable.values()];
}
