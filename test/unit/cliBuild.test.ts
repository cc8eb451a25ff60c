// The ahead-of-time bundling of the command-line entries (scripts/build-cli.mjs, scripts/ensure-cli.sh):
// how a module's source is rewritten so that, bundled, it behaves as it does when node runs it from the
// checkout, the lazily loaded TypeScript, and what the bundles' cache key covers.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error: a plain JavaScript build script, without type declarations.
import { insertAfterPrologue, LAZY_TYPESCRIPT, locationDeclarations, rewriteModule } from "../../scripts/build-cli.mjs";

const ROOT = path.resolve(__dirname, "../..");
const CHECKOUT = "/checkouts/two";

/** Runs a rewritten CommonJS module with the bundle banner's helper, as the bundle would. */
function run(source: string, requireFn: (id: string) => unknown = () => undefined): { exports: unknown } {
    const module = { exports: {} as unknown };
    const checkoutPath = (rel: string) => path.posix.join(CHECKOUT, rel);
    new Function("module", "exports", "require", "__supabaseDrCheckoutPath", "__dirname", "__filename", source)(
        module,
        module.exports,
        requireFn,
        checkoutPath,
        "/cache/cli-builds/abc",
        "/cache/cli-builds/abc/drill.js",
    );
    return module;
}

describe("rewriteModule", () => {
    it("gives a module its own checkout location as __dirname and __filename, not the bundle's", () => {
        const out = rewriteModule('module.exports = [__dirname, __filename];', "lib/pulumi/engine.ts", "scripts/drill.ts");
        expect(run(out).exports).toEqual([`${CHECKOUT}/lib/pulumi`, `${CHECKOUT}/lib/pulumi/engine.ts`]);
        const dep = rewriteModule("module.exports = __dirname + '/libpg-query.wasm';", "node_modules/libpg-query/wasm/libpg-query.js", "scripts/drill.ts");
        expect(run(dep).exports).toBe(`${CHECKOUT}/node_modules/libpg-query/wasm/libpg-query.wasm`);
    });

    it("keeps a \"use strict\" directive (and a hashbang) first, so strict mode still applies", () => {
        const source = '#!/usr/bin/env node\n// licence\n"use strict";\nundeclared = __dirname;\n';
        const out = rewriteModule(source, "node_modules/x/cli.js", "scripts/drill.ts");
        expect(out.startsWith('#!/usr/bin/env node\n// licence\n"use strict";')).toBe(true);
        // Strict mode: assigning an undeclared name throws (it would create a global if the directive were lost).
        expect(() => run(out.replace(/^#![^\n]*\n/, ""))).toThrow(ReferenceError);
    });

    it("leaves a module's own declaration of __dirname alone and points its import.meta.url at its checkout file", () => {
        const source = [
            "let __filename;",
            "let __dirname;",
            "__filename = new URL(import.meta.url).pathname;",
            "__dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
            "module.exports = [__dirname, import.meta.dirname, import.meta.filename];",
        ].join("\n");
        const out = rewriteModule(source, "node_modules/@azure/storage-common/dist/esm/crc64.js", "scripts/drill.ts");
        expect(out).not.toMatch(/var __dirname/);
        const url = (rel: string) => `file://${path.posix.join(CHECKOUT, rel)}`;
        const exported = new Function("module", "__supabaseDrCheckoutUrl", "__supabaseDrCheckoutPath", `${out}\nreturn module.exports;`)(
            { exports: {} },
            url,
            (rel: string) => path.posix.join(CHECKOUT, rel),
        );
        expect(exported).toEqual([
            `${CHECKOUT}/node_modules/@azure/storage-common/dist/esm`,
            `${CHECKOUT}/node_modules/@azure/storage-common/dist/esm`,
            `${CHECKOUT}/node_modules/@azure/storage-common/dist/esm/crc64.js`,
        ]);
    });

    it("makes `require.main === module` false in every own module but the entry", () => {
        const source = "if (require.main === module) main();";
        expect(rewriteModule(source, "scripts/demo.ts", "scripts/bench.ts")).toBe("if (false) main();");
        expect(rewriteModule(source, "scripts/bench.ts", "scripts/bench.ts")).toBeUndefined();
        // Dependencies are wrapped by esbuild with their own `module`: nothing to do.
        expect(rewriteModule(source, "node_modules/x/index.js", "scripts/bench.ts")).toBeUndefined();
    });

    it("refuses another use of require.main in an own module, naming the file", () => {
        expect(() => rewriteModule("const root = require.main!.filename;", "lib/x.ts", "scripts/drill.ts")).toThrow(/lib\/x\.ts uses require\.main/);
    });

    it("returns undefined for a module that needs no change", () => {
        expect(rewriteModule("export const x = 1;", "lib/x.ts", "scripts/drill.ts")).toBeUndefined();
    });
});

describe("locationDeclarations / insertAfterPrologue", () => {
    it("declares only the names the module uses", () => {
        expect(locationDeclarations("f(__dirname)", "lib/a/b.ts")).toBe('var __dirname = __supabaseDrCheckoutPath("lib/a");');
        expect(locationDeclarations("f(__filename)", "lib/a/b.ts")).toBe('var __filename = __supabaseDrCheckoutPath("lib/a/b.ts");');
        expect(locationDeclarations("f(dirname)", "lib/a/b.ts")).toBe("");
    });

    it("inserts at the top when there is no prologue", () => {
        expect(insertAfterPrologue("import x from 'y';\n", "var a;")).toBe("var a;\nimport x from 'y';\n");
        expect(insertAfterPrologue("'use strict'\nx();", "var a;")).toBe("'use strict'\nvar a;\n\nx();");
    });
});

describe("the lazy TypeScript shim", () => {
    it("requires typescript on first use only, once, and reads through to it", () => {
        const loads: string[] = [];
        const fakeTs = { SyntaxKind: { ClassDeclaration: 263 }, createSourceFile: () => "parsed" };
        const shim = run(LAZY_TYPESCRIPT, (id) => {
            loads.push(id);
            return fakeTs;
        }).exports as typeof fakeTs;
        expect(loads).toEqual([]);
        expect(shim.SyntaxKind.ClassDeclaration).toBe(263);
        expect(shim.createSourceFile()).toBe("parsed");
        expect("SyntaxKind" in shim).toBe(true);
        expect(Object.keys(shim)).toEqual(["SyntaxKind", "createSourceFile"]);
        expect(loads).toEqual(["typescript"]);
    });

    it("falls back to the copy @pulumi/pulumi vendors when typescript is not installed, as its own shim does", () => {
        const loads: string[] = [];
        const shim = run(LAZY_TYPESCRIPT, (id) => {
            loads.push(id);
            if (id === "typescript") throw new Error("Cannot find module 'typescript'");
            return { version: "3.8.3" };
        }).exports as { version: string };
        expect(shim.version).toBe("3.8.3");
        expect(loads).toEqual(["typescript", "@pulumi/pulumi/vendor/typescript@3.8.3/typescript.js"]);
    });
});

describe("ensure-cli.sh --sources-hash (the bundles' cache key)", () => {
    const dirs: string[] = [];
    afterEach(() => {
        for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    });

    /** A minimal checkout: the script itself, sources, and files that are not sources. */
    function checkout(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-cli-hash-"));
        dirs.push(dir);
        const files: Record<string, string> = {
            "scripts/ensure-cli.sh": fs.readFileSync(path.join(ROOT, "scripts/ensure-cli.sh"), "utf8"),
            "scripts/drill.ts": 'import { a } from "../lib/a";\nconsole.log(a);\n',
            "lib/a.ts": "export const a = 1;\n",
            "lib/platform/sql/baseline.sql": "select 1;\n",
            "package.json": '{ "name": "x" }\n',
            "node_modules/.package-lock.json": '{ "packages": {} }\n',
            "README.md": "# x\n",
            "test/a.test.ts": "it('x', () => {});\n",
        };
        for (const [file, text] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
            fs.writeFileSync(path.join(dir, file), text);
        }
        return dir;
    }
    const hash = (dir: string) => execFileSync("bash", [path.join(dir, "scripts/ensure-cli.sh"), "--sources-hash"], { encoding: "utf8" }).trim();

    it("is the same for the same sources in two checkouts, and changes with any bundled file's content, name or presence", () => {
        const one = checkout();
        const two = checkout();
        const h = hash(one);
        expect(h).toMatch(/^[0-9a-f]{16}$/);
        expect(hash(two)).toBe(h);

        fs.writeFileSync(path.join(one, "lib/a.ts"), "export const a = 2;\n");
        expect(hash(one)).not.toBe(h);
        fs.writeFileSync(path.join(one, "lib/a.ts"), "export const a = 1;\n");
        expect(hash(one)).toBe(h);

        fs.renameSync(path.join(one, "lib/a.ts"), path.join(one, "lib/b.ts"));
        expect(hash(one)).not.toBe(h);
        fs.renameSync(path.join(one, "lib/b.ts"), path.join(one, "lib/a.ts"));

        fs.writeFileSync(path.join(one, "scripts/pitr.ts"), "console.log(1);\n");
        expect(hash(one)).not.toBe(h);
        fs.rmSync(path.join(one, "scripts/pitr.ts"));

        fs.writeFileSync(path.join(one, "node_modules/.package-lock.json"), '{ "packages": { "x": {} } }\n');
        expect(hash(one)).not.toBe(h);
    });

    it("ignores what is never bundled: docs, tests, files read at run time from the checkout", () => {
        const one = checkout();
        const h = hash(one);
        fs.writeFileSync(path.join(one, "README.md"), "# changed\n");
        fs.writeFileSync(path.join(one, "test/b.test.ts"), "it('y', () => {});\n");
        fs.writeFileSync(path.join(one, "lib/platform/sql/baseline.sql"), "select 2;\n");
        expect(hash(one)).toBe(h);
    });
});
