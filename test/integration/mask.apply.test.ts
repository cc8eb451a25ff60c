// Masking against a real PostgreSQL with a Supabase-like schema: the values are really gone, the
// proof catches what it should, and every refusal leaves the data untouched.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { applyMasking } from "../../lib/mask/apply";
import { formatMaskingReport } from "../../lib/mask/report";
import { parseMaskRules } from "../../lib/mask/rules";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";

const SALT = "staging-salt-0123456789";
const PROFILES = 50;
const NOTES = 20;

const SCHEMA = `
    CREATE SCHEMA auth;
    CREATE TABLE auth.users (id uuid PRIMARY KEY, email varchar(255) UNIQUE, encrypted_password text);
    CREATE TABLE public.profiles (
        id uuid PRIMARY KEY REFERENCES auth.users(id),
        email text UNIQUE, phone text, full_name text, bio text, updated_at timestamptz
    );
    CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
    CREATE TRIGGER profiles_touch BEFORE UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION public.touch();
    CREATE TABLE public.notes (id serial PRIMARY KEY, name text, body text);

    -- Deterministic uuids so two databases seeded alike hold identical rows.
    INSERT INTO auth.users (id, email, encrypted_password)
        SELECT md5('u' || i)::uuid, 'user' || i || '@corp.example', 'bcrypt' FROM generate_series(1, ${PROFILES}) i;
    INSERT INTO public.profiles (id, email, phone, full_name, bio)
        SELECT md5('u' || i)::uuid, 'user' || i || '@corp.example',
               CASE WHEN i = 1 THEN NULL ELSE '+63917' || lpad(i::text, 7, '0') END,
               'Person Number ' || i, 'likes hiking ' || i
        FROM generate_series(1, ${PROFILES}) i;
    INSERT INTO public.notes (name, body) SELECT 'Note Owner ' || i, 'body ' || i FROM generate_series(1, ${NOTES}) i;
`;

// Rules covering every PII-looking column of SCHEMA.
const FULL_RULES = {
    "public.profiles.email": "email",
    "public.profiles.phone": "phone",
    "public.profiles.full_name": "name",
    "public.profiles.bio": { strategy: "fixed", value: "[redacted]" },
    "auth.users.email": "email",
    "public.notes.name": "hash",
};

let pg: LocalCluster;
let dbCounter = 0;

beforeAll(async () => {
    pg = await startLocalCluster();
});
afterAll(async () => {
    await pg?.stop();
});

/** A fresh database holding SCHEMA; returns its URL. */
async function seededDatabase(): Promise<string> {
    const name = `mask_${++dbCounter}`;
    await withClient(pg.url(), "admin", (c) => c.query(`CREATE DATABASE ${name}`));
    await withClient(pg.url(name), "seed", (c) => c.query(SCHEMA));
    return pg.url(name);
}

function query<T>(url: string, sql: string): Promise<T[]> {
    return withClient(url, "check", async (c: Client) => (await c.query(sql)).rows as T[]);
}

/** Every masked column's values, to compare before/after (small test tables only). */
async function snapshot(url: string): Promise<Record<string, string | null>[]> {
    return query(
        url,
        `SELECT p.id::text, p.email, p.phone, p.full_name, p.bio, u.email AS user_email
         FROM public.profiles p JOIN auth.users u USING (id) ORDER BY p.id`,
    );
}

async function noteNames(url: string): Promise<{ id: number; name: string }[]> {
    return query(url, "SELECT id, name FROM public.notes ORDER BY id");
}

function sha256Hex(text: string): string {
    return createHash("sha256").update(text, "utf8").digest("hex");
}

describe("applyMasking", () => {
    it("replaces every original value and proves it (survivors 0, PASS)", async () => {
        const url = await seededDatabase();
        const before = await snapshot(url);
        const result = await applyMasking(url, parseMaskRules(FULL_RULES), { salt: SALT, sourceUrl: pg.url("production") });

        expect(result.status).toBe("pass");
        expect(result.unmaskedPii).toEqual([]);
        expect(result.columns.map((c) => [`${c.table}.${c.column}`, c.rowsMasked, c.survivors, c.status])).toEqual([
            ["public.profiles.email", PROFILES, 0, "pass"],
            ["public.profiles.phone", PROFILES - 1, 0, "pass"], // one phone was null
            ["public.profiles.full_name", PROFILES, 0, "pass"],
            ["public.profiles.bio", PROFILES, 0, "pass"],
            ["auth.users.email", PROFILES, 0, "pass"],
            ["public.notes.name", NOTES, 0, "pass"],
        ]);

        const after = await snapshot(url);
        expect(after).toHaveLength(PROFILES);
        for (const row of after) {
            expect(row.email).toBe(`test-${row.id}@example.com`);
            expect(row.user_email).toBe(`test-${row.id}@example.com`);
            expect(row.full_name).toBe(`Test Customer ${row.id}`);
            expect(row.bio).toBe("[redacted]");
            const original = before.find((b) => b.id === row.id);
            // NULL stays NULL; everything else follows the rule.
            expect(row.phone).toBe(original?.phone === null ? null : `+1000000${row.id}`);
        }
        const originals = new Set(before.flatMap((b) => [b.email, b.phone, b.full_name, b.bio, b.user_email]));
        originals.delete(null);
        for (const row of after) {
            for (const v of [row.email, row.phone, row.full_name, row.bio, row.user_email]) expect(originals.has(v)).toBe(false);
        }
        const leftovers = await query<{ n: string }>(
            url,
            `SELECT count(*) AS n FROM public.profiles WHERE email LIKE '%corp.example' OR phone LIKE '+63%' OR full_name LIKE 'Person%'`,
        );
        expect(leftovers[0].n).toBe("0");
        // The updated_at trigger fired during masking; that is allowed.
        const touched = await query<{ n: string }>(url, "SELECT count(*) AS n FROM public.profiles WHERE updated_at IS NULL");
        expect(touched[0].n).toBe("0");

        const report = formatMaskingReport(result);
        expect(report).toMatch(/^Data masking: PASS \(6 columns/);
        expect(report).not.toContain(SALT);
        expect(report).not.toContain("corp.example");
    });

    it("hashes deterministically per salt and reveals nothing of the original", async () => {
        const [a, b, c] = [await seededDatabase(), await seededDatabase(), await seededDatabase()];
        const rules = parseMaskRules(FULL_RULES);
        await applyMasking(a, rules, { salt: SALT });
        await applyMasking(b, rules, { salt: SALT });
        await applyMasking(c, rules, { salt: "another-salt-987654" });
        const [na, nb, nc] = [await noteNames(a), await noteNames(b), await noteNames(c)];

        expect(nb).toEqual(na); // same input + same salt -> same output
        for (const [i, row] of na.entries()) {
            expect(row.name).toBe(sha256Hex(`${SALT}Note Owner ${row.id}`));
            expect(row.name).toMatch(/^[0-9a-f]{64}$/);
            expect(row.name).not.toBe(sha256Hex(`Note Owner ${row.id}`)); // not an unsalted hash a dictionary could reverse
            expect(nc[i].name).not.toBe(row.name); // different salt -> different output
        }
        expect(new Set(na.map((r) => r.name)).size).toBe(NOTES);
    });

    it("names a missing column or table and changes nothing", async () => {
        const url = await seededDatabase();
        const before = await snapshot(url);
        const typo = parseMaskRules({ ...FULL_RULES, "public.profiles.emial": "email" });
        await expect(applyMasking(url, typo, { salt: SALT })).rejects.toThrow(
            'masking rule public.profiles.emial: column "emial" does not exist in public.profiles',
        );
        const noTable = parseMaskRules({ ...FULL_RULES, "public.profilez.email": "email" });
        await expect(applyMasking(url, noTable, { salt: SALT })).rejects.toThrow(
            "masking rule public.profilez.email: table public.profilez does not exist",
        );
        const noId = parseMaskRules({ ...FULL_RULES, "public.notes.name": { strategy: "name", idColumn: "note_id" } });
        await expect(applyMasking(url, noId, { salt: SALT })).rejects.toThrow(
            /masking rule public\.notes\.name: id column "note_id" does not exist in public\.notes/,
        );
        expect(await snapshot(url)).toEqual(before);
    });

    it("stops before masking when a PII-looking column has no rule, listing all of them", async () => {
        const url = await seededDatabase();
        const before = await snapshot(url);
        const notesBefore = await noteNames(url);
        const { "public.notes.name": _notes, "public.profiles.phone": _phone, ...partial } = FULL_RULES;
        const err = await applyMasking(url, parseMaskRules(partial), { salt: SALT }).catch((e: Error) => e);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(
            /^2 column\(s\) look like PII but have no masking rule: public\.notes\.name, public\.profiles\.phone\..*Nothing was masked/,
        );
        expect(await snapshot(url)).toEqual(before); // the email rule did not run either
        expect(await noteNames(url)).toEqual(notesBefore);

        const result = await applyMasking(url, parseMaskRules(partial), {
            salt: SALT,
            allowUnmasked: ["public.notes.name", "public.profiles.phone"],
        });
        expect(result.status).toBe("pass");
        expect(result.allowedUnmasked).toEqual(["public.notes.name", "public.profiles.phone"]);
        expect(formatMaskingReport(result)).toContain("left unmasked by allowUnmasked: public.notes.name, public.profiles.phone");
        expect(await noteNames(url)).toEqual(notesBefore);
        const phones = await query<{ phone: string | null }>(url, "SELECT phone FROM public.profiles ORDER BY id");
        expect(phones).toEqual(before.map((b) => ({ phone: b.phone })));
    });

    it("refuses to run when sourceUrl is the target, without printing the password", async () => {
        const url = await seededDatabase();
        const before = await snapshot(url);
        const sameDb = url.replace("127.0.0.1", "localhost").replace(pg.password, "other-password");
        const err = await applyMasking(url, parseMaskRules(FULL_RULES), { salt: SALT, sourceUrl: sameDb }).catch((e: Error) => e);
        expect((err as Error).message).toMatch(/refusing to mask 127\.0\.0\.1:\d+\/mask_\d+: it is the source database/);
        expect((err as Error).message).not.toContain(pg.password);
        expect(await snapshot(url)).toEqual(before);
    });

    it("fails the column when a fixed value equals an original, and nulls with the null strategy", async () => {
        const url = await seededDatabase();
        await query(url, "UPDATE public.profiles SET bio = '[redacted]' WHERE full_name = 'Person Number 7'");
        const rules = parseMaskRules({
            ...FULL_RULES,
            "public.profiles.phone": "null",
            "public.notes.name": "name", // integer ids
        });
        const result = await applyMasking(url, rules, { salt: SALT });

        expect(result.status).toBe("fail");
        const bio = result.columns.find((c) => c.column === "bio");
        expect(bio).toMatchObject({ status: "fail", survivors: PROFILES, rowsMasked: PROFILES });
        expect(result.columns.filter((c) => c.status === "fail")).toHaveLength(1);
        expect(result.columns.find((c) => c.column === "phone")).toMatchObject({ strategy: "null", survivors: 0, status: "pass" });
        const phones = await query<{ n: string }>(url, "SELECT count(*) AS n FROM public.profiles WHERE phone IS NOT NULL");
        expect(phones[0].n).toBe("0");
        const notes = await noteNames(url);
        expect(notes.map((n) => n.name)).toEqual(notes.map((n) => `Test Customer ${n.id}`));
        expect(formatMaskingReport(result)).toMatch(/FAIL {2}public\.profiles\.bio +fixed +masked=50 survivors=50/);
    });

    it("catches a trigger that undoes the masking", async () => {
        const url = await seededDatabase();
        await query(
            url,
            `CREATE FUNCTION public.keep_contact() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN NEW.email := OLD.email; NEW.phone := OLD.phone; RETURN NEW; END $$;
             CREATE TRIGGER profiles_keep BEFORE UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION public.keep_contact();`,
        );
        const result = await applyMasking(url, parseMaskRules({ ...FULL_RULES, "public.profiles.phone": "null" }), { salt: SALT });
        expect(result.status).toBe("fail");
        expect(result.columns.find((c) => c.table === "public.profiles" && c.column === "email")).toMatchObject({
            survivors: PROFILES,
            status: "fail",
        });
        expect(result.columns.find((c) => c.column === "phone")).toMatchObject({ survivors: PROFILES - 1, status: "fail" });
        expect(result.columns.find((c) => c.column === "full_name")).toMatchObject({ survivors: 0, status: "pass" });
    });

    it("rolls back every table when one UPDATE fails", async () => {
        const url = await seededDatabase();
        const before = await snapshot(url);
        const notesBefore = await noteNames(url);
        // A 64-character hash does not fit: the notes UPDATE fails after profiles and users were updated.
        await query(url, "ALTER TABLE public.notes ALTER COLUMN name TYPE varchar(20)");
        const err = await applyMasking(url, parseMaskRules(FULL_RULES), { salt: SALT }).catch((e: Error) => e);
        expect((err as Error).message).toMatch(
            /^masking public\.notes failed: value too long for type character varying\(20\) \(SQLSTATE 22001\) \(rolled back, nothing was masked\)/,
        );
        expect((err as Error).message).not.toContain(SALT);
        expect(await snapshot(url)).toEqual(before);
        expect(await noteNames(url)).toEqual(notesBefore);
        const temp = await query<{ n: string }>(url, "SELECT count(*) AS n FROM pg_class WHERE relname = 'supabase_dr_mask_originals'");
        expect(temp[0].n).toBe("0");
    });

    it("gives a fixed value the column's type (a date column)", async () => {
        const url = await seededDatabase();
        await query(url, "ALTER TABLE public.profiles ADD COLUMN date_of_birth date; UPDATE public.profiles SET date_of_birth = '1990-05-17'");
        const result = await applyMasking(
            url,
            parseMaskRules({ ...FULL_RULES, "public.profiles.date_of_birth": { strategy: "fixed", value: "1970-01-01" } }),
            { salt: SALT },
        );
        expect(result.status).toBe("pass");
        const dobs = await query<{ d: string }>(url, "SELECT DISTINCT date_of_birth::text AS d FROM public.profiles");
        expect(dobs).toEqual([{ d: "1970-01-01" }]);
    });
});
