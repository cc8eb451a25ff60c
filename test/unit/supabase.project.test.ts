// Pure parts of the scratch-project lifecycle: pooler/direct URLs from the API's fields, API key
// selection, request validation, generated names and passwords, the ownership guard, and the
// secrets plan (digest comparison).
import { describe, expect, it } from "vitest";
import type { SupavisorConfigResponse } from "supabase-management-js";
import { parseConnectionString } from "../../lib/postgres/connection";
import { directUrl, poolerUrl, poolerUser, projectApiUrl } from "../../lib/supabase/connectionStrings";
import {
    assertOwnedProject,
    generateDbPassword,
    isScratchProjectName,
    pickKeys,
    scratchProjectName,
    validateProjectRequest,
} from "../../lib/supabase/project";
import { planSecrets, secretDigest, validateSecrets } from "../../lib/supabase/secrets";

const REF = "abcdefghijklmnopqrst";

function pooler(over: Partial<SupavisorConfigResponse>): SupavisorConfigResponse {
    return {
        identifier: REF,
        database_type: "PRIMARY",
        is_using_scram_auth: true,
        db_user: "postgres",
        db_host: "aws-0-eu-central-1.pooler.supabase.com",
        db_port: 6543,
        db_name: "postgres",
        connection_string: "",
        connectionString: "",
        default_pool_size: 15,
        max_client_conn: 200,
        pool_mode: "transaction",
        ...over,
    };
}

describe("pooler URL", () => {
    it("uses the tenant-qualified user and session port when the API lists only transaction mode", () => {
        const url = poolerUrl(REF, "pw", [pooler({})]);
        expect(url).toBe(`postgresql://postgres.${REF}:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres`);
    });
    it("keeps the API's port when it lists the wanted mode, and ignores read replicas", () => {
        const configs = [
            pooler({ database_type: "READ_REPLICA", db_host: "replica.pooler.supabase.com", pool_mode: "session", db_port: 5432 }),
            pooler({ pool_mode: "transaction", db_port: 6543 }),
            pooler({ pool_mode: "session", db_port: 5499 }),
        ];
        expect(poolerUrl(REF, "pw", configs, "session")).toContain("@aws-0-eu-central-1.pooler.supabase.com:5499/");
        expect(poolerUrl(REF, "pw", configs, "transaction")).toContain("@aws-0-eu-central-1.pooler.supabase.com:6543/");
    });
    it("does not qualify a user twice", () => {
        expect(poolerUser(`postgres.${REF}`, REF)).toBe(`postgres.${REF}`);
        expect(poolerUser("postgres", REF)).toBe(`postgres.${REF}`);
    });
    it("encodes the password so the URL parses back to it", () => {
        const password = "p@ss:w/rd?#%";
        const info = parseConnectionString(poolerUrl(REF, password, [pooler({})]), "pooler");
        expect(info.password).toBe(password);
        expect(info.user).toBe(`postgres.${REF}`);
        expect(info.host).toBe("aws-0-eu-central-1.pooler.supabase.com");
        expect(info.port).toBe(5432);
        expect(info.database).toBe("postgres");
    });
    it("fails clearly without a primary entry", () => {
        expect(() => poolerUrl(REF, "pw", [pooler({ database_type: "READ_REPLICA" })])).toThrow(
            `project ${REF} reports no PRIMARY pooler configuration (got 1 entries)`,
        );
    });
    it("builds the direct and API URLs", () => {
        expect(directUrl(`db.${REF}.supabase.co`, "pw")).toBe(`postgresql://postgres:pw@db.${REF}.supabase.co:5432/postgres`);
        expect(projectApiUrl(REF)).toBe(`https://${REF}.supabase.co`);
    });
});

describe("API keys", () => {
    it("takes the legacy anon and service_role keys", () => {
        const keys = pickKeys(REF, [
            { name: "anon", api_key: "A", type: "legacy" },
            { name: "service_role", api_key: "S", type: "legacy" },
        ]);
        expect(keys).toEqual({ anonKey: "A", serviceRoleKey: "S" });
    });
    it("falls back to publishable / secret keys", () => {
        const keys = pickKeys(REF, [
            { name: "default", api_key: "sb_publishable_x", type: "publishable" },
            { name: "default", api_key: "sb_secret_y", type: "secret" },
        ]);
        expect(keys).toEqual({ anonKey: "sb_publishable_x", serviceRoleKey: "sb_secret_y" });
    });
    it("names the missing key", () => {
        expect(() => pickKeys(REF, [{ name: "anon", api_key: "A" }])).toThrow(`project ${REF} returned no service_role API key (keys seen: anon)`);
        expect(() => pickKeys(REF, [{ name: "service_role", api_key: null }])).toThrow(/no anon API key/);
    });
});

describe("request validation", () => {
    const ok = { accessToken: "sbp_x", organization: "acme-ops", region: "eu-central-1" };
    it("accepts a minimal request, smart groups and known instance sizes", () => {
        expect(validateProjectRequest(ok)).toEqual([]);
        expect(validateProjectRequest({ ...ok, region: "emea", instanceSize: "small", namePrefix: "ci-drill" })).toEqual([]);
    });
    it("names each bad property and the expected form", () => {
        const problems = validateProjectRequest({
            accessToken: "",
            organization: "acme ops",
            region: "Frankfurt",
            instanceSize: "huge",
            namePrefix: "Drill_",
            apiBaseUrl: "ftp://x",
            readyTimeoutMs: 0,
        });
        expect(problems.map((p) => p.property)).toEqual([
            "accessToken",
            "organization",
            "region",
            "instanceSize",
            "namePrefix",
            "apiBaseUrl",
            "readyTimeoutMs",
        ]);
        expect(problems.find((p) => p.property === "instanceSize")?.reason).toMatch(/^use one of pico, nano, micro, small, .* \(got 'huge'\)$/);
        expect(problems.find((p) => p.property === "region")?.reason).toContain("(got 'Frankfurt')");
    });
});

describe("names, passwords and ownership", () => {
    it("generates unique names recognisable by prefix", () => {
        const a = scratchProjectName("drill", new Date("2025-03-04T05:06:07Z"));
        const b = scratchProjectName("drill", new Date("2025-03-04T05:06:07Z"));
        expect(a).toMatch(/^drill-20250304050607-[0-9a-f]{6}$/);
        expect(a).not.toBe(b);
        expect(isScratchProjectName(a, "drill")).toBe(true);
        expect(isScratchProjectName(a, "dril")).toBe(false);
        expect(isScratchProjectName("drill-prod", "drill")).toBe(false);
    });
    it("generates strong, URL-safe, distinct passwords", () => {
        const passwords = new Set(Array.from({ length: 50 }, generateDbPassword));
        expect(passwords.size).toBe(50);
        for (const p of passwords) expect(p).toMatch(/^[A-Za-z0-9_-]{32}$/);
    });
    it("refuses to delete a project whose name is not the one we generated", () => {
        const ours = "drill-20250304050607-a1b2c3";
        expect(() => assertOwnedProject(REF, ours, ours, "drill")).not.toThrow();
        expect(() => assertOwnedProject(REF, "production", ours, "drill")).toThrow(
            `refusing to delete Supabase project ${REF} ('production'): this resource created '${ours}'`,
        );
        expect(() => assertOwnedProject(REF, "drill-20250304050607-ffffff", ours, "drill")).toThrow(/refusing to delete/);
        // A stored name that does not have our shape is not trusted either.
        expect(() => assertOwnedProject(REF, "prod", "prod", "drill")).toThrow(/refusing to delete/);
    });
});

describe("secrets plan", () => {
    it("hashes like the API (sha256 hex of UTF-8)", () => {
        expect(secretDigest("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        // UTF-8, not Latin-1: "é" hashes as the bytes c3 a9.
        expect(secretDigest("é")).toBe("4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
    });
    it("upserts missing and drifted names, keeps matching ones, removes only managed names still present", () => {
        const remote = new Map([
            ["SAME", secretDigest("1")],
            ["DRIFTED", secretDigest("tampered")],
            ["GONE_BY_US", secretDigest("x")],
            ["NOT_OURS", secretDigest("y")],
            ["SUPABASE_URL", secretDigest("z")],
        ]);
        const plan = planSecrets({ SAME: "1", DRIFTED: "2", NEW: "3" }, ["SAME", "DRIFTED", "GONE_BY_US", "ALREADY_DELETED"], remote);
        expect(plan).toEqual({ upsert: ["DRIFTED", "NEW"], remove: ["GONE_BY_US"], unchanged: ["SAME"] });
    });
    it("accepts upper-case digests", () => {
        const plan = planSecrets({ A: "1" }, [], new Map([["A", secretDigest("1").toUpperCase()]]));
        expect(plan.unchanged).toEqual(["A"]);
    });
    it("rejects reserved and malformed names", () => {
        expect(validateSecrets({ OK_NAME: "v" })).toEqual([]);
        expect(validateSecrets({ SUPABASE_URL: "v", "bad-name": "v", "1X": "v" })).toEqual([
            "secret name 'SUPABASE_URL' must not start with SUPABASE_ (reserved by the platform)",
            "secret name 'bad-name' must be letters, digits and _ (not starting with a digit, max 256)",
            "secret name '1X' must be letters, digits and _ (not starting with a digit, max 256)",
        ]);
    });
});
