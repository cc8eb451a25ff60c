// Functions, triggers and the view: the objects a restore most often gets subtly wrong (owners,
// search_path, security definer), so the demo has the usual Supabase patterns of each.
// All are created after the bulk load: the triggers must not fire for generated rows.

export const FUNCTIONS_SQL = `
create or replace function public.handle_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

-- Supabase's classic sign-up hook: every new auth user gets a profile. Security definer because
-- the inserting role (the auth server) has no rights on public.profiles.
create or replace function public.handle_new_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    insert into public.profiles (id, email, full_name, phone, avatar_url)
    values (new.id, new.email, new.raw_user_meta_data ->> 'full_name', new.phone,
            new.raw_user_meta_data ->> 'avatar_url')
    on conflict (id) do nothing;
    return new;
end;
$$;

-- Called through the API by the signed-in user; runs as that user, so RLS still applies.
create or replace function public.record_subsection_progress(p_subsection_id bigint, p_progress_percent integer)
returns public.lms_subsection_progress
language plpgsql
security invoker
set search_path = ''
as $$
declare
    result public.lms_subsection_progress;
begin
    if auth.uid() is null then
        raise exception 'not signed in' using errcode = '42501';
    end if;
    insert into public.lms_subsection_progress as p (user_id, subsection_id, progress_percent, completed_at)
    values (auth.uid(), p_subsection_id, p_progress_percent,
            case when p_progress_percent = 100 then now() end)
    on conflict (user_id, subsection_id) do update
        set progress_percent = greatest(p.progress_percent, excluded.progress_percent),
            completed_at = coalesce(p.completed_at, excluded.completed_at)
    returning * into result;
    return result;
end;
$$;

create or replace function public.search_documents(query text) returns setof public.documents
language sql
stable
security invoker
set search_path = ''
as $$
    select d.*
    from public.documents d
    where strpos(lower(d.title), lower(query)) > 0
    order by d.updated_at desc
    limit 50
$$;
`;

const UPDATED_AT_TABLES = [
    "profiles", "tasks", "documents", "lms_courses", "lms_subsections", "lms_subsection_progress",
];

export const TRIGGERS_SQL = [
    ...UPDATED_AT_TABLES.map(
        (t) => `create trigger ${t}_updated_at before update on public.${t} for each row execute function public.handle_updated_at();`,
    ),
    `create trigger on_auth_user_created after insert on auth.users for each row execute function public.handle_new_user();`,
].join("\n");

// security_invoker: the view applies the querying user's RLS, not its owner's (PostgreSQL 15+).
export const VIEWS_SQL = `
create view public.course_progress_summary with (security_invoker = true) as
select c.id as course_id,
       c.title as course_title,
       p.user_id,
       count(*) as subsections_started,
       count(*) filter (where p.progress_percent = 100) as subsections_completed,
       round(avg(p.progress_percent), 1) as average_progress_percent,
       max(p.updated_at) as last_activity_at
from public.lms_subsection_progress p
join public.lms_subsections s on s.id = p.subsection_id
join public.lms_courses c on c.id = s.course_id
group by c.id, c.title, p.user_id;
`;
