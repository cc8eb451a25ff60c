// Two checkouts with different provider sources on one machine: each gets its own plugin directory
// (plugin-sets/<sources hash>), so one never replaces the plugin the other's engine is running. Before
// this, both installed into one ~/.cache/supabase-dr/plugins and swapped it on every run.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../lib/pulumi/engine";
import { copyCheckout } from "../helpers/checkouts";

const VERSION = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).version as string;

function ensureProvider(checkout: string, cache: string): string {
    const env: NodeJS.ProcessEnv = { ...process.env, SUPABASE_DR_CACHE: cache };
    delete env.SUPABASE_DR_PLUGINS_DIR; // the default location is what is tested
    const out = execFileSync("bash", [path.join(checkout, "scripts", "ensure-provider.sh")], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
    return out.trim().split("\n").pop()!;
}

const sourcesOf = (pluginsDir: string) =>
    JSON.parse(fs.readFileSync(path.join(pluginsDir, `resource-supabase-dr-v${VERSION}`, "build.json"), "utf8")).sources as string;

describe("provider plugin sets", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-plugin-sets-"));
    afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

    it("keeps one plugin directory per set of sources, outside both checkouts", () => {
        const cache = path.join(root, "cache");
        const a = path.join(root, "a");
        const b = path.join(root, "b");
        copyCheckout(a);
        copyCheckout(b);
        // A change in b's provider code (a comment is enough: the bundle's sources hash covers it).
        fs.appendFileSync(path.join(b, "provider", "main.ts"), "\n// edited in checkout b\n");

        const dirA = ensureProvider(a, cache);
        const dirB = ensureProvider(b, cache);
        expect(dirA).not.toBe(dirB);
        for (const dir of [dirA, dirB]) {
            expect(dir.startsWith(path.join(cache, "plugin-sets") + path.sep)).toBe(true);
            expect(fs.existsSync(path.join(dir, `resource-supabase-dr-v${VERSION}`, "pulumi-resource-supabase-dr"))).toBe(true);
        }
        const sourcesA = sourcesOf(dirA);
        expect(sourcesOf(dirB)).not.toBe(sourcesA);
        expect(path.basename(dirA)).toBe(sourcesA);

        // b's install did not touch a's plugin; a's next run is a no-op on the same directory.
        expect(ensureProvider(a, cache)).toBe(dirA);
        expect(sourcesOf(dirA)).toBe(sourcesA);
    }, 180_000);
});
