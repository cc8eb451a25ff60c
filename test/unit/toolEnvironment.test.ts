import { describe, expect, it } from "vitest";
import { SECRET_ENVIRONMENT_VARIABLES, toolEnvironment } from "../../lib/toolEnvironment";

describe("toolEnvironment", () => {
    const base = {
        PATH: "/usr/bin",
        PULUMI_CONFIG: '{"supabase-dr:maskingSalt":"salt-value"}',
        PULUMI_CONFIG_PASSPHRASE: "passphrase",
        SOURCE_DB_URL: "postgresql://postgres:pw@db/postgres",
        MASKING_SALT: "salt-value",
        LANG: "C.UTF-8",
    };

    it("keeps what a tool needs and drops every secret variable", () => {
        const env = toolEnvironment({}, base);
        expect(env).toEqual({ PATH: "/usr/bin", LANG: "C.UTF-8" });
        for (const name of SECRET_ENVIRONMENT_VARIABLES) expect(env).not.toHaveProperty(name);
    });

    it("lays the caller's own secret over it, and skips undefined values", () => {
        const env = toolEnvironment({ PGPASSWORD: "pw", PGCLIENTENCODING: undefined }, base);
        expect(env.PGPASSWORD).toBe("pw");
        expect(env).not.toHaveProperty("PGCLIENTENCODING");
        expect(JSON.stringify(env)).not.toContain("salt-value");
    });

    it("never changes the environment it copies", () => {
        const copy = { ...base };
        toolEnvironment({ PGPASSWORD: "pw" }, copy);
        expect(copy).toEqual(base);
    });
});
