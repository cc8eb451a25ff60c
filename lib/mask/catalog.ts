// Checks every rule against the target's catalog before anything is written, so a typo in config
// fails the whole run with a message naming the rule instead of half-masking the copy.
//
// Generated columns cannot be masked directly (PostgreSQL refuses to write them and recomputes them
// from their source on every UPDATE), so a rule on one is an error that points at its source.
import type { Client } from "pg";
import { quoteIdent } from "../postgres/connection";
import { ID_STRATEGIES, ruleKey, splitTableName, type MaskRule, type MaskStrategy } from "./rules";

export type JsonKind = "json" | "jsonb";

export interface ResolvedRule {
    /** Position in the rule list; keys the proof's temp table. */
    no: number;
    schema: string;
    table: string;
    column: string;
    /** Set for json-path rules: the key path inside `column`, which is then json or jsonb (`json`). */
    path?: string[];
    json?: JsonKind;
    idColumn: string;
    rule: MaskStrategy;
    /** "schema.table.column" or "schema.table.column.key.sub" */
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

interface ColumnInfo {
    attname: string;
    /** Type as PostgreSQL writes it, for messages. */
    type: string;
    /** json / jsonb when the column (or the domain it uses) is one of them. */
    json: JsonKind | null;
    /** The generation expression of a GENERATED ALWAYS AS (...) STORED column. */
    generation: string | null;
}

async function columnsOf(client: Client, oid: number, names: string[]): Promise<Map<string, ColumnInfo>> {
    const r = await client.query<ColumnInfo>(
        `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type,
                CASE coalesce(base.oid, t.oid) WHEN 'json'::regtype THEN 'json' WHEN 'jsonb'::regtype THEN 'jsonb' END AS json,
                CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS generation
         FROM pg_attribute a
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_type base ON t.typtype = 'd' AND base.oid = t.typbasetype
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY($2::text[])`,
        [oid, names],
    );
    return new Map(r.rows.map((row) => [row.attname, row]));
}

/** Why this rule cannot apply to this column, or null when it can. */
function columnProblem(rule: MaskRule, key: string, label: string, col: ColumnInfo): string | null {
    const where = `column "${rule.column}" of ${label}`;
    if (col.generation !== null) {
        return (
            `masking rule ${key}: ${where} is generated (GENERATED ALWAYS AS (${col.generation}) STORED); ` +
            `mask the column it is generated from: PostgreSQL recomputes it from the masked value`
        );
    }
    if (rule.path && col.json === null) {
        return (
            `masking rule ${key}: ${where} is ${col.type}, not json or jsonb ` +
            `(a rule key with more than three parts names a key inside a json/jsonb column)`
        );
    }
    const writesText = ["email", "phone", "name", "hash"].includes(rule.rule.strategy);
    if (!rule.path && col.json !== null && writesText) {
        return (
            `masking rule ${key}: ${where} is ${col.type} and the ${rule.rule.strategy} strategy writes text; ` +
            `mask the keys that hold personal data ("${key}.<key>") or use "null" or "fixed" for the whole document`
        );
    }
    return null;
}

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
        const cols = await columnsOf(client, oid, wanted);
        const col = cols.get(rule.column);
        if (!col) {
            problems.push(`masking rule ${key}: column "${rule.column}" does not exist in ${label}`);
            continue;
        }
        const problem = columnProblem(rule, key, label, col);
        if (problem !== null) {
            problems.push(problem);
            continue;
        }
        if (!cols.has(idColumn) && wanted.includes(idColumn)) {
            problems.push(
                `masking rule ${key}: id column "${idColumn}" does not exist in ${label} ` +
                    `(the ${rule.rule.strategy} strategy embeds it; set "idColumn")`,
            );
            continue;
        }
        const out: ResolvedRule = { no, schema, table, column: rule.column, idColumn, rule: rule.rule, key };
        if (rule.path) {
            out.path = rule.path;
            out.json = col.json ?? undefined;
        }
        resolved.push(out);
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
