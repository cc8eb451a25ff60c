// The Supabase resources' adapters: check/diff (no server needed) and their registration under mocks:
// type tokens, secret inputs and outputs, and the small serialized forwarder.
import { beforeAll, describe, expect, it } from "vitest";
import { supabaseProjectProvider } from "../../provider/resources/supabaseProject";
import { supabaseSecretsProvider } from "../../provider/resources/supabaseSecrets";
import { captureResources, isSecretInput, outputValue } from "../helpers/mocks";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const BASE = { accessToken: "sbp_old", organization: "acme-ops", region: "eu-central-1", instanceSize: "micro" };
const STATE = {
    ...BASE,
    ref: "abcdefghijklmnopqrst",
    name: "drill-20250101000000-abcdef",
    apiUrl: "",
    poolerUrl: "",
    directUrl: "",
    connectionString: "",
    databaseName: "postgres",
    dbPassword: "pw",
    anonKey: "a",
    serviceRoleKey: "s",
};

describe("supabaseProjectProvider", () => {
    it("check names every bad property, in the Args' units", async () => {
        const r = await supabaseProjectProvider.check!({} as never, {
            accessToken: "",
            organization: "acme ops",
            region: "mars-1",
            instanceSize: "huge",
            readyTimeoutSeconds: -1,
        });
        expect(r.failures?.map((f) => f.property)).toEqual(["accessToken", "organization", "region", "instanceSize", "readyTimeoutSeconds"]);
    });

    it("check lets values unknown at preview through", async () => {
        const r = await supabaseProjectProvider.check!({} as never, { ...BASE, organization: UNKNOWN });
        expect(r.failures).toEqual([]);
    });

    it("diff replaces on organization, region and instance size; delete first", async () => {
        for (const [key, value] of [["organization", "other-org"], ["region", "us-east-1"], ["instanceSize", "small"]] as const) {
            const r = await supabaseProjectProvider.diff!("ref", STATE, { ...BASE, [key]: value });
            expect(r).toEqual({ changes: true, replaces: [key], deleteBeforeReplace: true });
        }
    });

    it("diff treats a new access token as an in-place update, and defaults as no change", async () => {
        const token = await supabaseProjectProvider.diff!("ref", STATE, { ...BASE, accessToken: "sbp_new" });
        expect(token).toMatchObject({ changes: true, replaces: [] });
        const same = await supabaseProjectProvider.diff!("ref", STATE, { ...BASE, namePrefix: "drill", apiBaseUrl: "https://api.supabase.com/" });
        expect(same).toMatchObject({ changes: false, replaces: [] });
    });

    it("update keeps the project and stores the new token", async () => {
        const r = await supabaseProjectProvider.update!("ref", STATE, { ...BASE, accessToken: "sbp_new" });
        expect(r.outs).toMatchObject({ ref: STATE.ref, name: STATE.name, dbPassword: "pw", accessToken: "sbp_new" });
    });
});

describe("supabaseSecretsProvider", () => {
    const ref = "abcdefghijklmnopqrst";
    it("check rejects a malformed ref and reserved names but accepts an unknown ref", async () => {
        const bad = await supabaseSecretsProvider.check!({} as never, { ref: "prod", accessToken: "t", secrets: { SUPABASE_X: "v" } });
        expect(bad.failures?.map((f) => f.property)).toEqual(["ref", "secrets"]);
        const unknown = await supabaseSecretsProvider.check!({} as never, { ref: UNKNOWN, accessToken: "t", secrets: { A: "v" } });
        expect(unknown.failures).toEqual([]);
    });
    it("diff replaces when the project changes, without calling the API", async () => {
        const olds = { ref, accessToken: "t", secrets: { A: "1" }, names: ["A"] };
        expect(await supabaseSecretsProvider.diff!("id", olds, { ref: "zyxwvutsrqponmlkjihg", accessToken: "t", secrets: { A: "1" } })).toEqual({
            changes: true,
            replaces: ["ref"],
        });
        expect(await supabaseSecretsProvider.diff!("id", olds, { ref: UNKNOWN, accessToken: "t", secrets: { A: "1" } })).toMatchObject({
            replaces: ["ref"],
        });
    });
});

describe("Supabase resources under mocks", () => {
    const registered = captureResources();

    beforeAll(async () => {
        const { SupabaseProject } = await import("../../sdk/supabaseProject");
        const { SupabaseProjectSecrets } = await import("../../sdk/supabaseSecrets");
        const project = new SupabaseProject("scratch", { accessToken: "sbp_plain", organization: "acme-ops", region: "eu-central-1" });
        const secrets = new SupabaseProjectSecrets("fn-secrets", { ref: project.ref, accessToken: "sbp_plain", secrets: { API_KEY: "v" } });
        await outputValue(project.urn);
        await outputValue(secrets.urn);
    });

    it("registers custom resources of the supabase-dr package", () => {
        expect(registered.find((r) => r.name === "scratch")?.type).toBe("supabase-dr:index:SupabaseProject");
        expect(registered.find((r) => r.name === "fn-secrets")?.type).toBe("supabase-dr:index:SupabaseProjectSecrets");
    });

    it("sends the access token and secret values as secrets, even when given as plain text", () => {
        const project = registered.find((r) => r.name === "scratch");
        expect(isSecretInput(project?.inputs.accessToken)).toBe(true);
        const secrets = registered.find((r) => r.name === "fn-secrets");
        expect(isSecretInput(secrets?.inputs.accessToken)).toBe(true);
        expect(isSecretInput(secrets?.inputs.secrets)).toBe(true);
    });

    it("serializes no code into the inputs (the plugin holds it)", () => {
        for (const name of ["scratch", "fn-secrets"]) {
            const inputs = registered.find((r) => r.name === name)!.inputs;
            expect(inputs).not.toHaveProperty("__provider");
            expect(JSON.stringify(inputs)).not.toMatch(/exports\.handler|__vite_ssr_import|require\(/);
        }
    });
});
