// lib/ is the bottom layer: plain modules that do the work. It never imports the layers built on it —
// the Pulumi components, the programs made of them, the package's resource classes or its plugin —
// so that lib/ can be loaded (by the plugin bundle, by scripts) without the components, and programs
// are given to lib/drill/run.ts rather than found by it. This test reads every import of lib/.
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../lib/pulumi/engine";

const UPPER_LAYERS = ["components", "programs", "sdk", "provider", "dynamic", "scripts", "index.ts"];

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? sourceFiles(p) : /\.(ts|mts|cts|js)$/.test(e.name) ? [p] : [];
    });
}

/** Module specifiers of static imports, re-exports, require() and import() calls. */
export function importSpecifiers(source: string): string[] {
    const specs: string[] = [];
    const patterns = [/\b(?:import|export)\s[^'"]*?\sfrom\s*["']([^"']+)["']/g, /\bimport\s*["']([^"']+)["']/g, /\b(?:require|import)\s*\(\s*["']([^"']+)["']\s*\)/g];
    for (const re of patterns) for (const m of source.matchAll(re)) specs.push(m[1]);
    return specs;
}

/** The upper layer a relative import from `file` lands in, if any. */
function upperLayerOf(file: string, spec: string): string | undefined {
    if (!spec.startsWith(".")) return undefined;
    const rel = path.relative(REPO_ROOT, path.resolve(path.dirname(file), spec));
    return UPPER_LAYERS.find((layer) => rel === layer || rel.startsWith(`${layer}${path.sep}`) || rel === layer.replace(/\.ts$/, ""));
}

describe("layering", () => {
    it("finds the imports it looks for (the scanner itself)", () => {
        const source = `import { a } from "../../components/RestoreDrill";\nimport type { B } from "../x";\nexport { c } from "./c";\nconst d = require("../../programs/drill");\nconst e = await import("../../sdk/scratchCluster");\nimport "./side-effect";`;
        expect(importSpecifiers(source).sort()).toEqual(["../../components/RestoreDrill", "../../programs/drill", "../../sdk/scratchCluster", "../x", "./c", "./side-effect"]);
        const file = path.join(REPO_ROOT, "lib", "drill", "run.ts");
        expect(upperLayerOf(file, "../../components/RestoreDrill")).toBe("components");
        expect(upperLayerOf(file, "../../index")).toBe("index.ts");
        expect(upperLayerOf(file, "./lifecycle")).toBeUndefined();
    });

    it("lib/ imports nothing from components/, programs/, sdk/, provider/, dynamic/, scripts/ or index.ts", () => {
        const files = sourceFiles(path.join(REPO_ROOT, "lib"));
        expect(files.length).toBeGreaterThan(50);
        const violations = files.flatMap((file) =>
            importSpecifiers(fs.readFileSync(file, "utf8"))
                .map((spec) => ({ spec, layer: upperLayerOf(file, spec) }))
                .filter((i) => i.layer !== undefined)
                .map((i) => `${path.relative(REPO_ROOT, file)} imports ${i.spec} (${i.layer})`),
        );
        expect(violations).toEqual([]);
    });
});
