// Upgrading a checkout that holds stacks of the previous code (dynamic resources, whose serialized
// forwarder loads dynamic/<name>.ts of that checkout by absolute path): a drill kept with --keep by the
// code before the provider package, the checkout then upgraded in place to this code, and
// `npm run drill -- --cleanup <stack>` from it. The legacy modules still export the adapters, so the
// old stack is destroyed and its cluster dropped.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT } from "../../lib/drill/run";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { checkoutAt, keptStackName, runDrillCommand, upgradeCheckout } from "../helpers/checkouts";
import { createSampleData } from "../helpers/sampleData";

/** The last commit whose drill resources were dynamic resources (before the supabase-dr provider package). */
const DYNAMIC_PROVIDER_COMMIT = "bae13eb";

interface StateResource {
    type: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

describe("a stack of dynamic resources, after its checkout is upgraded", () => {
    let pg: LocalCluster;
    let root: string;
    let checkout: string;
    let env: Record<string, string>;

    beforeAll(async () => {
        pg = await startLocalCluster();
        await withClient(pg.url(), "admin", (c) => c.query("create database app"));
        await createSampleData(pg.url("app"), 200);
        root = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-legacy-"));
        checkout = path.join(root, "app");
        checkoutAt(DYNAMIC_PROVIDER_COMMIT, checkout);
        env = {
            PULUMI_BACKEND_URL: `file://${path.join(root, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "legacy-state-test-passphrase",
            SUPABASE_DR_PLUGINS_DIR: path.join(root, "plugins"),
        };
    }, 600_000);

    afterAll(async () => {
        await pg?.stop();
        if (root) fs.rmSync(root, { recursive: true, force: true });
    });

    it("is destroyed by --cleanup of the upgraded checkout, its cluster dropped", async () => {
        const work = path.join(root, "work");
        fs.mkdirSync(work);
        const kept = await runDrillCommand(checkout, ["--env", "legacy", "--keep", "--backup-dir", path.join(root, "artifacts")], { ...env, SOURCE_DB_URL: pg.url("app") }, work);
        expect(kept.code, kept.stdout + kept.stderr).toBe(0);
        const stackName = keptStackName(kept.stdout);

        // Really the old kind of state: dynamic resources carrying the forwarder into this checkout.
        const stateFile = path.join(root, "state", ".pulumi", "stacks", PROJECT, `${stackName}.json`);
        const resources = (JSON.parse(fs.readFileSync(stateFile, "utf8")) as { checkpoint: { latest: { resources: StateResource[] } } }).checkpoint.latest.resources;
        const cluster = resources.find((r) => r.type === "pulumi-nodejs:dynamic/postgres:ScratchCluster");
        expect(cluster, resources.map((r) => r.type).join(", ")).toBeDefined();
        expect(String(cluster!.inputs?.__provider)).toContain(path.join(checkout, "dynamic", "scratchCluster.ts"));
        const clusterDir = cluster!.outputs?.rootDir as string;
        expect(fs.existsSync(clusterDir)).toBe(true);

        upgradeCheckout(checkout);
        expect(fs.existsSync(path.join(checkout, "provider", "server.ts"))).toBe(true);

        const cleaned = await runDrillCommand(checkout, ["--cleanup", stackName], env, work);
        expect(cleaned.code, cleaned.stdout + cleaned.stderr).toBe(0);
        expect(cleaned.stdout).toContain(`removed ${stackName}`);
        expect(fs.existsSync(clusterDir)).toBe(false);
        expect(fs.existsSync(stateFile)).toBe(false);
    }, 900_000);
});
