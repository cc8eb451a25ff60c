// The secret-rotation part of `recover rebuild`: what the new project rotated by construction, the
// project (Edge Function) secrets carried over, and the checklist of what only a person can rotate.
//
// The Management API never returns a secret's value, only its sha256 (GET /v1/projects/{ref}/secrets,
// `supabase secrets list` shows it as DIGEST). So secrets cannot be copied project to project: their
// values come from a file the operator keeps (--secret-values, KEY=VALUE lines), and when the old
// project is reachable each value is checked against the old project's digest before it is set
// on the new one. Names only in the report, never values.
import * as fs from "node:fs";
import type { SupabaseApi } from "../supabase/client";
import { secretDigest, validateSecrets } from "../supabase/secrets";

/** What a person must rotate or re-point: outside Supabase, so no API here can do it. */
export const MANUAL_ROTATION_CHECKLIST = [
    "email provider (SMTP / transactional email API keys): rotate if they were ever stored in the old project, and set the new project's Auth SMTP settings",
    "payment provider keys (e.g. Stripe secret and restricted keys) and their webhook signing secrets",
    "webhook endpoints that call the old project's URL (payment, email, auth hooks, third parties): point them at the new API URL",
    "database webhooks and cron jobs (pg_cron, pg_net) whose commands hold a URL or key of the old project",
    "cron / scheduler secrets outside the database (CI, GitHub Actions, external schedulers) that call Edge Functions",
    "OAuth providers' redirect URLs and client secrets (Auth > Providers) for the new project's callback URL",
    "the application's environment: SUPABASE_URL, anon / publishable key, service_role / secret key, database URL",
    "custom domain and DNS records, if the old project had one",
];

export interface SecretsReport {
    /** Rotated by creating the project: names only. */
    automatic: string[];
    /** Project secrets set on the new project (value checked against the old digest when `verified`). */
    copied: { name: string; verified: boolean }[];
    /** Already on the new project with the same digest (a retry). */
    unchanged: string[];
    /** Project secrets of the old project the rebuild could not set: each with why. */
    toSet: { name: string; why: string }[];
    /** The old project's secrets could not be listed (why), so the names to set are unknown. */
    oldProjectUnreachable?: string;
    manual: string[];
}

/** KEY=VALUE lines (dotenv-like: # comments, optional `export `, optional single or double quotes). */
export function parseSecretValues(file: string): Record<string, string> {
    const out: Record<string, string> = {};
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    lines.forEach((raw, i) => {
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) return;
        const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
        // The line is not repeated: it may hold a value.
        if (!m) throw new Error(`${file} line ${i + 1}: expected NAME=value`);
        let value = m[2];
        if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
        out[m[1]] = value;
    });
    const problems = validateSecrets(out);
    if (problems.length > 0) throw new Error(`${file}: ${problems.join("; ")}`);
    return out;
}

const isBuiltIn = (name: string) => /^SUPABASE_/i.test(name);

/** The old project's own secrets (name → digest), or why they could not be read. */
export async function oldProjectSecrets(api: SupabaseApi, oldRef: string): Promise<Map<string, string> | string> {
    try {
        const list = await api.listSecrets(oldRef);
        return new Map(list.filter((s) => !isBuiltIn(s.name)).map((s) => [s.name, s.value.toLowerCase()]));
    } catch (err) {
        return (err as Error).message;
    }
}

export interface SecretsPlanInput {
    keyNames: string[];
    old?: Map<string, string> | string;
    values: Record<string, string>;
    /** name → digest on the new project. */
    current: Map<string, string>;
}

/** Decides what to set; `set` carries values, everything else names only. */
export function planSecretCopy(input: SecretsPlanInput): { report: SecretsReport; set: { name: string; value: string }[] } {
    const automatic = [
        ...input.keyNames.map((k) => `API key '${k}' (new project, new key)`),
        "JWT secret (new project, new secret: every token signed by the old project is rejected)",
        "database password (generated for the new project)",
        "built-in Edge Function secrets SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY, SUPABASE_DB_URL (set by the platform for the new project)",
    ];
    const report: SecretsReport = { automatic, copied: [], unchanged: [], toSet: [], manual: [...MANUAL_ROTATION_CHECKLIST] };
    const set: { name: string; value: string }[] = [];
    const old = typeof input.old === "string" ? undefined : input.old;
    if (typeof input.old === "string") report.oldProjectUnreachable = input.old;
    const names = new Set([...(old?.keys() ?? []), ...Object.keys(input.values)]);
    for (const name of [...names].sort()) {
        const value = input.values[name];
        const oldDigest = old?.get(name);
        if (value === undefined) {
            report.toSet.push({ name, why: "no value in --secret-values" });
            continue;
        }
        const digest = secretDigest(value);
        if (old && oldDigest === undefined) {
            report.toSet.push({ name, why: "in --secret-values but not a secret of the old project: set it by hand if it is wanted" });
            continue;
        }
        if (oldDigest !== undefined && oldDigest !== digest) {
            report.toSet.push({ name, why: "the value in --secret-values is not the old project's (its sha256 differs)" });
            continue;
        }
        if (input.current.get(name) === digest) report.unchanged.push(name);
        else set.push({ name, value });
        report.copied.push({ name, verified: oldDigest !== undefined });
    }
    return { report, set };
}

export function formatSecretsReport(r: SecretsReport): string {
    const lines = ["# secret rotation", "rotated automatically (the new project has its own):"];
    for (const a of r.automatic) lines.push(`  [x] ${a}`);
    lines.push("project secrets (Edge Functions):");
    if (r.oldProjectUnreachable) lines.push(`  the old project's secrets could not be listed (${r.oldProjectUnreachable}): set every secret it had by hand`);
    for (const c of r.copied) lines.push(`  [x] ${c.name} set on the new project${c.verified ? " (value matches the old project's sha256)" : " (not checked: the old project was not read)"}${r.unchanged.includes(c.name) ? ", already there" : ""}`);
    for (const t of r.toSet) lines.push(`  [ ] ${t.name}: set by hand (${t.why})`);
    if (r.copied.length === 0 && r.toSet.length === 0 && !r.oldProjectUnreachable) lines.push("  none");
    lines.push("rotate or re-point by hand:");
    for (const m of r.manual) lines.push(`  [ ] ${m}`);
    return lines.join("\n");
}
