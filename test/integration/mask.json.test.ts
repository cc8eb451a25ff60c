// Masking inside jsonb, generated columns that follow their source, and the whole-database survivor
// scan, against a real PostgreSQL holding a small Supabase-like auth schema.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { applyMasking } from "../../lib/mask/apply";
import { formatMaskingReport } from "../../lib/mask/report";
import { parseMaskRules } from "../../lib/mask/rules";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";

const SALT = "staging-salt-0123456789";
const USERS = 12;

// Shapes follow Supabase Auth's migrations (auth.identities.email is generated from identity_data).
const SCHEMA = `
    CREATE SCHEMA auth;
    CREATE TABLE auth.users (
        id uuid PRIMARY KEY, email varchar(255), phone text UNIQUE,
        raw_user_meta_data jsonb, raw_app_meta_data jsonb, encrypted_password varchar(255)
    );
    CREATE TABLE auth.identities (
        id uuid PRIMARY KEY, user_id uuid NOT NULL REFERENCES auth.users(id), provider_id text NOT NULL,
        provider text NOT NULL, identity_data jsonb NOT NULL,
        email text GENERATED ALWAYS AS (lower(identity_data->>'email')) STORED,
        UNIQUE (provider_id, provider)
    );
    CREATE TABLE public.profiles (id uuid PRIMARY KEY REFERENCES auth.users(id), email text, full_name text);
    CREATE TABLE public.audit_log (id serial PRIMARY KEY, action text, payload jsonb);

    -- Mixed-case emails, as users type them; identities.email holds the lower-cased form.
    INSERT INTO auth.users (id, email, phone, raw_user_meta_data, raw_app_meta_data, encrypted_password)
        SELECT md5('u' || i)::uuid, 'User' || i || '@Corp.Example',
               CASE WHEN i = 1 THEN NULL ELSE '+63917' || lpad(i::text, 7, '0') END,
               CASE i
                   -- no full_name key / JSON null / a non-string value / no document at all
                   WHEN 2 THEN jsonb_build_object('email', 'User2@Corp.Example', 'email_verified', true)
                   WHEN 3 THEN jsonb_build_object('email', 'User3@Corp.Example', 'full_name', null)
                   WHEN 4 THEN jsonb_build_object('email', 'User4@Corp.Example', 'full_name', jsonb_build_object('first', 'Ann', 'last', 'Four'))
                   WHEN 5 THEN NULL
                   ELSE jsonb_build_object('email', 'User' || i || '@Corp.Example', 'full_name', 'Person Number ' || i,
                                           'email_verified', true, 'avatar_url', 'https://img.example/' || i || '.png',
                                           'sub', md5('u' || i)::uuid)
               END,
               '{"provider": "email", "providers": ["email"]}', 'bcrypt'
        FROM generate_series(1, ${USERS}) i;
    INSERT INTO auth.identities (id, user_id, provider_id, provider, identity_data)
        SELECT md5('i' || i)::uuid, md5('u' || i)::uuid, md5('u' || i)::uuid::text, 'email',
               jsonb_build_object('sub', md5('u' || i)::uuid, 'email', 'User' || i || '@Corp.Example',
                                  'email_verified', false, 'phone_verified', false)
        FROM generate_series(1, ${USERS}) i;
    -- An OAuth identity without an email in its document: nothing to mask there.
    INSERT INTO auth.identities (id, user_id, provider_id, provider, identity_data)
        VALUES (md5('gh')::uuid, md5('u1')::uuid, '583231', 'github', '{"sub": "583231", "preferred_username": "octo"}');
    INSERT INTO public.profiles (id, email, full_name)
        SELECT md5('u' || i)::uuid, 'User' || i || '@Corp.Example', CASE WHEN i = 6 THEN 'Bo' ELSE 'Person Number ' || i END
        FROM generate_series(1, ${USERS}) i;
    INSERT INTO public.audit_log (action, payload) VALUES ('signup', '{"ip": "10.0.0.1", "ok": true}');
`;

const RULES = {
    "auth.users.email": "email",
    "auth.users.phone": "phone",
    "auth.users.raw_user_meta_data.email": "email",
    "auth.users.raw_user_meta_data.full_name": "name",
    "auth.identities.identity_data.email": "email",
    "public.profiles.email": "email",
    "public.profiles.full_name": "name",
};

let pg: LocalCluster;
let dbCounter = 0;

beforeAll(async () => {
    pg = await startLocalCluster();
});
afterAll(async () => {
    await pg?.stop();
});

async function seededDatabase(extra = ""): Promise<string> {
    const name = `maskjson_${++dbCounter}`;
    await withClient(pg.url(), "admin", (c) => c.query(`CREATE DATABASE ${name}`));
    await withClient(pg.url(name), "seed", (c) => c.query(SCHEMA + extra));
    return pg.url(name);
}

function query<T>(url: string, sql: string): Promise<T[]> {
    return withClient(url, "check", async (c: Client) => (await c.query(sql)).rows as T[]);
}

interface UserRow {
    id: string;
    meta: Record<string, unknown> | null;
}

async function users(url: string): Promise<UserRow[]> {
    return query(url, "SELECT id::text, raw_user_meta_data AS meta FROM auth.users ORDER BY id");
}

async function identities(url: string): Promise<{ id: string; provider: string; data: Record<string, unknown>; email: string | null }[]> {
    return query(url, "SELECT id::text, provider, identity_data AS data, email FROM auth.identities ORDER BY id");
}

function without(doc: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
    return Object.fromEntries(Object.entries(doc).filter(([k]) => !keys.includes(k)));
}

describe("json path rules and generated columns", () => {
    it("masks nested values, keeps the rest of each document, and the generated column follows", async () => {
        const url = await seededDatabase();
        const [usersBefore, identitiesBefore] = [await users(url), await identities(url)];
        const result = await applyMasking(url, parseMaskRules(RULES), { salt: SALT });

        expect(result.status).toBe("pass");
        const byKey = Object.fromEntries(
            result.columns.map((c) => [[c.table, c.column, ...(c.path ?? [])].join("."), [c.rowsMasked, c.survivors, c.status]]),
        );
        expect(byKey).toEqual({
            "auth.users.email": [USERS, 0, "pass"],
            "auth.users.phone": [USERS - 1, 0, "pass"],
            "auth.users.raw_user_meta_data.email": [USERS - 1, 0, "pass"], // user 5 has no document
            // users 2 (no key), 3 (JSON null) and 5 (no document) have nothing; user 4's object counts.
            "auth.users.raw_user_meta_data.full_name": [USERS - 3, 0, "pass"],
            "auth.identities.identity_data.email": [USERS, 0, "pass"],
            "public.profiles.email": [USERS, 0, "pass"],
            "public.profiles.full_name": [USERS, 0, "pass"],
        });

        const usersAfter = await users(url);
        for (const [i, after] of usersAfter.entries()) {
            const before = usersBefore[i];
            if (before.meta === null) {
                expect(after.meta).toBeNull();
                continue;
            }
            const meta = after.meta as Record<string, unknown>;
            expect(meta.email).toBe(`test-${after.id}@example.com`);
            expect(without(meta, "email", "full_name")).toEqual(without(before.meta, "email", "full_name"));
            if (!("full_name" in before.meta)) expect("full_name" in meta).toBe(false); // no key: none added
            else if (before.meta.full_name === null) expect(meta.full_name).toBeNull(); // JSON null stays null
            else expect(meta.full_name).toBe(`Test Customer ${after.id}`); // strings and the object alike
        }
        expect(usersAfter.filter((u) => u.meta?.full_name === `Test Customer ${u.id}`)).toHaveLength(USERS - 3);

        const identitiesAfter = await identities(url);
        for (const [i, after] of identitiesAfter.entries()) {
            const before = identitiesBefore[i];
            if (after.provider === "github") {
                expect(after).toEqual(before); // no email in the document: untouched
                expect(after.email).toBeNull();
                continue;
            }
            expect(after.data.email).toBe(`test-${after.id}@example.com`);
            expect(without(after.data, "email")).toEqual(without(before.data, "email"));
            // PostgreSQL recomputed the generated column from the masked document.
            expect(after.email).toBe(`test-${after.id}@example.com`);
        }
        const leftovers = await query<{ n: string }>(url, "SELECT count(*) AS n FROM auth.identities WHERE email LIKE '%corp.example'");
        expect(leftovers[0].n).toBe("0");

        expect(result.survivorScan).toMatchObject({ status: "pass", survivors: [], notSearched: [], tooShort: 1 });
        expect(result.survivorScan.tablesScanned).toBe(4);
        expect(result.survivorScan.searched).toBeGreaterThanOrEqual(3 * USERS);
        const report = formatMaskingReport(result);
        expect(report).toMatch(/^Data masking: PASS/);
        expect(report).toMatch(/PASS {2}auth\.users\.raw_user_meta_data\.full_name +name +masked=9 survivors=0/);
        expect(report).toMatch(/Survivor scan: PASS \(\d+ original values searched for in \d+ text\/json columns of 4 tables\)/);
        expect(report).toContain("1 original values shorter than 4 characters were checked only in their own column");
        expect(report).not.toMatch(/corp\.example|Person Number/i);
    });

    it("hashes the string at a path, handles json columns, and leaves documents without the path byte for byte", async () => {
        const url = await seededDatabase(`
            CREATE TABLE public.legacy (id int PRIMARY KEY, doc json);
            INSERT INTO public.legacy VALUES
                (1, '{"contact": {"email": "Legacy1@Corp.Example"},   "n": 1}'),
                (2, '{ "contact": ["not", "an", "object"] }'),
                (3, '"just a string"'),
                (4, '{"contact": {"email": 42}}'),
                (5, NULL);
        `);
        const rules = parseMaskRules({ ...RULES, "public.legacy.doc.contact.email": "hash" });
        const before = await query<{ id: number; doc: string | null }>(url, "SELECT id, doc::text AS doc FROM public.legacy ORDER BY id");
        const result = await applyMasking(url, rules, { salt: SALT });
        expect(result.status).toBe("pass");
        expect(result.columns.find((c) => c.column === "doc")).toMatchObject({ path: ["contact", "email"], rowsMasked: 2, survivors: 0 });

        const after = await query<{ id: number; doc: string | null }>(url, "SELECT id, doc::text AS doc FROM public.legacy ORDER BY id");
        const sha = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
        expect(JSON.parse(after[0].doc as string)).toEqual({ contact: { email: sha(`${SALT}Legacy1@Corp.Example`) }, n: 1 });
        expect(JSON.parse(after[3].doc as string)).toEqual({ contact: { email: sha(`${SALT}42`) } }); // a number is replaced too
        // A path that runs into an array or a scalar, and a NULL document: not touched, not even re-formatted.
        expect(after.slice(1, 3)).toEqual(before.slice(1, 3));
        expect(after[4]).toEqual(before[4]);
    });

    it("proves a json-path rule can fail: a trigger that puts the document back", async () => {
        const url = await seededDatabase(`
            CREATE FUNCTION auth.keep_meta() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN NEW.raw_user_meta_data := OLD.raw_user_meta_data; RETURN NEW; END $$;
            CREATE TRIGGER users_keep_meta BEFORE UPDATE ON auth.users FOR EACH ROW EXECUTE FUNCTION auth.keep_meta();
        `);
        const result = await applyMasking(url, parseMaskRules(RULES), { salt: SALT });
        expect(result.status).toBe("fail");
        const failing = result.columns.filter((c) => c.status === "fail").map((c) => [c.column, c.path, c.survivors]);
        expect(failing).toEqual([
            ["raw_user_meta_data", ["email"], USERS - 1],
            ["raw_user_meta_data", ["full_name"], USERS - 3],
        ]);
        expect(result.survivorScan.survivors).toEqual([{ table: "auth.users", column: "raw_user_meta_data", rows: USERS - 1 }]);
    });
});

describe("survivor scan over the whole database", () => {
    const PLANTED = `
        CREATE EXTENSION citext;
        CREATE TABLE public.contacts (id serial PRIMARY KEY, note text, tags text[]);
        CREATE TABLE public.newsletter (id serial PRIMARY KEY, subscriber citext);
        CREATE TABLE public.shortcodes (code varchar(8));
        -- An exact copy, an array element, a copy in another case (citext), jsonb leaves at depth.
        INSERT INTO public.contacts (note, tags) VALUES ('User7@Corp.Example', NULL), ('fine', ARRAY['vip', 'user8@corp.example']),
                                                         ('also fine', ARRAY['vip']);
        INSERT INTO public.newsletter (subscriber) VALUES ('USER9@CORP.EXAMPLE'), ('someone@else.example');
        INSERT INTO public.audit_log (action, payload) VALUES
            ('login', '{"user_email": "User3@Corp.Example"}'),
            ('export', '{"rows": [{"cells": ["x", {"name": "Person Number 11"}]}]}'),
            ('noise', '{"user_email": "test-0@example.com", "n": 1}');
        -- Bo (profile 6) is shorter than 4 characters: not searched outside profiles.full_name.
        INSERT INTO public.shortcodes VALUES ('Bo');
        -- Built before the refresh and never refreshed: still holds every original email.
        CREATE MATERIALIZED VIEW public.user_directory AS SELECT id, email FROM auth.users;
    `;

    it("finds originals copied anywhere, in any case, and FAILS naming each table.column", async () => {
        const url = await seededDatabase(PLANTED);
        const result = await applyMasking(url, parseMaskRules(RULES), { salt: SALT });

        expect(result.status).toBe("fail");
        expect(result.columns.every((c) => c.status === "pass")).toBe(true); // each masked column itself is clean
        expect(result.survivorScan.status).toBe("fail");
        expect(result.survivorScan.survivors).toEqual([
            { table: "public.audit_log", column: "payload", rows: 2 },
            { table: "public.contacts", column: "note", rows: 1 },
            { table: "public.contacts", column: "tags", rows: 1 },
            { table: "public.newsletter", column: "subscriber", rows: 1 },
            { table: "public.user_directory", column: "email", rows: USERS },
        ]);
        expect(result.survivorScan.tooShort).toBe(1);

        const report = formatMaskingReport(result);
        expect(report).toMatch(/^Data masking: FAIL/);
        expect(report).toMatch(/Survivor scan: FAIL/);
        expect(report).toMatch(/FAIL {2}public\.audit_log\.payload +rows=2 {2}<- original values survived here/);
        expect(report).toMatch(/FAIL {2}public\.newsletter\.subscriber +rows=1/);
        expect(report).not.toMatch(/corp\.example|Person Number/i);

        // Today's contract: a FAIL result is committed (the masked columns are masked), the caller fails the drill.
        const masked = await query<{ n: string }>(url, "SELECT count(*) AS n FROM public.profiles WHERE email LIKE 'test-%@example.com'");
        expect(masked[0].n).toBe(String(USERS));
    });

    it("passes once the copies are gone", async () => {
        const url = await seededDatabase(PLANTED);
        await query(
            url,
            `UPDATE public.contacts SET note = 'fine', tags = ARRAY['vip']; UPDATE public.newsletter SET subscriber = 'someone@else.example';
             DELETE FROM public.audit_log WHERE action IN ('login', 'export'); DROP MATERIALIZED VIEW public.user_directory;`,
        );
        const result = await applyMasking(url, parseMaskRules(RULES), { salt: SALT });
        expect(result.survivorScan).toMatchObject({ status: "pass", survivors: [] });
        expect(result.survivorScan.tablesScanned).toBe(7);
        expect(result.status).toBe("pass");
    });

    it("lists what a non-superuser cannot read instead of pretending it was searched", async () => {
        const url = await seededDatabase(`
            CREATE ROLE masker LOGIN PASSWORD 'masker-pw-123456';
            GRANT USAGE ON SCHEMA auth TO masker;
            GRANT SELECT, UPDATE ON auth.users, auth.identities, public.profiles, public.audit_log TO masker;
            CREATE TABLE public.vaulted (id int, secret_note text, label text);
            GRANT SELECT (id, label) ON public.vaulted TO masker;
            CREATE TABLE public.tenant_notes (id int, body text);
            GRANT SELECT ON public.tenant_notes TO masker;
            ALTER TABLE public.tenant_notes ENABLE ROW LEVEL SECURITY;
            INSERT INTO public.tenant_notes VALUES (1, 'User2@Corp.Example');
        `);
        const asMasker = new URL(url);
        asMasker.username = "masker";
        asMasker.password = "masker-pw-123456";
        const result = await applyMasking(asMasker.toString(), parseMaskRules(RULES), { salt: SALT });
        expect(result.survivorScan.notSearched).toEqual([
            "public.tenant_notes: row level security hides rows from this role",
            "public.vaulted.secret_note: no SELECT privilege",
        ]);
        expect(result.survivorScan.survivors).toEqual([]);
        expect(formatMaskingReport(result)).toContain("not searched: public.tenant_notes: row level security hides rows from this role");
        await query(url, "DROP OWNED BY masker; DROP ROLE masker");
    });
});

describe("refusals", () => {
    async function unchanged(url: string, run: () => Promise<unknown>, message: RegExp): Promise<void> {
        const before = [await users(url), await identities(url)];
        await expect(run()).rejects.toThrow(message);
        expect([await users(url), await identities(url)]).toEqual(before);
    }

    it("refuses a rule on a generated column, naming its source expression", async () => {
        const url = await seededDatabase();
        await unchanged(
            url,
            () => applyMasking(url, parseMaskRules({ ...RULES, "auth.identities.email": "email" }), { salt: SALT }),
            /masking rule auth\.identities\.email: column "email" of auth\.identities is generated \(GENERATED ALWAYS AS \(lower\(\(identity_data ->> 'email'::text\)\)\) STORED\); mask the column it is generated from/,
        );
    });

    it("refuses a path rule on a column that is not json, and text strategies on a whole json column", async () => {
        const url = await seededDatabase();
        await unchanged(
            url,
            () => applyMasking(url, parseMaskRules({ ...RULES, "auth.users.encrypted_password.first": "name" }), { salt: SALT }),
            /masking rule auth\.users\.encrypted_password\.first: column "encrypted_password" of auth\.users is character varying\(255\), not json or jsonb \(a rule key with more than three parts names a key inside a json\/jsonb column\)/,
        );
        await unchanged(
            url,
            () => applyMasking(url, parseMaskRules({ ...RULES, "public.audit_log.payload": "hash" }), { salt: SALT }),
            /masking rule public\.audit_log\.payload: column "payload" of public\.audit_log is jsonb and the hash strategy writes text/,
        );
    });

    it("the PII guard accepts the json rule behind a generated column, and only that one", async () => {
        const url = await seededDatabase();
        const { "auth.identities.identity_data.email": _email, ...withoutIdentities } = RULES;
        const guard = /^1 column\(s\) look like PII but have no masking rule: auth\.identities\.email\..*generated from: auth\.identities\.email = lower\(\(identity_data ->> 'email'::text\)\); mask that column or json key\. Nothing was masked\.$/;
        await unchanged(url, () => applyMasking(url, parseMaskRules(withoutIdentities), { salt: SALT }), guard);
        // Masking another key of the same document does not cover identity_data->>'email'.
        const otherKey = parseMaskRules({ ...withoutIdentities, "auth.identities.identity_data.sub": "hash" });
        await unchanged(url, () => applyMasking(url, otherKey, { salt: SALT }), guard);

        // Replacing the whole document covers it too; the generated column then has nothing to extract.
        const whole = parseMaskRules({ ...withoutIdentities, "auth.identities.identity_data": { strategy: "fixed", value: "{}" } });
        const result = await applyMasking(url, whole, { salt: SALT });
        expect(result.status).toBe("pass");
        const emails = await query<{ n: string }>(url, "SELECT count(*) AS n FROM auth.identities WHERE email IS NOT NULL");
        expect(emails[0].n).toBe("0");
    });
});
