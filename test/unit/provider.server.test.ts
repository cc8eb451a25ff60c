// The supabase-dr provider's dispatch and wire handling, with stand-in adapters: each call goes to the
// adapter of the type in the URN, adapters see plain values, and secrets stay secret on the way back
// (the type's declared secret outputs, and whatever arrived secret).
import { describe, expect, it } from "vitest";
import type { Adapter } from "../../provider/registry";
import { supabaseDrProvider } from "../../provider/server";
import type { ResourceName } from "../../provider/spec";
import { typeOfUrn, unwrapProps, UNKNOWN, wrapProps } from "../../provider/wire";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";
const OUTPUT_VALUE = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const secret = (value: unknown) => ({ [SIG]: SECRET, value });
const urn = (type: string, name = "r") => `urn:pulumi:drill-x::supabase-dr::supabase-dr:drill:RestoreDrill$${type}::${name}`;

describe("wire", () => {
    it("unwraps secrets and output values, and names the top-level properties that held a secret", () => {
        const { props, secretKeys } = unwrapProps({
            url: secret("postgresql://u:pw@h/db"),
            list: ["a", secret("b")],
            nested: { inner: { deep: secret(1) } },
            out: { [SIG]: OUTPUT_VALUE, value: "v", secret: true },
            pending: { [SIG]: OUTPUT_VALUE },
            plain: "x",
        });
        expect(props).toEqual({ url: "postgresql://u:pw@h/db", list: ["a", "b"], nested: { inner: { deep: 1 } }, out: "v", pending: UNKNOWN, plain: "x" });
        expect([...secretKeys].sort()).toEqual(["list", "nested", "out", "url"]);
    });

    it("wraps the named properties as secrets and drops undefined members, which a protobuf Struct cannot hold", () => {
        expect(wrapProps({ a: "1", b: undefined, c: { d: undefined, e: [undefined, 2] }, s: "pw" }, ["s", "b"])).toEqual({
            a: "1",
            c: { e: [null, 2] },
            s: secret("pw"),
        });
    });

    it("reads the type from a URN, nested under a component or not", () => {
        expect(typeOfUrn(urn("supabase-dr:index:Restore"))).toBe("supabase-dr:index:Restore");
        expect(typeOfUrn("urn:pulumi:s::p::supabase-dr:index:ScratchCluster::c")).toBe("supabase-dr:index:ScratchCluster");
        expect(() => typeOfUrn("not-a-urn")).toThrow("malformed resource URN: not-a-urn");
    });
});

describe("supabaseDrProvider", () => {
    const seen: Record<string, unknown>[] = [];
    const scratchDatabase: Adapter = {
        async check(_olds, news) {
            seen.push(news);
            return news.namePrefix === "Bad" ? { inputs: news, failures: [{ property: "namePrefix", reason: "lowercase only" }] } : { inputs: news };
        },
        async create(inputs) {
            seen.push(inputs);
            return { id: "db1", outs: { ...inputs, connectionString: "postgresql://o:pw@h/db1", ownerToken: "t", databaseName: "db1", missing: undefined } };
        },
        async read(id, props) {
            return props?.databaseName === "gone" ? { id: "", props } : { id, props };
        },
        async diff(_id, olds, news) {
            return { changes: olds.adminUrl !== news.adminUrl, replaces: [] };
        },
    };
    const adapters = { ScratchDatabase: async () => scratchDatabase } as unknown as Record<ResourceName, () => Promise<Adapter>>;
    const provider = supabaseDrProvider("9.9.9", adapters);
    const db = urn("supabase-dr:index:ScratchDatabase");

    it("reports its version to the engine", () => {
        expect(provider.version).toBe("9.9.9");
    });

    it("create: the adapter sees plain inputs; declared and incoming secrets go back wrapped", async () => {
        const r = await provider.create!(db, { adminUrl: secret("postgresql://a:pw@h/postgres"), namePrefix: "drill" });
        expect(seen.at(-1)).toEqual({ adminUrl: "postgresql://a:pw@h/postgres", namePrefix: "drill" });
        expect(r.id).toBe("db1");
        expect(r.outs).toEqual({
            adminUrl: secret("postgresql://a:pw@h/postgres"),
            namePrefix: "drill",
            connectionString: secret("postgresql://o:pw@h/db1"),
            ownerToken: secret("t"),
            databaseName: "db1",
        });
    });

    it("check: returns the inputs as they came (secrets still wrapped) and the adapter's failures", async () => {
        const news = { adminUrl: secret("postgresql://a:pw@h/postgres"), namePrefix: "Bad" };
        const r = await provider.check!(db, {}, news);
        expect(r.inputs).toBe(news);
        expect(r.failures).toEqual([{ property: "namePrefix", reason: "lowercase only" }]);
    });

    it("diff and read go to the adapter with plain values; an empty id from read means gone", async () => {
        const d = await provider.diff!("db1", db, { adminUrl: secret("a") }, { adminUrl: secret("b") });
        expect(d.changes).toBe(true);
        const gone = await provider.read!("db1", db, { databaseName: "gone", connectionString: secret("x") });
        expect(gone.id).toBe("");
        const kept = await provider.read!("db1", db, { databaseName: "db1", connectionString: secret("x") });
        expect(kept).toEqual({ id: "db1", props: { databaseName: "db1", connectionString: secret("x") } });
    });

    it("update and delete fall back to the engine's defaults when the adapter has none", async () => {
        const u = await provider.update!("db1", db, { adminUrl: secret("a"), databaseName: "db1" }, { adminUrl: secret("b"), databaseName: "db1" });
        expect(u.outs).toEqual({ adminUrl: secret("b"), databaseName: "db1" });
        await expect(provider.delete!("db1", db, {})).resolves.toBeUndefined();
    });

    it("refuses a type it does not serve, naming it and its own version", async () => {
        await expect(provider.create!(urn("supabase-dr:index:Nope"), {})).rejects.toThrow("the supabase-dr provider v9.9.9 has no resource type supabase-dr:index:Nope");
        await expect(provider.create!(urn("other:index:ScratchDatabase"), {})).rejects.toThrow("has no resource type other:index:ScratchDatabase");
        // A name inherited from Object.prototype is not a resource type either.
        await expect(provider.create!(urn("supabase-dr:index:toString"), {})).rejects.toThrow("has no resource type supabase-dr:index:toString");
    });

    it("serves every resource type of the package from the real registry", async () => {
        const { ADAPTERS } = await import("../../provider/registry");
        const { RESOURCE_SECRETS } = await import("../../provider/spec");
        expect(Object.keys(ADAPTERS).sort()).toEqual(Object.keys(RESOURCE_SECRETS).sort());
        for (const load of Object.values(ADAPTERS)) expect(typeof (await load()).create).toBe("function");
    });
});
