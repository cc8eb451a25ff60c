// Builds the supabase-dr resource provider plugin ahead of time: provider/main.ts and everything it
// imports (lib/, @pulumi/pulumi, pg, the AWS and Azure SDKs, …) bundled by esbuild into one CommonJS
// file, so the plugin needs neither TypeScript nor this checkout's node_modules at run time. The few
// files modules read beside themselves at run time are copied beside the bundle:
//   - libpg-query.wasm (libpg-query's emscripten loader reads `${__dirname}/libpg-query.wasm`);
//   - sql/*.sql (lib/supabase/platform/baseline.ts reads `${__dirname}/sql`).
// ESM modules bundled into CommonJS lose import.meta: import.meta.url is defined as the bundle's URL
// (their createRequire/fileURLToPath calls then work, and name the bundle's directory).
// Any other bundled module that reads files beside itself fails the build: nobody copied them.
//
//     node scripts/build-provider.mjs <out-dir>
//
// writes <out-dir>/main.js, libpg-query.wasm, sql/. scripts/ensure-provider.sh adds the launcher and
// installs the result as a plugin.
import { build } from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = process.argv[2];
if (!outDir) {
    process.stderr.write("usage: node scripts/build-provider.mjs <out-dir>\n");
    process.exit(2);
}
fs.mkdirSync(outDir, { recursive: true });

// Files read at run time relative to the module that reads them, and where the bundle finds them.
const RUNTIME_FILES = [
    { module: "node_modules/libpg-query/wasm/libpg-query.js", copy: [["node_modules/libpg-query/wasm/libpg-query.wasm", "libpg-query.wasm"]] },
    { module: "lib/supabase/platform/baseline.ts", copy: [["lib/supabase/platform/sql", "sql"]] },
    // Emscripten loader whose wasm is embedded as a data: URI; its file fallback is never taken.
    { module: "node_modules/@azure/storage-common/dist/esm/crc64.js", copy: [] },
];

const result = await build({
    absWorkingDir: repo,
    entryPoints: ["provider/main.ts"],
    outfile: path.join(outDir, "main.js"),
    bundle: true,
    platform: "node",
    format: "cjs",
    // The oldest Node the project supports; the launcher runs whatever `node` is on PATH.
    target: "node20",
    // Optional native bindings some packages try first and fall back from when absent.
    external: ["pg-native", "cpu-features", "ssh2"],
    // No source map: it would carry this checkout's paths. Not minified, and names kept, so a stack
    // trace from the plugin still names the functions.
    legalComments: "none",
    define: { "import.meta.url": "__supabaseDrBundleUrl" },
    banner: { js: 'var __supabaseDrBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    keepNames: true,
    metafile: true,
    logLevel: "warning",
});

// Bundled modules by path from the repository. esbuild names inputs by their real path, so with a
// linked node_modules (a second checkout sharing the first one's) they come out as ../../…/node_modules/….
const realNodeModules = fs.realpathSync(path.join(repo, "node_modules"));
const inputs = new Map(
    Object.keys(result.metafile.inputs).map((input) => {
        const abs = path.resolve(repo, input);
        const rel = abs.startsWith(realNodeModules + path.sep) ? path.join("node_modules", path.relative(realNodeModules, abs)) : path.relative(repo, abs);
        return [rel.split(path.sep).join("/"), abs];
    }),
);

// Every bundled module that reads files beside itself must be one whose files we copy.
const known = new Set(RUNTIME_FILES.map((f) => f.module));
const unknown = [];
for (const [input, abs] of inputs) {
    if (known.has(input) || !/\.(c|m)?[jt]s$/.test(input)) continue;
    const source = fs.readFileSync(abs, "utf8");
    if (/\b__dirname\b|\b__filename\b|import\.meta\.url/.test(source) && readsFilesBesideItself(source)) unknown.push(input);
}
if (unknown.length > 0) {
    process.stderr.write(`build-provider: these bundled modules read files relative to themselves, which the plugin does not ship:\n  ${unknown.join("\n  ")}\n`);
    process.exit(1);
}
for (const { module, copy } of RUNTIME_FILES) {
    if (!inputs.has(module)) continue;
    for (const [from, to] of copy) fs.cpSync(path.join(repo, from), path.join(outDir, to), { recursive: true });
}
const bytes = fs.statSync(path.join(outDir, "main.js")).size;
process.stderr.write(`build-provider: ${path.join(outDir, "main.js")} (${(bytes / 2 ** 20).toFixed(1)} MiB, ${inputs.size} modules)\n`);

/** __dirname used to build a path that is then read (not only to print or resolve modules). */
function readsFilesBesideItself(source) {
    return /(readFileSync|readFile|readdirSync|existsSync|createReadStream)\s*\([^)]*(__dirname|__filename|import\.meta\.url)/.test(source) ||
        /(path\.(join|resolve)|new URL)\s*\([^)]*(__dirname|__filename|import\.meta\.url)/.test(source) ||
        // Emscripten loaders: locateFile() joins the script's directory with a .wasm name.
        (/\.wasm\b/.test(source) && /scriptDirectory|locateFile/.test(source));
}
