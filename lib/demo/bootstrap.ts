// What a Supabase project has before any app migration: the API roles, the `extensions` schema,
// and the `auth` schema with users and the JWT helper functions RLS policies call.

// Roles are cluster-wide while everything else is per database, and several demo databases may be
// seeded on one cluster, even at the same time. So each role is created only when missing, and a
// concurrent creator losing the race (unique_violation) is as good as "already exists". An existing
// role is never altered: on a real server it belongs to someone else.
function createRoleIfMissing(name: string, options: string, memberOf: readonly string[] = []): string {
    const grants = memberOf.map((role) => `grant ${role} to ${name};`).join(" ");
    return `
do $$
begin
    if not exists (select 1 from pg_catalog.pg_roles where rolname = '${name}') then
        begin
            create role ${name} ${options};
            ${grants}
        exception when duplicate_object or unique_violation then
            null;
        end;
    end if;
end
$$;`;
}

export const ROLES_SQL = [
    createRoleIfMissing("anon", "nologin noinherit"),
    createRoleIfMissing("authenticated", "nologin noinherit"),
    createRoleIfMissing("service_role", "nologin noinherit bypassrls"),
    // PostgREST logs in as authenticator and switches to one of the three per request.
    createRoleIfMissing("authenticator", "login noinherit", ["anon", "authenticated", "service_role"]),
].join("\n");

// Extensions live in their own schema, as on Supabase, so that `public` holds only app objects and
// a dump/restore of `public` never fights over extension functions. Everything we create refers to
// them schema-qualified (extensions.crypt), so nothing depends on the database's search_path; the
// search_path setting below is only there so ad-hoc SQL works as it does on Supabase.
export const EXTENSIONS_SQL = `
create schema if not exists extensions;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
do $$
begin
    execute format('alter database %I set search_path to "$user", public, extensions', current_database());
end
$$;
`;

// A subset of GoTrue's auth.users: the columns apps and RLS policies actually touch. Keys and
// constraints are added after the bulk load (see AUTH_CONSTRAINTS_SQL).
export const AUTH_SCHEMA_SQL = `
create schema if not exists auth;

create table auth.users (
    instance_id uuid,
    id uuid not null default gen_random_uuid(),
    aud varchar(255),
    role varchar(255),
    email varchar(255),
    encrypted_password varchar(255),
    email_confirmed_at timestamptz,
    confirmation_token varchar(255),
    phone text default null,
    phone_confirmed_at timestamptz,
    raw_app_meta_data jsonb,
    raw_user_meta_data jsonb,
    is_super_admin boolean,
    last_sign_in_at timestamptz,
    created_at timestamptz default now(),
    updated_at timestamptz default now()
);

-- The request's JWT arrives as settings; both the legacy per-claim setting and the JSON one are
-- read, like Supabase does. nullif(..., '') guards the JSON cast: a setting that was set and then
-- reset in a session reads as '' rather than NULL.
create or replace function auth.uid() returns uuid
language sql stable
as $$
    select nullif(
        coalesce(
            current_setting('request.jwt.claim.sub', true),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        ),
        ''
    )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
    select nullif(
        coalesce(
            current_setting('request.jwt.claim.role', true),
            (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        ),
        ''
    )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;
`;

export const AUTH_CONSTRAINTS_SQL = `
alter table auth.users add constraint users_pkey primary key (id);
alter table auth.users add constraint users_phone_key unique (phone);
create unique index users_email_key on auth.users (email);
create index users_instance_id_idx on auth.users (instance_id);
`;
