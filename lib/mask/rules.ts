// Declarative masking rules: the shape we accept from config and its validation.
//
// Config is written by hand, so every error names the offending key and shows the expected form:
// a typo in a rule must stop the refresh before anything touches the staging copy.

export type MaskStrategy =
    | { strategy: "email" } // test-{id}@example.com
    | { strategy: "phone" } // +1000000{id}
    | { strategy: "name" } // Test Customer {id}
    | { strategy: "null" }
    | { strategy: "fixed"; value: string }
    | { strategy: "hash" }; // hex sha256 of salt || value; the salt is passed separately

export interface MaskRule {
    /** "schema.table", or "table" for the public schema. */
    table: string;
    column: string;
    rule: MaskStrategy;
    /** Column whose value replaces {id}; default "id". */
    idColumn?: string;
}

export const STRATEGIES = ["email", "phone", "name", "null", "fixed", "hash"] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** Strategies whose output embeds the row's id. */
export const ID_STRATEGIES: ReadonlySet<StrategyName> = new Set(["email", "phone", "name"]);

const EXPECTED_RULE =
    `"email" | "phone" | "name" | "null" | "hash" | {"strategy":"fixed","value":"..."} ` +
    `(objects may add "idColumn")`;
const EXPECTED_INPUT =
    `an object like {"public.profiles.email": "email"} or an array of ` +
    `{"table": "public.profiles", "column": "email", "rule": {"strategy": "email"}}`;

export interface TableName {
    schema: string;
    table: string;
}

/** Splits "schema.table" (or "table", meaning public). */
export function splitTableName(name: string): TableName {
    const parts = name.split(".");
    if (parts.length === 1) return { schema: "public", table: parts[0] };
    return { schema: parts[0], table: parts[1] };
}

/** "schema.table" with the public default applied. */
export function qualifiedTable(name: string): string {
    const { schema, table } = splitTableName(name);
    return `${schema}.${table}`;
}

/** "schema.table.column" — how rules are named in messages and reports. */
export function ruleKey(rule: Pick<MaskRule, "table" | "column">): string {
    return `${qualifiedTable(rule.table)}.${rule.column}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isIdentifierPart(s: string): boolean {
    // Dots separate schema, table and column in our keys, so they cannot appear inside a name.
    return s.length > 0 && s.length <= 63 && !s.includes(".") && s.trim() === s;
}

function fail(key: string, problem: string): never {
    throw new Error(`masking rule ${key}: ${problem}`);
}

function checkKeys(key: string, obj: Record<string, unknown>, allowed: string[]): void {
    for (const k of Object.keys(obj)) {
        if (!allowed.includes(k)) {
            fail(key, `unknown property "${k}" (allowed: ${allowed.join(", ")})`);
        }
    }
}

/** Parses one strategy: a bare name or {"strategy": ..., "value"?: ..., "idColumn"?: ...}. */
function parseStrategy(key: string, input: unknown, allowIdColumn: boolean): { rule: MaskStrategy; idColumn?: string } {
    if (typeof input === "string") {
        if (input === "fixed") fail(key, `strategy "fixed" needs a value: {"strategy":"fixed","value":"..."}`);
        if (!(STRATEGIES as readonly string[]).includes(input)) {
            fail(key, `unknown strategy "${input}" (expected ${EXPECTED_RULE})`);
        }
        return { rule: { strategy: input as Exclude<StrategyName, "fixed"> } };
    }
    if (!isRecord(input)) fail(key, `expected ${EXPECTED_RULE}, got ${describeValue(input)}`);
    checkKeys(key, input, allowIdColumn ? ["strategy", "value", "idColumn"] : ["strategy", "value"]);
    const strategy = input.strategy;
    if (typeof strategy !== "string" || !(STRATEGIES as readonly string[]).includes(strategy)) {
        fail(key, `unknown strategy ${describeValue(strategy)} (expected ${EXPECTED_RULE})`);
    }
    let rule: MaskStrategy;
    if (strategy === "fixed") {
        if (typeof input.value !== "string") {
            fail(key, `strategy "fixed" needs a string "value": {"strategy":"fixed","value":"..."}`);
        }
        rule = { strategy: "fixed", value: input.value };
    } else {
        if (input.value !== undefined) fail(key, `"value" is only allowed with strategy "fixed"`);
        rule = { strategy: strategy as Exclude<StrategyName, "fixed"> };
    }
    const idColumn = parseIdColumn(key, input.idColumn);
    return idColumn === undefined ? { rule } : { rule, idColumn };
}

function parseIdColumn(key: string, v: unknown): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== "string" || !isIdentifierPart(v)) fail(key, `"idColumn" must be a column name, got ${describeValue(v)}`);
    return v;
}

function describeValue(v: unknown): string {
    if (v === undefined) return "nothing";
    if (v === null) return "null";
    if (Array.isArray(v)) return "an array";
    if (typeof v === "object") return "an object";
    return JSON.stringify(v);
}

/** "schema.table.column" or "table.column" (public). */
function parseCompactKey(key: string): { table: string; column: string } {
    const parts = key.split(".");
    if (parts.length < 2 || parts.length > 3 || !parts.every(isIdentifierPart)) {
        fail(key, `the key must be "schema.table.column" or "table.column"`);
    }
    const column = parts[parts.length - 1];
    const table = parts.length === 3 ? `${parts[0]}.${parts[1]}` : `public.${parts[0]}`;
    return { table, column };
}

function parseArrayEntry(index: number, entry: unknown): MaskRule {
    const where = `#${index}`;
    if (!isRecord(entry)) fail(where, `expected {"table": ..., "column": ..., "rule": ...}, got ${describeValue(entry)}`);
    const { table, column } = entry;
    const tableOk = typeof table === "string" && table.split(".").length <= 2 && table.split(".").every(isIdentifierPart);
    // Name the rule as the user would recognise it; fall back to its position when it has no usable name.
    const key = typeof table === "string" && typeof column === "string"
        ? `${tableOk ? qualifiedTable(table) : table}.${column}`
        : where;
    checkKeys(key, entry, ["table", "column", "rule", "idColumn"]);
    if (!tableOk) fail(key, `"table" must be "schema.table" or "table", got ${describeValue(table)}`);
    if (typeof column !== "string" || !isIdentifierPart(column)) {
        fail(key, `"column" must be a column name, got ${describeValue(column)}`);
    }
    const { rule } = parseStrategy(key, entry.rule, false);
    const idColumn = parseIdColumn(key, entry.idColumn);
    const out: MaskRule = { table: qualifiedTable(table), column, rule };
    if (idColumn !== undefined) out.idColumn = idColumn;
    return out;
}

/**
 * Validates masking rules from config. Accepts the compact form
 * {"public.profiles.email": "email", "public.profiles.bio": {"strategy":"fixed","value":"[redacted]"}}
 * or an array of MaskRule. Tables come back as "schema.table".
 */
export function parseMaskRules(input: unknown): MaskRule[] {
    let rules: MaskRule[];
    if (Array.isArray(input)) {
        rules = input.map((entry, i) => parseArrayEntry(i, entry));
    } else if (isRecord(input)) {
        rules = Object.entries(input).map(([key, value]) => {
            const { table, column } = parseCompactKey(key);
            const { rule, idColumn } = parseStrategy(key, value, true);
            const out: MaskRule = { table, column, rule };
            if (idColumn !== undefined) out.idColumn = idColumn;
            return out;
        });
    } else {
        throw new Error(`masking rules: expected ${EXPECTED_INPUT}, got ${describeValue(input)}`);
    }
    const seen = new Set<string>();
    for (const r of rules) {
        const key = ruleKey(r);
        if (seen.has(key)) fail(key, "defined more than once (one rule per column)");
        seen.add(key);
    }
    return rules;
}
