-- The Supabase-managed schemas of a fresh project, their owners and API privileges, for one
-- database. Runs as a superuser after roles.sql and 00_extensions.sql, in one transaction; every
-- statement may run again on a database that already has it.
--
-- Owners and privileges follow supabase/postgres (migrations/db/init-scripts/*.sql, run there as
-- `postgres`, and migrations/db/migrations/*.sql, run as `supabase_admin`). Schemas that Supabase
-- fills through its own extensions (graphql: pg_graphql, vault: supabase_vault) are created empty:
-- plain PostgreSQL does not ship those extensions, and a dump that needs them says so itself.

-- Schemas and their owners.
create schema if not exists auth;
alter schema auth owner to supabase_admin;
create schema if not exists storage;
alter schema storage owner to supabase_admin;
create schema if not exists realtime;
alter schema realtime owner to supabase_admin;
create schema if not exists graphql;
alter schema graphql owner to supabase_admin;
create schema if not exists graphql_public;
alter schema graphql_public owner to supabase_admin;
create schema if not exists vault;
alter schema vault owner to supabase_admin;
create schema if not exists pgbouncer;
alter schema pgbouncer owner to pgbouncer;
create schema if not exists supabase_migrations;
alter schema supabase_migrations owner to postgres;

-- public: the API roles may use it, and what postgres or supabase_admin creates there is granted
-- to them (the init script's defaults). Newer projects may have had these defaults revoked at
-- creation (supabase/cli internal/db/start/start.go, RevokeDefaultDataApiPrivilegesSql); a target
-- that must match such a source takes its platform from the source instead.
grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public grant all on sequences to postgres, anon, authenticated, service_role;

-- auth and storage: the schema-level part (their tables come in 20_auth.sql and 30_storage.sql).
grant usage on schema auth to anon, authenticated, service_role;
grant all on schema auth to supabase_auth_admin, dashboard_user, postgres;
grant usage on schema storage to anon, authenticated, service_role;
grant all on schema storage to postgres, supabase_storage_admin, dashboard_user;
alter default privileges for role postgres in schema storage grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema storage grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema storage grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema storage grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema storage grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema storage grant all on sequences to postgres, anon, authenticated, service_role;

-- realtime: filled by the Realtime service itself (its tables are not part of a dump trio).
grant usage on schema realtime to postgres;
grant all on schema realtime to supabase_realtime_admin;
alter default privileges for role supabase_admin in schema realtime grant all on tables to postgres, dashboard_user;
alter default privileges for role supabase_admin in schema realtime grant all on functions to postgres, dashboard_user;
alter default privileges for role supabase_admin in schema realtime grant all on sequences to postgres, dashboard_user;

-- graphql_public: the API's GraphQL entry point. Without pg_graphql it answers with an error
-- document, as a Supabase project does while the extension is off.
grant usage on schema graphql_public to postgres, anon, authenticated, service_role;
grant usage on schema graphql to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema graphql_public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema graphql_public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema graphql_public grant all on sequences to postgres, anon, authenticated, service_role;
set local role supabase_admin;
create or replace function graphql_public.graphql(
    "operationName" text default null,
    query text default null,
    variables jsonb default null,
    extensions jsonb default null
) returns jsonb
language sql
as $fn$
    select jsonb_build_object(
        'errors', jsonb_build_array(jsonb_build_object('message', 'pg_graphql extension is not enabled.'))
    );
$fn$;

-- pgbouncer: the pooler looks passwords up through this function (security definer: only a
-- superuser reads pg_shadow), and nobody else may call it.
create or replace function pgbouncer.get_auth(p_usename text)
returns table (username text, password text)
language plpgsql
security definer
set search_path = pg_catalog
as $fn$
begin
    raise warning 'PgBouncer auth request: %', p_usename;
    return query
        select s.usename::text, s.passwd::text from pg_catalog.pg_shadow s where s.usename = p_usename;
end
$fn$;
reset role;
revoke all on function pgbouncer.get_auth(text) from public;
grant execute on function pgbouncer.get_auth(text) to pgbouncer;

-- supabase_migrations: the CLI's migration history (`supabase db push` creates it the same way).
set local role postgres;
create table if not exists supabase_migrations.schema_migrations (
    version text not null primary key,
    statements text[],
    name text
);
create table if not exists supabase_migrations.seed_files (
    path text not null primary key,
    hash text not null
);
reset role;
