// The `supabase db dump`-style split (roles.sql, schema.sql, data.sql) next to the custom-format dump,
// for operators who restore with psql. The custom dump (with its in-snapshot fingerprint) stays the
// authoritative backup; the split files are separate pg_dump runs and so separate snapshots.
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { findPgTool } from "../postgres/binaries";
import { parseConnectionString } from "../postgres/connection";
import { runPgTool, uriWithoutPassword } from "../postgres/tools";
import { redact } from "../redact";
import { toolEnvironment } from "../toolEnvironment";

const execFileAsync = promisify(execFile);

export interface SplitFile {
    kind: "roles" | "schema" | "data";
    path: string;
}

async function dumpRoles(sourceUrl: string, file: string, password: string | undefined): Promise<void> {
    // pg_dumpall is not one of lib/postgres's tools; it lives beside pg_dump.
    const bin = path.join(path.dirname(findPgTool("pg_dump")), "pg_dumpall");
    const env = toolEnvironment({ PGPASSWORD: password });
    await execFileAsync(bin, ["--roles-only", "--no-role-passwords", "-f", file, `--dbname=${uriWithoutPassword(sourceUrl)}`], { env });
}

export async function dumpSplit(opts: {
    sourceUrl: string;
    outDir: string;
    id: string;
    onProgress?: (m: string) => void;
    onWarning?: (m: string) => void;
}): Promise<SplitFile[]> {
    const password = parseConnectionString(opts.sourceUrl, "SOURCE_DB_URL").password;
    const out: SplitFile[] = [];
    const rolesFile = path.join(opts.outDir, `${opts.id}.roles.sql`);
    try {
        await dumpRoles(opts.sourceUrl, rolesFile, password);
        out.push({ kind: "roles", path: rolesFile });
        opts.onProgress?.("split: roles.sql done");
    } catch (err) {
        // Managed Postgres (Supabase included) often denies pg_authid to the backup role.
        const e = err as { stderr?: string; message: string };
        opts.onWarning?.(`split: skipping roles.sql (pg_dumpall --roles-only not permitted): ${redact((e.stderr || e.message).trim().split("\n").pop() ?? "", [password])}`);
    }
    for (const kind of ["schema", "data"] as const) {
        const file = path.join(opts.outDir, `${opts.id}.${kind}.sql`);
        const r = await runPgTool("pg_dump", [kind === "schema" ? "--schema-only" : "--data-only", "-f", file, `--dbname=${uriWithoutPassword(opts.sourceUrl)}`], {
            connection: opts.sourceUrl,
            keep: /error|fatal/i,
        });
        if (r.exitCode !== 0) throw new Error(`pg_dump --${kind}-only failed (exit ${r.exitCode}): ${r.matched.slice(-3).join("\n")}`);
        out.push({ kind, path: file });
        opts.onProgress?.(`split: ${kind}.sql done`);
    }
    return out;
}
