// The part of a database's catalogue that path B must carry over intact (runbook 001: "verify
// extensions, RLS, and helper functions exist"): extensions, tables with row level security (enabled
// and forced), policies, and functions (not those an extension owns). Read in one READ ONLY
// transaction; names only, never data.
//
// `compareCatalogue` checks a database against the backup's catalogue: every extension, RLS table,
// policy and function of the backup must still be there (RLS still on). Objects the migrations added
// are fine; a policy whose expression a migration changed is reported as a note, not a failure.
import type { Client } from "pg";

export interface PolicyInfo {
    command: string;
    roles: string[];
    using: string | null;
    check: string | null;
}

export interface Catalogue {
    /** extension name → version */
    extensions: Record<string, string>;
    /** "schema.table" → { forced } for tables with row level security enabled */
    rls: Record<string, { forced: boolean }>;
    /** "schema.table" → policy name → definition */
    policies: Record<string, Record<string, PolicyInfo>>;
    /** "schema.name(identity arguments)" */
    functions: string[];
}

export interface CatalogueCheck {
    name: "extensions" | "row level security" | "policies" | "functions" | "migration history";
    ok: boolean;
    /** What is wrong (FAIL), each naming the object. */
    problems: string[];
    /** Worth a look, not a failure. */
    notes: string[];
    /** How many objects of the backup were checked. */
    checked: number;
}

const SYSTEM_SCHEMAS = "n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast\\_temp\\_%'";

function qualified(schema: string, name: string): string {
    const q = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
    return `${q(schema)}.${q(name)}`;
}

export async function readCatalogue(client: Client): Promise<Catalogue> {
    await client.query("begin isolation level repeatable read read only");
    try {
        const ext = await client.query<{ extname: string; extversion: string }>("select extname, extversion from pg_catalog.pg_extension order by extname");
        const rls = await client.query<{ nspname: string; relname: string; forced: boolean }>(
            `select n.nspname, c.relname, c.relforcerowsecurity as forced
               from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
              where c.relkind in ('r', 'p') and c.relrowsecurity and ${SYSTEM_SCHEMAS}
              order by 1, 2`,
        );
        const pol = await client.query<{ nspname: string; relname: string; polname: string; cmd: string; roles: string[]; qual: string | null; check: string | null }>(
            `select n.nspname, c.relname, p.polname,
                    case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end as cmd,
                    case when p.polroles = '{0}' then array['public']
                         else array(select r.rolname::text from pg_catalog.pg_roles r where r.oid = any (p.polroles) order by 1) end as roles,
                    pg_catalog.pg_get_expr(p.polqual, p.polrelid) as qual,
                    pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as check
               from pg_catalog.pg_policy p
               join pg_catalog.pg_class c on c.oid = p.polrelid
               join pg_catalog.pg_namespace n on n.oid = c.relnamespace
              order by 1, 2, 3`,
        );
        const fn = await client.query<{ nspname: string; proname: string; args: string }>(
            `select n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid) as args
               from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
              where ${SYSTEM_SCHEMAS}
                and not exists (select 1 from pg_catalog.pg_depend d
                                 where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
              order by 1, 2, 3`,
        );
        const catalogue: Catalogue = {
            extensions: Object.fromEntries(ext.rows.map((r) => [r.extname, r.extversion])),
            rls: Object.fromEntries(rls.rows.map((r) => [qualified(r.nspname, r.relname), { forced: r.forced }])),
            policies: {},
            functions: fn.rows.map((r) => `${qualified(r.nspname, r.proname)}(${r.args})`),
        };
        for (const p of pol.rows) {
            const table = qualified(p.nspname, p.relname);
            (catalogue.policies[table] ??= {})[p.polname] = { command: p.cmd, roles: p.roles, using: p.qual, check: p.check };
        }
        return catalogue;
    } finally {
        await client.query("rollback").catch(() => undefined);
    }
}

/** Tables (schema.table) that exist, to tell "RLS switched off" from "table dropped". */
export async function existingTables(client: Client, names: string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const r = await client.query<{ nspname: string; relname: string }>(
        `select n.nspname, c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          where c.relkind in ('r', 'p') and ${SYSTEM_SCHEMAS}`,
    );
    const all = new Set(r.rows.map((x) => qualified(x.nspname, x.relname)));
    return new Set(names.filter((n) => all.has(n)));
}

/**
 * `expected` is the backup's catalogue; `backupExtensions` the extensions the backup file itself
 * creates (some may have been left out of the restore because the server lacks them).
 */
export function compareCatalogue(expected: Catalogue, actual: Catalogue, tablesNow: Set<string>, backupExtensions: string[] = []): CatalogueCheck[] {
    const extNames = [...new Set([...Object.keys(expected.extensions), ...backupExtensions])].sort();
    const extensions: CatalogueCheck = { name: "extensions", ok: true, problems: [], notes: [], checked: extNames.length };
    for (const e of extNames) {
        if (!(e in actual.extensions)) extensions.problems.push(`extension ${e} of the backup is not installed`);
        else if (expected.extensions[e] && expected.extensions[e] !== actual.extensions[e]) {
            extensions.notes.push(`extension ${e}: version ${expected.extensions[e]} in the backup, ${actual.extensions[e]} now`);
        }
    }

    const rlsTables = Object.keys(expected.rls).sort();
    const rls: CatalogueCheck = { name: "row level security", ok: true, problems: [], notes: [], checked: rlsTables.length };
    for (const t of rlsTables) {
        if (!tablesNow.has(t)) rls.problems.push(`table ${t} had row level security in the backup and no longer exists`);
        else if (!actual.rls[t]) rls.problems.push(`table ${t} had row level security enabled in the backup and has it DISABLED now`);
        else if (expected.rls[t].forced && !actual.rls[t].forced) rls.problems.push(`table ${t} had row level security FORCED in the backup and not now`);
    }

    const policies: CatalogueCheck = { name: "policies", ok: true, problems: [], notes: [], checked: 0 };
    for (const [table, byName] of Object.entries(expected.policies).sort(([a], [b]) => a.localeCompare(b))) {
        for (const [name, p] of Object.entries(byName)) {
            policies.checked++;
            const now = actual.policies[table]?.[name];
            if (!now) policies.problems.push(`policy "${name}" on ${table} is missing`);
            else if (now.command !== p.command || now.roles.join(",") !== p.roles.join(",") || now.using !== p.using || now.check !== p.check) {
                policies.notes.push(`policy "${name}" on ${table} differs from the backup's (changed by a migration?)`);
            }
        }
    }

    const have = new Set(actual.functions);
    const functions: CatalogueCheck = { name: "functions", ok: true, problems: [], notes: [], checked: expected.functions.length };
    for (const f of expected.functions) if (!have.has(f)) functions.problems.push(`function ${f} is missing`);

    const checks = [extensions, rls, policies, functions];
    for (const c of checks) c.ok = c.problems.length === 0;
    return checks;
}

/** Counts, for the dry run and the report. */
export function catalogueCounts(c: Catalogue): string {
    const policies = Object.values(c.policies).reduce((n, p) => n + Object.keys(p).length, 0);
    return `${Object.keys(c.extensions).length} extension(s), ${Object.keys(c.rls).length} table(s) with RLS, ${policies} polic(ies), ${c.functions.length} function(s)`;
}

export function formatChecks(checks: CatalogueCheck[]): string {
    const lines: string[] = [];
    for (const c of checks) {
        lines.push(`  ${c.ok ? "PASS" : "FAIL"}  ${c.name} (${c.checked} checked)`);
        for (const p of c.problems) lines.push(`        - ${p}`);
        for (const n of c.notes) lines.push(`        note: ${n}`);
    }
    return lines.join("\n");
}
