-- What every Supabase-shaped database needs whichever way its platform schemas are made: the
-- `extensions` schema with the extensions a fresh project has (where this server ships them), its
-- privileges, and the empty `supabase_realtime` publication. Runs as a superuser after roles.sql, in
-- one transaction; every statement may run again.
--
-- Facts from supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql (run
-- there as `postgres`: the schema and the publication belong to postgres) and
-- migrations/db/migrations/20230224042246_grant_extensions_perms_for_postgres.sql.
create schema if not exists extensions;
alter schema extensions owner to postgres;

-- The extensions every project starts with, where this server has them. pgjwt and the Supabase
-- extensions are not part of plain PostgreSQL; pg_stat_statements installs without being preloaded
-- (its views only answer once it is).
do $ext$
declare
    ext_name text;
begin
    foreach ext_name in array array['uuid-ossp', 'pgcrypto', 'pg_stat_statements'] loop
        if exists (select 1 from pg_catalog.pg_available_extensions a where a.name = ext_name)
           and not exists (select 1 from pg_catalog.pg_extension e where e.extname = ext_name) then
            execute format('create extension %I with schema extensions', ext_name);
        end if;
    end loop;
end
$ext$;

-- extensions: usable by the API roles; postgres may pass on what supabase_admin installs there.
grant usage on schema extensions to anon, authenticated, service_role;
grant all on schema extensions to postgres, dashboard_user;
grant all on all tables in schema extensions to postgres with grant option;
grant all on all routines in schema extensions to postgres with grant option;
grant all on all sequences in schema extensions to postgres with grant option;
grant all on all tables in schema extensions to dashboard_user;
grant all on all routines in schema extensions to dashboard_user;
grant all on all sequences in schema extensions to dashboard_user;
alter default privileges for role supabase_admin in schema extensions grant all on tables to postgres with grant option;
alter default privileges for role supabase_admin in schema extensions grant all on routines to postgres with grant option;
alter default privileges for role supabase_admin in schema extensions grant all on sequences to postgres with grant option;

-- Realtime's publication starts empty; the app adds its tables. schema.sql of a dump trio only
-- changes its owner, so it must exist before that runs.
do $pub$
begin
    if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
        create publication supabase_realtime;
        alter publication supabase_realtime owner to postgres;
    end if;
end
$pub$;
