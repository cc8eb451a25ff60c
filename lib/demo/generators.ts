// The INSERT ... SELECT statements that generate the demo rows inside PostgreSQL. Row n of a table
// is a pure function of n and the row counts: every "random" choice comes from md5 of a key like
// 'tasks:42', never from random(), so seeds are reproducible and can be loaded in any chunking.
//
// Each per-row value is computed in a `cross join lateral (select ... offset 0)`: OFFSET 0 stops the
// planner from flattening the subquery into every place its columns are used, which would recompute
// the md5s and the generated texts once per reference (measured 2-4x slower).
import type { DemoRowCounts } from "./sizing";
import { SUBSECTIONS_PER_COURSE } from "./sizing";
import {
    COURSE_ADJECTIVES, COURSE_LEVELS, COURSE_SUBJECTS, DOC_KINDS, DOC_TOPICS, EMAIL_DOMAINS, FIRST_NAMES,
    LAST_NAMES, LOCALES, NOTIFICATION_TYPES, TAGS, TASK_OBJECTS, TASK_VERBS, WORDS, pick,
} from "./vocabulary";

const PHRASES = 4096;
const EPOCH = "timestamptz '2024-01-01 00:00:00+00'";
const YEAR_SECONDS = 365 * 24 * 3600;

// Session-local helpers (pg_temp): they vanish with the seeding session, so the demo database
// holds only what a real project would.
export const HELPERS_SQL = `
create function pg_temp.demo_hash(key text) returns bigint
language sql immutable
as $$ select ('x' || substr(md5(key), 1, 15))::bit(60)::bigint $$;

-- A version-4-shaped uuid derived from md5, so foreign keys can be computed without a join.
create function pg_temp.demo_uuid(kind text, n bigint) returns uuid
language sql immutable
as $$
    select (substr(h, 1, 12) || '4' || substr(h, 14, 3) || substr('89ab', 1 + ascii(substr(h, 17, 1)) % 4, 1)
            || substr(h, 18, 15))::uuid
    from (select md5(kind || ':' || n) as h) s
$$;

create temp table demo_phrase (k integer primary key, txt text not null);
insert into demo_phrase
select k, upper(left(s, 1)) || substr(s, 2) || '.'
from generate_series(0, ${PHRASES - 1}) k
cross join lateral (
    select string_agg(${pick(WORDS, "pg_temp.demo_hash('w:' || k || ':' || j)")}, ' ' order by j) as s
    from generate_series(1, 5 + k % 8) j
) w;
analyze demo_phrase;
`;

/**
 * SQL for a text of `sentences` sentences drawn from the phrase table, chosen by `seed` (a bigint
 * SQL expression, referenced several times: pass a column, not a call). Sentences are picked along
 * a quadratic walk so that texts with different seeds rarely share more than a sentence or two.
 */
export function textSql(seed: string, sentences: string): string {
    const step = (shift: number) => `((${seed} >> ${shift}) % ${PHRASES})`;
    const index = `((${seed} % ${PHRASES}) + j * ${step(12)} + j * j * ${step(24)}) % ${PHRASES}`;
    return `(select string_agg((select p.txt from pg_temp.demo_phrase p where p.k = ${index}),
        case when j % 4 = 3 then E'\\n\\n' else ' ' end order by j)
        from generate_series(0, (${sentences}) - 1) j)`;
}

/** The uuid of user number `n` (1-based SQL expression), as auth.users got it. */
function userId(n: string): string {
    return `pg_temp.demo_uuid('user', ${n})`;
}

function slugSql(title: string, n: string): string {
    return `lower(trim(both '-' from regexp_replace(${title}, '[^A-Za-z0-9]+', '-', 'g'))) || '-' || ${n}`;
}

function userCreatedAt(userNumber: string): string {
    return `(${EPOCH} + (pg_temp.demo_hash('user:' || ${userNumber}) % ${YEAR_SECONDS}) * interval '1 second')`;
}

function seconds(expr: string): string {
    return `(${expr}) * interval '1 second'`;
}

export interface TableLoader {
    table: string;
    rows(counts: DemoRowCounts): number;
    /** Rows lo..hi (1-based, inclusive). Loaders without a range take everything at once. */
    sql(counts: DemoRowCounts, lo: number, hi: number): string;
    chunked: boolean;
}

// One bcrypt hash for every demo user ("demo-password"): bcrypt per row would dominate the seed.
const PASSWORD_HASH = "extensions.crypt('demo-password', '$2a$06$SupabaseDrDemoSaltXXXXu')";

const users: TableLoader = {
    table: "auth.users",
    chunked: true,
    rows: (c) => c.users,
    sql: (_c, lo, hi) => `
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
    confirmation_token, phone, phone_confirmed_at, raw_app_meta_data, raw_user_meta_data, is_super_admin,
    last_sign_in_at, created_at, updated_at)
select '00000000-0000-0000-0000-000000000000'::uuid, ${userId("i")}, 'authenticated', 'authenticated',
    lower(n.first_name || '.' || n.last_name || i) || '@' || ${pick(EMAIL_DOMAINS, "x.h >> 12")},
    pw.hash,
    case when x.h % 10 < 9 then n.created + interval '7 minutes' end,
    encode(extensions.digest('confirm:' || i, 'sha256'), 'hex'),
    '+1555' || lpad(i::text, 7, '0'),
    case when x.h % 3 = 0 then n.created + interval '1 hour' end,
    jsonb_build_object('provider', n.provider, 'providers', jsonb_build_array(n.provider)),
    jsonb_build_object('full_name', n.first_name || ' ' || n.last_name,
        'avatar_url', 'https://avatars.example.com/u/' || i || '.png',
        'locale', ${pick(LOCALES, "x.h >> 16")}, 'marketing_opt_in', (x.h >> 20) % 4 = 0),
    false,
    n.created + ${seconds(`(x.h >> 22) % 8000000`)},
    n.created,
    n.created + ${seconds(`(x.h >> 40) % 5000000`)}
from generate_series(${lo}, ${hi}) i
cross join lateral (select pg_temp.demo_hash('user:' || i) as h offset 0) x
cross join lateral (
    select ${EPOCH} + ${seconds(`x.h % ${YEAR_SECONDS}`)} as created,
        ${pick(FIRST_NAMES, "x.h >> 25")} as first_name,
        ${pick(LAST_NAMES, "x.h >> 31")} as last_name,
        ${pick(["email", "email", "email", "google", "github"], "x.h >> 37")} as provider offset 0) n
cross join (select ${PASSWORD_HASH} as hash) pw`,
};

// Profiles mirror auth.users the way the handle_new_user trigger would fill them.
const profiles: TableLoader = {
    table: "public.profiles",
    chunked: false,
    rows: (c) => c.users,
    sql: () => `
insert into public.profiles (id, email, full_name, phone, avatar_url, bio, locale, created_at, updated_at)
select u.id, u.email, u.raw_user_meta_data ->> 'full_name', u.phone, u.raw_user_meta_data ->> 'avatar_url',
    case when x.h % 4 <> 0 then ${textSql("x.h", "1 + x.h % 3")} end,
    u.raw_user_meta_data ->> 'locale', u.created_at, u.updated_at
from auth.users u
cross join lateral (select pg_temp.demo_hash('profile:' || u.id) as h offset 0) x`,
};

const STATUS_WEIGHTS = ["todo", "todo", "todo", "in_progress", "in_progress", "done", "done", "done", "done", "archived"];

function tagsSql(hash: string, maxTags: number): string {
    return `array(select distinct t from (select ${pick(TAGS, `(${hash}) >> (4 * j)`)} as t
        from generate_series(1, ((${hash}) % ${maxTags + 1})::integer) j) s order by t)`;
}

const tasks: TableLoader = {
    table: "public.tasks",
    chunked: true,
    rows: (c) => c.tasks,
    sql: (c, lo, hi) => `
insert into public.tasks (id, user_id, title, description, status, priority, due_date, tags, metadata,
    completed_at, inserted_at, updated_at)
select i, ${userId("x.u")},
    ${pick(TASK_VERBS, "x.h")} || ' ' || ${pick(TASK_OBJECTS, "x.h >> 5")},
    case when (x.h >> 10) % 5 <> 0 then ${textSql("x.h2", "1 + (x.h >> 13) % 3")} end,
    s.status,
    1 + (x.h >> 16) % 5,
    date '2024-01-01' + ((x.h >> 19) % 540)::integer,
    ${tagsSql("x.h2 >> 36", 3)},
    jsonb_build_object('estimate_hours', 1 + (x.h >> 29) % 16,
        'source', ${pick(["web", "web", "mobile", "api", "import"], "x.h >> 33")},
        'checklist', jsonb_build_array(
            jsonb_build_object('item', ${pick(TASK_OBJECTS, "x.h >> 36")}, 'done', (x.h >> 41) % 2 = 0),
            jsonb_build_object('item', ${pick(TASK_OBJECTS, "x.h >> 42")}, 'done', (x.h >> 47) % 2 = 0))),
    case when s.status = 'done' then s.created + ${seconds(`(x.h >> 48) % 1209600`)} end,
    s.created,
    s.created + ${seconds(`(x.h >> 30) % 2592000`)}
from generate_series(${lo}, ${hi}) i
cross join lateral (select (i - 1) % ${c.users} + 1 as u, pg_temp.demo_hash('tasks:' || i) as h,
    pg_temp.demo_hash('tasks/text:' || i) as h2 offset 0) x
cross join lateral (select ${pick(STATUS_WEIGHTS, "x.h >> 24")} as status,
    ${userCreatedAt("x.u")} + ${seconds(`x.h2 % 15552000`)} as created offset 0) s`,
};

const documents: TableLoader = {
    table: "public.documents",
    chunked: true,
    rows: (c) => c.documents,
    sql: (c, lo, hi) => `
insert into public.documents (id, owner_id, title, slug, body, content_type, size_bytes, storage_path,
    is_public, metadata, created_at, updated_at)
select i, d.owner_id, d.title, d.slug, b.body, 'text/markdown', octet_length(b.body),
    'uploads/' || d.owner_id || '/' || d.slug || '.md',
    x.h % 5 = 0,
    jsonb_build_object('tags', to_jsonb(${tagsSql("x.h >> 30", 4)}),
        'language', ${pick(["en", "en", "en", "en", "de", "fr", "es"], "x.h >> 8")},
        'version', 1 + (x.h >> 11) % 12, 'pinned', (x.h >> 15) % 9 = 0),
    d.created, d.created + ${seconds(`(x.h >> 16) % 7776000`)}
from generate_series(${lo}, ${hi}) i
cross join lateral (select (i - 1) % ${c.users} + 1 as u, pg_temp.demo_hash('documents:' || i) as h,
    pg_temp.demo_hash('documents/text:' || i) as h2 offset 0) x
cross join lateral (select ${userId("x.u")} as owner_id,
    ${pick(DOC_KINDS, "x.h")} || ': ' || ${pick(DOC_TOPICS, "x.h >> 3")} as title,
    ${userCreatedAt("x.u")} + ${seconds(`x.h2 % 15552000`)} as created offset 0) t
cross join lateral (select t.owner_id, t.title, t.created, ${slugSql("t.title", "i")} as slug offset 0) d
cross join lateral (select '# ' || d.title || E'\\n\\n' || ${textSql("x.h2", "6 + (x.h >> 23) % 23")} as body offset 0) b`,
};

const notifications: TableLoader = {
    table: "public.notifications",
    chunked: true,
    rows: (c) => c.notifications,
    sql: (c, lo, hi) => `
insert into public.notifications (id, user_id, type, title, body, payload, read_at, created_at)
select i, ${userId("x.u")}, n.type,
    case n.type
        when 'task_due' then 'A task is due soon'
        when 'task_assigned' then 'You were assigned a task'
        when 'document_shared' then 'A document was shared with you'
        when 'course_update' then 'New lesson in your course'
        when 'mention' then 'You were mentioned'
        else 'System notice'
    end,
    ${textSql("x.h2", "1 + x.h % 2")},
    case
        when n.type in ('task_due', 'task_assigned') then jsonb_build_object('task_id', 1 + (x.h >> 8) % ${c.tasks})
        when n.type = 'document_shared' then jsonb_build_object('document_id', 1 + (x.h >> 8) % ${c.documents})
        when n.type = 'course_update' then jsonb_build_object('course_id', 1 + (x.h >> 8) % ${c.courses})
        else jsonb_build_object('channel', ${pick(["email", "push", "in_app"], "x.h >> 8")})
    end || jsonb_build_object('priority', ${pick(["low", "normal", "normal", "high"], "x.h >> 40")}),
    case when (x.h >> 30) % 100 < 65 then n.created + ${seconds(`(x.h >> 37) % 172800`)} end,
    n.created
from generate_series(${lo}, ${hi}) i
cross join lateral (select (i - 1) % ${c.users} + 1 as u, pg_temp.demo_hash('notifications:' || i) as h,
    pg_temp.demo_hash('notifications/text:' || i) as h2 offset 0) x
cross join lateral (select ${pick(NOTIFICATION_TYPES, "x.h >> 2")} as type,
    ${userCreatedAt("x.u")} + ${seconds(`x.h2 % 15552000`)} as created offset 0) n`,
};

const courses: TableLoader = {
    table: "public.lms_courses",
    chunked: false,
    rows: (c) => c.courses,
    sql: (c) => `
insert into public.lms_courses (id, slug, title, description, level, is_published, author_id, price_cents,
    tags, metadata, created_at, updated_at)
select i, ${slugSql("t.title", "i")}, t.title, ${textSql("x.h2", "3 + x.h % 4")},
    ${pick(COURSE_LEVELS, "x.h >> 2")},
    i % 5 <> 0,
    ${userId(`((i - 1) * 37) % ${c.users} + 1`)},
    case when (x.h >> 4) % 3 = 0 then 0 else (1 + (x.h >> 6) % 20) * 500 end,
    ${tagsSql("x.h >> 11", 3)},
    jsonb_build_object('language', 'en', 'certificate', (x.h >> 20) % 2 = 0,
        'estimated_hours', 2 + (x.h >> 21) % 30),
    t.created, t.created + ${seconds(`(x.h >> 26) % 7776000`)}
from generate_series(1, ${c.courses}) i
cross join lateral (select pg_temp.demo_hash('courses:' || i) as h, pg_temp.demo_hash('courses/text:' || i) as h2 offset 0) x
cross join lateral (select ${pick(COURSE_ADJECTIVES, "x.h >> 35")} || ' ' || ${pick(COURSE_SUBJECTS, "x.h >> 38")} as title,
    ${EPOCH} + ${seconds(`x.h2 % ${YEAR_SECONDS}`)} as created offset 0) t`,
};

const subsections: TableLoader = {
    table: "public.lms_subsections",
    chunked: false,
    rows: (c) => c.subsections,
    sql: (c) => `
insert into public.lms_subsections (id, course_id, position, title, content, video_url, duration_seconds,
    created_at, updated_at)
select i, s.course_id, s.position, s.title,
    '## ' || s.title || E'\\n\\n' || ${textSql("x.h2", "8 + x.h % 12")},
    'https://videos.example.com/courses/' || s.course_id || '/lessons/' || s.position || '.mp4',
    120 + (x.h >> 20) % 1680,
    s.created, s.created + ${seconds(`(x.h >> 32) % 2592000`)}
from generate_series(1, ${c.subsections}) i
cross join lateral (select pg_temp.demo_hash('subsections:' || i) as h, pg_temp.demo_hash('subsections/text:' || i) as h2 offset 0) x
cross join lateral (select (i - 1) / ${SUBSECTIONS_PER_COURSE} + 1 as course_id,
    (i - 1) % ${SUBSECTIONS_PER_COURSE} + 1 as position,
    'Lesson ' || ((i - 1) % ${SUBSECTIONS_PER_COURSE} + 1) || ': ' || initcap(${pick(WORDS, "x.h >> 4")} || ' '
        || ${pick(WORDS, "x.h >> 11")} || ' ' || ${pick(WORDS, "x.h >> 40")}) as title,
    ${EPOCH} + ${seconds(`x.h2 % ${YEAR_SECONDS}`)} as created offset 0) s`,
};

// Each user works through consecutive subsections starting at a user-specific offset, so the
// (user, subsection) pairs are unique as long as no user gets more rows than there are subsections.
const progress: TableLoader = {
    table: "public.lms_subsection_progress",
    chunked: true,
    rows: (c) => c.progress,
    sql: (c, lo, hi) => `
insert into public.lms_subsection_progress (id, user_id, subsection_id, progress_percent, started_at,
    completed_at, updated_at)
select i, ${userId("x.u")}, ((i - 1) / ${c.users} + (x.u - 1) * 13) % ${c.subsections} + 1, p.percent,
    p.started, case when p.percent = 100 then p.started + ${seconds(`(x.h >> 30) % 604800`)} end,
    p.started + ${seconds(`(x.h >> 30) % 604800 + 60`)}
from generate_series(${lo}, ${hi}) i
cross join lateral (select (i - 1) % ${c.users} + 1 as u, pg_temp.demo_hash('progress:' || i) as h offset 0) x
cross join lateral (select case when x.h % 10 < 4 then 100 when x.h % 10 = 4 then 0 else (x.h >> 4) % 100 end as percent,
    ${userCreatedAt("x.u")} + ${seconds(`(x.h >> 11) % 15552000`)} as started offset 0) p`,
};

/** Loaded first and in this order: profiles are read from auth.users. */
export const FIRST_LOADERS: readonly TableLoader[] = [users, profiles];
/** Independent of each other (foreign keys come after the load): loaded concurrently, biggest first. */
export const CONCURRENT_LOADERS: readonly TableLoader[] = [tasks, documents, notifications, progress, subsections, courses];
