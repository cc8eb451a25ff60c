// The program's wiring under mocks: which resources a stack gets from its name and config, and that
// every credential enters them as a secret.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { captureResources, isSecretInput, outputValue } from "../helpers/mocks";

let loads = 0;

async function runProgram(stack: string, config: Record<string, string>, secretKeys: string[] = []) {
    const registered = captureResources(() => ({}), "supabase-dr", stack);
    pulumi.runtime.setAllConfig(config, secretKeys);
    const outputs = await import(`../../index?load=${++loads}`).then((m) => m.default ?? m);
    for (const v of Object.values(outputs)) await outputValue(pulumi.output(v));
    return { registered, outputs };
}

const SECRETS = {
    "supabase-dr:sourceDbUrl": "postgresql://ro:src-pw@prod-db:5432/postgres",
    "supabase-dr:targetDbUrl": "postgresql://postgres:tgt-pw@scratch:5432/postgres",
    "supabase-dr:apiBearerToken": "token-123456",
    "supabase-dr:maskingSalt": "salt-12345678",
    "supabase-dr:supabaseAccessToken": "sbp_access-0001",
};

function drillConfig(drill: Record<string, unknown>, secrets: Record<string, string> = SECRETS) {
    return {
        config: { "supabase-dr:drill": JSON.stringify(drill), ...secrets },
        secretKeys: Object.keys(secrets),
    };
}

const BASE = { env: "staging", id: "20261122101500", artifactsDir: "/tmp/a", startedAt: "2026-11-22T10:15:00Z" };

describe("a drill-* stack", () => {
    it("wires backup → scratch target → restore → validation → masking → smoke → report, with secrets", async () => {
        const { config, secretKeys } = drillConfig({
            ...BASE,
            masking: { rules: { "public.profiles.email": "email" } },
            smoke: { baseUrl: "https://app.example.com", checks: [{ path: "/api/health" }] },
        });
        const { registered, outputs } = await runProgram("drill-staging-20261122101500", config, secretKeys);
        // Registration order is asynchronous; the step order comes from output dependencies (engine tests).
        const types = registered.map((r) => r.type).sort();
        expect(types).toEqual([
            "supabase-dr:drill:RestoreDrill",
            "supabase-dr:index:BackupArtifact",
            "supabase-dr:index:ScratchDatabase",
            "supabase-dr:index:Restore",
            "supabase-dr:index:Validation",
            "supabase-dr:index:Masking",
            "supabase-dr:index:SmokeTest",
            "supabase-dr:index:DrillReport",
        ].sort());
        const byType = (t: string) => registered.find((r) => r.type.endsWith(t))!.inputs;
        expect(isSecretInput(byType(":BackupArtifact").sourceUrl)).toBe(true);
        expect(isSecretInput(byType(":ScratchDatabase").adminUrl)).toBe(true);
        expect(isSecretInput(byType(":Restore").protectedSourceUrl)).toBe(true);
        expect(isSecretInput(byType(":Masking").salt)).toBe(true);
        expect(isSecretInput(byType(":SmokeTest").bearerToken)).toBe(true);
        expect(isSecretInput(byType(":DrillReport").redactValues)).toBe(true);
        // No credential travels in plain text in any registered input.
        const plain = JSON.stringify(registered.map((r) => (r.inputs)), (_k, v) => (isSecretInput(v) ? "[secret]" : v));
        for (const secret of ["src-pw", "tgt-pw", "token-123456", "salt-12345678", "sbp_access-0001"]) expect(plain).not.toContain(secret);
        expect(Object.keys(outputs).sort()).toEqual(["reportJsonPath", "rpoSeconds", "rtoSeconds", "scratchDatabase", "status", "summaryPath"]);
    });

    it("adopting a backup does not dump the source, but still protects it", async () => {
        const { config, secretKeys } = drillConfig({ ...BASE, backupPath: "/backups/dump.sql.gz" });
        const { registered } = await runProgram("drill-staging-20261122101501", config, secretKeys);
        const backup = registered.find((r) => r.type.endsWith(":BackupArtifact"))!.inputs;
        expect(backup.sourceUrl).toBeUndefined();
        expect(backup.backupPath).toBe("/backups/dump.sql.gz");
        expect(isSecretInput(registered.find((r) => r.type.endsWith(":Restore"))!.inputs.protectedSourceUrl)).toBe(true);
        expect(registered.some((r) => r.type.endsWith(":Masking") || r.type.endsWith(":SmokeTest"))).toBe(false);
    });

    it("can target a scratch Supabase project instead, with the access token secret", async () => {
        const { config, secretKeys } = drillConfig({
            ...BASE,
            target: { kind: "supabase-project", organization: "acme", region: "eu-west-2" },
        });
        const { registered } = await runProgram("drill-staging-20261122101506", config, secretKeys);
        expect(registered.some((r) => r.type.endsWith(":ScratchDatabase"))).toBe(false);
        const project = registered.find((r) => r.type === "supabase-dr:index:SupabaseProject")!.inputs;
        expect(isSecretInput(project.accessToken)).toBe(true);
        expect(project.organization).toBe("acme");
        expect(registered.find((r) => r.type.endsWith(":Restore"))!.inputs.requireScratchMarker).toBe(false);
    });

    it("starts its own cluster when neither TARGET_DB_URL nor a target is given", async () => {
        const { "supabase-dr:targetDbUrl": _target, ...secrets } = SECRETS;
        const { config, secretKeys } = drillConfig(BASE, secrets);
        const { registered } = await runProgram("drill-staging-20261122101507", config, secretKeys);
        expect(registered.some((r) => r.type === "supabase-dr:index:ScratchCluster")).toBe(true);
        expect(registered.some((r) => r.type === "supabase-dr:index:ScratchDatabase")).toBe(true);
        expect(registered.find((r) => r.type.endsWith(":Restore"))!.inputs.requireScratchMarker).toBe(true);
    });

    it("rejects bad config naming the key and the expected form, every problem at once", async () => {
        const missingTarget = drillConfig({ ...BASE, target: { kind: "database" } }, { "supabase-dr:sourceDbUrl": SECRETS["supabase-dr:sourceDbUrl"] });
        await expect(runProgram("drill-staging-20261122101502", missingTarget.config, missingTarget.secretKeys)).rejects.toThrow(
            /supabase-dr:targetDbUrl: required for drill\.target kind database/,
        );
        const badRto = drillConfig({ ...BASE, targets: { rtoSeconds: -5 }, restore: { jobs: "many" } });
        const both = String(await runProgram("drill-staging-20261122101503", badRto.config, badRto.secretKeys).catch((e: Error) => e));
        expect(both).toMatch(/supabase-dr:drill\.targets\.rtoSeconds: expected a positive number, got -5/);
        expect(both).toMatch(/supabase-dr:drill\.restore\.jobs: expected a whole number ≥ 1, got "many"/);
        const badUrl = drillConfig(BASE, { ...SECRETS, "supabase-dr:targetDbUrl": "mysql://u:hidden-pw@h/db" });
        const err = await runProgram("drill-staging-20261122101504", badUrl.config, badUrl.secretKeys).catch((e: Error) => e);
        expect(String(err)).toMatch(/supabase-dr:targetDbUrl: the connection string must start with postgresql/);
        expect(String(err)).not.toContain("hidden-pw");
        const neither = drillConfig(BASE, { "supabase-dr:targetDbUrl": SECRETS["supabase-dr:targetDbUrl"] });
        await expect(runProgram("drill-staging-20261122101505", neither.config, neither.secretKeys)).rejects.toThrow(
            /supabase-dr:sourceDbUrl: required unless drill\.backupPath or drill\.vault is set/,
        );
    });
});
