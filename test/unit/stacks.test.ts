// The prod and staging programs, built from their real Pulumi.<stack>.yaml under mocks: the full
// graph, and the properties that matter at stack level (immutability, least privilege, secrets).
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { isSecretInput, outputValue, type RegisteredResource } from "../helpers/mocks";

const ROOT = path.resolve(__dirname, "../..");
const ACCOUNT = "123456789012";
const SECRETS: Record<string, string> = {
    "supabase-dr:sourceDbUrl": "postgresql://readonly:src-secret-1@db.abcd.supabase.co:5432/postgres",
    "supabase-dr:targetDbUrl": "postgresql://postgres:tgt-secret-2@scratch.internal:5432/postgres",
    "supabase-dr:supabaseAccessToken": "sbp_token-secret-3",
    "supabase-dr:apiBearerToken": "bearer-secret-4",
    "supabase-dr:maskingSalt": "salt-secret-5",
    "supabase-dr:backendPassphrase": "passphrase-secret-6",
    // The WAL archive's passphrase travels like the others even where the stack file has no
    // supabase-dr:pitr (test/unit/infra.pitr.test.ts builds both stack files with one).
    "supabase-dr:pitrCipherPass": "pitr-cipher-secret-7-0123456789abcdef0123",
};

/** Mock outputs shaped like the real providers' (the policy builders check ARN shapes). */
function outputsFor(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    switch (args.type) {
        case "aws:s3/bucket:Bucket":
            return { bucket: `${args.name}-bucket`, arn: `arn:aws:s3:::${args.name}-bucket` };
        case "aws:kms/key:Key":
            return { arn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`, keyId: "1234abcd-12ab-34cd-56ef-1234567890ab" };
        case "aws:iam/role:Role":
            return { arn: `arn:aws:iam::${ACCOUNT}:role/${args.name}` };
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            return { arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` };
        case "azure-native:storage:StorageAccount": {
            const name = (args.inputs.accountName as string | undefined) ?? "archiveprod1a2b";
            return { name, primaryEndpoints: { blob: `https://${name}.blob.core.windows.net/` } };
        }
        case "azure-native:storage:BlobContainer":
            return { name: args.inputs.containerName ?? args.name };
        case "azure-native:resources:ResourceGroup":
            return { name: args.inputs.resourceGroupName ?? `${args.name}-rg` };
        default:
            return {};
    }
}

function stackConfig(stack: string): Record<string, string> {
    const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

// One mock monitor for the whole file: a program that fails half-way (the config tests) still has
// registrations in flight, and a fresh monitor per build would not know their URNs.
const registered: RegisteredResource[] = [];
pulumi.runtime.setMocks(
    {
        newResource(args) {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}-id`, state: { ...args.inputs, ...outputsFor(args) } };
        },
        call(args) {
            return args.inputs;
        },
    },
    "supabase-dr",
    "infrastructure",
    false,
);

let loads = 0;
async function buildStack(stack: string, overrides: Record<string, unknown> = {}, secrets = SECRETS) {
    registered.length = 0;
    const config = { ...stackConfig(stack), ...secrets };
    for (const [k, v] of Object.entries(overrides)) config[k] = typeof v === "string" ? v : JSON.stringify(v);
    pulumi.runtime.setAllConfig(config, Object.keys(secrets));
    const outputs = await import(`../../index?load=${++loads}`).then((m) => m.default ?? m);
    const resolved: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(outputs)) resolved[k] = await outputValue(pulumi.output(v));
    return { registered: [...registered], outputs: resolved };
}

const of = (rs: RegisteredResource[], type: string) => rs.filter((r) => r.type === type);

describe.each(["prod", "staging"])("the %s stack", (stack) => {
    it("builds the full graph: vault, access, archive, GitHub automation", async () => {
        const { registered, outputs } = await buildStack(stack);
        const types = new Set(registered.map((r) => r.type));
        for (const t of [
            "supabase-dr:aws:BackupVault",
            "supabase-dr:aws:BackupAccess",
            "supabase-dr:azure:ArchiveVault",
            "supabase-dr:github:DrillAutomation",
            "aws:s3/bucket:Bucket",
            "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
            "aws:kms/key:Key",
            "aws:iam/role:Role",
            "azure-native:storage:BlobContainerImmutabilityPolicy",
            "github:index/repositoryEnvironment:RepositoryEnvironment",
            "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret",
        ]) {
            expect(types.has(t), t).toBe(true);
        }
        expect(outputs.environment).toBe(stack);
        expect(outputs.objectLockMode).toBe(stack === "prod" ? "COMPLIANCE" : "GOVERNANCE");
    });

    it("locks objects for the configured days and never lets a secret travel in plain text", async () => {
        const { registered } = await buildStack(stack);
        const lock = of(registered, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")[0].inputs as {
            rule: { defaultRetention: { mode: string; days: number } };
        };
        expect(lock.rule.defaultRetention).toEqual(stack === "prod" ? { mode: "COMPLIANCE", days: 7 } : { mode: "GOVERNANCE", days: 3 });
        const immutability = of(registered, "azure-native:storage:BlobContainerImmutabilityPolicy")[0].inputs;
        expect(immutability.immutabilityPeriodSinceCreationInDays).toBe(stack === "prod" ? 7 : 3);

        const ghSecrets = of(registered, "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
        const names = ghSecrets.map((s) => s.inputs.secretName).sort();
        expect(names).toEqual(expect.arrayContaining(["API_BEARER_TOKEN", "MASKING_SALT", "PITR_CIPHER_PASS", "SOURCE_DB_URL", "SUPABASE_ACCESS_TOKEN", "TARGET_DB_URL"]));
        for (const s of ghSecrets) expect(isSecretInput(s.inputs.value), String(s.inputs.secretName)).toBe(true);
        const everything = JSON.stringify(registered, (_k, v) => (isSecretInput(v) ? "[secret]" : v));
        for (const value of Object.values(SECRETS)) expect(everything).not.toContain(value);
    });
});

describe("GitHub environments", () => {
    it("prod: scheduled jobs in a main-only environment without reviewers, deploys behind reviewers", async () => {
        const { registered } = await buildStack("prod");
        const envs = of(registered, "github:index/repositoryEnvironment:RepositoryEnvironment").map((r) => r.inputs);
        const automation = envs.find((e) => e.environment === "prod-automation")!;
        const deploy = envs.find((e) => e.environment === "prod")!;
        expect(automation.reviewers ?? []).toEqual([]);
        expect(JSON.stringify(deploy.reviewers)).toContain("7340012");
        const deploySecrets = of(registered, "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret").filter((s) => s.inputs.environment === "prod");
        expect(deploySecrets.map((s) => s.inputs.secretName)).toEqual(["PULUMI_CONFIG_PASSPHRASE"]);
    });

    it("gives the quarterly audit the archive's account, container and resource group (its ARM read of the immutability policy)", async () => {
        const { registered } = await buildStack("prod");
        const vars = Object.fromEntries(of(registered, "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable").map((v) => [v.inputs.variableName as string, v.inputs.value]));
        const [group] = of(registered, "azure-native:resources:ResourceGroup");
        expect(vars.AZURE_RESOURCE_GROUP).toBe(`${group.name}-rg`);
        expect(vars.AZURE_STORAGE_ACCOUNT).toBeTruthy();
        expect(vars.AZURE_CONTAINER).toBeTruthy();
    });

    it("prod without the backend passphrase secret fails naming the key", async () => {
        const { ["supabase-dr:backendPassphrase"]: _omit, ...rest } = SECRETS;
        await expect(buildStack("prod", {}, rest)).rejects.toThrow(/supabase-dr:backendPassphrase is required/);
    });
});

describe("config validation", () => {
    it.each([
        [{ "supabase-dr:aws": { objectLockMode: "GOVERNANCE" } }, "prod", /supabase-dr:aws\.objectLockMode: must be COMPLIANCE on prod/],
        [{ "supabase-dr:aws": { retentionDays: 0 } }, "staging", /supabase-dr:aws\.retentionDays: expected a whole number ≥ 1, got 0/],
        [{ "supabase-dr:aws": { retentionDays: 10, dailyRetentionDays: 7 } }, "staging", /aws\.dailyRetentionDays: must be ≥ aws\.retentionDays/],
        [{ "supabase-dr:azure": { location: "westeurope", accountName: "Bad_Name" } }, "staging", /azure\.accountName: expected 3-24 lowercase/],
        [{ "supabase-dr:environment": "PROD!" }, "prod", /supabase-dr:environment: expected a short lowercase name/],
        [{ "supabase-dr:github": { owner: "acme", repository: "supabase-dr" } }, "prod", /github\.reviewers: must name at least one/],
    ])("rejects %j on %s", async (override, stack, message) => {
        await expect(buildStack(stack, override)).rejects.toThrow(message);
    });

    it("rejects a key the stack does not know, naming the one it resembles, before anything is planned", async () => {
        const err = await buildStack("staging", { "supabase-dr:aws": { retentionDays: 7, dailyRetentionDay: 30 } }).catch((e: Error) => e);
        expect(String(err)).toMatch(/supabase-dr:aws: unknown key dailyRetentionDay; did you mean dailyRetentionDays\?/);
        expect(registered).toEqual([]);
        await expect(buildStack("staging", { "supabase-dr:retentionDays": "30" })).rejects.toThrow(/supabase-dr:retentionDays: unknown key retentionDays/);
    });

    it("rejects a malformed connection string secret without echoing it", async () => {
        const bad = { ...SECRETS, "supabase-dr:sourceDbUrl": "mysql://u:leak-me-7@h/db" };
        const err = await buildStack("staging", {}, bad).catch((e: Error) => e);
        expect(String(err)).toMatch(/sourceDbUrl must start with postgresql/);
        expect(String(err)).not.toContain("leak-me-7");
    });
});
