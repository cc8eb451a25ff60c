import { describe, expect, it } from "vitest";
import { describe as describeConn, parseConnectionString, withDatabase } from "../../lib/postgres/connection";

describe("parseConnectionString", () => {
    it("parses host, port, database, user and password", () => {
        const info = parseConnectionString("postgresql://app:p%40ss@db.local:6543/main");
        expect(info).toEqual({ host: "db.local", port: 6543, database: "main", user: "app", password: "p@ss" });
        expect(describeConn(info)).toBe("db.local:6543/main");
    });
    it("defaults the port to 5432", () => {
        expect(parseConnectionString("postgres://u@h/d").port).toBe(5432);
    });
    it("rejects other schemes and missing parts without echoing the password", () => {
        expect(() => parseConnectionString("mysql://u:topsecret@h/d", "SOURCE_DB_URL")).toThrow(/SOURCE_DB_URL must start with postgresql/);
        expect(() => parseConnectionString("postgresql://u:topsecret@h", "SOURCE_DB_URL")).toThrow(/names no database/);
        expect(() => parseConnectionString("not a url topsecret", "SOURCE_DB_URL")).toThrow(/SOURCE_DB_URL is not a valid URI/);
        expect(() => parseConnectionString("not a url topsecret", "SOURCE_DB_URL")).not.toThrow(/topsecret/);
    });
    it("swaps the database keeping credentials", () => {
        expect(withDatabase("postgresql://u:p@h:1/a", "b")).toBe("postgresql://u:p@h:1/b");
    });
});
