// Bundles command-line entries ahead of time: scripts/<name>.ts and everything it imports (lib/,
// programs/, @pulumi/pulumi's Automation API, pg, the cloud SDKs, …) into one CommonJS file per entry,
// so that running a command compiles no TypeScript (tsx used to, in every process it started).
//
//     node scripts/build-cli.mjs <out-dir> <sources-list> <name>...
//
// writes <out-dir>/<name>.js. scripts/ensure-cli.sh calls it with the list of files its hash covers
// and keeps the result by that hash; scripts/run-cli.sh runs it.
//
// A bundle is independent of the checkout that built it, and behaves as the sources do when run from
// the checkout it is started in (run-cli.sh passes that as $SUPABASE_DR_CLI_CHECKOUT):
//   - every bundled module sees its own location in that checkout as __dirname, __filename and
//     import.meta.url: lib/pulumi/engine.ts finds scripts/ensure-pulumi.sh, libpg-query its .wasm,
//     grpc-js its .proto files and lib/supabase/platform its .sql files where they are, and nothing
//     needs copying beside the bundle;
//   - the few packages left out of the bundle (below) are required from that checkout's node_modules;
//   - `require.main === module` holds only in the entry's own source, as it does when node runs the
//     file (scripts/bench.ts imports scripts/demo.ts, whose main() must not run inside the bench).
//
// @pulumi/pulumi loads TypeScript (~50 MB, ~0.8 s) as soon as it is imported, for its closure
// serializer (runtime/closure/parseFunction.js requires it at the top). Drills create custom resources
// of the supabase-dr provider package and serialize no function, so the bundle's copy loads TypeScript
// on first use instead: only a program that does serialize a closure (a dynamic provider) pays for it.
import { build } from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const CHECKOUT_ENV = "SUPABASE_DR_CLI_CHECKOUT";
const REPORT_ENV = "SUPABASE_DR_CLI_REPORT";

// Left out of the bundle, and required from the checkout's node_modules when (if ever) needed:
//   - typescript: the closure serializer's parser, loaded lazily (above);
//   - optional native bindings that packages try first and fall back from when they are absent.
const EXTERNAL = ["typescript", "@pulumi/pulumi/vendor/*", "pg-native", "cpu-features", "ssh2"];

// Runs first in every bundle. The checkout comes from run-cli.sh; it is taken out of the environment
// again, so the processes the command starts see the environment they saw before bundling. The
// bundle's own file is read from the module wrapper's __filename before any bundled module's
// declarations (hoisted to the top) take the name.
const BANNER = `var __supabaseDrBundle = __filename;
var __supabaseDrCheckout = (() => {
  const checkout = process.env.${CHECKOUT_ENV};
  if (!checkout || !require("node:path").isAbsolute(checkout)) {
    process.stderr.write("this bundled command needs $${CHECKOUT_ENV} (an absolute path of the checkout it runs in): start it with scripts/run-cli.sh <name>\\n");
    process.exit(2);
  }
  delete process.env.${CHECKOUT_ENV};
  return checkout;
})();
// Packages left out of the bundle resolve from the checkout's node_modules, not from beside the bundle.
module.paths = [require("node:path").join(__supabaseDrCheckout, "node_modules")];
function __supabaseDrCheckoutPath(rel) { return require("node:path").join(__supabaseDrCheckout, rel); }
function __supabaseDrCheckoutUrl(rel) { return require("node:url").pathToFileURL(__supabaseDrCheckoutPath(rel)).href; }
if (process.env.${REPORT_ENV}) {
  // Diagnostics for tests and for "what did this command load?": written when the process exits.
  const reportFile = process.env.${REPORT_ENV};
  process.on("exit", () => {
    const report = { bundle: __supabaseDrBundle, checkout: __supabaseDrCheckout, execArgv: process.execArgv, loadedModules: Object.keys(require.cache) };
    require("node:fs").writeFileSync(reportFile, JSON.stringify(report, null, 2) + "\\n");
  });
}`;

// @pulumi/pulumi's typescript-shim.js, loaded on first use: the same module (node_modules' typescript,
// else the copy @pulumi/pulumi vendors), behind a proxy that requires it when a property is read.
export const LAZY_TYPESCRIPT = `let loaded;
function typescript() {
  if (loaded === undefined) {
    try {
      loaded = require("typescript");
    } catch {
      loaded = require("@pulumi/pulumi/vendor/typescript@3.8.3/typescript.js");
    }
  }
  return loaded;
}
module.exports = new Proxy({}, {
  get: (_target, key) => typescript()[key],
  has: (_target, key) => key in typescript(),
  ownKeys: () => Reflect.ownKeys(typescript()),
  getOwnPropertyDescriptor: (_target, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(typescript(), key);
    return descriptor && { ...descriptor, configurable: true };
  },
});
`;

/**
 * A module's source as the bundle needs it, or undefined when it needs no change. `rel` is the
 * module's path in the checkout ("lib/pulumi/engine.ts", "node_modules/pg/lib/index.js"), `entryRel`
 * the entry being bundled ("scripts/drill.ts").
 */
export function rewriteModule(source, rel, entryRel) {
    let out = source;
    const own = !rel.startsWith("node_modules/");
    if (own && rel !== entryRel && /\brequire\.main\b/.test(out)) {
        // Bundled, a module's `module` is the bundle's, which is require.main: only the entry is main.
        out = out.replace(/\brequire\.main\s*===\s*module\b/g, "false");
        if (/\brequire\.main\b/.test(out)) {
            throw new Error(`${rel} uses require.main other than as \`require.main === module\`, which a bundle cannot keep the meaning of`);
        }
    }
    if (/\bimport\.meta\b/.test(out)) {
        out = out
            .replace(/\bimport\.meta\.url\b/g, `__supabaseDrCheckoutUrl(${JSON.stringify(rel)})`)
            .replace(/\bimport\.meta\.filename\b/g, `__supabaseDrCheckoutPath(${JSON.stringify(rel)})`)
            .replace(/\bimport\.meta\.dirname\b/g, `__supabaseDrCheckoutPath(${JSON.stringify(path.posix.dirname(rel))})`);
    }
    const decls = locationDeclarations(out, rel);
    if (decls) out = insertAfterPrologue(out, decls);
    return out === source ? undefined : out;
}

/** `var __dirname = <its checkout path>, …;` for the names a module uses and does not declare itself. */
export function locationDeclarations(source, rel) {
    const decls = [];
    for (const [name, value] of [["__dirname", path.posix.dirname(rel)], ["__filename", rel]]) {
        if (!new RegExp(`\\b${name}\\b`).test(source)) continue;
        // A module that declares the name (ESM code computing it from import.meta.url) keeps its own
        // declaration: its import.meta.url is its checkout location too.
        if (new RegExp(`\\b(var|let|const)\\s+${name}\\b`).test(source)) continue;
        decls.push(`${name} = __supabaseDrCheckoutPath(${JSON.stringify(value)})`);
    }
    return decls.length > 0 ? `var ${decls.join(", ")};` : "";
}

/** Inserts code after a module's hashbang and "use strict" directive: before it, the directive would stop being one. */
export function insertAfterPrologue(source, code) {
    const m = /^(#![^\n]*\n)?((?:\s|\/\/[^\n]*\n|\/\*[\s\S]*?\*\/)*(["'])use strict\3;?)?/.exec(source);
    const at = m ? m[0].length : 0;
    return `${source.slice(0, at)}${at > 0 ? "\n" : ""}${code}\n${source.slice(at)}`;
}

const LOADERS = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".js": "js", ".mjs": "js", ".cjs": "js" };

/** Bundles scripts/<name>.ts of `repo` for each name into outDir/<name>.js; checks every own source is in `sources`. */
export async function buildEntries(repo, outDir, sources, names) {
    const realRepo = fs.realpathSync(repo);
    // esbuild names modules by their real path: with a linked node_modules (a second checkout sharing
    // the first one's) they are under the other checkout. Both are node_modules/… of the running one.
    const realNodeModules = fs.realpathSync(path.join(repo, "node_modules"));
    const checkoutPath = (abs) => {
        const within = (root) => abs === root || abs.startsWith(root + path.sep);
        let rel;
        if (within(realNodeModules)) rel = path.join("node_modules", path.relative(realNodeModules, abs));
        else if (within(realRepo)) rel = path.relative(realRepo, abs);
        else throw new Error(`${abs} is outside the checkout ${repo} and its node_modules: a bundle could not find it at run time`);
        return rel.split(path.sep).join("/");
    };
    const plugin = (entryRel) => ({
        name: "checkout-paths",
        setup(b) {
            b.onResolve({ filter: /typescript-shim$/ }, (args) =>
                args.importer.includes(`${path.sep}@pulumi${path.sep}pulumi${path.sep}`) ? { path: "typescript-shim", namespace: "lazy" } : undefined,
            );
            b.onLoad({ filter: /.*/, namespace: "lazy" }, () => ({ contents: LAZY_TYPESCRIPT, loader: "js" }));
            b.onLoad({ filter: /\.(m|c)?[jt]s$/ }, (args) => {
                const contents = rewriteModule(fs.readFileSync(args.path, "utf8"), checkoutPath(args.path), entryRel);
                return contents === undefined ? undefined : { contents, loader: LOADERS[path.extname(args.path)], resolveDir: path.dirname(args.path) };
            });
        },
    });

    fs.mkdirSync(outDir, { recursive: true });
    // One esbuild build per entry: the require.main rule depends on which file is the entry.
    const results = await Promise.all(
        names.map(async (name) => {
            const entryRel = `scripts/${name}.ts`;
            if (!fs.existsSync(path.join(repo, entryRel))) throw new Error(`${entryRel} does not exist in ${repo}`);
            const result = await build({
                absWorkingDir: repo,
                entryPoints: [entryRel],
                outfile: path.join(outDir, `${name}.js`),
                bundle: true,
                platform: "node",
                format: "cjs",
                // package.json's engines.node.
                target: "node22",
                external: EXTERNAL,
                // No source map: it would name this checkout's files, and a bundle is shared by checkouts.
                legalComments: "none",
                banner: { js: BANNER },
                plugins: [plugin(entryRel)],
                metafile: true,
                logLevel: "warning",
            });
            // Files only: the lazy shim is a virtual module ("lazy:typescript-shim").
            const inputs = Object.keys(result.metafile.inputs)
                .filter((input) => !/^[a-z-]+:/.test(input))
                .map((input) => checkoutPath(path.resolve(repo, input)));
            return { name, file: path.join(outDir, `${name}.js`), inputs };
        }),
    );
    // A source the hash does not cover would let an edit to it go unnoticed (the old bundle is reused).
    const uncovered = [...new Set(results.flatMap((r) => r.inputs).filter((rel) => !rel.startsWith("node_modules/") && !sources.has(rel)))];
    if (uncovered.length > 0) {
        throw new Error(`these bundled files are not among the sources scripts/ensure-cli.sh hashes (add their directory to SOURCE_DIRS there):\n  ${uncovered.join("\n  ")}`);
    }
    return results;
}

async function main() {
    const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
    const [outDir, sourcesFile, ...names] = process.argv.slice(2);
    if (!outDir || !sourcesFile || names.length === 0) {
        process.stderr.write("usage: node scripts/build-cli.mjs <out-dir> <sources-list> <name>...\n");
        process.exit(2);
    }
    const sources = new Set(fs.readFileSync(sourcesFile, "utf8").split("\n").filter(Boolean));
    const started = Date.now();
    try {
        for (const { name, file, inputs } of await buildEntries(repo, outDir, sources, names)) {
            const mib = (fs.statSync(file).size / 2 ** 20).toFixed(1);
            process.stderr.write(`build-cli: ${name}.js (${mib} MiB, ${inputs.length} modules, ${Date.now() - started} ms)\n`);
        }
    } catch (err) {
        process.stderr.write(`build-cli: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
    }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
