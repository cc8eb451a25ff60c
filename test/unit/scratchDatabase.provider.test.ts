// The scratch-database provider's adapter logic (no server needed) and its registration under mocks.
import { beforeAll, describe, expect, it } from "vitest";
import { scratchDatabaseProvider } from "../../provider/resources/scratchDatabase";
import { captureResources, isSecretInput, outputValue } from "../helpers/mocks";

const ADMIN = "postgresql://postgres:pw@db1:5432/postgres";

describe("scratchDatabaseProvider", () => {
    it("check rejects a malformed adminUrl and a bad prefix, naming the property", async () => {
        const r = await scratchDatabaseProvider.check!({} as never, { adminUrl: "mysql://x", namePrefix: "Bad-Prefix" });
        expect(r.failures?.map((f) => f.property).sort()).toEqual(["adminUrl", "namePrefix"]);
    });

    it("diff replaces when the server or the prefix changes", async () => {
        const olds = { adminUrl: ADMIN, databaseName: "drill_x", ownerToken: "t", connectionString: "", server: "db1:5432" };
        const other = await scratchDatabaseProvider.diff!("id", olds, { adminUrl: "postgresql://postgres:pw@db2:5432/postgres" });
        expect(other.replaces).toEqual(["adminUrl"]);
        const prefix = await scratchDatabaseProvider.diff!("id", olds, { adminUrl: ADMIN, namePrefix: "other" });
        expect(prefix.replaces).toEqual(["namePrefix"]);
    });

    it("diff treats a new password on the same server as an in-place update", async () => {
        const olds = { adminUrl: ADMIN, databaseName: "drill_x", ownerToken: "t", connectionString: "", server: "db1:5432" };
        const r = await scratchDatabaseProvider.diff!("id", olds, { adminUrl: "postgresql://postgres:new@db1:5432/postgres" });
        expect(r).toMatchObject({ changes: true, replaces: [] });
        const same = await scratchDatabaseProvider.diff!("id", olds, { adminUrl: ADMIN });
        expect(same.changes).toBe(false);
    });
});

describe("ScratchDatabase under mocks", () => {
    const registered = captureResources();
    let db: import("../../sdk/scratchDatabase").ScratchDatabase;

    beforeAll(async () => {
        const { ScratchDatabase } = await import("../../sdk/scratchDatabase");
        db = new ScratchDatabase("target", { adminUrl: ADMIN });
        await outputValue(db.urn); // registration is asynchronous
    });

    it("registers a custom resource supabase-dr:index:ScratchDatabase", () => {
        const r = registered.find((x) => x.name === "target");
        expect(r?.type).toBe("supabase-dr:index:ScratchDatabase");
    });

    it("sends the admin URL as a secret, even when given as plain text", () => {
        const r = registered.find((x) => x.name === "target");
        expect(isSecretInput(r?.inputs.adminUrl)).toBe(true);
    });

    it("serializes no code into the inputs (the plugin holds it)", () => {
        const r = registered.find((x) => x.name === "target")!;
        expect(r.inputs).not.toHaveProperty("__provider");
        // Only the declared input is sent (undefined outputs are not inputs).
        expect(Object.keys(r.inputs)).toEqual(["adminUrl"]);
    });
});
