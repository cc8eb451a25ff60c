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
}

export interface TableFingerprint {
    /** "schema.table", unquoted. */
    table: string;
    rowCount: number | null;
    /** max(updated_at) as ISO 8601 text (UTC), null when the column is absent or the table is empty. */
    maxUpdatedAt: string | null;
    hasUpdatedAt: boolean;
    /** md5 over two independent 64-bit sums of per-row md5 halves: order-independent, value-sensitive. */
    checksum: string | null;
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

export interface Fingerprint {
    formatVersion: 2;
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
    rlsProbes: RlsProbeResult[];
}

export interface SqlAssertion {
    name: string;
    /** Must return exactly one row with one column; compared as text. */
    sql: string;
    expected: string | number | boolean | null;
}

export interface CheckResult {
    check: string;
    object: string;
    status: "pass" | "fail";
    source?: unknown;
    target?: unknown;
    detail?: string;
}
