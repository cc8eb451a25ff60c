import { describe, expect, it } from "vitest";
import { parseMaskRules } from "../../lib/mask/rules";

describe("parseMaskRules: compact form", () => {
    it("accepts strategy names and objects, defaulting the schema to public", () => {
        expect(
            parseMaskRules({
                "public.profiles.email": "email",
                "profiles.phone": "phone",
                "auth.users.email": { strategy: "email", idColumn: "uid" },
                "public.profiles.bio": { strategy: "fixed", value: "[redacted]" },
                "public.notes.name": "hash",
                "public.profiles.dob": "null",
            }),
        ).toEqual([
            { table: "public.profiles", column: "email", rule: { strategy: "email" } },
            { table: "public.profiles", column: "phone", rule: { strategy: "phone" } },
            { table: "auth.users", column: "email", rule: { strategy: "email" }, idColumn: "uid" },
            { table: "public.profiles", column: "bio", rule: { strategy: "fixed", value: "[redacted]" } },
            { table: "public.notes", column: "name", rule: { strategy: "hash" } },
            { table: "public.profiles", column: "dob", rule: { strategy: "null" } },
        ]);
    });

    it("accepts an empty fixed value", () => {
        expect(parseMaskRules({ "t.c": { strategy: "fixed", value: "" } })[0].rule).toEqual({ strategy: "fixed", value: "" });
    });

    it("names the key of an unknown strategy and lists the expected forms", () => {
        expect(() => parseMaskRules({ "public.profiles.email": "emial" })).toThrow(
            /masking rule public\.profiles\.email: unknown strategy "emial" \(expected "email" \| "phone".*"fixed","value"/,
        );
    });

    it("rejects fixed without a string value", () => {
        expect(() => parseMaskRules({ "public.profiles.bio": "fixed" })).toThrow(
            /masking rule public\.profiles\.bio: strategy "fixed" needs a value: \{"strategy":"fixed","value":"\.\.\."\}/,
        );
        expect(() => parseMaskRules({ "public.profiles.bio": { strategy: "fixed", value: 3 } })).toThrow(
            /masking rule public\.profiles\.bio: strategy "fixed" needs a string "value"/,
        );
    });

    it("rejects a value on other strategies and unknown properties (typos)", () => {
        expect(() => parseMaskRules({ "p.c": { strategy: "email", value: "x" } })).toThrow(
            /masking rule p\.c: "value" is only allowed with strategy "fixed"/,
        );
        expect(() => parseMaskRules({ "p.c": { strategy: "fixed", valeu: "x" } })).toThrow(
            /masking rule p\.c: unknown property "valeu" \(allowed: strategy, value, idColumn\)/,
        );
    });

    it("rejects malformed keys", () => {
        expect(() => parseMaskRules({ email: "email" })).toThrow(
            /masking rule email: the key must be "schema\.table\.column" or "table\.column"/,
        );
        expect(() => parseMaskRules({ "public..email": "email" })).toThrow(/masking rule public\.\.email: the key must be/);
        expect(() => parseMaskRules({ "auth.users.raw_user_meta_data..email": "email" })).toThrow(
            /masking rule auth\.users\.raw_user_meta_data\.\.email: the key must be .*"schema\.table\.column\.key\[\.key\.\.\.\]"/,
        );
    });

    it("rejects a non-string, non-object rule value", () => {
        expect(() => parseMaskRules({ "public.profiles.email": 42 })).toThrow(
            /masking rule public\.profiles\.email: expected .*got 42/,
        );
        expect(() => parseMaskRules({ "public.profiles.email": null })).toThrow(/got null/);
    });

    it("rejects a bad idColumn", () => {
        expect(() => parseMaskRules({ "p.c": { strategy: "email", idColumn: "" } })).toThrow(
            /masking rule p\.c: "idColumn" must be a column name, got ""/,
        );
    });
});

describe("parseMaskRules: json paths", () => {
    it("reads parts after schema.table.column as a key path", () => {
        expect(
            parseMaskRules({
                "auth.users.raw_user_meta_data.email": "email",
                "auth.users.raw_user_meta_data.full_name": "name",
                "auth.identities.identity_data.email": "email",
                "public.events.payload.user.contact.phone": { strategy: "phone", idColumn: "event_id" },
            }),
        ).toEqual([
            { table: "auth.users", column: "raw_user_meta_data", path: ["email"], rule: { strategy: "email" } },
            { table: "auth.users", column: "raw_user_meta_data", path: ["full_name"], rule: { strategy: "name" } },
            { table: "auth.identities", column: "identity_data", path: ["email"], rule: { strategy: "email" } },
            {
                table: "public.events",
                column: "payload",
                path: ["user", "contact", "phone"],
                rule: { strategy: "phone" },
                idColumn: "event_id",
            },
        ]);
    });

    it("accepts path in the array form, keys with dots included, and names it in errors", () => {
        expect(
            parseMaskRules([{ table: "auth.users", column: "raw_user_meta_data", path: ["e.mail"], rule: { strategy: "null" } }]),
        ).toEqual([{ table: "auth.users", column: "raw_user_meta_data", path: ["e.mail"], rule: { strategy: "null" } }]);
        expect(() =>
            parseMaskRules([{ table: "auth.users", column: "raw_user_meta_data", path: ["e.mail"], rule: { strategy: "md5" } }]),
        ).toThrow(/masking rule auth\.users\.raw_user_meta_data\."e\.mail": unknown strategy "md5"/);
        for (const bad of [[], [""], "email", [1]]) {
            expect(() => parseMaskRules([{ table: "auth.users", column: "raw_user_meta_data", path: bad, rule: "null" }])).toThrow(
                /masking rule auth\.users\.raw_user_meta_data: "path" must be a non-empty array of json keys/,
            );
        }
    });

    it("refuses rules that would mask the same value twice", () => {
        expect(() =>
            parseMaskRules({ "auth.users.raw_user_meta_data": "null", "auth.users.raw_user_meta_data.email": "email" }),
        ).toThrow(/masking rule auth\.users\.raw_user_meta_data\.email: overlaps rule auth\.users\.raw_user_meta_data /);
        expect(() => parseMaskRules({ "public.t.doc.a.b": "email", "public.t.doc.a": { strategy: "fixed", value: "x" } })).toThrow(
            /masking rule public\.t\.doc\.a: overlaps rule public\.t\.doc\.a\.b/,
        );
        expect(() =>
            parseMaskRules([
                { table: "t", column: "doc", path: ["email"], rule: { strategy: "email" } },
                { table: "public.t", column: "doc", path: ["email"], rule: { strategy: "null" } },
            ]),
        ).toThrow(/masking rule public\.t\.doc\.email: defined more than once/);
        // Siblings do not overlap.
        expect(parseMaskRules({ "public.t.doc.a.b": "email", "public.t.doc.a.c": "name", "public.t.doc2.a": "null" })).toHaveLength(3);
    });
});

describe("parseMaskRules: array form", () => {
    it("accepts MaskRule objects and normalizes the table", () => {
        expect(
            parseMaskRules([
                { table: "profiles", column: "email", rule: { strategy: "email" } },
                { table: "public.notes", column: "name", rule: { strategy: "name" }, idColumn: "note_id" },
            ]),
        ).toEqual([
            { table: "public.profiles", column: "email", rule: { strategy: "email" } },
            { table: "public.notes", column: "name", rule: { strategy: "name" }, idColumn: "note_id" },
        ]);
    });

    it("names the rule (or its index) in errors", () => {
        expect(() => parseMaskRules([{ table: "profiles", column: "email", rule: { strategy: "md5" } }])).toThrow(
            /masking rule public\.profiles\.email: unknown strategy "md5"/,
        );
        expect(() => parseMaskRules([{ table: "profiles", rule: { strategy: "email" } }])).toThrow(
            /masking rule #0: "column" must be a column name, got nothing/,
        );
        expect(() => parseMaskRules(["email"])).toThrow(/masking rule #0: expected \{"table": \.\.\., "column"/);
        expect(() => parseMaskRules([{ table: "a.b.c", column: "x", rule: { strategy: "null" } }])).toThrow(
            /masking rule a\.b\.c\.x: "table" must be "schema\.table" or "table"/,
        );
        expect(() => parseMaskRules([{ table: "t", column: "c", rule: { strategy: "null" }, extra: 1 }])).toThrow(
            /masking rule public\.t\.c: unknown property "extra"/,
        );
    });

    it("rejects two rules for one column, across both spellings of the table", () => {
        expect(() =>
            parseMaskRules([
                { table: "profiles", column: "email", rule: { strategy: "email" } },
                { table: "public.profiles", column: "email", rule: { strategy: "null" } },
            ]),
        ).toThrow(/masking rule public\.profiles\.email: defined more than once/);
    });
});

describe("parseMaskRules: top level", () => {
    it("rejects anything but an object or an array, showing both forms", () => {
        for (const bad of [null, "email", 3, undefined]) {
            expect(() => parseMaskRules(bad)).toThrow(
                /masking rules: expected an object like \{"public\.profiles\.email": "email"\} or an array of/,
            );
        }
    });

    it("accepts an empty set (the PII guard then decides)", () => {
        expect(parseMaskRules({})).toEqual([]);
        expect(parseMaskRules([])).toEqual([]);
    });
});
