// SQL for json-path rules: replace one value inside a json/jsonb document and leave the rest of it
// as it was. Keys come from config, so paths are always bind parameters, never SQL text.
//
// Semantics (documented for config authors):
// - a row whose document is NULL or lacks the path is not touched; neither is a JSON null at the path
//   (like SQL NULLs in plain columns: a missing value is not personal data);
// - any other value at the path, string or not (a number, an object), is replaced by the strategy's
//   output as a JSON string; the null strategy writes JSON null and keeps the key, so the document
//   keeps its shape for the application;
// - a json (not jsonb) column is rewritten in jsonb's normalised form in the rows that get masked
//   (key order and whitespace change, duplicate keys collapse to the last one).
import { quoteIdent } from "../postgres/connection";
import type { JsonKind, ResolvedRule } from "./catalog";
import { columnRef, replacement, type SqlParams } from "./expressions";

/** The path as a bound text[]; the same path reuses its slot. */
export function pathParam(path: readonly string[], params: SqlParams): string {
    return `${params.add([...path], `path:${JSON.stringify(path)}`)}::text[]`;
}

/**
 * The value at path as text: a string's content, any other value as its JSON text. NULL when the
 * document is NULL, has no such path (including paths that run into a scalar or an array) or holds
 * JSON null there. `#>>` exists for json and jsonb alike and never raises for a missing path.
 */
export function jsonValueRef(alias: string, column: string, path: readonly string[], params: SqlParams): string {
    return `(${columnRef(alias, column)} #>> ${pathParam(path, params)})`;
}

/** What a rule masks, as a text-valued SQL expression: the column itself or the value at its json path. */
export function ruleValueRef(alias: string, r: Pick<ResolvedRule, "column" | "path">, params: SqlParams): string {
    return r.path ? jsonValueRef(alias, r.column, r.path, params) : columnRef(alias, r.column);
}

/** Whether a rule has something to mask in the current row. */
export function hasValue(alias: string, r: Pick<ResolvedRule, "column" | "path">, params: SqlParams): string {
    return `${ruleValueRef(alias, r, params)} IS NOT NULL`;
}

function maskedJsonValue(alias: string, r: ResolvedRule, params: SqlParams, salt: string | undefined): string {
    if (r.rule.strategy === "null") return "'null'::jsonb";
    const text = replacement(r.rule, ruleValueRef(alias, r, params), columnRef(alias, r.idColumn), params, salt);
    return `to_jsonb((${text})::text)`;
}

/**
 * `column = ...` for every path rule on one json/jsonb column, applied one after another.
 *
 * jsonb_set raises on a path that crosses an array with a non-integer key or a scalar, so each step
 * only runs where the path exists. The steps nest as subqueries (each refers to the previous result
 * once) instead of repeating the previous expression in both CASE branches, which would double the
 * SQL per rule. Because parseMaskRules refuses overlapping paths, whether a path exists can be read
 * from the original document at every step.
 */
export function jsonColumnAssignment(
    alias: string,
    column: string,
    kind: JsonKind,
    rules: ResolvedRule[],
    params: SqlParams,
    salt: string | undefined,
): string {
    let doc = `${columnRef(alias, column)}::jsonb`;
    for (const [i, r] of rules.entries()) {
        if (!r.path) throw new Error(`internal: masking rule ${r.key} has no json path`);
        const step = `m${i}`;
        const set = `jsonb_set(${step}.d, ${pathParam(r.path, params)}, ${maskedJsonValue(alias, r, params, salt)}, false)`;
        doc = `(SELECT CASE WHEN ${hasValue(alias, r, params)} THEN ${set} ELSE ${step}.d END FROM (SELECT ${doc}) AS ${step}(d))`;
    }
    const any = rules.map((r) => hasValue(alias, r, params)).join(" OR ");
    // Rows without any of the paths keep their document byte for byte (matters for json columns).
    return `${quoteIdent(column)} = CASE WHEN ${any} THEN ${doc}::${kind} ELSE ${columnRef(alias, column)} END`;
}
