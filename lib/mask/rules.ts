// Declarative masking rules: the shape we accept from config and its validation.
//
// Config is written by hand, so every error names the offending key and shows the expected form:
// a typo in a rule must stop the refresh before anything touches the staging copy.
//
// A rule masks a whole column, or one value inside a json/jsonb column: the compact key
// "auth.users.raw_user_meta_data.email" (always schema-qualified: the first three parts are
// schema.table.column, the rest is the key path) or {"table", "column", "path": ["email"]}. Keys that
// contain dots can only be written in the array form.

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
    /** Key path inside a json/jsonb column: the rule masks the value there instead of the whole column. */
    path?: string[];
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
    `{"table": "public.profiles", "column": "email", "rule": {"strategy": "email"}} ` +
    `(json keys: "auth.users.raw_user_meta_data.email", or "path": ["email"] in the array form)`;
const EXPECTED_KEY =
    `the key must be "schema.table.column" or "table.column" ` +
    `(or "schema.table.column.key[.key...]" for a value inside a json/jsonb column)`;

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

/**
 * "key.sub" for a json path. Keys that the dotted form cannot show unambiguously (dots, quotes, empty
 * or padded keys: only possible in the array form) are JSON-quoted.
 */
export function pathLabel(path: readonly string[]): string {
    return path
        .map((k) => (k.length === 0 || k.trim() !== k || k.includes(".") || k.includes('"') ? JSON.stringify(k) : k))
        .join(".");
}

/** "schema.table.column" or "schema.table.column.key.sub" — how rules are named in messages and reports. */
export function ruleKey(rule: Pick<MaskRule, "table" | "column" | "path">): string {
    const column = `${qualifiedTable(rule.table)}.${rule.column}`;
    return rule.path && rule.path.length > 0 ? `${column}.${pathLabel(rule.path)}` : column;
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

/** "schema.table.column", "table.column" (public) or "schema.table.column.key[.key...]" (json path). */
function parseCompactKey(key: string): { table: string; column: string; path?: string[] } {
    const parts = key.split(".");
    const names = parts.length === 2 ? parts : parts.slice(0, 3);
    if (parts.length < 2 || !names.every(isIdentifierPart) || !parts.every((p) => p.length > 0)) fail(key, EXPECTED_KEY);
    if (parts.length === 2) return { table: `public.${parts[0]}`, column: parts[1] };
    const out: { table: string; column: string; path?: string[] } = { table: `${parts[0]}.${parts[1]}`, column: parts[2] };
    if (parts.length > 3) out.path = parts.slice(3);
    return out;
}

function parsePath(key: string, v: unknown): string[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0 || !v.every((k) => typeof k === "string" && k.length > 0)) {
        fail(key, `"path" must be a non-empty array of json keys like ["email"], got ${describeValue(v)}`);
    }
    return v as string[];
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
    checkKeys(key, entry, ["table", "column", "path", "rule", "idColumn"]);
    if (!tableOk) fail(key, `"table" must be "schema.table" or "table", got ${describeValue(table)}`);
    if (typeof column !== "string" || !isIdentifierPart(column)) {
        fail(key, `"column" must be a column name, got ${describeValue(column)}`);
    }
    const path = parsePath(key, entry.path);
    const named = path === undefined ? key : ruleKey({ table, column, path });
    const { rule } = parseStrategy(named, entry.rule, false);
    const idColumn = parseIdColumn(named, entry.idColumn);
    const out: MaskRule = { table: qualifiedTable(table), column, rule };
    if (path !== undefined) out.path = path;
    if (idColumn !== undefined) out.idColumn = idColumn;
    return out;
}

/** Whether json path a is b or leads to it (a rule on a masks everything under it). */
export function isPathPrefix(a: readonly string[], b: readonly string[]): boolean {
    return a.length <= b.length && a.every((k, i) => b[i] === k);
}

/**
 * Two rules on one column must not touch the same value: a whole-column rule next to a json-path
 * rule, or a path inside another rule's path, would make the result depend on rule order.
 */
function checkOverlaps(rules: MaskRule[]): void {
    const seen = new Set<string>();
    for (const [i, r] of rules.entries()) {
        const key = ruleKey(r);
        if (seen.has(key)) fail(key, "defined more than once (one rule per column or json key)");
        seen.add(key);
        for (const other of rules.slice(0, i)) {
            if (qualifiedTable(other.table) !== qualifiedTable(r.table) || other.column !== r.column) continue;
            const [a, b] = [other.path ?? [], r.path ?? []];
            if (isPathPrefix(a, b) || isPathPrefix(b, a)) {
                fail(key, `overlaps rule ${ruleKey(other)} (both would mask the same value); keep one of them`);
            }
        }
    }
}

/**
 * Validates masking rules from config. Accepts the compact form
 * {"public.profiles.email": "email", "public.profiles.bio": {"strategy":"fixed","value":"[redacted]"},
 *  "auth.users.raw_user_meta_data.full_name": "name"}
 * or an array of MaskRule. Tables come back as "schema.table". Whether a column exists and is
 * json/jsonb is checked against the database when masking starts (resolveRules).
 */
export function parseMaskRules(input: unknown): MaskRule[] {
    let rules: MaskRule[];
    if (Array.isArray(input)) {
        rules = input.map((entry, i) => parseArrayEntry(i, entry));
    } else if (isRecord(input)) {
        rules = Object.entries(input).map(([key, value]) => {
            const { table, column, path } = parseCompactKey(key);
            const { rule, idColumn } = parseStrategy(key, value, true);
            const out: MaskRule = { table, column, rule };
            if (path !== undefined) out.path = path;
            if (idColumn !== undefined) out.idColumn = idColumn;
            return out;
        });
    } else {
        throw new Error(`masking rules: expected ${EXPECTED_INPUT}, got ${describeValue(input)}`);
    }
    checkOverlaps(rules);
    return rules;
}
