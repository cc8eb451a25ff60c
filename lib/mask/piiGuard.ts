// Schema drift guard: a column added to production after the rules were written must not reach
// staging unmasked just because nobody updated the config. Columns whose name looks like PII need
// a rule or an explicit "schema.table.column" entry in allowUnmasked.
//
// Only names and types are read (from the catalog); no row is looked at. jsonb columns (e.g.
// auth.users.raw_user_meta_data, which often holds names and emails) are not inspected: a
// name-based guard cannot tell what is inside them, so they need their own rules (json-path rules
// such as "auth.users.raw_user_meta_data.email"); the whole-database survivor scan then proves that
// no masked value was left in any of them.
//
// Generated columns cannot carry a rule: they follow their source. A PII-looking generated column
// passes when what it reads is masked: at least one of its source columns, and every json key it
// extracts (a json key has no column name this guard could check, so an unmasked key feeding
// auth.identities.email would otherwise slip through).
import type { Client } from "pg";
import { generationSources, type SourceRef } from "./generated";
import { isPathPrefix } from "./rules";

/** Matched against the lower-cased column name; string-typed columns only. */
export const PII_NAME_PATTERNS: readonly RegExp[] = [
    /^e_?mail(_?address)?$/, // email, e_mail, emailaddress, email_address
    /_e_?mail(_?address)?$/, // contact_email, billing_email_address
    /^(phone|mobile|cell|telephone|tel)(_?(number|no))?$/, // phone, phone_number, mobile
    /_(phone|mobile|telephone)(_?(number|no))?$/, // home_phone, contact_mobile
    /^name$/,
    /^(first|last|middle|full|display|given|family|legal|maiden|nick|user|customer|contact)_?name$/,
    /^surname$/,
    /(^|_)address(_?line_?\d+)?$/, // address, postal_address, address_line1, ip_address
    /^(street|street_address|postcode|postal_code|zip|zip_code)$/,
    /^(ssn|social_security_number|national_id|passport_number|tax_id)$/,
];

/** Birth dates are usually `date` columns, so these also match date/time types. */
export const BIRTH_DATE_PATTERN = /^(date_of_birth|dob|birth_?date|birthday)$/;

/** PostgreSQL type categories (pg_type.typcategory): S = string (text, varchar, char, citext), D = date/time. */
export function looksLikePii(column: string, typeCategory: string): boolean {
    const name = column.toLowerCase();
    if (BIRTH_DATE_PATTERN.test(name)) return typeCategory === "S" || typeCategory === "D";
    return typeCategory === "S" && PII_NAME_PATTERNS.some((p) => p.test(name));
}

export interface PiiGuardResult {
    /** PII-looking columns with neither a rule nor an allowUnmasked entry: the run must stop. */
    unmasked: string[];
    /** PII-looking columns deliberately left as they are (listed in the report for the auditor). */
    allowed: string[];
    /** For the generated columns among `unmasked`: their generation expression, to point at the source. */
    generatedFrom: Record<string, string>;
}

/** What a rule masks, as the guard needs it. */
export interface MaskTarget {
    schema: string;
    table: string;
    column: string;
    path?: string[];
}

interface CandidateRow {
    schema: string;
    table: string;
    column: string;
    category: string;
    attrdef: number | null;
    expression: string | null;
}

/** Whether the rules mask what a source reference reads. */
function refMasked(targets: readonly MaskTarget[], ref: SourceRef): boolean {
    return targets.some(
        (t) => t.column === ref.column && (!t.path || (ref.path !== null && isPathPrefix(t.path, ref.path))),
    );
}

async function generatedColumnCovered(client: Client, row: CandidateRow, targets: readonly MaskTarget[]): Promise<boolean> {
    const sources = await client.query<{ column: string; json: boolean }>(
        `SELECT a.attname AS column, coalesce(base.oid, t.oid) IN ('json'::regtype, 'jsonb'::regtype) AS json
         FROM pg_depend d
         JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_type base ON t.typtype = 'd' AND base.oid = t.typbasetype
         WHERE d.classid = 'pg_attrdef'::regclass AND d.objid = $1 AND d.refclassid = 'pg_class'::regclass
           AND d.refobjsubid > 0`,
        [row.attrdef],
    );
    const json = new Set(sources.rows.filter((s) => s.json).map((s) => s.column));
    const parsed = row.expression === null ? null : await generationSources(row.expression);
    const refs = parsed ?? sources.rows.map((s): SourceRef => ({ column: s.column, path: null }));
    if (refs.length === 0) return true; // computed from constants only
    const onTable = targets.filter((t) => t.schema === row.schema && t.table === row.table);
    return refs.some((r) => refMasked(onTable, r)) && refs.filter((r) => json.has(r.column)).every((r) => refMasked(onTable, r));
}

/**
 * Lists PII-looking columns of ordinary and partitioned tables in non-system schemas. Partitions
 * are skipped: an UPDATE on the parent masks them.
 */
export async function findUnmaskedPii(
    client: Client,
    targets: readonly MaskTarget[],
    allowUnmasked: ReadonlySet<string>,
): Promise<PiiGuardResult> {
    const r = await client.query<CandidateRow>(
        `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
                coalesce(base.typcategory, t.typcategory) AS category,
                d.oid AS attrdef, pg_get_expr(d.adbin, d.adrelid) AS expression
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_type base ON t.typtype = 'd' AND base.oid = t.typbasetype
         LEFT JOIN pg_attrdef d ON a.attgenerated <> '' AND d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND a.attnum > 0 AND NOT a.attisdropped
           -- supabase_migrations holds migration names and SQL, never personal data.
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'supabase_migrations')
           AND n.nspname NOT LIKE 'pg\\_%'
           AND coalesce(base.typcategory, t.typcategory) IN ('S', 'D')
         ORDER BY 1, 2, a.attnum`,
    );
    const wholeColumns = new Set(targets.filter((t) => !t.path).map((t) => `${t.schema}.${t.table}.${t.column}`));
    const result: PiiGuardResult = { unmasked: [], allowed: [], generatedFrom: {} };
    for (const row of r.rows) {
        if (!looksLikePii(row.column, row.category)) continue;
        const key = `${row.schema}.${row.table}.${row.column}`;
        if (wholeColumns.has(key)) continue;
        if (row.attrdef !== null && (await generatedColumnCovered(client, row, targets))) continue;
        if (allowUnmasked.has(key)) {
            result.allowed.push(key);
            continue;
        }
        result.unmasked.push(key);
        if (row.expression !== null) result.generatedFrom[key] = row.expression;
    }
    return result;
}
