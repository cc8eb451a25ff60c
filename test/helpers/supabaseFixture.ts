// A database shaped like a real Supabase project, for restore tests: the platform baseline
// (lib/supabase/platform, roles included), then an application built the way Supabase users build
// one — profiles keyed by auth.users with the on_auth_user_created trigger, app tables with RLS
// policies on (select auth.uid()), storage buckets, objects and policies, a custom login role, the
// CLI's migration history, a view, pgcrypto in `extensions`, and realistic auth rows (bcrypt
// passwords, metadata, email identities, sessions, refresh tokens, audit entries).
//
// authVariant "older" turns auth and storage into an older release of Supabase Auth / Storage
// (GoTrue of autumn 2023, storage-api before object versions): identities keyed by (provider, id)
// without provider_id, users without is_anonymous, no one_time_tokens/oauth/webauthn tables, objects
// without version/owner_id/user_metadata, buckets without type. A dump of it loads only into a
// target whose platform was taken from this source, not into the current baseline.
import type { Client } from "pg";
import { quoteIdent, withClient, withDatabase } from "../../lib/postgres/connection";
import { applyBaselineFiles, BASELINE_DATABASE_FILES, ensurePlatformRoles } from "../../lib/supabase/platform/baseline";

export interface SupabaseFixtureOptions {
    /** auth.users rows (each with a profile, an identity, a session, 2 projects, 4 tasks, 2 objects). Default 40. */
    users?: number;
    authVariant?: "baseline" | "older";
}

export interface SupabaseFixture {
    url: string;
    dbName: string;
    users: number;
    authVariant: "baseline" | "older";
    /** The app's tables in public. */
    appTables: string[];
    /** The custom login role the fixture made (cluster-wide; created only when missing). */
    customRole: string;
}

export const FIXTURE_CUSTOM_ROLE = "reporting_reader";

export async function createSupabaseFixture(
    adminUrl: string,
    dbName: string,
    opts: SupabaseFixtureOptions = {},
): Promise<SupabaseFixture> {
    const users = opts.users ?? 40;
    const variant = opts.authVariant ?? "baseline";
    if (!Number.isInteger(users) || users < 1) throw new Error(`users must be a positive integer (got ${users})`);
    await withClient(adminUrl, "fixture admin", (c) => c.query(`create database ${quoteIdent(dbName)}`));
    const url = withDatabase(adminUrl, dbName);
    await withClient(url, "fixture database", async (c) => {
        await ensurePlatformRoles(c, true);
        await applyBaselineFiles(c, BASELINE_DATABASE_FILES);
        await c.query("begin");
        try {
            if (variant === "older") await c.query(OLDER_PLATFORM_SQL);
            await c.query(APP_SCHEMA_SQL);
            await c.query(CUSTOM_ROLE_SQL);
            await seed(c, users, variant);
            await c.query("commit");
        } catch (err) {
            await c.query("rollback").catch(() => undefined);
            throw err;
        }
    });
    return { url, dbName, users, authVariant: variant, appTables: ["profiles", "projects", "tasks"], customRole: FIXTURE_CUSTOM_ROLE };
}

// The older release: what GoTrue and storage-api had before the migrations named beside each step.
const OLDER_PLATFORM_SQL = `
-- GoTrue before 20231117164230_add_id_pkey_identities: identities keyed by (provider, id).
drop table auth.identities;
create table auth.identities (
    id text not null,
    user_id uuid not null,
    identity_data jsonb not null,
    provider text not null,
    last_sign_in_at timestamptz,
    created_at timestamptz,
    updated_at timestamptz,
    email text generated always as (lower(identity_data ->> 'email')) stored,
    constraint identities_pkey primary key (provider, id),
    constraint identities_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade
);
alter table auth.identities owner to supabase_auth_admin;
create index identities_user_id_idx on auth.identities (user_id);
create index identities_email_idx on auth.identities (email text_pattern_ops);
alter table auth.identities enable row level security;
grant all on auth.identities to postgres, dashboard_user;
-- Before 20240214120130 (is_anonymous), 20231027141322/20231114161723 (session refresh columns, tag)
-- and the 2024-2026 MFA, one-time-token, OAuth server and WebAuthn migrations.
alter table auth.users drop column is_anonymous;
alter table auth.sessions drop column refreshed_at, drop column user_agent, drop column ip, drop column tag,
    drop column oauth_client_id, drop column refresh_token_hmac_key, drop column refresh_token_counter, drop column scopes;
alter table auth.mfa_factors drop column phone, drop column last_challenged_at, drop column web_authn_credential,
    drop column web_authn_aaguid, drop column last_webauthn_challenge_data;
alter table auth.mfa_challenges drop column otp_code, drop column web_authn_session_data;
alter table auth.flow_state drop column auth_code_issued_at, drop column invite_token, drop column referrer,
    drop column oauth_client_state_id, drop column linking_target_id, drop column email_optional;
alter table auth.saml_providers drop column name_id_format;
alter table auth.sso_providers drop column disabled;
drop table auth.one_time_tokens, auth.oauth_consents, auth.oauth_authorizations, auth.oauth_client_states,
    auth.oauth_clients, auth.webauthn_credentials, auth.webauthn_challenges, auth.custom_oauth_providers;
drop type auth.one_time_token_type, auth.oauth_registration_type, auth.oauth_client_type,
    auth.oauth_authorization_status, auth.oauth_response_type;
delete from auth.schema_migrations where version > '20230914180801';
-- storage-api before 0016-add-version: no object versions, owner_id, user metadata, multipart
-- uploads, analytics/vector buckets or delete protection.
drop trigger protect_objects_delete on storage.objects;
drop trigger protect_buckets_delete on storage.buckets;
drop function storage.protect_delete();
alter table storage.objects drop column version, drop column owner_id, drop column user_metadata,
    drop column archived_at, drop column is_delete_marker, drop column is_versioned;
alter table storage.buckets drop column owner_id, drop column type, drop column versioning_status;
drop table storage.s3_multipart_uploads_parts, storage.s3_multipart_uploads, storage.vector_indexes,
    storage.buckets_vectors, storage.iceberg_tables, storage.iceberg_namespaces, storage.buckets_analytics;
drop type storage.buckettype;
delete from storage.migrations where id > 15;
`;

// The application, as a Supabase user writes it (the dashboard's "User Management Starter" pattern
// plus two app tables).
const APP_SCHEMA_SQL = `
create table public.profiles (
    id uuid not null primary key references auth.users (id) on delete cascade,
    username text unique,
    full_name text,
    avatar_url text,
    website text,
    updated_at timestamptz default now(),
    constraint username_length check (char_length(username) >= 3)
);
alter table public.profiles enable row level security;
create policy "Public profiles are viewable by everyone." on public.profiles for select using (true);
create policy "Users can insert their own profile." on public.profiles for insert with check ((select auth.uid()) = id);
create policy "Users can update own profile." on public.profiles for update using ((select auth.uid()) = id);

create function public.handle_new_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    insert into public.profiles (id, full_name, avatar_url)
    values (new.id, new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'avatar_url');
    return new;
end;
$$;
create trigger on_auth_user_created
    after insert on auth.users
    for each row execute procedure public.handle_new_user();

create table public.projects (
    id bigint generated by default as identity primary key,
    owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
    name text not null,
    api_key text not null default encode(extensions.gen_random_bytes(16), 'hex'),
    created_at timestamptz not null default now()
);
alter table public.projects enable row level security;
create policy "Owners manage their projects" on public.projects for all to authenticated
    using ((select auth.uid()) = owner_id) with check ((select auth.uid()) = owner_id);

create table public.tasks (
    id bigint generated always as identity primary key,
    project_id bigint not null references public.projects (id) on delete cascade,
    assignee uuid references auth.users (id) on delete set null,
    title text not null,
    done boolean not null default false,
    due date,
    created_at timestamptz not null default now()
);
create index tasks_project_id_idx on public.tasks (project_id);
alter table public.tasks enable row level security;
create policy "Project owners see tasks" on public.tasks for select to authenticated
    using (exists (select 1 from public.projects p where p.id = project_id and p.owner_id = (select auth.uid())));
create policy "Assignees update tasks" on public.tasks for update to authenticated
    using (assignee = (select auth.uid()));

create view public.project_summaries with (security_invoker = true) as
    select p.id, p.name, p.owner_id, count(t.id) as tasks, count(t.id) filter (where t.done) as done
      from public.projects p left join public.tasks t on t.project_id = p.id
     group by p.id;

alter publication supabase_realtime add table public.tasks;

-- Storage: a public avatars bucket and a private documents bucket, with the policies the docs show.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('avatars', 'avatars', true, 1048576, array['image/png', 'image/jpeg']),
       ('documents', 'documents', false, 52428800, null);
create policy "Avatar images are publicly accessible." on storage.objects for select using (bucket_id = 'avatars');
create policy "Anyone can upload an avatar." on storage.objects for insert to authenticated
    with check (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy "Owners read their documents" on storage.objects for select to authenticated
    using (bucket_id = 'documents' and owner = (select auth.uid()));

-- The CLI's migration history, as \`supabase db push\` leaves it.
insert into supabase_migrations.schema_migrations (version, name, statements) values
    ('20240101120000', 'profiles', array['create table public.profiles (...)', 'create trigger on_auth_user_created ...']),
    ('20240215093000', 'projects_and_tasks', array['create table public.projects (...)', 'create table public.tasks (...)']),
    ('20240302180000', 'storage_policies', array['create policy "Avatar images are publicly accessible." ...']);
`;

// Roles are cluster-wide: created only when missing; an existing one is left as it is.
const CUSTOM_ROLE_SQL = `
do $$
begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = '${FIXTURE_CUSTOM_ROLE}') then
        create role ${FIXTURE_CUSTOM_ROLE} login noinherit;
        alter role ${FIXTURE_CUSTOM_ROLE} set statement_timeout = '30s';
    end if;
exception when duplicate_object or unique_violation then null;
end
$$;
grant usage on schema public to ${FIXTURE_CUSTOM_ROLE};
grant select on public.projects, public.project_summaries to ${FIXTURE_CUSTOM_ROLE};
`;

async function seed(c: Client, users: number, variant: "baseline" | "older"): Promise<void> {
    // GoTrue writes '' into the token columns and the instance id 00000000-…; passwords are bcrypt.
    await c.query(
        `insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
                                 confirmation_token, recovery_token, email_change_token_new, email_change,
                                 last_sign_in_at, raw_app_meta_data, raw_user_meta_data, is_super_admin,
                                 created_at, updated_at, phone, phone_confirmed_at)
         select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
                format('user%s@example.test', i),
                extensions.crypt(format('password-%s', i), extensions.gen_salt('bf', 4)),
                now() - make_interval(days => i), '', '', '', '',
                now() - make_interval(hours => i),
                jsonb_build_object('provider', 'email', 'providers', jsonb_build_array('email')),
                jsonb_build_object('email', format('user%s@example.test', i), 'full_name', format('User Number %s', i),
                                   'email_verified', true, 'phone_verified', false),
                null, now() - make_interval(days => i + 30), now() - make_interval(days => i),
                case when i % 3 = 0 then format('4915%s', lpad(i::text, 8, '0')) end,
                case when i % 3 = 0 then now() - make_interval(days => i) end
           from generate_series(1, $1::int) as i`,
        [users],
    );
    // The identity GoTrue keeps per sign-in method; older releases keyed it by the provider's id.
    const identityKey = variant === "older" ? "id" : "provider_id";
    await c.query(
        `insert into auth.identities (${identityKey}, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
         select u.id::text, u.id,
                jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true, 'phone_verified', false),
                'email', u.last_sign_in_at, u.created_at, u.updated_at
           from auth.users u`,
    );
    await c.query(
        `insert into auth.sessions (id, user_id, created_at, updated_at, aal, not_after)
         select gen_random_uuid(), u.id, u.last_sign_in_at, u.last_sign_in_at, 'aal1', null from auth.users u`,
    );
    await c.query(
        `insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
         select '00000000-0000-0000-0000-000000000000', encode(extensions.gen_random_bytes(9), 'hex'), s.user_id::text,
                false, s.created_at, s.created_at, null, s.id
           from auth.sessions s`,
    );
    await c.query(
        `insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
         select '00000000-0000-0000-0000-000000000000', gen_random_uuid(),
                json_build_object('action', 'login', 'actor_id', u.id, 'actor_username', u.email, 'log_type', 'account'),
                u.last_sign_in_at, '203.0.113.' || (row_number() over () % 250)
           from auth.users u`,
    );
    await c.query(
        `update public.profiles p set username = 'user_' || substr(p.id::text, 1, 8), website = 'https://example.test/' || substr(p.id::text, 1, 8)`,
    );
    await c.query(
        `insert into public.projects (owner_id, name, created_at)
         select u.id, format('Project %s of %s', n, split_part(u.email, '@', 1)), u.created_at + make_interval(days => n)
           from auth.users u, generate_series(1, 2) as n`,
    );
    await c.query(
        `insert into public.tasks (project_id, assignee, title, done, due)
         select p.id, case when n % 2 = 0 then p.owner_id end, format('Task %s of project %s', n, p.id), n % 3 = 0,
                (date '2024-06-01' + (p.id * 7 + n)::int)
           from public.projects p, generate_series(1, 2) as n`,
    );
    await c.query(
        `insert into storage.objects (bucket_id, name, owner, metadata, created_at, updated_at, last_accessed_at)
         select b.bucket, u.id::text || '/' || b.file, u.id,
                jsonb_build_object('eTag', '"' || md5(u.id::text || b.file) || '"', 'size', 1000 + length(u.email) * 37,
                                   'mimetype', b.mime, 'cacheControl', 'max-age=3600',
                                   'lastModified', to_char(u.created_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                   'contentLength', 1000 + length(u.email) * 37, 'httpStatusCode', 200),
                u.created_at, u.created_at, u.created_at
           from auth.users u,
                (values ('avatars', 'avatar.png', 'image/png'), ('documents', 'report.pdf', 'application/pdf')) as b(bucket, file, mime)`,
    );
}
