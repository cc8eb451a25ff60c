// The scratch-database dynamic resource through the real Pulumi engine on a local file backend:
// up creates a real database, destroy drops it, and the stack is removed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScratchDatabase } from "../../sdk/scratchDatabase";
import { scratchDatabaseExists } from "../../lib/postgres/scratchDatabase";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { inlineStack, localBackend, type LocalBackend } from "../../lib/pulumi/engine";

let pg: LocalCluster;
let backend: LocalBackend;

beforeAll(async () => {
    pg = await startLocalCluster();
    backend = localBackend();
});
afterAll(async () => {
    await pg?.stop();
    backend?.cleanup();
});

describe("ScratchDatabase through the engine", () => {
    it("creates the database on up and drops it on destroy", async () => {
        const adminUrl = pg.url();
        const stack = await inlineStack(backend, {
            projectName: "supabase-dr-test",
            stackName: "scratch-db",
            program: async () => {
                const db = new ScratchDatabase("scratch", { adminUrl, namePrefix: "itest" });
                return { databaseName: db.databaseName, connectionString: db.connectionString };
            },
        });
        const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
        const name = up.outputs.databaseName.value as string;
        expect(name).toMatch(/^itest_\d{14}_[0-9a-f]{6}$/);
        expect(up.outputs.connectionString.secret).toBe(true);
        expect(await scratchDatabaseExists(adminUrl, name)).toBe(true);

        await stack.destroy({ onOutput: (s) => process.stdout.write(s) });
        expect(await scratchDatabaseExists(adminUrl, name)).toBe(false);
        await stack.workspace.removeStack("scratch-db");
        expect((await stack.workspace.listStacks()).map((s) => s.name)).not.toContain("scratch-db");
    });
});
