// Row level security and grants as a Supabase project has them: the API roles get broad table
// privileges and RLS decides which rows they see. A restore that drops a policy or a grant changes
// what users can read, which is why the demo has plenty of both.
import { PUBLIC_TABLES } from "./tables";

// (select auth.uid()) rather than auth.uid(): evaluated once per query instead of once per row,
// the form Supabase recommends for policies.
const ME = "(select auth.uid())";

function ownerPolicies(table: string, column: string, commands: readonly ("select" | "insert" | "update" | "delete")[]): string[] {
    return commands.map((cmd) => {
        const name = `"${table}: owner can ${cmd}"`;
        const target = `public.${table}`;
        switch (cmd) {
            case "select":
            case "delete":
                return `create policy ${name} on ${target} for ${cmd} to authenticated using (${ME} = ${column});`;
            case "insert":
                return `create policy ${name} on ${target} for insert to authenticated with check (${ME} = ${column});`;
            case "update":
                return `create policy ${name} on ${target} for update to authenticated using (${ME} = ${column}) with check (${ME} = ${column});`;
        }
    });
}

export const POLICY_STATEMENTS: readonly string[] = [
    ...PUBLIC_TABLES.map((t) => `alter table ${t.name} enable row level security;`),
    ...ownerPolicies("profiles", "id", ["select", "insert", "update"]),
    ...ownerPolicies("tasks", "user_id", ["select", "insert", "update", "delete"]),
    ...ownerPolicies("documents", "owner_id", ["select", "insert", "update", "delete"]),
    ...ownerPolicies("notifications", "user_id", ["select", "update"]),
    `create policy "lms_courses: signed-in users can read" on public.lms_courses for select to authenticated using (true);`,
    `create policy "lms_courses: anyone can read published" on public.lms_courses for select to anon using (is_published);`,
    `create policy "lms_subsections: signed-in users can read" on public.lms_subsections for select to authenticated using (true);`,
    ...ownerPolicies("lms_subsection_progress", "user_id", ["select", "insert", "update"]),
];

// Supabase's default privileges, re-applied in every database (grants are per database even
// though the roles are cluster-wide).
export const GRANTS_SQL = `
grant usage on schema public to anon, authenticated, service_role;
grant all on all tables in schema public to anon, authenticated, service_role;
grant all on all sequences in schema public to anon, authenticated, service_role;
grant all on all routines in schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on routines to anon, authenticated, service_role;

grant usage on schema extensions to anon, authenticated, service_role;
grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;
grant all on auth.users to service_role;
`;
