// compareFingerprints on hand-made fingerprints (no server): one-sided objects, unreadable tables,
// probes that could not run, server versions; and the is_called-aware sequence verdict.
import { describe, expect, it } from "vitest";
import { canonicalJson, compareFingerprints } from "../../lib/validate/compare";
import { sequenceVerdict } from "../../lib/validate/targetChecks";
import type { CheckResult, Fingerprint, FingerprintV2, FingerprintV3, TableFingerprint } from "../../lib/validate/types";

function fingerprint(overrides: Partial<Fingerprint> = {}): Fingerprint {
    return {
        formatVersion: 4,
        serverVersion: "15.8",
        serverVersionNum: 150008,
        schemas: ["public"],
        tables: [{ table: "public.tasks", rowCount: 2, maxUpdatedAt: "2024-01-01T00:00:00+00:00", hasUpdatedAt: true, checksum: "c1" }],
        rls: [{ table: "public.tasks", enabled: true, forced: false }],
        policies: [
            { table: "public.tasks", name: "own", permissive: "PERMISSIVE", roles: ["authenticated"], cmd: "SELECT", qual: "(owner = auth.uid())", withCheck: null },
        ],
        extensions: [{ name: "pgcrypto", version: "1.3", schema: "extensions" }],
        functions: [{ signature: "public.f(integer)", kind: "function", definitionMd5: "m1" }],
        triggers: [{ trigger: "public.tasks.touch", enabled: "O", definitionMd5: "t1" }],
        views: [{ view: "public.v", kind: "view", definitionMd5: "v1" }],
        latestMigration: "20240101000000",
        rlsProbes: [{ role: "anon", claims: null, status: "ok", tables: [{ table: "public.tasks", rowCount: 0, checksum: "e" }] }],
        indexes: [{ index: "public.tasks_pkey", table: "public.tasks", definition: "CREATE UNIQUE INDEX tasks_pkey ON public.tasks USING btree (id)", valid: true, unique: true, primary: true }],
        constraints: [{ constraint: "public.tasks.tasks_pkey", on: "public.tasks", onDomain: false, type: "primary key", definition: "PRIMARY KEY (id)", validated: true }],
        columns: [{ column: "public.tasks.id", type: "integer", default: "nextval('public.tasks_id_seq'::regclass)", notNull: true, generated: null, identity: null }],
        grants: [{ object: "table public.tasks", name: "public.tasks", owner: "postgres", privileges: ["anon:SELECT"] }],
        sequences: [{ sequence: "public.tasks_id_seq", type: "integer", increment: "1", min: "1", max: "2147483647", cycle: false, lastValue: "2" }],
        publications: [{ name: "supabase_realtime", allTables: false, operations: ["insert", "update", "delete", "truncate"], viaRoot: false, tables: ["public.tasks"], schemas: [] }],
        storageBuckets: { columns: ["name", "public"], buckets: [{ id: "avatars", settings: { name: "avatars", public: false } }] },
        ...overrides,
    };
}

/** What an older supabase-dr (format 2) stored: the same fingerprint without the structure fields. */
function formatTwo(fp: Fingerprint): FingerprintV2 {
    const { indexes, constraints, columns, grants, sequences, publications, storageBuckets, ...core } = fp;
    void [indexes, constraints, columns, grants, sequences, publications, storageBuckets];
    return { ...core, formatVersion: 2, extensions: core.extensions.map(({ name, version, schema }) => ({ name, version, schema })) };
}

const keys = (results: CheckResult[]) => results.map((r) => `${r.status} ${r.check} ${r.object}`);

const failed = (results: CheckResult[]) => results.filter((r) => r.status === "fail");

describe("compareFingerprints", () => {
    it("passes identical fingerprints with one result per compared item", () => {
        const results = compareFingerprints(fingerprint(), fingerprint());
        expect(failed(results)).toEqual([]);
        expect(results.map((r) => `${r.check} ${r.object}`)).toEqual([
            "server_version server",
            "schema public",
            "row_count public.tasks",
            "updated_at public.tasks",
            "checksum public.tasks",
            "rls public.tasks",
            "policy public.tasks.own",
            "extension pgcrypto",
            "function public.f(integer)",
            "trigger public.tasks.touch",
            "view public.v",
            "migration supabase_migrations.schema_migrations",
            "rls_probe anon",
            "rls_visibility anon: public.tasks",
            "index public.tasks_pkey",
            "constraint public.tasks.tasks_pkey",
            "column public.tasks.id",
            "grant table public.tasks",
            "sequence_value public.tasks_id_seq",
            "publication supabase_realtime",
            "storage_bucket avatars",
        ]);
    });

    it("fails objects present on one side only, saying which side", () => {
        const target = fingerprint({
            functions: [{ signature: "public.g()", kind: "function", definitionMd5: "m2" }],
            extensions: [],
        });
        const results = failed(compareFingerprints(fingerprint(), target));
        expect(results).toEqual([
            { check: "extension", object: "pgcrypto", status: "fail", source: { version: "1.3", schema: "extensions" }, target: undefined, detail: "missing on target" },
            { check: "function", object: "public.f(integer)", status: "fail", source: "m1", target: undefined, detail: "missing on target" },
            { check: "function", object: "public.g()", status: "fail", source: undefined, target: "m2", detail: "present on target only, not in source" },
        ]);
    });

    it("does not care about key order in compared values", () => {
        expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } })).toBe('{"a":{"c":[3,{"e":0,"f":1}],"d":2},"b":1}');
    });

    it("fails unreadable tables, unreadable migration history and probes that could not run on either side", () => {
        const broken = fingerprint({
            tables: [{ table: "public.tasks", rowCount: null, maxUpdatedAt: null, hasUpdatedAt: true, checksum: null, error: "permission denied" }],
            migrationError: "permission denied for schema supabase_migrations",
            latestMigration: null,
            rlsProbes: [{ role: "anon", claims: null, status: "role-missing", tables: [] }],
        });
        const results = compareFingerprints(broken, broken);
        expect(failed(results).map((r) => `${r.check} ${r.object}: ${r.detail}`)).toEqual([
            "table public.tasks: source: permission denied; target: permission denied",
            "migration supabase_migrations.schema_migrations: migration history unreadable: source: permission denied for schema supabase_migrations; target: permission denied for schema supabase_migrations",
            "rls_probe anon: role anon could not be probed",
        ]);
    });

    it("fails a probe configured on one side only and a target on an older major version", () => {
        const target = fingerprint({ serverVersion: "14.10", serverVersionNum: 140010, rlsProbes: [] });
        expect(failed(compareFingerprints(fingerprint(), target)).map((r) => `${r.check} ${r.object}`)).toEqual([
            "server_version server",
            "rls_probe anon",
        ]);
        // A newer target is an upgrade, not a failure.
        const newer = fingerprint({ serverVersion: "17.2", serverVersionNum: 170002 });
        expect(failed(compareFingerprints(fingerprint(), newer))).toEqual([]);
    });

    it("explains a content change with an unchanged row count", () => {
        const target = fingerprint({
            tables: [{ table: "public.tasks", rowCount: 2, maxUpdatedAt: "2024-01-01T00:00:00+00:00", hasUpdatedAt: true, checksum: "c2" }],
        });
        expect(failed(compareFingerprints(fingerprint(), target))).toEqual([
            { check: "checksum", object: "public.tasks", status: "fail", source: "c1", target: "c2", detail: "content differs with the same row count" },
        ]);
    });
});

describe("checksum methods", () => {
    const tasks = (fields: Partial<TableFingerprint>): TableFingerprint => ({
        table: "public.tasks",
        rowCount: 2,
        maxUpdatedAt: "2024-01-01T00:00:00+00:00",
        hasUpdatedAt: true,
        checksum: "c1",
        ...fields,
    });
    const rowHash: Partial<TableFingerprint> = { checksumMethod: "row-hash", checksumSeed: "5381", textColumns: ["amount"] };
    const checksumResult = (source: Partial<TableFingerprint>, target: Partial<TableFingerprint>) =>
        compareFingerprints(fingerprint({ tables: [tasks(source)] }), fingerprint({ tables: [tasks(target)] })).find((r) => r.check === "checksum");

    it("compares the sums of two tables checksummed the same way", () => {
        expect(checksumResult(rowHash, rowHash)?.status).toBe("pass");
        expect(checksumResult({ ...rowHash, checksum: "c1" }, { ...rowHash, checksum: "c2" })).toMatchObject({
            status: "fail",
            detail: "content differs with the same row count",
        });
        // No method recorded (formats 2 and 3) is the text form.
        expect(checksumResult({}, { checksumMethod: "text" })?.status).toBe("pass");
    });

    it("reports checksums of different methods, seeds or text-form columns as not comparable, whatever their values", () => {
        expect(checksumResult({ checksumMethod: "text" }, rowHash)).toMatchObject({
            status: "fail",
            detail: "not comparable: source text form, target row hash (seed 5381; as text: amount) (fingerprint the target with the source's fingerprint as basis)",
        });
        expect(checksumResult(rowHash, { ...rowHash, checksumSeed: "7" })?.detail).toMatch(/^not comparable: source row hash \(seed 5381; as text: amount\), target row hash \(seed 7; as text: amount\)/);
        expect(checksumResult(rowHash, { ...rowHash, textColumns: [] })?.status).toBe("fail");
    });

    it("gives the target's reason when it could not repeat the source's row hash", () => {
        const note = "the source's row hash cannot be repeated: column(s) id cannot be hashed natively here";
        expect(checksumResult(rowHash, { checksumMethod: "text", checksumNote: note })?.detail).toBe(
            `not comparable: source row hash (seed 5381; as text: amount), target text form (${note})`,
        );
    });

    it("still compares row counts and updated_at across methods", () => {
        const results = compareFingerprints(fingerprint({ tables: [tasks({ checksumMethod: "text" })] }), fingerprint({ tables: [tasks({ ...rowHash, rowCount: 3 })] }));
        expect(failed(results).map((r) => `${r.check} ${r.object}`)).toEqual(["row_count public.tasks", "checksum public.tasks"]);
    });
});

describe("structure checks (format 3 and later)", () => {
    it("are compared for a format-3 source (an older backup) as for a format-4 one", () => {
        const older: FingerprintV3 = { ...fingerprint(), formatVersion: 3 };
        const target = fingerprint({ grants: [] });
        expect(keys(compareFingerprints(older, target))).toEqual(keys(compareFingerprints(fingerprint(), target)));
        expect(failed(compareFingerprints(older, target)).map((r) => `${r.check} ${r.object}`)).toEqual(["grant table public.tasks"]);
    });

    it("names what changed in a column, an index and a constraint", () => {
        const target = fingerprint({
            columns: [{ column: "public.tasks.id", type: "bigint", default: null, notNull: false, generated: null, identity: "always" }],
            indexes: [{ ...fingerprint().indexes[0], valid: false }],
            constraints: [{ ...fingerprint().constraints[0], validated: false }],
        });
        const details = failed(compareFingerprints(fingerprint(), target)).map((r) => `${r.check} ${r.object}: ${r.detail}`);
        expect(details).toEqual([
            "index public.tasks_pkey: valid true → false",
            "constraint public.tasks.tasks_pkey: validated true → false",
            "column public.tasks.id: type integer → bigint; default nextval('public.tasks_id_seq'::regclass) → (none); " +
                "nullability NOT NULL → nullable; identity (none) → always",
        ]);
    });

    it("fails a lost grant, ignores what either side's owner holds, and privileges only the newer server knows", () => {
        const lost = fingerprint({ grants: [{ object: "table public.tasks", name: "public.tasks", owner: "postgres", privileges: [] }] });
        expect(failed(compareFingerprints(fingerprint(), lost))).toEqual([
            { check: "grant", object: "table public.tasks", status: "fail", source: ["anon:SELECT"], target: [], detail: "missing on target: anon:SELECT" },
        ]);
        // Source owned by app_owner, restored with --no-owner as postgres: each owner's rights are implicit.
        const source = fingerprint({ grants: [{ object: "table public.tasks", name: "public.tasks", owner: "app_owner", privileges: ["anon:SELECT", "postgres:SELECT"] }] });
        const target = fingerprint({
            serverVersion: "17.2",
            serverVersionNum: 170002,
            grants: [{ object: "table public.tasks", name: "public.tasks", owner: "postgres", privileges: ["anon:MAINTAIN", "anon:SELECT", "app_owner:SELECT"] }],
        });
        expect(failed(compareFingerprints(source, target))).toEqual([]);
        // Between two servers that both know MAINTAIN, a lost MAINTAIN is a lost grant.
        const both17 = fingerprint({ serverVersion: "17.2", serverVersionNum: 170002, grants: [{ ...target.grants[0], owner: "postgres", privileges: ["anon:MAINTAIN", "anon:SELECT"] }] });
        expect(failed(compareFingerprints(both17, fingerprint({ serverVersion: "17.2", serverVersionNum: 170002 }))).map((r) => r.detail)).toEqual([
            "missing on target: anon:MAINTAIN",
        ]);
    });

    it("wants each sequence at or past the source's value, in the direction it moves", () => {
        const seq = fingerprint().sequences[0];
        const verdict = (source: Partial<typeof seq>, target: Partial<typeof seq>) =>
            compareFingerprints(fingerprint({ sequences: [{ ...seq, ...source }] }), fingerprint({ sequences: [{ ...seq, ...target }] })).find(
                (r) => r.check === "sequence_value",
            )!;
        expect(verdict({}, {}).status).toBe("pass");
        expect(verdict({}, { lastValue: "9" })).toMatchObject({ status: "pass", detail: "target is past the source's value at the snapshot" });
        expect(verdict({ lastValue: "9" }, { lastValue: "2" })).toMatchObject({
            status: "fail",
            detail: "sequence behind the source's value at the snapshot (last value 2, source 9): new rows may reuse ids; " +
                "fix with select setval('public.tasks_id_seq', 9)",
        });
        expect(verdict({ lastValue: "9" }, { lastValue: null }).status).toBe("fail");
        expect(verdict({ lastValue: null }, { lastValue: null }).status).toBe("pass");
        expect(verdict({ increment: "-1", lastValue: "-5" }, { increment: "-1", lastValue: "-7" }).status).toBe("pass");
        expect(verdict({ increment: "-1", lastValue: "-5" }, { increment: "-1", lastValue: "-4" }).status).toBe("fail");
        expect(verdict({ lastValue: "9007199254740993" }, { lastValue: "9007199254740992" }).status).toBe("fail");
        expect(verdict({}, { increment: "2", lastValue: "3" })).toMatchObject({ status: "fail", detail: "definition differs: increment 1 → 2" });
        expect(verdict({}, { error: "no SELECT or USAGE privilege on the sequence" }).detail).toMatch(/^cannot read: target: no SELECT/);
    });

    it("lists the tables a publication lost or gained", () => {
        const target = fingerprint({ publications: [{ ...fingerprint().publications[0], tables: ["public.notes"], operations: ["insert"] }] });
        expect(failed(compareFingerprints(fingerprint(), target)).map((r) => r.detail)).toEqual([
            'operations ["insert","update","delete","truncate"] → ["insert"]; tables missing on target: public.tasks; extra on target: public.notes',
        ]);
    });

    it("compares bucket settings on the columns both sides have, and notes the others", () => {
        const newer = fingerprint({
            storageBuckets: { columns: ["name", "public", "type"], buckets: [{ id: "avatars", settings: { name: "avatars", public: false, type: "STANDARD" } }] },
        });
        const results = compareFingerprints(fingerprint(), newer).filter((r) => r.check === "storage_bucket");
        expect(results.map((r) => [r.object, r.status, r.detail])).toEqual([
            ["avatars", "pass", undefined],
            ["storage.buckets", "pass", "compared name, public; on one side only, not compared: type"],
        ]);
        const flipped = fingerprint({ storageBuckets: { columns: ["name", "public"], buckets: [{ id: "avatars", settings: { name: "avatars", public: true } }] } });
        expect(failed(compareFingerprints(fingerprint(), flipped)).map((r) => `${r.object}: ${r.detail}`)).toEqual(["avatars: public false → true"]);
        expect(failed(compareFingerprints(fingerprint(), fingerprint({ storageBuckets: null }))).map((r) => `${r.object}: ${r.detail}`)).toEqual([
            "storage.buckets: storage.buckets missing on target",
        ]);
        // Neither side fingerprinted storage (schemas left it out, or no Supabase Storage): nothing to say.
        const none = compareFingerprints(fingerprint({ storageBuckets: null }), fingerprint({ storageBuckets: null }));
        expect(none.filter((r) => r.check === "storage_bucket")).toEqual([]);
    });
});

describe("a format-2 fingerprint (older backups)", () => {
    it("is compared on what it recorded, and every structure check is reported as not compared, never as a pass", () => {
        const results = compareFingerprints(formatTwo(fingerprint()), fingerprint({ grants: [] }));
        expect(failed(results)).toEqual([]);
        const skipped = results.filter((r) => r.status === "skip");
        expect(keys(skipped)).toEqual([
            "skip index all",
            "skip constraint all",
            "skip column all",
            "skip grant all",
            "skip sequence_value all",
            "skip publication all",
            "skip storage_bucket all",
        ]);
        expect(skipped[3].detail).toBe(
            "not recorded in this backup's fingerprint (format 2): grants were not compared; a backup taken by this version records them",
        );
        expect(results.filter((r) => ["index", "grant", "column"].includes(r.check) && r.status === "pass")).toEqual([]);
        // The recorded checks still bite.
        const lostRow = fingerprint({ tables: [{ ...fingerprint().tables[0], rowCount: 1, checksum: "c9" }] });
        expect(failed(compareFingerprints(formatTwo(fingerprint()), lostRow)).map((r) => `${r.check} ${r.object}`)).toEqual([
            "row_count public.tasks",
            "checksum public.tasks",
        ]);
    });

    it("refuses a fingerprint format it does not know", () => {
        const unknown = { ...fingerprint(), formatVersion: 1 } as unknown as Fingerprint;
        expect(keys(compareFingerprints(unknown, fingerprint()))).toEqual(["fail fingerprint_format fingerprint"]);
        // A newer supabase-dr's format may checksum differently: refused rather than misread.
        const newer = { ...fingerprint(), formatVersion: 5 } as unknown as Fingerprint;
        expect(keys(compareFingerprints(newer, fingerprint()))).toEqual(["fail fingerprint_format fingerprint"]);
    });
});

describe("allowMissingExtensions", () => {
    const withHstore = fingerprint({
        schemas: ["hstore_extras", "public"],
        extensions: [...fingerprint().extensions, { name: "hstore", version: "1.8", schema: "public", ownedSchemas: ["hstore_extras"] }],
        functions: [...fingerprint().functions, { signature: "hstore_extras.pairs(p integer)", kind: "function", definitionMd5: "h1" }],
        grants: [...fingerprint().grants, { object: "schema hstore_extras", name: "hstore_extras", owner: "postgres", privileges: ["anon:USAGE"] }],
    });

    it("fails an extension missing on the target unless it is allowed; allowed, it and its schemas pass with a note", () => {
        const target = fingerprint();
        expect(keys(failed(compareFingerprints(withHstore, target)))).toEqual([
            "fail schema hstore_extras",
            "fail extension hstore",
            "fail function hstore_extras.pairs(p integer)",
            "fail grant schema hstore_extras",
        ]);
        const allowed = compareFingerprints(withHstore, target, { allowMissingExtensions: ["hstore"] });
        expect(failed(allowed)).toEqual([]);
        expect(allowed.find((r) => r.check === "extension" && r.object === "hstore")?.detail).toBe("allowed missing: not available on the target");
        expect(allowed.find((r) => r.check === "function" && r.object === "hstore_extras.pairs(p integer)")?.detail).toBe(
            "allowed missing: schema hstore_extras belongs to extension hstore, not available on the target",
        );
    });

    it("allows nothing else: other extensions, other schemas, and objects present on both sides are compared as usual", () => {
        const target = fingerprint({ extensions: [], functions: [] });
        const results = failed(compareFingerprints(withHstore, target, { allowMissingExtensions: ["hstore"] }));
        expect(keys(results)).toEqual(["fail extension pgcrypto", "fail function public.f(integer)"]);
        // Present on the target after all: a version change is still a difference.
        const upgraded = { ...withHstore, extensions: withHstore.extensions.map((e) => (e.name === "hstore" ? { ...e, version: "1.9" } : e)) };
        expect(keys(failed(compareFingerprints(withHstore, upgraded, { allowMissingExtensions: ["hstore"] })))).toEqual(["fail extension hstore"]);
    });
});

describe("sequenceVerdict", () => {
    it("treats is_called=false as 'last_value not used yet'", () => {
        expect(sequenceVerdict(10n, true, 1n, 10n)).toEqual({ behind: false, lastUsed: 10n });
        expect(sequenceVerdict(10n, false, 1n, 10n)).toEqual({ behind: true, lastUsed: 9n });
        expect(sequenceVerdict(11n, false, 1n, 10n)).toEqual({ behind: false, lastUsed: 10n });
        expect(sequenceVerdict(1n, false, 1n, null)).toEqual({ behind: false, lastUsed: 0n });
    });

    it("handles descending sequences and values beyond 2^53", () => {
        expect(sequenceVerdict(-5n, true, -1n, -5n).behind).toBe(false);
        expect(sequenceVerdict(-4n, true, -1n, -5n).behind).toBe(true);
        expect(sequenceVerdict(9007199254740993n, true, 1n, 9007199254740994n).behind).toBe(true);
    });
});
