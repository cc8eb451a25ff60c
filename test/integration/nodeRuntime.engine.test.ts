// Which Node runs the drill, for real: a command started through scripts/with-node.sh (as every npm
// script is) runs an inline program through the real Pulumi engine, with a dynamic resource whose
// provider reports the Node it runs on. The orchestrator, the program and the provider process the
// engine starts (pulumi-resource-pulumi-nodejs runs `node` from PATH) must all run the one Node that
// scripts/ensure-node.sh chose, and it must satisfy package.json's engines.node. The command runs in a
// child process so the answer does not depend on the Node that runs vitest.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const engines = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;

function satisfiesEngines(version: string): boolean {
    const want = /^>=(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(engines);
    const got = /^v(\d+)\.(\d+)\.(\d+)$/.exec(version);
    if (!want || !got) throw new Error(`cannot compare ${version} with engines.node ${engines}`);
    for (let i = 1; i <= 3; i++) {
        const [g, w] = [Number(got[i]), Number(want[i] ?? 0)];
        if (g !== w) return g > w;
    }
    return true;
}

// The probe imports the project's engine helpers by absolute path: it lives in a temp directory.
const probeSource = `
import * as pulumi from ${JSON.stringify(path.join(ROOT, "node_modules/@pulumi/pulumi"))};
import { inlineStack, localBackend } from ${JSON.stringify(path.join(ROOT, "lib/pulumi/engine"))};

// Captures nothing but the process global, so the serialized provider is just this function.
const runtimeProvider: pulumi.dynamic.ResourceProvider = {
    async create() {
        return { id: "runtime", outs: { version: process.version, execPath: process.execPath } };
    },
};

class Runtime extends pulumi.dynamic.Resource {
    declare readonly version: pulumi.Output<string>;
    declare readonly execPath: pulumi.Output<string>;
    constructor(name: string) {
        super(runtimeProvider, name, { version: undefined, execPath: undefined });
    }
}

async function main(): Promise<void> {
    const backend = localBackend();
    try {
        let programVersion = "";
        const stack = await inlineStack(backend, {
            projectName: "node-runtime-probe",
            stackName: "probe",
            program: async () => {
                programVersion = process.version;
                const r = new Runtime("runtime");
                return { version: r.version, execPath: r.execPath };
            },
        }, {}, "create");
        const up = await stack.up();
        await stack.destroy();
        await stack.workspace.removeStack("probe");
        console.log(JSON.stringify({
            orchestrator: { version: process.version, execPath: process.execPath },
            program: programVersion,
            provider: { version: up.outputs.version.value, execPath: up.outputs.execPath.value },
        }));
    } finally {
        backend.cleanup();
    }
}
main().catch((err) => {
    console.error(err);
    process.exit(1);
});
`;

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-node-runtime-"));
    fs.writeFileSync(path.join(dir, "probe.ts"), probeSource);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the Node that runs the drill", () => {
    it("scripts/ensure-node.sh yields a node satisfying engines.node (installing it from the npm registry if the machine's is older)", () => {
        const r = spawnSync("bash", [path.join(ROOT, "scripts/ensure-node.sh")], { encoding: "utf8", timeout: 300_000 });
        expect(r.status, r.stderr).toBe(0);
        const binDir = r.stdout.trim().split("\n").pop()!;
        const version = spawnSync(path.join(binDir, "node"), ["--version"], { encoding: "utf8" }).stdout.trim();
        expect(satisfiesEngines(version), `${binDir}/node is ${version}; engines.node is ${engines}`).toBe(true);
    }, 300_000);

    it("runs the orchestrator, the inline program and the engine's provider processes on that one Node", () => {
        const ensured = spawnSync("bash", [path.join(ROOT, "scripts/ensure-node.sh")], { encoding: "utf8", timeout: 300_000 });
        expect(ensured.status, ensured.stderr).toBe(0);
        const ensuredNode = fs.realpathSync(path.join(ensured.stdout.trim().split("\n").pop()!, "node"));

        const tsx = path.join(ROOT, "node_modules/.bin/tsx");
        const r = spawnSync("bash", [path.join(ROOT, "scripts/with-node.sh"), tsx, path.join(dir, "probe.ts")], {
            cwd: ROOT,
            encoding: "utf8",
            timeout: 300_000,
        });
        expect(r.status, (r.stdout + r.stderr).slice(-3000)).toBe(0);
        const seen = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
            orchestrator: { version: string; execPath: string };
            program: string;
            provider: { version: string; execPath: string };
        };
        expect(satisfiesEngines(seen.orchestrator.version), `orchestrator ran on ${seen.orchestrator.version}`).toBe(true);
        expect(seen.program).toBe(seen.orchestrator.version);
        expect(seen.provider.version).toBe(seen.orchestrator.version);
        expect(fs.realpathSync(seen.orchestrator.execPath)).toBe(ensuredNode);
        expect(fs.realpathSync(seen.provider.execPath)).toBe(ensuredNode);
    }, 300_000);
});
