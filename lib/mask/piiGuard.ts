// Schema drift guard: a column added to production after the rules were written must not reach
// staging unmasked just because nobody updated the config. Columns whose name looks like PII need
// a rule or an explicit "schema.table.column" entry in allowUnmasked.
//
// Only names and types are read (from the catalog); no row is looked at. jsonb columns (e.g.
// auth.users.raw_user_meta_data, which often holds names and emails) are not inspected: a
// name-based guard cannot tell what is inside them, so they need their own rules.
import type { Client } from "pg";

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
}

/**
 * Lists PII-looking columns of ordinary and partitioned tables in non-system schemas. Partitions
 * are skipped: an UPDATE on the parent masks them.
 */
export async function findUnmaskedPii(
    client: Client,
    maskedColumns: ReadonlySet<string>,
    allowUnmasked: ReadonlySet<string>,
): Promise<PiiGuardResult> {
    const r = await client.query<{ schema: string; table: string; column: string; category: string }>(
        `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column,
                coalesce(base.typcategory, t.typcategory) AS category
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_type base ON t.typtype = 'd' AND base.oid = t.typbasetype
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND a.attnum > 0 AND NOT a.attisdropped
           -- supabase_migrations holds migration names and SQL, never personal data.
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'supabase_migrations')
           AND n.nspname NOT LIKE 'pg\\_%'
           AND coalesce(base.typcategory, t.typcategory) IN ('S', 'D')
         ORDER BY 1, 2, a.attnum`,
    );
    const unmasked: string[] = [];
    const allowed: string[] = [];
    for (const row of r.rows) {
        if (!looksLikePii(row.column, row.category)) continue;
        const key = `${row.schema}.${row.table}.${row.column}`;
        if (maskedColumns.has(key)) continue;
        (allowUnmasked.has(key) ? allowed : unmasked).push(key);
    }
    return { unmasked, allowed };
}
