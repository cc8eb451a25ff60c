// ArchiveVault under Pulumi mocks (the properties runbook 004 relies on: immutability, privacy,
// versioning, retention), its validation, and the lock provider against a local ARM stand-in.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ArchiveVault as ArchiveVaultType, ArchiveVaultArgs } from "../../components/ArchiveVault";
import { isSecretInput, outputValue, type RegisteredResource } from "../helpers/mocks";

const ARM_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOi-fake-arm-token";
const POLICY_TYPE = "azure-native:storage:BlobContainerImmutabilityPolicy";
const LOCK_TYPE = "supabase-dr:index:ImmutabilityPolicyLock";
const policyArmId = (name: string): string =>
    `/subscriptions/0000/resourceGroups/rg-${name}/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/supabase-backups/immutabilityPolicies/default`;

// Like test/helpers/mocks.ts's captureResources, plus a token for azure-native's getClientToken invoke,
// the Locked state a successful lock reports, and ARM-shaped ids for policies.
const registered: RegisteredResource[] = [];
const calls: string[] = [];
pulumi.runtime.setMocks(
    {
        newResource(args) {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs });
            const extra: Record<string, unknown> = {};
            if (args.type === LOCK_TYPE) extra.state = "Locked";
            if (args.type === "azure-native:storage:StorageAccount") {
                extra.name = args.inputs.accountName ?? `${args.name}1a2b3c4d`;
                extra.primaryEndpoints = { blob: `https://${extra.name}.blob.core.windows.net/` };
            }
            if (args.type === "azure-native:storage:BlobContainer") extra.name = args.inputs.containerName;
            if (args.type === "azure-native:resources:ResourceGroup") extra.name = `${args.name}-0f1e2d3c`;
            const id = args.type === POLICY_TYPE ? policyArmId(args.name) : `${args.name}-id`;
            return { id, state: { ...args.inputs, ...extra } };
        },
        call(args) {
            calls.push(args.token);
            return args.token === "azure-native:authorization:getClientToken" ? { token: ARM_TOKEN } : args.inputs;
        },
    },
    "supabase-dr",
    "test",
    false,
);

interface Built {
    vault: ArchiveVaultType;
    resources: RegisteredResource[];
    protectedNames: Set<string>;
}

async function build(name: string, args: ArchiveVaultArgs): Promise<Built> {
    const { ArchiveVault } = await import("../../components/ArchiveVault");
    const protectedNames = new Set<string>();
    const vault = new ArchiveVault(name, args, {
        // Legacy transformations run in-process, so they see every child's resolved options.
        transformations: [(t) => {
            if (t.opts.protect) protectedNames.add(t.name);
            return undefined;
        }],
    });
    await outputValue(vault.urn);
    await outputValue(pulumi.all([vault.immutabilityLocked, vault.primaryBlobEndpoint, vault.containerName]));
    // Children register asynchronously: wait until the lifecycle policy (registered last but one) is in.
    for (let i = 0; i < 50 && !registered.some((r) => r.name === `${name}-lifecycle`); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 50));
    const resources = registered.filter((r) => r.name.startsWith(name) || r.name.startsWith(name.replace(/[^a-z0-9]/g, "")));
    return { vault, resources, protectedNames };
}

function one(b: Built, type: string): RegisteredResource {
    const found = b.resources.filter((r) => r.type === type);
    expect(found, type).toHaveLength(1);
    return found[0];
}

interface Rule {
    name: string;
    definition: {
        filters: { blobTypes: string[]; prefixMatch: string[] };
        actions: {
            baseBlob?: Record<string, { daysAfterCreationGreaterThan: number }>;
            version?: Record<string, { daysAfterCreationGreaterThan: number }>;
        };
    };
}

function rules(b: Built): Rule[] {
    return (one(b, "azure-native:storage:ManagementPolicy").inputs.policy as { rules: Rule[] }).rules;
}

describe("ArchiveVault for prod (defaults)", () => {
    let b: Built;
    beforeAll(async () => {
        b = await build("archive-prod", { environment: "prod", location: "westeurope", tags: { project: "supabase-dr" } });
    });

    it("creates a resource group when none is given", () => {
        const rg = one(b, "azure-native:resources:ResourceGroup");
        expect(rg.inputs.location).toBe("westeurope");
    });

    it("makes a StorageV2 GRS account: HTTPS only, TLS 1.2, no public blobs, no shared keys", () => {
        const a = one(b, "azure-native:storage:StorageAccount").inputs;
        expect(a).toMatchObject({
            kind: "StorageV2",
            sku: { name: "Standard_GRS" },
            enableHttpsTrafficOnly: true,
            minimumTlsVersion: "TLS1_2",
            allowBlobPublicAccess: false,
            allowSharedKeyAccess: false,
            defaultToOAuthAuthentication: true,
            allowCrossTenantReplication: false,
            location: "westeurope",
        });
        expect(a.resourceGroupName).toBe("archive-prod-rg-0f1e2d3c");
        expect(a.tags).toMatchObject({ project: "supabase-dr", environment: "prod" });
        // No name given: Pulumi generates one from a logical name Azure accepts (lowercase alphanumerics).
        expect(a.accountName).toBeUndefined();
        expect(one(b, "azure-native:storage:StorageAccount").name).toMatch(/^[a-z0-9]{3,16}$/);
    });

    it("turns on blob versioning and soft delete for blobs and containers", () => {
        const s = one(b, "azure-native:storage:BlobServiceProperties").inputs;
        expect(s.isVersioningEnabled).toBe(true);
        expect(s.blobServicesName).toBe("default");
        expect(s.deleteRetentionPolicy).toEqual({ enabled: true, days: 7 });
        expect(s.containerDeleteRetentionPolicy).toEqual({ enabled: true, days: 7 });
    });

    it("makes a private container named supabase-backups", () => {
        const c = one(b, "azure-native:storage:BlobContainer").inputs;
        expect(c).toMatchObject({ containerName: "supabase-backups", publicAccess: "None" });
    });

    it("sets a 7-day time-based immutability policy without protected append writes", () => {
        const p = one(b, POLICY_TYPE).inputs;
        expect(p).toMatchObject({
            containerName: "supabase-backups",
            immutabilityPolicyName: "default",
            immutabilityPeriodSinceCreationInDays: 7,
            allowProtectedAppendWrites: false,
        });
    });

    it("does not lock the policy, and reports it unlocked", async () => {
        expect(b.resources.filter((r) => r.type === LOCK_TYPE)).toHaveLength(0);
        expect(await outputValue(b.vault.immutabilityLocked)).toBe(false);
    });

    it("expires daily backups after 7 days, archives monthly ones for 12 months, expires old versions", () => {
        const byName = Object.fromEntries(rules(b).map((r) => [r.name, r.definition]));
        expect(Object.keys(byName).sort()).toEqual(["daily-backups-expire", "monthly-archives", "old-versions-expire"]);
        expect(byName["daily-backups-expire"].filters).toEqual({
            blobTypes: ["blockBlob"],
            prefixMatch: ["supabase-backups/db/prod/", "supabase-backups/storage/prod/"],
        });
        expect(byName["daily-backups-expire"].actions).toEqual({ baseBlob: { delete: { daysAfterCreationGreaterThan: 7 } } });
        expect(byName["monthly-archives"].filters.prefixMatch).toEqual(["supabase-backups/monthly/"]);
        expect(byName["monthly-archives"].actions.baseBlob).toEqual({
            tierToArchive: { daysAfterCreationGreaterThan: 1 },
            delete: { daysAfterCreationGreaterThan: 12 * 31 },
        });
        expect(byName["old-versions-expire"].actions).toEqual({ version: { delete: { daysAfterCreationGreaterThan: 8 } } });
    });

    it("protects the resource group, account, container and policy in prod", () => {
        const names = [...b.protectedNames];
        const byType = (type: string) => one(b, type).name;
        for (const type of ["azure-native:resources:ResourceGroup", "azure-native:storage:StorageAccount",
            "azure-native:storage:BlobContainer", POLICY_TYPE]) {
            expect(names).toContain(byType(type));
        }
    });

    it("outputs names, endpoint and immutability days", async () => {
        expect(await outputValue(b.vault.containerName)).toBe("supabase-backups");
        expect(await outputValue(b.vault.immutabilityDays)).toBe(7);
        expect(await outputValue(b.vault.resourceGroupName)).toBe("archive-prod-rg-0f1e2d3c");
        const account = await outputValue(b.vault.storageAccountName);
        expect(account).toMatch(/^[a-z0-9]{3,24}$/);
        expect(await outputValue(b.vault.primaryBlobEndpoint)).toBe(`https://${account}.blob.core.windows.net/`);
    });
});

describe("ArchiveVault for staging (custom values, explicit lock)", () => {
    let b: Built;
    beforeAll(async () => {
        b = await build("archive-staging", {
            environment: "staging",
            location: "northeurope",
            resourceGroupName: "rg-backups-staging",
            accountName: "sdrstagingarchive01",
            containerName: "staging-backups",
            immutabilityDays: 14,
            dailyRetentionDays: 30,
            monthlyArchiveMonths: 6,
            lockImmutabilityPolicy: true,
        });
    });

    it("uses the given resource group and account name", () => {
        expect(b.resources.filter((r) => r.type === "azure-native:resources:ResourceGroup")).toHaveLength(0);
        const a = one(b, "azure-native:storage:StorageAccount").inputs;
        expect(a).toMatchObject({ resourceGroupName: "rg-backups-staging", accountName: "sdrstagingarchive01" });
    });

    it("applies the custom immutability period and stretches soft delete to cover it", () => {
        expect(one(b, POLICY_TYPE).inputs.immutabilityPeriodSinceCreationInDays).toBe(14);
        expect(one(b, "azure-native:storage:BlobServiceProperties").inputs.deleteRetentionPolicy).toEqual({ enabled: true, days: 14 });
    });

    it("uses the staging prefixes and retention in the lifecycle rules", () => {
        const [daily, monthly, versions] = rules(b);
        expect(daily.definition.filters.prefixMatch).toEqual(["staging-backups/db/staging/", "staging-backups/storage/staging/"]);
        expect(daily.definition.actions.baseBlob?.delete.daysAfterCreationGreaterThan).toBe(30);
        expect(monthly.definition.actions.baseBlob?.delete.daysAfterCreationGreaterThan).toBe(6 * 31);
        expect(versions.definition.actions.version?.delete.daysAfterCreationGreaterThan).toBe(31);
    });

    it("locks only because it was asked to: one lock resource on the policy's ARM id", () => {
        const lock = one(b, LOCK_TYPE).inputs;
        expect(lock.policyId).toBe(policyArmId(one(b, POLICY_TYPE).name));
        expect(calls).toContain("azure-native:authorization:getClientToken");
    });

    it("passes the ARM token only as a secret, never in plain text", () => {
        const lock = one(b, LOCK_TYPE).inputs;
        expect(isSecretInput(lock.token)).toBe(true);
        const plain = registered.filter((r) => r !== undefined).map((r) => {
            const copy = { ...r.inputs };
            if (isSecretInput(copy.token)) delete copy.token;
            return JSON.stringify(copy);
        });
        expect(plain.join("\n")).not.toContain(ARM_TOKEN);
    });

    it("reports the lock state from the lock resource", async () => {
        expect(await outputValue(b.vault.immutabilityLocked)).toBe(true);
    });

    it("does not protect staging resources by default", () => {
        expect(b.protectedNames.size).toBe(0);
    });
});

describe("ArchiveVault argument validation", () => {
    const base: ArchiveVaultArgs = { environment: "staging", location: "westeurope" };
    let ArchiveVault: typeof ArchiveVaultType;
    beforeAll(async () => {
        ({ ArchiveVault } = await import("../../components/ArchiveVault"));
    });
    const make = (args: Partial<ArchiveVaultArgs>) => () => new ArchiveVault(`bad-${Math.random().toString(36).slice(2, 8)}`, { ...base, ...args });

    it("rejects an immutability period of 0 or a fraction of a day", () => {
        expect(make({ immutabilityDays: 0 })).toThrow("ArchiveVault immutabilityDays must be a whole number of days between 1 and 146000 (got 0)");
        expect(make({ immutabilityDays: 1.5 })).toThrow(/immutabilityDays .*\(got 1\.5\)/);
    });

    it("rejects account names Azure would refuse", () => {
        expect(make({ accountName: "Bad_Name" })).toThrow('ArchiveVault accountName must be 3-24 lowercase letters and digits (got "Bad_Name")');
        expect(make({ accountName: "ab" })).toThrow(/accountName/);
        expect(make({ accountName: "a".repeat(25) })).toThrow(/accountName/);
    });

    it("rejects daily retention shorter than the immutability period", () => {
        expect(make({ immutabilityDays: 14, dailyRetentionDays: 7 })).toThrow(
            "ArchiveVault dailyRetentionDays must be ≥ immutabilityDays (14): blobs cannot be deleted while immutable (got 7)");
    });

    it("rejects bad container names, environments, months and resource group names", () => {
        expect(make({ containerName: "Backups" })).toThrow(/containerName/);
        expect(make({ containerName: "a--b" })).toThrow(/containerName/);
        expect(make({ environment: "Prod/1" })).toThrow(/environment must be/);
        expect(make({ monthlyArchiveMonths: 0 })).toThrow(/monthlyArchiveMonths must be a whole number of months/);
        expect(make({ resourceGroupName: "rg." })).toThrow(/resourceGroupName/);
    });

    it("accepts names it cannot check yet (outputs) without complaint", () => {
        expect(make({ accountName: pulumi.output("Whatever"), resourceGroupName: pulumi.output("x.") })).not.toThrow();
    });
});

describe("immutabilityPolicyLockProvider against a local ARM stand-in", () => {
    const policyId = policyArmId("lock");
    let server: http.Server;
    let endpoint = "";
    let state = "Unlocked";
    let lockStatus = 200;
    const seen: { method: string; url: string; ifMatch?: string; auth?: string }[] = [];

    beforeAll(async () => {
        server = http.createServer((req, res) => {
            seen.push({ method: req.method ?? "", url: req.url ?? "", ifMatch: req.headers["if-match"] as string | undefined, auth: req.headers.authorization });
            res.setHeader("content-type", "application/json");
            if (req.method === "GET" && req.url === `${policyId}?api-version=2024-01-01`) {
                res.end(JSON.stringify({ id: policyId, etag: "\"8d9f00aa\"", properties: { state, immutabilityPeriodSinceCreationInDays: 7 } }));
            } else if (req.method === "POST" && req.url === `${policyId}/lock?api-version=2024-01-01`) {
                if (lockStatus !== 200) {
                    res.statusCode = lockStatus;
                    res.end(JSON.stringify({ error: { code: "ConditionNotMet", message: `precondition failed for ${ARM_TOKEN}` } }));
                    return;
                }
                state = "Locked";
                res.end(JSON.stringify({ id: policyId, etag: "\"8d9f00bb\"", properties: { state } }));
            } else {
                res.statusCode = 404;
                res.end(JSON.stringify({ error: { code: "NotFound", message: req.url } }));
            }
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
        await new Promise((resolve) => server.close(resolve));
    });

    it("reads the etag, then locks with If-Match and the bearer token", async () => {
        const { immutabilityPolicyLockProvider: p } = await import("../../provider/resources/immutabilityPolicyLock");
        seen.length = 0;
        state = "Unlocked";
        const r = await p.create({ policyId, token: ARM_TOKEN, armEndpoint: endpoint });
        expect(r.id).toBe(policyId);
        expect(r.outs?.state).toBe("Locked");
        expect(JSON.stringify(r.outs)).not.toContain(ARM_TOKEN);
        expect(seen.map((s) => s.method)).toEqual(["GET", "POST"]);
        expect(seen[1]).toMatchObject({ ifMatch: "\"8d9f00aa\"", auth: `Bearer ${ARM_TOKEN}` });
    });

    it("adopts a policy that is already locked without calling lock again", async () => {
        const { immutabilityPolicyLockProvider: p } = await import("../../provider/resources/immutabilityPolicyLock");
        seen.length = 0;
        state = "Locked";
        const r = await p.create({ policyId, token: ARM_TOKEN, armEndpoint: endpoint });
        expect(r.outs?.state).toBe("Locked");
        expect(seen.map((s) => s.method)).toEqual(["GET"]);
    });

    it("fails with the ARM error and a hint, without echoing the token", async () => {
        const { immutabilityPolicyLockProvider: p } = await import("../../provider/resources/immutabilityPolicyLock");
        state = "Unlocked";
        lockStatus = 412;
        try {
            await expect(p.create({ policyId, token: ARM_TOKEN, armEndpoint: endpoint })).rejects.toThrow(
                /HTTP 412 ConditionNotMet: precondition failed for \[redacted\] \(the policy changed while locking; run `pulumi refresh`/);
        } finally {
            lockStatus = 200;
        }
        expect(state).toBe("Unlocked");
    });

    it("check names a bad policy id and a missing token", async () => {
        const { immutabilityPolicyLockProvider: p } = await import("../../provider/resources/immutabilityPolicyLock");
        const r = await p.check!({} as never, { policyId: "/subscriptions/x/whatever", token: "" });
        expect(r.failures?.map((f) => f.property).sort()).toEqual(["policyId", "token"]);
        const ok = await p.check!({} as never, { policyId, token: ARM_TOKEN });
        expect(ok.failures).toEqual([]);
    });

    it("diff ignores a fresh token but replaces for another policy; delete never calls Azure", async () => {
        const { immutabilityPolicyLockProvider: p } = await import("../../provider/resources/immutabilityPolicyLock");
        const olds = { policyId, state: "Locked", lockedAt: "2025-01-01T00:00:00Z" };
        expect(await p.diff!(policyId, olds as never, { policyId, token: "new-token" })).toMatchObject({ changes: false, replaces: [] });
        const other = policyId.replace("acct", "acct2");
        expect(await p.diff!(policyId, olds as never, { policyId: other, token: "t" })).toMatchObject({ changes: true, replaces: ["policyId"] });
        seen.length = 0;
        await p.delete!(policyId, olds as never);
        expect(seen).toHaveLength(0);
    });
});
