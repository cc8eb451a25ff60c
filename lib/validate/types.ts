// Shapes of a database fingerprint and of validation results.
//
// A fingerprint is stored as JSON in the backup manifest and compared later with the restored
// target's, so every field is plain JSON data: strings, numbers, booleans, null, arrays, objects.
// Optional fields are omitted (never set to undefined) so a JSON round trip gives an equal value.

export interface RlsProbe {
    /** A non-superuser role to SET ROLE to (e.g. anon, authenticated). */
    role: string;
    /** JWT claims exposed as request.jwt.claims (and request.jwt.claim.<key> for older auth.uid()). */
    claims?: Record<string, unknown>;
}

export interface FingerprintOptions {
    /** Default: every non-system schema. */
    schemas?: string[];
    /** "schema.table" critical tables to checksum. Default: every ordinary/partitioned table in the schemas. */
    tables?: string[];
    /** Default: none. */
    rlsProbes?: RlsProbe[];
    /**
     * Schemas the backup does not carry, left out of every check (e.g. what a `supabase db dump` trio
     * leaves out). Leaving out supabase_migrations also leaves out the latest-migration check.
     */
    excludeSchemas?: string[];
    /** "schema.table" tables whose data the backup does not carry (their structure is still compared). */
    excludeTables?: string[];
}

export interface TableFingerprint {
    /** "schema.table", unquoted. */
    table: string;
    rowCount: number | null;
    /** max(updated_at) as ISO 8601 text (UTC), null when the column is absent or the table is empty. */
    maxUpdatedAt: string | null;
    hasUpdatedAt: boolean;
    /**
     * md5 over two sums of per-row 64-bit hashes with different seeds: order-independent, counts
     * duplicate rows, value-sensitive. Comparable only with a checksum of the same method.
     */
    checksum: string | null;
    /**
     * How the rows were hashed (format 4; absent in formats 2 and 3, which always used the text form):
     * "text" hashes each row's text form, "row-hash" hash_record_extended over the columns (rowHash.ts).
     * Omitted when there is no checksum.
     */
    checksumMethod?: "text" | "row-hash";
    /** row-hash: the seed given to hash_record_extended, decimal text (a bigint). */
    checksumSeed?: string;
    /** row-hash: the columns hashed through their text form (no safe native hash), in column order. */
    textColumns?: string[];
    /** Why the source's row-hash could not be repeated on this side, which then used the text form. */
    checksumNote?: string;
    /** Why the table could not be read (missing, permission denied, ...). */
    error?: string;
}

export interface RlsSetting {
    table: string;
    enabled: boolean;
    forced: boolean;
}

export interface PolicyFingerprint {
    table: string;
    name: string;
    permissive: string;
    roles: string[];
    cmd: string;
    qual: string | null;
    withCheck: string | null;
}

export interface ExtensionFingerprint {
    name: string;
    version: string;
    schema: string;
    /** Schemas that are members of the extension (created by its script); omitted when none. Format 3. */
    ownedSchemas?: string[];
}

export interface FunctionFingerprint {
    /** schema.name(identity arguments) */
    signature: string;
    kind: string;
    definitionMd5: string;
}

export interface TriggerFingerprint {
    /** schema.table.trigger */
    trigger: string;
    /** pg_trigger.tgenabled: O (origin), D (disabled), R (replica), A (always). */
    enabled: string;
    definitionMd5: string;
}

export interface ViewFingerprint {
    view: string;
    kind: "view" | "materialized view";
    definitionMd5: string;
}

export interface RlsVisibility {
    table: string;
    rowCount: number | null;
    checksum: string | null;
    error?: string;
}

export interface RlsProbeResult {
    role: string;
    claims: Record<string, unknown> | null;
    /** role-missing: the role does not exist; error: SET ROLE or claim setup failed. */
    status: "ok" | "role-missing" | "error";
    /** The role is a superuser or has BYPASSRLS: its counts say nothing about policies. */
    bypassesRls?: boolean;
    error?: string;
    tables: RlsVisibility[];
}

/**
 * Format of the fingerprints this version takes. Format 4 records each table's checksum method; format 3
 * (older backups) checksummed every table through its text form; format 2 also lacks the structure fields.
 */
export const FINGERPRINT_FORMAT = 4;

export interface IndexFingerprint {
    /** "schema.index" (index names are unique per schema). */
    index: string;
    table: string;
    /** pg_get_indexdef under an empty search_path. */
    definition: string;
    valid: boolean;
    unique: boolean;
    primary: boolean;
}

export interface ConstraintFingerprint {
    /** "schema.table.constraint", or "schema.domain.constraint" for a domain's. */
    constraint: string;
    /** "schema.table" or "schema.domain". */
    on: string;
    onDomain: boolean;
    type: string;
    /** pg_get_constraintdef under an empty search_path. */
    definition: string;
    validated: boolean;
}

export interface ColumnFingerprint {
    /** "schema.table.column"; listed table by table in column order. */
    column: string;
    /** format_type(atttypid, atttypmod). */
    type: string;
    /** Default expression (pg_get_expr), null when none or when the column is generated. */
    default: string | null;
    notNull: boolean;
    /** Generation expression and kind ("stored", "virtual") of a generated column. */
    generated: { kind: string; expression: string } | null;
    /** "always", "by default", or null when not an identity column. */
    identity: string | null;
}

export interface GrantFingerprint {
    /** "<kind> <name>": "schema public", "table public.tasks", "column public.tasks.title", "function public.f(integer)". */
    object: string;
    /** Schema-qualified name without the kind. */
    name: string;
    /** Recorded because a --no-owner restore changes the owner, and with it whose privileges are implicit. */
    owner: string;
    /**
     * "grantee:PRIVILEGE", with a trailing "*" when grantable; grantee PUBLIC for everyone. Sorted. The
     * owner's own privileges are left out.
     */
    privileges: string[];
}

export interface SequenceFingerprint {
    /** "schema.sequence" */
    sequence: string;
    type: string;
    increment: string;
    min: string;
    max: string;
    cycle: boolean;
    /** Last value handed out (pg_sequence_last_value): null when never used. Text: bigint. */
    lastValue: string | null;
    /** Why the value could not be read (no privilege on the sequence). */
    error?: string;
}

export interface PublicationFingerprint {
    name: string;
    allTables: boolean;
    /** Published operations: insert, update, delete, truncate. */
    operations: string[];
    viaRoot: boolean;
    /** "schema.table", with " (columns)" and " WHERE (filter)" when set; only tables of the fingerprinted schemas. */
    tables: string[];
    /** FOR TABLES IN SCHEMA members (PostgreSQL 15+), within the fingerprinted schemas. */
    schemas: string[];
}

export interface StorageBucketsFingerprint {
    /** Setting columns storage.buckets has here (the table's columns but id, owner and timestamps). */
    columns: string[];
    buckets: { id: string; settings: Record<string, unknown> }[];
    error?: string;
}

/** What a restore can lose without losing rows: definitions, grants, sequence positions. Format 3 and later. */
export interface StructureFingerprint {
    indexes: IndexFingerprint[];
    constraints: ConstraintFingerprint[];
    columns: ColumnFingerprint[];
    grants: GrantFingerprint[];
    sequences: SequenceFingerprint[];
    publications: PublicationFingerprint[];
    /** null when storage.buckets does not exist or the storage schema is not fingerprinted. */
    storageBuckets: StorageBucketsFingerprint | null;
}

/** Fields formats 2 to 4 share, computed the same way by all (but for a table's checksum method). */
export interface FingerprintCore {
    serverVersion: string;
    serverVersionNum: number;
    schemas: string[];
    tables: TableFingerprint[];
    rls: RlsSetting[];
    policies: PolicyFingerprint[];
    extensions: ExtensionFingerprint[];
    functions: FunctionFingerprint[];
    triggers: TriggerFingerprint[];
    views: ViewFingerprint[];
    /** max(version) of supabase_migrations.schema_migrations; null when that table does not exist. */
    latestMigration: string | null;
    migrationError?: string;
    /** supabase_migrations was left out (excludeSchemas): the migration history was not read. */
    migrationExcluded?: boolean;
    rlsProbes: RlsProbeResult[];
}

export interface Fingerprint extends FingerprintCore, StructureFingerprint {
    formatVersion: typeof FINGERPRINT_FORMAT;
}

/** A fingerprint an older supabase-dr stored: every checksum is of the text form (no checksumMethod). */
export interface FingerprintV3 extends FingerprintCore, StructureFingerprint {
    formatVersion: 3;
}

/** A fingerprint an older supabase-dr stored in a backup manifest: the same fields minus the structure. */
export interface FingerprintV2 extends FingerprintCore {
    formatVersion: 2;
}

/** A fingerprint that records the structure fields: format 3 and later. */
export type StructuredFingerprint = Fingerprint | FingerprintV3;

/** Any fingerprint a manifest may carry. */
export type StoredFingerprint = Fingerprint | FingerprintV3 | FingerprintV2;

export interface SqlAssertion {
    name: string;
    /** Must return exactly one row with one column; compared as text. */
    sql: string;
    expected: string | number | boolean | null;
}

export interface CheckResult {
    check: string;
    object: string;
    /** skip: nothing to compare with (e.g. not recorded in an older backup's fingerprint); never a pass. */
    status: "pass" | "fail" | "skip";
    source?: unknown;
    target?: unknown;
    detail?: string;
}
