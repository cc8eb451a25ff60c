// Extensions a backup creates that the target cannot have. A Supabase project has extensions plain
// PostgreSQL does not ship (pg_graphql, pgsodium, supabase_vault, pg_net, …). Each one is checked
// before the target is touched: allow-listed ones are reported and their CREATE EXTENSION left out,
// any other one stops the restore naming it and the setting that allows it. Never a silent skip.
import { once } from "node:events";
import * as fs from "node:fs";
import * as readline from "node:readline";
import { finished } from "node:stream/promises";
import { withClient } from "../postgres/connection";
import { EnvironmentError } from "../errors";

/** pg_dump writes each CREATE EXTENSION on one line, e.g. `CREATE EXTENSION IF NOT EXISTS "pg_graphql" WITH SCHEMA "graphql";`. */
const CREATE_EXTENSION = /^CREATE EXTENSION (?:IF NOT EXISTS )?("(?:[^"]|"")+"|[A-Za-z0-9_-]+)/;
const COMMENT_ON_EXTENSION = /^COMMENT ON EXTENSION ("(?:[^"]|"")+"|[A-Za-z0-9_-]+)/;

function unquote(name: string): string {
    return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name;
}

/** Extensions a plain SQL file creates. */
export async function sqlExtensions(file: string): Promise<string[]> {
    const found = new Set<string>();
    const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) {
        const m = CREATE_EXTENSION.exec(line);
        if (m) found.add(unquote(m[1]));
    }
    return [...found];
}

/** The named extensions the target server does not offer (pg_available_extensions). */
export async function unavailableOn(targetUrl: string, names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const available = await withClient(targetUrl, "restore target", async (c) =>
        new Set((await c.query<{ name: string }>("select name from pg_catalog.pg_available_extensions")).rows.map((r) => r.name)),
    );
    return names.filter((n) => !available.has(n));
}

export interface ExtensionPlan {
    /** Unavailable and allow-listed: left out, reported. */
    skipped: string[];
}

/** Throws (before anything touches the target) when an unavailable extension is not allow-listed. */
export function planExtensions(unavailable: string[], allowMissing: readonly string[]): ExtensionPlan {
    const refused = unavailable.filter((e) => !allowMissing.includes(e));
    if (refused.length > 0) {
        throw new EnvironmentError(
            "PRECONDITION",
            `the backup creates extension(s) ${refused.join(", ")} that the target server does not have; the target was not ` +
                `touched. Install them on the target, or accept their absence with drill setting ` +
                `restore.allowMissingExtensions: [${refused.map((r) => JSON.stringify(r)).join(", ")}]`,
        );
    }
    return { skipped: [...unavailable] };
}

/** Copies a SQL file with the CREATE/COMMENT ON EXTENSION lines of `skip` commented out. */
export async function writeWithoutExtensions(file: string, out: string, skip: readonly string[]): Promise<void> {
    const skipped = new Set(skip);
    const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
    const sink = fs.createWriteStream(out);
    for await (const line of lines) {
        const m = CREATE_EXTENSION.exec(line) ?? COMMENT_ON_EXTENSION.exec(line);
        const text = m && skipped.has(unquote(m[1])) ? `-- supabase-dr: extension not available on the target: ${line}` : line;
        if (!sink.write(text + "\n")) await once(sink, "drain");
    }
    sink.end();
    await finished(sink);
}
