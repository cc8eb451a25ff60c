-- Cluster roles of a Supabase project, for a plain PostgreSQL cluster that is to look like one.
--
-- Roles are cluster-wide: other databases of the same cluster may depend on them. So a role is
-- only ever created when missing, never altered when present (attributes, settings and memberships
-- of an existing role stay as they are). A membership is granted only when at least one side of it
-- was created here, so two roles that both existed before never gain a link through us.
-- A concurrent creator losing the race (duplicate_object / unique_violation) counts as "exists".
--
-- Attributes, settings and memberships follow Supabase's own setup (supabase/postgres
-- migrations/db/init-scripts and migrations/db/migrations; supabase/realtime's tenant migration that
-- creates supabase_realtime_admin). Two settings Supabase has are left out on purpose:
--   authenticator  session_preload_libraries = 'safeupdate'  (the library is not part of plain
--                  PostgreSQL: every login of the role would fail)
--   postgres       search_path                                  (postgres already exists: never altered)
-- Roles are created without passwords: nothing logs in as them on a drill target.
do $roles$
declare
    spec record;
    membership record;
    setting text;
    created text[] := '{}';
begin
    for spec in
        select *
        from (values
            -- PostgREST's request roles: the API switches to one of them per request.
            ('anon',                       'nologin inherit',                                             array['statement_timeout=3s']),
            ('authenticated',              'nologin inherit',                                             array['statement_timeout=8s']),
            ('service_role',               'nologin inherit bypassrls',                                   array[]::text[]),
            -- The role PostgREST logs in as; noinherit so it holds no rights until it switches role.
            ('authenticator',              'login noinherit',                                             array['statement_timeout=8s', 'lock_timeout=8s']),
            -- Supabase's own superuser; on a hosted project `postgres` is not one.
            ('supabase_admin',             'login superuser createdb createrole replication bypassrls',   array['search_path="$user", public, auth, extensions', 'log_statement=none']),
            -- Service roles owning the auth (GoTrue), storage (storage-api) and realtime schemas.
            ('supabase_auth_admin',        'login noinherit createrole noreplication',                    array['search_path=auth', 'idle_in_transaction_session_timeout=60000', 'log_statement=none']),
            ('supabase_storage_admin',     'login noinherit createrole noreplication',                    array['search_path=storage', 'log_statement=none']),
            ('supabase_realtime_admin',    'nologin noinherit noreplication',                             array[]::text[]),
            ('supabase_replication_admin', 'login replication',                                           array[]::text[]),
            ('supabase_read_only_user',    'login bypassrls',                                             array[]::text[]),
            ('dashboard_user',             'nologin createdb createrole replication',                     array[]::text[]),
            ('pgbouncer',                  'login',                                                       array[]::text[]),
            -- Exists on every cluster initialised as `postgres`; created (without superuser, as on a
            -- hosted project) only on a cluster bootstrapped under another name.
            ('postgres',                   'login createdb createrole replication bypassrls',             array[]::text[])
        ) as s(name, options, settings)
    loop
        continue when exists (select 1 from pg_catalog.pg_roles where rolname = spec.name);
        begin
            execute format('create role %I %s', spec.name, spec.options);
            foreach setting in array spec.settings loop
                execute format('alter role %I set %s = %L', spec.name, split_part(setting, '=', 1),
                               substr(setting, strpos(setting, '=') + 1));
            end loop;
            created := created || spec.name;
        exception when duplicate_object or unique_violation then
            null; -- created meanwhile by someone else: theirs, not ours to change
        end;
    end loop;

    for membership in
        select *
        from (values
            ('anon', 'authenticator'), ('authenticated', 'authenticator'), ('service_role', 'authenticator'),
            ('anon', 'postgres'), ('authenticated', 'postgres'), ('service_role', 'postgres'),
            ('authenticator', 'postgres'),
            ('supabase_auth_admin', 'postgres'), ('supabase_storage_admin', 'postgres'),
            ('supabase_realtime_admin', 'postgres'),
            -- storage-api switches to the request roles through authenticator.
            ('authenticator', 'supabase_storage_admin'),
            ('pg_read_all_data', 'supabase_read_only_user'),
            ('pg_read_all_data', 'postgres'), ('pg_monitor', 'postgres'), ('pg_signal_backend', 'postgres')
        ) as m(grp, member)
    loop
        continue when not (membership.grp = any (created) or membership.member = any (created));
        continue when not exists (select 1 from pg_catalog.pg_roles where rolname = membership.grp)
                   or not exists (select 1 from pg_catalog.pg_roles where rolname = membership.member);
        execute format('grant %I to %I', membership.grp, membership.member);
    end loop;
end
$roles$;
