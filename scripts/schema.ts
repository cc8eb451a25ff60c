// `npm run schema`: writes the drill settings' JSON Schema (schema/drill-settings.schema.json) from
// the zod schema, so editors can complete and check supabase-dr:drill settings. `--check` only
// compares and exits 1 when the file is stale (a unit test does the same, so it cannot drift).
import * as fs from "node:fs";
import * as path from "node:path";
import { runCli } from "../lib/cli/run";
import { UsageError } from "../lib/errors";
import { drillSettingsJsonSchema } from "../lib/drill/settingsSchema";

export const DRILL_SETTINGS_SCHEMA_FILE = path.resolve(__dirname, "../schema/drill-settings.schema.json");

/** The file's exact content: generated, two-space JSON, one trailing newline. */
export function drillSettingsSchemaText(): string {
    return `${JSON.stringify(drillSettingsJsonSchema(), null, 2)}\n`;
}

function main(argv: string[]): number {
    const unknown = argv.find((a) => a !== "--check");
    if (unknown) throw new UsageError(`unknown argument ${unknown} (usage: npm run schema [-- --check])`);
    const text = drillSettingsSchemaText();
    const relative = path.relative(process.cwd(), DRILL_SETTINGS_SCHEMA_FILE);
    const current = fs.existsSync(DRILL_SETTINGS_SCHEMA_FILE) ? fs.readFileSync(DRILL_SETTINGS_SCHEMA_FILE, "utf8") : undefined;
    if (argv.includes("--check")) {
        if (current === text) return 0;
        process.stderr.write(`${relative} is out of date with lib/drill/settingsSchema.ts: run npm run schema\n`);
        return 1;
    }
    if (current !== text) {
        fs.mkdirSync(path.dirname(DRILL_SETTINGS_SCHEMA_FILE), { recursive: true });
        fs.writeFileSync(DRILL_SETTINGS_SCHEMA_FILE, text);
    }
    process.stdout.write(`${relative} ${current === text ? "is up to date" : "written"}\n`);
    return 0;
}

if (require.main === module) runCli("schema", () => main(process.argv.slice(2)));
