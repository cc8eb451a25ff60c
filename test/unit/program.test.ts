// The program's wiring under mocks: which resources a stack gets from its name and config.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { captureResources, isSecretInput, outputValue } from "../helpers/mocks";

async function runProgram(stack: string, config: Record<string, string>, secretKeys: string[] = []) {
    const registered = captureResources(() => ({}), "supabase-dr", stack);
    pulumi.runtime.setAllConfig(config, secretKeys);
    const outputs = await import(`../../index?stack=${stack}`).then((m) => m.default ?? m);
    for (const v of Object.values(outputs)) await outputValue(v as pulumi.Output<unknown>);
    return { registered, outputs };
}

describe("index.ts", () => {
    it("a drill stack gets a scratch database whose admin URL is a secret", async () => {
        const { registered, outputs } = await runProgram(
            "drill-dev-20261122101500",
            { "supabase-dr:targetAdminUrl": "postgresql://postgres:pw@scratch:5432/postgres" },
            ["supabase-dr:targetAdminUrl"],
        );
        const scratch = registered.filter((r) => r.type === "pulumi-nodejs:dynamic/postgres:ScratchDatabase");
        expect(scratch).toHaveLength(1);
        expect(isSecretInput(scratch[0].inputs.adminUrl)).toBe(true);
        expect(Object.keys(outputs)).toEqual(["scratchDatabase", "targetUrl"]);
    });

    it("a drill stack without targetAdminUrl fails naming the key", async () => {
        await expect(runProgram("drill-dev-20261122101501", {})).rejects.toThrow(/targetAdminUrl/);
    });
});

describe("index.ts on an infrastructure stack", () => {
    it("creates no scratch database on prod", async () => {
        const { registered, outputs } = await runProgram("prod", { "supabase-dr:environment": "prod" });
        expect(registered.filter((r) => r.type.includes("ScratchDatabase"))).toHaveLength(0);
        expect(outputs.environment).toBe("prod");
    });
});
