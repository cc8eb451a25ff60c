// pg_restore's table of contents (`pg_restore -l`), filtered and fed back with `-L`: how a restore
// leaves out entries without editing the archive (extensions the target cannot have) or restores a
// schema-only archive in phases (tables before the application's schema, triggers and policies after).
import * as fs from "node:fs";
import { runPgTool } from "../postgres/tools";

export interface TocEntry {
    /** The full list line, fed back to pg_restore -L as is. */
    line: string;
    /** e.g. "TABLE", "EXTENSION", "TRIGGER", "POLICY", "COMMENT", "ACL". */
    type: string;
    /** Schema, or "-" for objects outside schemas (extensions, event triggers, …). */
    schema: string;
    /** The object's tag: name, or for COMMENT/ACL entries e.g. "EXTENSION pgcrypto". */
    tag: string;
}

// "212; 1259 16390 TABLE public items postgres" — "<dumpId>; <catalog oid> <oid> <TYPE WORDS> <schema> <tag> <owner>"
const ENTRY = /^(\d+); (\d+) (\d+) (.+)$/;
const TYPES = [
    "TABLE DATA", "SEQUENCE SET", "SEQUENCE OWNED BY", "DEFAULT ACL", "EVENT TRIGGER", "FK CONSTRAINT", "ROW SECURITY",
    "MATERIALIZED VIEW DATA", "MATERIALIZED VIEW", "FOREIGN TABLE", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY",
    "PUBLICATION TABLE", "PUBLICATION TABLES IN SCHEMA", "INDEX ATTACH", "TABLE ATTACH", "DEFAULT", "EXTENSION", "SCHEMA",
    "TABLE", "SEQUENCE", "VIEW", "FUNCTION", "PROCEDURE", "AGGREGATE", "TYPE", "DOMAIN", "INDEX", "CONSTRAINT", "TRIGGER",
    "POLICY", "RULE", "COMMENT", "ACL", "PUBLICATION", "CAST", "OPERATOR", "COLLATION", "STATISTICS", "BLOB", "BLOBS",
    "LARGE OBJECT", "SERVER", "USER MAPPING", "FOREIGN DATA WRAPPER", "SHELL TYPE", "CONVERSION", "DATABASE", "ENCODING",
    "STDSTRINGS", "SEARCHPATH",
];

export function parseTocLine(line: string): TocEntry | undefined {
    const m = ENTRY.exec(line);
    if (!m) return undefined;
    const rest = m[4];
    const type = TYPES.find((t) => rest.startsWith(t + " "));
    if (!type) return { line, type: rest.split(" ")[0], schema: "-", tag: rest };
    const after = rest.slice(type.length + 1);
    const space = after.indexOf(" ");
    const schema = space < 0 ? after : after.slice(0, space);
    const remainder = space < 0 ? "" : after.slice(space + 1);
    // The owner is the last word (absent for some entries); the tag is what lies between.
    const lastSpace = remainder.lastIndexOf(" ");
    const tag = lastSpace < 0 ? remainder : remainder.slice(0, lastSpace);
    return { line, type, schema, tag };
}

export async function readToc(archive: string): Promise<TocEntry[]> {
    const r = await runPgTool("pg_restore", ["-l", archive], { keep: /./ });
    if (r.exitCode !== 0) throw new Error(`pg_restore -l ${archive} failed: ${r.lines.slice(-3).join(" ")}`);
    return r.matched.filter((l) => !l.startsWith(";")).map(parseTocLine).filter((e): e is TocEntry => e !== undefined);
}

/** Extensions the archive creates. */
export function tocExtensions(entries: TocEntry[]): string[] {
    return entries.filter((e) => e.type === "EXTENSION").map((e) => e.tag);
}

/** Entries that create, comment on or grant on one of the given extensions. */
export function belongsToExtension(e: TocEntry, extensions: ReadonlySet<string>): boolean {
    if (e.type === "EXTENSION") return extensions.has(e.tag);
    if (e.type === "COMMENT" || e.type === "ACL") {
        const m = /^EXTENSION (.+)$/.exec(e.tag);
        return !!m && extensions.has(m[1]);
    }
    return false;
}

/** Writes a -L list file of the kept entries; returns its path. */
export function writeTocList(file: string, entries: TocEntry[]): string {
    fs.writeFileSync(file, entries.map((e) => e.line).join("\n") + "\n");
    return file;
}
