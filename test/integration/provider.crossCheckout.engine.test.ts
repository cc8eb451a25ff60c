// State that outlives its checkout (issue 10): a drill kept with --keep from one clone of the repository,
// that clone deleted, then `npm run drill -- --cleanup <stack>` from another checkout on the same
// backend. The resources are custom resources of the supabase-dr provider package, served by the plugin
// installed outside any checkout, so the cleanup succeeds and drops the drill's own cluster. The kept
// stack's state holds no path of either checkout and no serialized code, and its secrets are encrypted.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT } from "../../lib/drill/run";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { backendWorkspace, localBackend, REPO_ROOT, type LocalBackend } from "../../lib/pulumi/engine";
import { RESOURCE_SECRETS, type ResourceName } from "../../provider/spec";
import { PACKAGE_VERSION } from "../../sdk/package";
import { copyCheckout, keptStackName, runDrillCommand } from "../helpers/checkouts";
import { createSampleData } from "../helpers/sampleData";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

interface StateResource {
    type: string;
    urn: string;
    provider?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

const isEncryptedSecret = (v: unknown) =>
    typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG && typeof (v as Record<string, unknown>).ciphertext === "string";

describe("a kept drill stack cleaned up from another checkout", () => {
    let pg: LocalCluster;
    let root: string;
    let cloneA: string;
    let backend: LocalBackend;
    let env: Record<string, string>;

    beforeAll(async () => {
        pg = await startLocalCluster();
        await withClient(pg.url(), "admin", (c) => c.query("create database app"));
        await createSampleData(pg.url("app"), 200);
        root = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-xcheckout-"));
        cloneA = path.join(root, "clone-a");
        copyCheckout(cloneA);
        const stateDir = path.join(root, "state");
        const passphrase = "cross-checkout-test-passphrase";
        env = {
            PULUMI_BACKEND_URL: `file://${stateDir}`,
            PULUMI_CONFIG_PASSPHRASE: passphrase,
            // The plugin directory of both checkouts: outside either, as by default (~/.cache/supabase-dr/plugins).
            SUPABASE_DR_PLUGINS_DIR: path.join(root, "plugins"),
        };
        backend = localBackend({ url: env.PULUMI_BACKEND_URL, passphrase });
    }, 600_000);

    afterAll(async () => {
        backend?.cleanup();
        await pg?.stop();
        if (root) fs.rmSync(root, { recursive: true, force: true });
    });

    it("keeps the stack from clone A, and after A is deleted, --cleanup from this checkout drops the drill's cluster", async () => {
        const workA = path.join(root, "work-a");
        fs.mkdirSync(workA);
        const kept = await runDrillCommand(cloneA, ["--env", "xc", "--keep", "--backup-dir", path.join(root, "artifacts")], { ...env, SOURCE_DB_URL: pg.url("app") }, workA);
        expect(kept.code, kept.stdout + kept.stderr).toBe(0);
        const stackName = keptStackName(kept.stdout);

        // The plugin was installed outside clone A, and clone A is gone before anything else happens.
        expect(fs.existsSync(path.join(env.SUPABASE_DR_PLUGINS_DIR, `resource-supabase-dr-v${PACKAGE_VERSION}`, "pulumi-resource-supabase-dr"))).toBe(true);
        fs.rmSync(cloneA, { recursive: true, force: true });

        // The state as stored by the file backend (secrets encrypted), and as `pulumi stack export` shows it.
        const stateFile = path.join(root, "state", ".pulumi", "stacks", PROJECT, `${stackName}.json`);
        const stored = fs.readFileSync(stateFile, "utf8");
        const deployment = (JSON.parse(stored) as { checkpoint: { latest: { resources: StateResource[] } } }).checkpoint.latest;
        const ws = await backendWorkspace(backend, PROJECT);
        const text = `${stored}\n${JSON.stringify((await ws.exportStack(stackName)).deployment)}`;
        // No path of either checkout, no serialized function, no dynamic provider.
        expect(text).not.toContain(cloneA);
        expect(text).not.toContain(REPO_ROOT);
        for (const code of ["__provider", "exports.handler", "pulumi-nodejs", "require("]) expect(text).not.toContain(code);

        const ours = deployment.resources.filter((r) => r.type.startsWith("supabase-dr:index:"));
        expect(ours.map((r) => r.type).sort()).toEqual(
            ["BackupArtifact", "DrillReport", "Restore", "ScratchCluster", "ScratchDatabase", "Validation"].map((n) => `supabase-dr:index:${n}`),
        );
        const providers = deployment.resources.filter((r) => r.type === "pulumi:providers:supabase-dr");
        expect(providers).toHaveLength(1);
        expect(providers[0].inputs?.version).toBe(PACKAGE_VERSION);
        for (const r of ours) expect(r.provider?.startsWith(providers[0].urn + "::")).toBe(true);
        // Every output the type declares secret is encrypted in the state; no password is in clear.
        for (const r of ours) {
            const name = r.type.slice("supabase-dr:index:".length) as ResourceName;
            for (const key of RESOURCE_SECRETS[name]) {
                if (r.outputs?.[key] !== undefined) expect(isEncryptedSecret(r.outputs[key]), `${r.type}.${key}`).toBe(true);
            }
        }
        expect(stored).not.toContain(new URL(pg.url()).password);

        const cluster = ours.find((r) => r.type === "supabase-dr:index:ScratchCluster")!;
        const clusterDir = cluster.outputs?.rootDir as string;
        expect(fs.existsSync(clusterDir)).toBe(true);

        const workB = path.join(root, "work-b");
        fs.mkdirSync(workB);
        const cleaned = await runDrillCommand(REPO_ROOT, ["--cleanup", stackName], env, workB);
        expect(cleaned.code, cleaned.stdout + cleaned.stderr).toBe(0);
        expect(cleaned.stdout).toContain(`removed ${stackName}`);
        // The drill's own cluster (and the scratch database on it) is gone, and so is the stack.
        expect(fs.existsSync(clusterDir)).toBe(false);
        expect((await ws.listStacks()).map((s) => s.name)).not.toContain(stackName);
    }, 900_000);
});
