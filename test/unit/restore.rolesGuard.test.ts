// Who may receive cluster-wide roles: decided by server identity, refused when it cannot be decided.
import { describe, expect, it } from "vitest";
import { decideRoles, rolesRefusal } from "../../lib/restore/rolesGuard";
import { filterRolesDump } from "../../lib/restore/sourceRoles";
import { isReservedRole } from "../../lib/supabase/platform/sourceCatalog";
import { belongsToExtension, parseTocLine } from "../../lib/restore/tocList";

const target = { host: "10.0.0.5", port: 5432, database: "drill_x", systemIdentifier: "111" };

describe("decideRoles", () => {
    it("skips (never rewrites) roles on the source's own server, by system identifier", () => {
        const d = decideRoles(target, [{ host: "db.example.co", port: 6543, database: "postgres", systemIdentifier: "111" }]);
        expect(d).toMatchObject({ apply: false, refuse: false });
        expect(d.reason).toMatch(/source's server/);
    });

    it("skips on the source's server by host and port when identities are unknown", () => {
        const d = decideRoles({ ...target, systemIdentifier: undefined }, [{ host: "10.0.0.5", port: 5432, database: "postgres" }]);
        expect(d).toMatchObject({ apply: false, refuse: false });
    });

    it("applies on the drill's own cluster", () => {
        expect(decideRoles(target, [{ host: "db", port: 5432, database: "postgres", systemIdentifier: "222" }], { systemIdentifier: "111" })).toMatchObject({ apply: true });
        expect(decideRoles(target, [], { systemIdentifier: "111" })).toMatchObject({ apply: true });
    });

    it("never trusts the own-cluster claim over the source's identity", () => {
        expect(decideRoles(target, [{ host: "db", port: 5432, database: "postgres", systemIdentifier: "111" }], { systemIdentifier: "111" })).toMatchObject({ apply: false });
    });

    it("applies on another server only when every source's identity is known and differs", () => {
        expect(decideRoles(target, [{ host: "db", port: 5432, database: "postgres", systemIdentifier: "222" }])).toMatchObject({ apply: true });
        expect(decideRoles(target, [{ host: "db", port: 5432, database: "postgres" }])).toMatchObject({ apply: false, refuse: true });
        expect(decideRoles(target, [])).toMatchObject({ apply: false, refuse: true });
        expect(decideRoles({ ...target, systemIdentifier: undefined }, [{ host: "db", port: 5432, database: "postgres", systemIdentifier: "222" }])).toMatchObject({ refuse: true });
    });

    it("says how to proceed when it refuses", () => {
        const d = decideRoles(target, []);
        if (d.apply) throw new Error("expected a refusal");
        expect(rolesRefusal("roles.sql", d).message).toMatch(/refusing to apply roles\.sql: roles are cluster-wide .*leave TARGET_DB_URL unset.*SOURCE_DB_URL/);
    });
});

describe("source roles like `supabase db dump --role-only`", () => {
    it("knows the platform's reserved roles", () => {
        for (const r of ["anon", "authenticated", "service_role", "supabase_admin", "supabase_auth_admin", "cli_login_postgres", "pg_monitor", "postgres"]) {
            expect(isReservedRole(r), r).toBe(true);
        }
        for (const r of ["reporting_reader", "app_user", "anonymous"]) expect(isReservedRole(r), r).toBe(false);
    });

    it("comments out reserved roles, drops superuser-only attributes and grants to reserved roles", () => {
        const out = filterRolesDump(
            [
                `CREATE ROLE "anon";`,
                `ALTER ROLE "anon" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;`,
                `CREATE ROLE "reporting_reader";`,
                `ALTER ROLE "reporting_reader" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;`,
                `GRANT "reporting_reader" TO "authenticator" GRANTED BY "postgres";`,
                `GRANT "anon" TO "reporting_reader" GRANTED BY "postgres";`,
                `ALTER ROLE "authenticated" SET "statement_timeout" TO '8s';`,
                `\\restrict abc`,
            ].join("\n"),
        ).split("\n");
        expect(out).toEqual([
            `-- CREATE ROLE "anon";`,
            `-- ALTER ROLE "anon" WITH INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOBYPASSRLS;`,
            `CREATE ROLE "reporting_reader";`,
            `ALTER ROLE "reporting_reader" WITH INHERIT NOCREATEROLE NOCREATEDB LOGIN NOBYPASSRLS;`,
            `-- GRANT "reporting_reader" TO "authenticator" GRANTED BY "postgres";`,
            `GRANT "anon" TO "reporting_reader" GRANTED BY "postgres";`,
            `ALTER ROLE "authenticated" SET "statement_timeout" TO '8s';`,
            `-- \\restrict abc`,
        ]);
    });
});

describe("pg_restore list entries", () => {
    it("parses types with spaces, schemas and tags", () => {
        expect(parseTocLine("3; 3079 16385 EXTENSION - pgcrypto ")).toMatchObject({ type: "EXTENSION", schema: "-", tag: "pgcrypto" });
        expect(parseTocLine("4012; 0 0 COMMENT - EXTENSION pgcrypto ")).toMatchObject({ type: "COMMENT", tag: "EXTENSION pgcrypto" });
        expect(parseTocLine("3460; 0 16521 TABLE DATA auth users postgres")).toMatchObject({ type: "TABLE DATA", schema: "auth", tag: "users" });
        expect(parseTocLine("3301; 2620 16700 TRIGGER auth users on_auth_user_created postgres")).toMatchObject({ type: "TRIGGER", schema: "auth", tag: "users on_auth_user_created" });
        expect(parseTocLine("; Archive created at 2026-11-29")).toBeUndefined();
    });

    it("finds every entry of a skipped extension and nothing else", () => {
        const skip = new Set(["pg_graphql"]);
        const lines = ["3; 3079 16385 EXTENSION - pg_graphql ", "5; 0 0 COMMENT - EXTENSION pg_graphql ", "6; 3079 16390 EXTENSION - pgcrypto ", "9; 1259 16400 TABLE public pg_graphql_notes postgres"];
        expect(lines.map((l) => belongsToExtension(parseTocLine(l)!, skip))).toEqual([true, true, false, false]);
    });
});
