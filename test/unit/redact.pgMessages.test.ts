// Row values in PostgreSQL messages: each case is text PostgreSQL 15 printed (psql, pg_restore, pg_dump,
// node-postgres error fields), collected from a real server; test/integration/redact.restore.test.ts
// collects them live again. Values go; messages, SQLSTATEs, object names and line numbers stay.
import { describe, expect, it } from "vitest";
import { PgOutputRedactor, pgErrorText, redactPgLine, redactPgMessage, redactStatement } from "../../lib/redact";

const PSQL_OUTPUT = `psql:/tmp/pgx/s.sql:5: ERROR:  duplicate key value violates unique constraint "users_email_key"
DETAIL:  Key (email)=(alice@x.com) already exists.
psql:/tmp/pgx/s.sql:7: ERROR:  new row for relation "users" violates check constraint "users_age_check"
DETAIL:  Failing row contains (3, bob@x.com, -1, multi
line note, null, null).
psql:/tmp/pgx/s.sql:8: ERROR:  null value in column "note" of relation "users" violates not-null constraint
DETAIL:  Failing row contains (4, c@x.com, 3, null, null, null).
psql:/tmp/pgx/s.sql:9: ERROR:  invalid input syntax for type integer: "abc@x.com"
LINE 1: insert into users values ('abc@x.com',null,3,'x');
                                  ^
psql:/tmp/pgx/s.sql:11: ERROR:  invalid input value for enum mood: "sad2"
LINE 1: select 'sad2'::mood;
               ^
psql:/tmp/pgx/s.sql:12: ERROR:  date/time field value out of range: "2020-13-45"
LINE 1: select '2020-13-45'::date;
               ^
HINT:  Perhaps you need a different "datestyle" setting.
psql:/tmp/pgx/s.sql:13: ERROR:  invalid input syntax for type json
LINE 1: select '{"email": "a@x.com",'::json;
               ^
DETAIL:  The input string ended unexpectedly.
CONTEXT:  JSON data, line 1: {"email": "a@x.com",
psql:/tmp/pgx/s.sql:15: ERROR:  insert or update on table "child" violates foreign key constraint "child_uid_fkey"
DETAIL:  Key (uid)=(9912) is not present in table "users".
psql:/tmp/pgx/s.sql:19: ERROR:  value "99999999999" is out of range for type integer
LINE 1: select '99999999999'::int;
               ^
psql:/tmp/pgx/s.sql:20: ERROR:  malformed array literal: "{1,2"
LINE 1: select '{1,2'::int[];
               ^
DETAIL:  Unexpected end of input.
psql:/tmp/pgx/s.sql:23: ERROR:  no partition of relation "p" found for row
DETAIL:  Partition key of the failing row contains (k) = (7331).
psql:/tmp/pgx/s.sql:27: ERROR:  duplicate key value violates unique constraint "users_email_key"
DETAIL:  Key (email)=(dup@x.com) already exists.
CONTEXT:  COPY users, line 2
psql:/tmp/pgx/s.sql:30: ERROR:  invalid input syntax for type integer: "notanumber"
CONTEXT:  COPY users, line 1, column age: "notanumber"
psql:/tmp/pgx/s.sql:33: ERROR:  missing data for column "note"
CONTEXT:  COPY users, line 1: "13	bad@x.com	5"
psql:/tmp/pgx/s.sql:35: ERROR:  duplicate key value violates unique constraint "users_lower_idx"
DETAIL:  Key (lower(note))=(dupnote) already exists.`;

const PG_RESTORE_OUTPUT = `pg_restore: processing data for table "public.notes"
pg_restore: from TOC entry 3347; 0 16395 TABLE DATA notes postgres
pg_restore: error: COPY failed for table "notes": ERROR:  new row for relation "notes" violates check constraint "notes_body_check"
DETAIL:  Failing row contains (1, multi
line secret).
CONTEXT:  COPY notes, line 1: "1	multi\\nline secret"
pg_restore: processing data for table "public.users"
pg_restore: error: COPY failed for table "users": ERROR:  duplicate key value violates unique constraint "users_email_key"
DETAIL:  Key (email)=(alice@x.com) already exists.
CONTEXT:  COPY users, line 1
pg_restore: error: could not execute query: ERROR:  duplicate key value violates unique constraint "users_email_key"
DETAIL:  Key (email)=(alice@x.com) already exists.
Command was: INSERT INTO public.users VALUES (1, 'alice@x.com', 3);
pg_restore: error: could not execute query: ERROR:  relation "users_email_key" already exists
Command was: ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_email_key UNIQUE (email);


pg_restore: warning: errors ignored on restore: 4`;

const VALUES = ["alice@x.com", "bob@x.com", "multi", "line note", "line secret", "c@x.com", "abc@x.com", "sad2", "2020-13-45", "a@x.com", "9912",
    "99999999999", "{1,2", "7331", "dup@x.com", "notanumber", "bad@x.com", "dupnote"];

describe("redactPgMessage on real PostgreSQL 15 output", () => {
    const psql = redactPgMessage(PSQL_OUTPUT);
    const restore = redactPgMessage(PG_RESTORE_OUTPUT);

    it("leaves no row value in psql's or pg_restore's output", () => {
        for (const v of VALUES) {
            expect(psql, v).not.toContain(v);
            expect(restore, v).not.toContain(v);
        }
    });

    it("keeps constraint, table, column, line numbers and the messages", () => {
        expect(psql).toContain('psql:/tmp/pgx/s.sql:5: ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=(…) already exists.');
        expect(psql).toContain("DETAIL:  Failing row contains (…).\npsql:/tmp/pgx/s.sql:8:");
        expect(psql).toContain('ERROR:  invalid input syntax for type integer: "…"\nLINE 1: …\npsql:/tmp/pgx/s.sql:11:');
        expect(psql).toContain('ERROR:  invalid input value for enum mood: "…"');
        expect(psql).toContain('HINT:  Perhaps you need a different "datestyle" setting.');
        expect(psql).toContain("CONTEXT:  JSON data, line 1: …");
        expect(psql).toContain('DETAIL:  Key (uid)=(…) is not present in table "users".');
        expect(psql).toContain('ERROR:  value "…" is out of range for type integer');
        expect(psql).toContain('ERROR:  malformed array literal: "…"');
        expect(psql).toContain("DETAIL:  Unexpected end of input.");
        expect(psql).toContain("DETAIL:  Partition key of the failing row contains (k) = (…).");
        expect(psql).toContain("DETAIL:  Key (email)=(…) already exists.\nCONTEXT:  COPY users, line 2");
        expect(psql).toContain('CONTEXT:  COPY users, line 1, column age: "…"');
        expect(psql).toContain('ERROR:  missing data for column "note"\nCONTEXT:  COPY users, line 1: "…"');
        expect(psql).toContain("DETAIL:  Key (lower(note))=(…) already exists.");
        expect(restore).toContain('pg_restore: error: COPY failed for table "notes": ERROR:  new row for relation "notes" violates check constraint "notes_body_check"\nDETAIL:  Failing row contains (…).\nCONTEXT:  COPY notes, line 1: "…"');
        expect(restore).toContain("Command was: INSERT INTO public.users VALUES …");
        expect(restore).toContain('pg_restore: error: could not execute query: ERROR:  relation "users_email_key" already exists\nCommand was: ALTER TABLE ONLY public.users\npg_restore: warning: errors ignored on restore: 4');
    });

    it("keeps every line that carries no value", () => {
        const plain = 'pg_restore: processing data for table "public.users"\npg_restore: from TOC entry 3346; 0 16386 TABLE DATA users postgres';
        expect(redactPgMessage(plain)).toBe(plain);
        expect(redactPgMessage('psql:x.sql:3: ERROR:  relation "nowhere" does not exist\nLINE')).toBe('psql:x.sql:3: ERROR:  relation "nowhere" does not exist\nLINE');
    });
});

describe("redactPgLine", () => {
    it("redacts exclusion-constraint keys on both sides, and referenced-key details", () => {
        expect(redactPgLine("DETAIL:  Key (during)=([2020-01-01,2020-02-01)) conflicts with existing key (during)=([2020-01-15,2020-01-20)).").text).toBe(
            "DETAIL:  Key (during)=(…) conflicts with existing key (during)=(…).",
        );
        expect(redactPgLine('DETAIL:  Key (id)=(42) is still referenced from table "orders".').text).toBe('DETAIL:  Key (id)=(…) is still referenced from table "orders".');
        expect(redactPgLine("DETAIL:  Key (email)=(eve@x.com) is duplicated.").text).toBe("DETAIL:  Key (email)=(…) is duplicated.");
    });

    it("marks a value cut by a newline, whose next lines the stream redactor then drops", () => {
        const r = new PgOutputRedactor();
        expect(r.line("DETAIL:  Key (note)=(first line")).toBe("DETAIL:  Key (note)=(…) …");
        expect(r.line("second line of the value) already exists.")).toBeUndefined();
        expect(r.line("CONTEXT:  COPY notes, line 4")).toBe("CONTEXT:  COPY notes, line 4");
        expect(r.line("an ordinary line")).toBe("an ordinary line");
    });

    it("redacts pg_dump's detail lines and a SQL statement quoted in CONTEXT", () => {
        expect(redactPgLine("pg_dump: detail: Error message from server: ERROR:  invalid input syntax for type uuid: \"x@y.z\"").text).toBe(
            'pg_dump: detail: Error message from server: ERROR:  invalid input syntax for type uuid: "…"',
        );
        expect(redactPgLine("pg_dump: detail: Command was: COPY public.users (id, email) TO stdout;").text).toBe("pg_dump: detail: Command was: COPY public.users …");
        expect(redactPgLine(`CONTEXT:  SQL statement "insert into audit values ('frank@x.com')"`).text).toBe('CONTEXT:  SQL statement "insert into audit values …"');
        expect(redactPgLine("CONTEXT:  unnamed portal parameter $1 = 'grace@x.com'").text).toBe("CONTEXT:  unnamed portal parameter $1 = …");
    });

    it("is idempotent", () => {
        const once = redactPgMessage(PSQL_OUTPUT);
        expect(redactPgMessage(once)).toBe(once);
    });
});

describe("redactStatement", () => {
    it("keeps the verb and object names, drops literals and lists", () => {
        expect(redactStatement("UPDATE public.users SET email = 'h@x.com' WHERE id = 3")).toBe("UPDATE public.users SET email …");
        expect(redactStatement('INSERT INTO "My Schema"."Users" (id) VALUES (1)')).toBe('INSERT INTO "My Schema"."Users" …');
        expect(redactStatement("ALTER TABLE ONLY public.users")).toBe("ALTER TABLE ONLY public.users");
        expect(redactStatement("'only a literal'")).toBe("…");
    });
});

describe("pgErrorText", () => {
    it("turns a node-postgres server error into its message and SQLSTATE, without the value or the DETAIL", () => {
        // The fields node-postgres set for `insert ... values ($1, $2, 3)` with a duplicate email.
        const dup = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), {
            severity: "ERROR", code: "23505", detail: "Key (email)=(alice@x.com) already exists.", constraint: "users_email_key",
        });
        expect(pgErrorText(dup)).toBe('duplicate key value violates unique constraint "users_email_key" (SQLSTATE 23505)');
        const cast = Object.assign(new Error('invalid input syntax for type integer: "alice@x.com"'), {
            severity: "ERROR", code: "22P02", where: "unnamed portal parameter $1 = '...'",
        });
        expect(pgErrorText(cast)).toBe('invalid input syntax for type integer: "…" (SQLSTATE 22P02)');
    });

    it("keeps our own errors as they are, secrets masked", () => {
        expect(pgErrorText(new Error("cannot connect to postgresql://u:pw12345@h/db"), ["pw12345"])).toBe("cannot connect to postgresql://u:****@h/db");
    });
});
