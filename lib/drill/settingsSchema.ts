// The drill settings (`supabase-dr:drill`) as one zod schema: the single source of their validation,
// their TypeScript types and their JSON Schema (schema/drill-settings.schema.json, `npm run schema`).
//
// Two schemas come from the same fields:
//   userDrillSettingsSchema   what users write: Pulumi.<env>.yaml's supabase-dr:drill, --settings files
//   drillStackSettingsSchema  what the drill command writes into a drill-* stack: the user's settings
//                             plus env, id, artifactsDir and startedAt
// Every object is strict: a misspelled key is an error (with the nearest known key suggested by
// lib/config/errors), never a silently ignored setting. Masking rules and smoke checks are checked by
// their own parsers (lib/mask, lib/smoke) here too, so their errors also come before the engine starts.
import { z } from "zod";
import { parseMaskRules, STRATEGIES } from "../mask/rules";
import { isHttpUrl, parseSmokeChecks } from "../smoke/parse";
import { pitrSettingsSchema } from "../pitr/settings";
import { rehearseRecoverSchema } from "./rehearseRecover";
import { projectApiUrlProblem } from "../supabase/connectionStrings";
import type { SmokeCheck } from "../smoke/checks";
import type { FingerprintOptions, SqlAssertion } from "../validate/types";

// ---- building blocks -------------------------------------------------------------------------

const nonEmptyString = (description: string) =>
    z.string({ error: "expected a non-empty string" }).min(1, { error: "expected a non-empty string" }).describe(description);

const wholeNumber = (min: number, description: string) => {
    const error = `expected a whole number ≥ ${min}`;
    return z.number({ error }).int({ error }).min(min, { error }).describe(description);
};

const positiveNumber = (description: string) => {
    const error = "expected a positive number";
    return z.number({ error }).positive({ error }).describe(description);
};

const isoTime = (description: string) =>
    z
        .string({ error: "expected an ISO 8601 time such as 2026-11-22T10:15:00Z" })
        .refine((v) => !Number.isNaN(Date.parse(v)), { error: "expected an ISO 8601 time such as 2026-11-22T10:15:00Z" })
        .describe(description);

const httpUrl = (description: string) =>
    z
        .string({ error: "expected an http:// or https:// URL" })
        .refine(isHttpUrl, { error: "expected an http:// or https:// URL" })
        .describe(description);


const stringList = (description: string, item: string) =>
    z.array(nonEmptyString(item), { error: "expected a list of strings" }).describe(description);

function regexProblem(source: string): string | undefined {
    try {
        new RegExp(source);
        return undefined;
    } catch (err) {
        return (err as Error).message;
    }
}

/**
 * A value checked by a module's own parser (it names the offending entry in its message); the JSON
 * Schema it is published with is given by hand, for editors only.
 */
function parsedBy<T>(parse: (value: unknown) => unknown, splitProblems: (message: string) => { path: PropertyKey[]; message: string }[], jsonSchema: Record<string, unknown>) {
    return z
        .custom<T>(() => true)
        .superRefine((value, ctx) => {
            if (value === undefined) {
                ctx.addIssue({ code: "custom", message: "required" });
                return;
            }
            try {
                parse(value);
            } catch (err) {
                for (const p of splitProblems(err instanceof Error ? err.message : String(err))) ctx.addIssue({ code: "custom", ...p });
            }
        })
        .meta(jsonSchema);
}

// ---- parts -----------------------------------------------------------------------------------

const s3VaultShape = {
    kind: z.literal("s3", { error: 'expected "s3"' }).describe('"s3": an S3 bucket (or an S3-compatible server with endpoint).'),
    bucket: nonEmptyString("The vault bucket's name."),
    region: nonEmptyString("Its region (default: AWS_REGION, else us-east-1).").optional(),
    endpoint: httpUrl("An S3-compatible endpoint (e.g. a local test server); default AWS.").optional(),
};

const dirVaultShape = {
    kind: z.literal("dir").describe('"dir": a directory holding the vault layout (air-gapped runs, rehearsals).'),
    path: nonEmptyString("The directory."),
};

const adoptionShape = {
    env: nonEmptyString("Whose backups: the environment name the backup job used (default: drill.env).").optional(),
    notAfter: isoTime("Adopt the newest backup taken at or before this time (default: the newest).").optional(),
};

const drillVaultSchema = z
    .discriminatedUnion("kind", [
        z.strictObject({ ...s3VaultShape, ...adoptionShape }),
        z.strictObject({ ...dirVaultShape, ...adoptionShape }),
    ], { error: 'expected {kind: "s3", bucket, …} or {kind: "dir", path}' })
    .describe("Fetch the newest backup from the vault and adopt it (S3 credentials from the environment). Not with backupPath. BACKUP_BUCKET, when set, replaces its location.");

// Storage snapshots may also sit in a local directory (tests, air-gapped runs). Azure is left out:
// its connection string holds the account key, and drill settings are not secret.
const storageVaultSchema = z
    .discriminatedUnion("kind", [z.strictObject(s3VaultShape), z.strictObject(dirVaultShape)], { error: 'expected {kind: "s3", bucket, …} or {kind: "dir", path}' })
    .describe("Where the storage snapshots are (default: drill.vault).");

const targetSchema = z
    .discriminatedUnion("kind", [
        z
            .strictObject({ kind: z.literal("cluster") })
            .describe("A throw-away PostgreSQL cluster the drill starts itself (loopback, random password), removed afterwards. The default without TARGET_DB_URL."),
        z
            .strictObject({ kind: z.literal("database") })
            .describe("A scratch database on TARGET_DB_URL's server (a role that may CREATE DATABASE). The default with TARGET_DB_URL."),
        z
            .strictObject({
                kind: z.literal("supabase-project"),
                organization: nonEmptyString("The organization slug the scratch project is created in."),
                region: nonEmptyString("Its region, e.g. eu-west-2 (runbook 000: a secondary region)."),
                instanceSize: nonEmptyString("Compute size, e.g. micro, small (default: the API's).").optional(),
                apiBaseUrl: httpUrl("Management API base URL (default https://api.supabase.com).").optional(),
                projectApiUrl: nonEmptyString("The projects' API URL, {ref} standing for the project ref (default https://{ref}.supabase.co).")
                    .superRefine((v, ctx) => {
                        const problem = projectApiUrlProblem(v);
                        if (problem) ctx.addIssue({ code: "custom", message: problem });
                    })
                    .optional(),
                readyTimeoutSeconds: positiveNumber("How long to wait for the project to become healthy.").optional(),
                pollIntervalSeconds: positiveNumber("How often to poll its health.").optional(),
            })
            .describe("A new Supabase project per drill (Management API, SUPABASE_ACCESS_TOKEN), deleted afterwards."),
    ], { error: 'expected kind "cluster", "database" or "supabase-project"' })
    .describe("Where the backup is restored. Default: the drill's own cluster, or a scratch database on TARGET_DB_URL's server when it is given.");

const restoreSchema = z
    .strictObject({
        jobs: wholeNumber(1, "Parallel pg_restore jobs (custom-format backups).").optional(),
        allowErrors: z
            .array(
                nonEmptyString("A JavaScript regular expression (source, no flags).").superRefine((source, ctx) => {
                    const problem = regexProblem(source);
                    if (problem) ctx.addIssue({ code: "custom", message: `not a valid regular expression (${problem})` });
                }),
                { error: "expected a list of regular expressions" },
            )
            .describe("Restore errors matching one of these are reported but do not fail the drill.")
            .optional(),
        allowMissingExtensions: stringList(
            "Extensions the backup creates that the target cannot have: each is reported and its CREATE EXTENSION skipped (default: Supabase's own extensions).",
            "An extension name, e.g. pg_graphql.",
        ).optional(),
        platform: z
            .enum(["auto", "source", "baseline", "none"], { error: 'expected "auto", "source", "baseline" or "none"' })
            .describe(
                "Supabase platform part prepared on a local target before a Supabase backup: from the source's catalog when reachable (auto, the default), always from it (source), from the project's baseline (baseline), or not at all (none).",
            )
            .optional(),
    })
    .describe("How the backup is restored.");

const fingerprintSchema = z
    .strictObject({
        schemas: stringList("Schemas to fingerprint (default: every non-system schema).", "A schema name.").optional(),
        tables: z
            .array(
                z.string().regex(/^[^.\s]+\.[^.\s]+$/, { error: 'expected "schema.table"' }),
                { error: 'expected a list of "schema.table"' },
            )
            .describe('Critical tables to checksum, as "schema.table" (default: every table in the schemas).')
            .optional(),
        rlsProbes: z
            .array(
                z.strictObject({
                    role: nonEmptyString("A non-superuser role to SET ROLE to (e.g. anon, authenticated)."),
                    claims: z
                        .record(z.string(), z.unknown(), { error: "expected an object of JWT claims" })
                        .describe("JWT claims exposed as request.jwt.claims (e.g. {sub: <user id>, role: authenticated}).")
                        .optional(),
                }),
                { error: "expected a list of {role, claims?}" },
            )
            .describe("Row visibility compared per role (RLS behaviour), source against restore.")
            .optional(),
    })
    .describe("What the source/restore comparison covers.");

const assertionSchema = z.strictObject({
    name: nonEmptyString("Names the assertion in the report."),
    sql: nonEmptyString("A query returning one value (first column of the first row)."),
    expected: z
        .union([z.string(), z.number(), z.boolean(), z.null()], { error: "expected a string, number, true/false or null" })
        .describe("The value the query must return."),
});

const validationSchema = z
    .strictObject({
        fingerprint: fingerprintSchema.optional(),
        assertions: z
            .array(assertionSchema, { error: "expected a list of {name, sql, expected}" })
            .describe("Application checks run on the restored database (runbook 003).")
            .superRefine((list, ctx) => {
                const seen = new Set<string>();
                list.forEach((a, i) => {
                    if (seen.has(a.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: `duplicate assertion name ${JSON.stringify(a.name)}` });
                    seen.add(a.name);
                });
            })
            .optional(),
        allowNoData: z
            .boolean({ error: "expected true or false" })
            .describe("Pass validation when the backup's tables hold no rows (e.g. a project without data yet); by default an empty backup fails the drill, since restoring it proves nothing.")
            .optional(),
    })
    .describe("How the restore is validated.");

const RULE_OBJECT_JSON = {
    type: "object",
    properties: {
        strategy: { type: "string", enum: [...STRATEGIES] },
        value: { type: "string", description: 'The replacement, with strategy "fixed".' },
        idColumn: { type: "string", description: "Column whose value replaces {id} (default id)." },
    },
    required: ["strategy"],
};

// parseMaskRules: "masking rule <key>: <problem>", one rule at a time.
const maskRulesSchema = parsedBy<unknown>(parseMaskRules, (message) => [{ path: [], message }], {
    description:
        'Masking rules: {"schema.table.column": strategy} (jsonb keys as "schema.table.column.key[.key…]") or a list of {table, column, path?, rule, idColumn?}. ' +
        `Strategies: ${STRATEGIES.join(", ")} (fixed as {strategy: fixed, value}); hash needs MASKING_SALT.`,
    anyOf: [
        { type: "object", additionalProperties: { anyOf: [{ type: "string", enum: STRATEGIES.filter((s) => s !== "fixed") }, RULE_OBJECT_JSON] } },
        {
            type: "array",
            items: {
                type: "object",
                properties: { table: { type: "string" }, column: { type: "string" }, rule: {}, idColumn: { type: "string" } },
                required: ["table", "column", "rule"],
            },
        },
    ],
});

const allowUnmaskedSchema = z
    .array(
        z.string().regex(/^[^.\s]+(\.[^.\s]+){1,2}$/, { error: 'expected "schema.table.column" (or "table.column" for public)' }),
        { error: 'expected a list of "schema.table.column"' },
    )
    .describe('Columns that look like PII ("schema.table.column") but may stay as they are; listed in the report.');

const maskingSchema = z
    .strictObject({
        rules: maskRulesSchema,
        allowUnmasked: allowUnmaskedSchema.optional(),
    })
    .describe("Mask personal data in the restored copy (runbook 001: never raw PII in staging).");

// parseSmokeChecks: "invalid smoke checks:\n  - checks[0].path: …" (every problem), or one line.
function smokeProblems(message: string): { path: PropertyKey[]; message: string }[] {
    const lines = message.split("\n").filter((l) => l.startsWith("  - ")).map((l) => l.slice(4));
    if (lines.length === 0) return [{ path: [], message: message.replace(/^smoke checks:\s*/, "") }];
    return lines.map((line) => {
        const m = /^checks\[(\d+)\]((?:\.[\w-]+)*):?\s*(.*)$/.exec(line);
        if (!m) return { path: [], message: line };
        return { path: [Number(m[1]), ...m[2].split(".").filter(Boolean)], message: m[3] };
    });
}

const SMOKE_CHECK_JSON = {
    type: "object",
    properties: {
        name: { type: "string" },
        method: { type: "string", description: "Default GET." },
        url: { type: "string", description: "An absolute URL (or path)." },
        path: { type: "string", description: 'Joined to baseUrl, e.g. "/api/health".' },
        expectStatus: { anyOf: [{ type: "integer" }, { type: "array", items: { type: "integer" } }], description: "Default 200; a 5xx never passes." },
        body: {
            type: "object",
            properties: {
                contains: { type: "string" },
                json: { type: "object", description: "Dotted path → expected value." },
                regex: { type: "string" },
                csvHeader: { type: "array", items: { type: "string" } },
            },
            additionalProperties: false,
        },
        latencyBudgetMs: { type: "number", description: "Default 2000." },
        auth: { type: "boolean", description: "Send API_BEARER_TOKEN (default: when one is given)." },
        headers: { type: "object", additionalProperties: { type: "string" } },
        requestBody: { description: "Sent as JSON." },
    },
};

const smokeChecksSchema = parsedBy<SmokeCheck[]>(
    (value) => {
        // A list only: the parser's other forms ({checks: [...]}, JSON text) are for API callers.
        if (!Array.isArray(value)) throw new Error("expected a list of checks");
        return parseSmokeChecks(value);
    },
    smokeProblems,
    { description: "HTTP checks against the restored environment (runbook 002).", type: "array", items: SMOKE_CHECK_JSON },
);

const smokeSchema = z
    .strictObject({
        baseUrl: httpUrl("The restored environment's API base URL (TARGET_API_URL). Default with a supabase-project target: the project's own API; required for path checks on a local target.").optional(),
        projectKey: z
            .enum(["anon", "service_role"], { error: 'expected "anon" or "service_role"' })
            .describe("Which of a scratch Supabase project's keys the checks send as apikey (default anon: RLS applies, as for a browser).")
            .optional(),
        checks: smokeChecksSchema.optional(),
        retries: wholeNumber(0, "Retries of a failing check that may be transient (default 0).").optional(),
    })
    .describe("Smoke tests against the restored application.");

const targetsSchema = z
    .strictObject({
        rtoSeconds: positiveNumber("Recovery time objective in seconds (default 7200, runbook 003).").optional(),
        rpoSeconds: positiveNumber("Recovery point objective in seconds (default 86400, runbook 003).").optional(),
    })
    .describe("The objectives the drill's measured RTO and RPO are held to.");

const storageSchema = z
    .strictObject({
        storageUrl: httpUrl("The project's Storage API: <SUPABASE_URL>/storage/v1 (SUPABASE_SERVICE_ROLE_KEY as a secret)."),
        buckets: z
            .array(nonEmptyString("A bucket name."), { error: "expected a list of bucket names" })
            .min(1, { error: "expected at least one bucket" })
            .describe("Buckets restored (newest snapshot each) into restored-<bucket>-<yyyyMMdd>."),
        vault: storageVaultSchema.optional(),
        env: nonEmptyString("Whose snapshots (default: drill.env).").optional(),
    })
    .describe("Restore Storage buckets from the vault's snapshots (runbook 001 path C).");

// A recovery target must name its time zone: "10:15" alone would be the drill machine's local time.
const zonedTime = (description: string) =>
    z
        .string({ error: "expected an ISO 8601 time with a zone such as 2026-11-22T10:15:00Z" })
        .refine((v) => /(Z|[+-]\d\d(:?\d\d)?)$/i.test(v) && !Number.isNaN(Date.parse(v)), {
            error: "expected an ISO 8601 time with a zone such as 2026-11-22T10:15:00Z",
        })
        .describe(description);

const pitrTargetSchema = z
    .discriminatedUnion("type", [
        z.strictObject({
            type: z.literal("time").describe('"time": the last transaction committed at or before `time` (--pitr).'),
            time: zonedTime("The recovery target time T."),
        }),
        z.strictObject({
            type: z.literal("lsn").describe('"lsn": a WAL position (--pitr-lsn).'),
            lsn: z.string({ error: "expected an LSN such as 0/3000028" }).regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i, { error: "expected an LSN such as 0/3000028" }).describe("The WAL position."),
        }),
        z.strictObject({
            type: z.literal("name").describe('"name": a restore point made with pg_create_restore_point (--pitr-name).'),
            name: z.string({ error: "expected a restore point name" }).min(1, { error: "expected a restore point name" }).max(63, { error: "expected at most 63 characters" }).describe("The restore point's name."),
            createdAt: zonedTime("When it was created (picks the backup before it; default: the oldest backup).").optional(),
        }),
        z.strictObject({
            type: z.literal("mark").describe('"mark": a consistent point recorded beside the archive; validated exactly against its fingerprint (--pitr-mark).'),
            mark: nonEmptyString('The mark\'s key in its store, or "latest".'),
        }),
    ], { error: 'expected {type: "time", time}, {type: "lsn", lsn}, {type: "name", name} or {type: "mark", mark}' })
    .describe("What to recover to. Set by the drill command's --pitr* flags; with it the drill is a point-in-time recovery drill.");

const pitrSchema = z
    .strictObject({
        archive: pitrSettingsSchema.describe("The WAL archive (pgBackRest): the same settings as supabase-dr:pitr. Its secrets come from PGBACKREST_REPO1_* variables."),
        marks: z
            .discriminatedUnion("kind", [z.strictObject(s3VaultShape), z.strictObject(dirVaultShape)], { error: 'expected {kind: "s3", bucket, …} or {kind: "dir", path}' })
            .describe("Where the consistent-point marks are (default: beside an S3 archive, read with its keys). Required for a mark target with a posix archive.")
            .optional(),
        target: pitrTargetSchema.optional(),
        database: nonEmptyString("The database validated, masked and smoke-tested in the restored cluster (default postgres).").optional(),
        superuser: nonEmptyString("A superuser role of the source the drill takes over in the restored cluster (default postgres; Supabase: supabase_admin or postgres).").optional(),
        timeoutMinutes: positiveNumber("How long recovery may take to reach the target (default 60).").optional(),
    })
    .describe("Point-in-time recovery from the WAL archive into the drill's own throw-away cluster (replaces the backup and restore steps).");

// ---- the settings ----------------------------------------------------------------------------

const userShape = {
    backupPath: nonEmptyString("Adopt this backup instead of dumping the source (custom, .sql, .sql.gz, supabase db dump directory).").optional(),
    backupTakenAt: isoTime("When an adopted backup's data was captured (default: its manifest, else the file's time).").optional(),
    vault: drillVaultSchema.optional(),
    scratchPrefix: z
        .string()
        .regex(/^[a-z][a-z0-9_]{0,39}$/, { error: "expected 1-40 lowercase letters, digits and _, starting with a letter" })
        .describe("Prefix of the scratch database or project name (default drill).")
        .optional(),
    target: targetSchema.optional(),
    restore: restoreSchema.optional(),
    validation: validationSchema.optional(),
    masking: maskingSchema.optional(),
    smoke: smokeSchema.optional(),
    targets: targetsSchema.optional(),
    pitr: pitrSchema.optional(),
    rehearseRecover: rehearseRecoverSchema.optional(),
    nextDrillDays: wholeNumber(1, "Days until the next drill is due, printed in the report (default 90, runbook 002).").optional(),
    storage: storageSchema.optional(),
};

const stackShape = {
    env: nonEmptyString("The environment drilled (its backups, its Pulumi.<env>.yaml)."),
    id: z.string({ error: "expected yyyymmddHHMMss" }).regex(/^\d{14}$/, { error: "expected yyyymmddHHMMss" }).describe("The drill's id, yyyymmddHHMMss."),
    artifactsDir: nonEmptyString("Where the drill's artifacts are written (BACKUP_DIR/drill_<env>_<id>)."),
    startedAt: isoTime("Drill start; RTO and RPO are measured from it."),
};

type Settings = { backupPath?: unknown; vault?: unknown; storage?: unknown; target?: unknown; pitr?: unknown; rehearseRecover?: unknown };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

// A PITR drill restores from the WAL archive into its own cluster: no dump or backup to adopt, no other target.
function pitrChecks(settings: Settings, ctx: z.RefinementCtx): void {
    const pitr = settings.pitr;
    if (!isObject(pitr) || pitr.target === undefined) return;
    if (settings.backupPath !== undefined) ctx.addIssue({ code: "custom", path: ["backupPath"], message: "cannot be combined with pitr.target: a PITR drill restores from the WAL archive" });
    if (settings.vault !== undefined) ctx.addIssue({ code: "custom", path: ["vault"], message: "cannot be combined with pitr.target: a PITR drill restores from the WAL archive" });
    if (isObject(settings.target) && settings.target.kind !== "cluster") {
        ctx.addIssue({ code: "custom", path: ["target"], message: "a PITR drill restores into its own throw-away cluster: leave target out (or kind cluster)" });
    }
    // Path A recovers from a backup file; a PITR drill has none (its restore is the WAL archive's).
    if (settings.rehearseRecover !== undefined) {
        ctx.addIssue({ code: "custom", path: ["rehearseRecover"], message: "cannot be combined with pitr.target: path A recovers rows from a backup, and a PITR drill restores from the WAL archive" });
    }
    const archive = isObject(pitr.archive) ? pitr.archive : {};
    const posix = isObject(archive.repository) && archive.repository.type === "posix";
    if (isObject(pitr.target) && pitr.target.type === "mark" && posix && pitr.marks === undefined) {
        ctx.addIssue({ code: "custom", path: ["pitr", "marks"], message: "required for a mark target when the archive is a posix repository (where the marks are)" });
    }
}

// Cross-field rules; they run even when a field has its own error, so they read defensively.
function crossFieldChecks(settings: Settings, ctx: z.RefinementCtx): void {
    if (settings === null || typeof settings !== "object" || Array.isArray(settings)) return;
    if (settings.vault !== undefined && settings.backupPath !== undefined) {
        ctx.addIssue({ code: "custom", path: ["vault"], message: "cannot be combined with backupPath: adopt one backup" });
    }
    pitrChecks(settings, ctx);
    const storage = settings.storage;
    if (storage && typeof storage === "object" && !Array.isArray(storage) && (storage as { vault?: unknown }).vault === undefined && settings.vault === undefined) {
        ctx.addIssue({ code: "custom", path: ["storage", "vault"], message: "required when drill.vault is not set (where the snapshots are)" });
    }
}

const always = { when: () => true };

/**
 * One source of a drill's settings judged alone (a stack file's section, a --settings file): every
 * field and unknown key, but not the rules that span keys, which only the merged settings can meet
 * (a --settings file with `storage:` relies on the stack file's `vault`).
 */
export const userDrillSettingsFieldsSchema = z.strictObject(userShape);

/** What users write: Pulumi.<env>.yaml's supabase-dr:drill and --settings files. */
export const userDrillSettingsSchema = z
    .strictObject(userShape)
    .superRefine((s, ctx) => crossFieldChecks(s, ctx), always)
    .meta({
        title: "supabase-dr drill settings",
        description:
            "Settings of a restore drill (supabase-dr:drill in Pulumi.<env>.yaml, or a --settings file). Secrets (SOURCE_DB_URL, TARGET_DB_URL, SUPABASE_ACCESS_TOKEN, API_BEARER_TOKEN, MASKING_SALT, SUPABASE_SERVICE_ROLE_KEY, PGBACKREST_REPO1_S3_KEY, PGBACKREST_REPO1_S3_KEY_SECRET, PGBACKREST_REPO1_CIPHER_PASS) never go here.",
    });

/** What the drill command writes into a drill-* stack: the user's settings plus the drill's identity. */
export const drillStackSettingsSchema = z.strictObject({ ...stackShape, ...userShape }).superRefine((s, ctx) => crossFieldChecks(s, ctx), always);

export type UserDrillSettings = z.output<typeof userDrillSettingsSchema>;
export type DrillStackSettings = z.output<typeof drillStackSettingsSchema>;

/** The JSON Schema editors use to complete and check drill settings (draft-07: what YAML editors support best). */
export function drillSettingsJsonSchema(): Record<string, unknown> {
    return z.toJSONSchema(userDrillSettingsSchema, { target: "draft-07", io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

// The schema's types must stay assignable to what the validation takes (and, checked in
// programs/drill.ts, to what the drill component takes: lib/ does not import the components).
type Assignable<T extends U, U> = T;
export type _TypeChecks = [
    Assignable<NonNullable<NonNullable<UserDrillSettings["validation"]>["fingerprint"]>, FingerprintOptions>,
    Assignable<NonNullable<NonNullable<UserDrillSettings["validation"]>["assertions"]>[number], SqlAssertion>,
];
