// The source's own roles, read the way `supabase db dump --role-only` reads them: pg_dumpall
// --roles-only without passwords, then the platform's reserved roles (created by Supabase itself, or
// blocked by supautils) left out. A drill that restores a plain dump of a Supabase project (its GRANTs
// and policies name custom roles) recreates these on its own cluster first. Read-only on the source.
//
// The filters follow the CLI's dump_role.sh (supabase/cli, apps/cli-go/pkg/migration): reserved roles
// are commented out, NOSUPERUSER / NOREPLICATION dropped, membership grants to reserved roles skipped.
import * as fs from "node:fs";
import { runPgTool, uriWithoutPassword } from "../postgres/tools";
import { RESERVED_ROLE_PATTERNS } from "../supabase/platform/sourceCatalog";


/** Settings the platform lets projects change on its reserved roles too (supautils). */
export const ALLOWED_ROLE_CONFIGS = ["pgaudit.*", "pgrst.*", "session_replication_role", "statement_timeout", "track_io_timing"];

/** Applies the CLI's role filters, in its order, to pg_dumpall --roles-only output. */
export function filterRolesDump(text: string): string {
    const reserved = `(?:${RESERVED_ROLE_PATTERNS.join("|")})`;
    const allowedSet = new RegExp(`^-- (.* SET "(?:${ALLOWED_ROLE_CONFIGS.join("|")})" .*)`);
    const out: string[] = [];
    for (let line of text.split("\n")) {
        if (/^\\(un)?restrict /.test(line)) line = `-- ${line}`;
        if (new RegExp(`^(CREATE|ALTER) ROLE "${reserved}"`).test(line)) line = `-- ${line}`;
        line = line.replace(/ (NOSUPERUSER|NOREPLICATION)/g, "");
        line = line.replace(allowedSet, "$1");
        if (new RegExp(`GRANT ".*" TO "${reserved}"`).test(line)) line = `-- ${line}`;
        if (out[out.length - 1] !== line) out.push(line); // `uniq`
    }
    return out.join("\n");
}

/** Writes the source's non-reserved roles as SQL to `outFile`. */
export async function dumpSourceRoles(sourceUrl: string, outFile: string, logFile?: string): Promise<void> {
    const raw = `${outFile}.raw`;
    try {
        const r = await runPgTool(
            "pg_dumpall",
            ["--roles-only", "--quote-all-identifier", "--no-role-passwords", "--no-comments", `--dbname=${uriWithoutPassword(sourceUrl)}`, "-f", raw],
            { connection: sourceUrl, logFile, keep: /error|FATAL/i },
        );
        if (r.exitCode !== 0) {
            throw new Error(`pg_dumpall --roles-only of the source failed (exit ${r.exitCode}): ${r.lines.slice(-3).join(" ")}`);
        }
        fs.writeFileSync(outFile, filterRolesDump(fs.readFileSync(raw, "utf8")), { mode: 0o600 });
    } finally {
        fs.rmSync(raw, { force: true });
    }
}
