// The environment switch of runbook 001 path B step 6, as text: which variables the application, the
// backup job and the drills must change to use the restored database. Printed, never applied — the
// switch is the operator's decision after the checks pass. Connection details are shown without the
// password; keys are named, never shown.
import { describe, parseConnectionString } from "../postgres/connection";

/** The project ref of a Supabase database URL (direct db.<ref>.supabase.co, or the pooler's postgres.<ref> user). */
export function supabaseProjectRef(url: string): string | undefined {
    const info = parseConnectionString(url);
    const direct = /^db\.([a-z0-9]{20})\.supabase\.(co|com)$/i.exec(info.host);
    if (direct) return direct[1].toLowerCase();
    if (/\.pooler\.supabase\.com$/i.test(info.host)) {
        const user = /^[^.]+\.([a-z0-9]{20})$/i.exec(info.user);
        if (user) return user[1].toLowerCase();
    }
    return undefined;
}

export function environmentSwitch(targetUrl: string, liveUrl?: string): string {
    const target = parseConnectionString(targetUrl, "TARGET_DB_URL");
    const to = `${describe(target)} (user ${target.user}; the password is the target's)`;
    const from = liveUrl ? describe(parseConnectionString(liveUrl, "LIVE_DB_URL")) : "the current database";
    const ref = supabaseProjectRef(targetUrl);
    const liveRef = liveUrl ? supabaseProjectRef(liveUrl) : undefined;
    const lines = [
        "environment switch (NOT applied: change these where the services read them, after the checks pass):",
        `  database URL the app and workers use (DATABASE_URL, SUPABASE_DB_URL, …): ${from} → ${to}`,
        `  LIVE_DB_URL (recover), SOURCE_DB_URL (nightly backup job), the drills' source: → the target, so backups and drills follow it`,
    ];
    if (ref) {
        const api = `https://${ref}.supabase.co`;
        lines.push(
            `  NEXT_PUBLIC_SUPABASE_URL / SUPABASE_URL: ${liveRef ? `https://${liveRef}.supabase.co` : "the current project's URL"} → ${api}`,
            `  NEXT_PUBLIC_SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY: → project ${ref}'s API keys (Dashboard → Project Settings → API keys)`,
            `  STORAGE_URL (storage snapshots and path C): → ${api}/storage/v1 (restore Storage objects with 'recover storage')`,
            `  SUPABASE_JWT_SECRET: rotate (runbook 001 path B step 6) and redeploy everything that verifies JWTs`,
        );
    } else {
        lines.push(
            "  the target is a plain PostgreSQL database, not a Supabase project: the project's API (PostgREST, Auth, Storage)",
            "  keeps serving the old database unless its services are pointed at the target (self-hosted: PGRST_DB_URI,",
            "  GOTRUE_DB_DATABASE_URL, Storage's DATABASE_URL); on hosted Supabase restore into a new project instead",
        );
    }
    lines.push("  then run the RLS tests and the application's smoke tests against the target (runbook 001 path B steps 7-8)");
    return lines.join("\n");
}
