// What a generated column reads: its generation expression (pg_get_expr) parsed with PostgreSQL's
// own parser, reduced to the columns it uses and, for json columns, the key paths it extracts.
//
// The PII guard needs this for columns like Supabase's
//   auth.identities.email text GENERATED ALWAYS AS (lower(identity_data->>'email')) STORED
// which cannot carry a rule (PostgreSQL recomputes it) and is masked by masking what it reads, here
// the json key identity_data.email, not merely "some key of identity_data".
import { parse } from "libpg-query";

export interface SourceRef {
    column: string;
    /** Key path extracted from a json/jsonb column; null when the column is used as a whole. */
    path: string[] | null;
}

/** A column plus the keys extracted from it so far (empty: the column itself). */
interface Access {
    column: string;
    path: string[];
}

type Node = Record<string, unknown>;

const EXTRACT_OPERATORS = new Set(["->", "->>"]);
const PATH_OPERATORS = new Set(["#>", "#>>"]);
const EXTRACT_FUNCTIONS = new Set(["json_extract_path", "json_extract_path_text", "jsonb_extract_path", "jsonb_extract_path_text"]);

function isNode(v: unknown): v is Node {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function child(node: unknown, type: string): Node | undefined {
    return isNode(node) && isNode(node[type]) ? node[type] : undefined;
}

function sval(node: unknown): string | undefined {
    const s = child(node, "String");
    return typeof s?.sval === "string" ? s.sval : undefined;
}

/** A constant json key: 'email', 'email'::text, or an integer array position. */
function constantKey(node: unknown): string | undefined {
    const cast = child(node, "TypeCast");
    const c = child(cast ? cast.arg : node, "A_Const");
    if (!c) return undefined;
    // The parser's JSON omits zero values: {"sval": {}} is '', {"ival": {}} is 0.
    if (isNode(c.sval)) return typeof c.sval.sval === "string" ? c.sval.sval : "";
    if (isNode(c.ival)) return String(typeof c.ival.ival === "number" ? c.ival.ival : 0);
    return undefined;
}

/** '{a,b}'::text[] with plain elements; anything needing quotes or escapes is not resolved (treated as whole-column use). */
function constantPath(node: unknown): string[] | undefined {
    const text = constantKey(node);
    const m = text === undefined ? null : /^\{([^"\\{}]*)\}$/.exec(text);
    if (!m) return undefined;
    const parts = m[1].split(",").map((p) => p.trim());
    return parts.length > 0 && parts.every((p) => p.length > 0 && p.toUpperCase() !== "NULL") ? parts : undefined;
}

/** A column, optionally cast ((d)::jsonb), optionally followed by constant key extractions. */
function jsonAccess(node: unknown): Access | undefined {
    const col = child(node, "ColumnRef");
    if (col) {
        const fields = Array.isArray(col.fields) ? col.fields : [];
        const name = fields.length === 1 ? sval(fields[0]) : undefined;
        return name === undefined ? undefined : { column: name, path: [] };
    }
    const cast = child(node, "TypeCast");
    if (cast) return jsonAccess(cast.arg);
    const expr = child(node, "A_Expr");
    const op = expr && Array.isArray(expr.name) && expr.name.length === 1 ? sval(expr.name[0]) : undefined;
    if (expr && op && (EXTRACT_OPERATORS.has(op) || PATH_OPERATORS.has(op))) {
        const base = jsonAccess(expr.lexpr);
        const keys = EXTRACT_OPERATORS.has(op) ? wrap(constantKey(expr.rexpr)) : constantPath(expr.rexpr);
        return base && keys ? { column: base.column, path: [...base.path, ...keys] } : undefined;
    }
    const call = child(node, "FuncCall");
    const fname = call && Array.isArray(call.funcname) ? sval(call.funcname[call.funcname.length - 1]) : undefined;
    if (call && fname && EXTRACT_FUNCTIONS.has(fname) && Array.isArray(call.args) && call.args.length >= 1) {
        const base = jsonAccess(call.args[0]);
        // pg_get_expr writes f(d, 'a', 'b') as f(d, VARIADIC ARRAY['a'::text, 'b'::text]).
        const rest = call.args.slice(1);
        const array = call.func_variadic === true && rest.length === 1 ? child(rest[0], "A_ArrayExpr") : undefined;
        const keyNodes: unknown[] = array ? (Array.isArray(array.elements) ? array.elements : []) : rest;
        const keys = keyNodes.map(constantKey);
        if (base && keys.every((k): k is string => k !== undefined)) return { column: base.column, path: [...base.path, ...keys] };
    }
    return undefined;
}

function wrap(k: string | undefined): string[] | undefined {
    return k === undefined ? undefined : [k];
}

function collect(node: unknown, out: SourceRef[]): void {
    if (Array.isArray(node)) {
        for (const n of node) collect(n, out);
        return;
    }
    if (!isNode(node)) return;
    const access = jsonAccess(node);
    // A bare column (or a key extraction from one) is a source; a cast column is looked into, so
    // that (d)::text is found as d used whole.
    if (access?.path && (access.path.length > 0 || "ColumnRef" in node)) {
        out.push({ column: access.column, path: access.path.length > 0 ? access.path : null });
        return;
    }
    for (const v of Object.values(node)) collect(v, out);
}

/**
 * The columns a generation expression reads, with json key paths where it extracts constant keys.
 * Returns null when the expression cannot be parsed (the caller then treats every source column as
 * used whole).
 */
export async function generationSources(expression: string): Promise<SourceRef[] | null> {
    let tree: unknown;
    try {
        tree = await parse(`SELECT ${expression}`);
    } catch {
        return null;
    }
    const refs: SourceRef[] = [];
    collect(tree, refs);
    return refs;
}
