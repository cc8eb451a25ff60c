// compareFingerprints on hand-made fingerprints (no server): one-sided objects, unreadable tables,
// probes that could not run, server versions; and the is_called-aware sequence verdict.
import { describe, expect, it } from "vitest";
import { canonicalJson, compareFingerprints } from "../../lib/validate/compare";
import { sequenceVerdict } from "../../lib/validate/targetChecks";
import type { CheckResult, Fingerprint } from "../../lib/validate/types";

function fingerprint(overrides: Partial<Fingerprint> = {}): Fingerprint {
    return {
        formatVersion: 2,
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
        ...overrides,
    };
}

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
