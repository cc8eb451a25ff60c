// Restores one table of a pg_dump custom-format archive: the table, its data, and what its definition
// may need (schemas, available extensions, types, domains, collations, functions used in defaults or
// checks). No indexes, constraints, triggers, policies, owners or grants: the copy is only read, and
// key uniqueness is checked by query. Entries are kept in archive order (`pg_restore -L`), which is
// dependency order.
//
// A supporting object that cannot be created (a function over a table that is not restored, an
// extension this server lacks) does not matter unless the table needs it; so errors are attributed
// to their TOC entry ("from TOC entry <id>") and only an error of the table's own entries — or one
// that cannot be attributed — fails the restore.
import * as path from "node:path";
import { uriWithoutPassword, runPgTool } from "../postgres/tools";
import { readToc, writeTocList, type TocEntry } from "../restore/tocList";
import { unavailableOn } from "../restore/extensions";
import { displayTable, type TableName } from "./identifiers";
import { UsageError } from "../errors";

const SUPPORT_TYPES = new Set(["SCHEMA", "EXTENSION", "TYPE", "SHELL TYPE", "DOMAIN", "COLLATION", "FUNCTION"]);

export interface PartialRestoreResult {
    /** Supporting entries that failed (not needed by the table), e.g. "FUNCTION auth.jwt()". */
    skippedSupport: string[];
    /** Extensions this server does not have, left out. */
    extensionsUnavailable: string[];
}

/** TOC tags are unquoted names; a table tag is its name, its schema the entry's schema. */
function isTableEntry(e: TocEntry, table: TableName, type: string): boolean {
    return e.type === type && e.schema === table.schema && e.tag === table.name;
}

export async function restoreTableFromArchive(
    archive: string,
    table: TableName,
    targetUrl: string,
    workDir: string,
    logPath: string,
): Promise<PartialRestoreResult> {
    const toc = await readToc(archive);
    const tableEntry = toc.find((e) => isTableEntry(e, table, "TABLE"));
    if (!tableEntry) throw new UsageError(`the backup has no table ${displayTable(table)} (pg_restore -l lists none)`);
    const dataEntry = toc.find((e) => isTableEntry(e, table, "TABLE DATA"));
    if (!dataEntry) throw new UsageError(`the backup has the definition of ${displayTable(table)} but no data for it (a schema-only dump?)`);
    const extensions = toc.filter((e) => e.type === "EXTENSION").map((e) => e.tag);
    const unavailable = new Set(await unavailableOn(targetUrl, extensions));
    const keep = toc.filter(
        (e) => e === tableEntry || e === dataEntry || (SUPPORT_TYPES.has(e.type) && !(e.type === "EXTENSION" && unavailable.has(e.tag))),
    );
    const own = new Set([tableEntry, dataEntry].map((e) => e.line.split(";")[0]));
    const listFile = writeTocList(path.join(workDir, "recover.list"), keep);

    // pg_restore prints "from TOC entry <id>; …" before each error of that entry.
    let currentEntry: string | undefined;
    const fatal: string[] = [];
    const skipped: string[] = [];
    const byId = new Map(toc.map((e) => [e.line.split(";")[0], e]));
    const result = await runPgTool(
        "pg_restore",
        ["-v", "--no-owner", "--no-privileges", "--no-comments", "-L", listFile, `--dbname=${uriWithoutPassword(targetUrl)}`, archive],
        {
            connection: targetUrl,
            logFile: logPath,
            onLine: (line) => {
                const from = /^pg_restore: from TOC entry (\d+);/.exec(line);
                if (from) {
                    currentEntry = from[1];
                    return;
                }
                if (/^pg_restore: error: /.test(line)) {
                    const entry = currentEntry ? byId.get(currentEntry) : undefined;
                    if (!entry || own.has(currentEntry!)) fatal.push(line);
                    else skipped.push(`${entry.type} ${entry.schema === "-" ? "" : entry.schema + "."}${entry.tag}`);
                    currentEntry = undefined;
                } else if (/^pg_restore: (creating|processing|executing) /.test(line)) {
                    currentEntry = undefined;
                }
            },
        },
    );
    if (fatal.length > 0 || (result.exitCode !== 0 && !/errors ignored on restore/.test(result.lines.join("\n")))) {
        const shown = fatal.length > 0 ? fatal.slice(0, 3) : result.lines.slice(-3);
        throw new Error(`restoring ${displayTable(table)} from the backup into the temporary copy failed:\n  ${shown.join("\n  ")}\nfull log: ${logPath}`);
    }
    return { skippedSupport: [...new Set(skipped)], extensionsUnavailable: [...unavailable] };
}
