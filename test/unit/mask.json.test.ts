import { describe, expect, it } from "vitest";
import type { ResolvedRule } from "../../lib/mask/catalog";
import { SqlParams } from "../../lib/mask/expressions";
import { generationSources } from "../../lib/mask/generated";
import { jsonColumnAssignment } from "../../lib/mask/jsonPath";
import { columnLabel, formatMaskingReport, type MaskingResult } from "../../lib/mask/report";
import { ruleKey } from "../../lib/mask/rules";

describe("generationSources", () => {
    it("reads json key paths from the forms pg_get_expr writes", async () => {
        // Supabase's auth.identities.email, as PostgreSQL 15 prints it back.
        expect(await generationSources("lower((identity_data ->> 'email'::text))")).toEqual([
            { column: "identity_data", path: ["email"] },
        ]);
        expect(await generationSources("(((d -> 'a'::text) -> 0) ->> 'b'::text)")).toEqual([{ column: "d", path: ["a", "0", "b"] }]);
        expect(await generationSources("(d #>> '{a,b}'::text[])")).toEqual([{ column: "d", path: ["a", "b"] }]);
        expect(await generationSources("jsonb_extract_path_text(d, VARIADIC ARRAY['x'::text, 'y'::text])")).toEqual([
            { column: "d", path: ["x", "y"] },
        ]);
    });

    it("treats every other use of a column as reading it whole", async () => {
        expect(await generationSources("((first_name || ' '::text) || last_name)")).toEqual([
            { column: "first_name", path: null },
            { column: "last_name", path: null },
        ]);
        expect(await generationSources("(d)::text")).toEqual([{ column: "d", path: null }]);
        // A key that is not a constant: the document is read whole (and so is the key column).
        expect(await generationSources("(d ->> k)")).toEqual([
            { column: "d", path: null },
            { column: "k", path: null },
        ]);
        // An array literal needing quotes is not guessed at.
        expect(await generationSources(`(d #>> '{"a,b",c}'::text[])`)).toEqual([{ column: "d", path: null }]);
        expect(await generationSources("'constant'::text")).toEqual([]);
        expect(await generationSources("this is not sql (")).toBeNull();
    });
});

describe("jsonColumnAssignment", () => {
    const rule = (path: string[], strategy: ResolvedRule["rule"]): ResolvedRule => ({
        no: 0,
        schema: "auth",
        table: "users",
        column: "raw_user_meta_data",
        path,
        json: "jsonb",
        idColumn: "id",
        rule: strategy,
        key: ruleKey({ table: "auth.users", column: "raw_user_meta_data", path }),
    });

    it("binds keys and fixed values instead of writing them into SQL, one subquery per rule", () => {
        const params = new SqlParams();
        const sql = jsonColumnAssignment(
            "t",
            "raw_user_meta_data",
            "json",
            [rule(["it's", "email"], { strategy: "email" }), rule(["note"], { strategy: "fixed", value: "x'); drop table t; --" })],
            params,
            undefined,
        );
        expect(sql).not.toContain("it's");
        expect(sql).not.toContain("drop table");
        expect(params.values).toEqual([["it's", "email"], ["note"], "x'); drop table t; --"]); // each path bound once
        expect(sql.match(/jsonb_set\(/g)).toHaveLength(2);
        // Written back as the column's own type; rows without any of the keys keep their document.
        expect(sql).toMatch(/^"raw_user_meta_data" = CASE WHEN .* THEN .*::json ELSE t\."raw_user_meta_data" END$/);
    });

    it("grows linearly with the number of rules on one column", () => {
        const size = (n: number) =>
            jsonColumnAssignment(
                "t",
                "d",
                "jsonb",
                Array.from({ length: n }, (_, i) => rule([`k${i}`], { strategy: "null" })),
                new SqlParams(),
                undefined,
            ).length;
        expect(size(16)).toBeLessThan(3 * size(8));
    });
});

describe("formatMaskingReport with json paths and the survivor scan", () => {
    const result: MaskingResult = {
        status: "fail",
        columns: [
            {
                table: "auth.users",
                column: "raw_user_meta_data",
                path: ["email"],
                strategy: "email",
                rowsMasked: 10,
                survivors: 0,
                status: "pass",
            },
        ],
        survivorScan: {
            status: "fail",
            searched: 30,
            tooShort: 2,
            minChars: 4,
            tablesScanned: 5,
            columnsScanned: 17,
            survivors: [
                { table: "public.audit_log", column: "payload", rows: 3 },
                { table: "auth.identities", column: "email", rows: 10 },
            ],
            notSearched: ["vault.secrets.secret: no SELECT privilege"],
        },
        unmaskedPii: [],
        allowedUnmasked: [],
        durationMs: 40,
    };

    it("names the json key, every place an original survived, what was not searched, and the short-value limit", () => {
        const text = formatMaskingReport(result);
        expect(text).toMatch(/^Data masking: FAIL \(1 columns, 10 values masked, 40 ms\)/);
        expect(text).toMatch(/PASS {2}auth\.users\.raw_user_meta_data\.email +email +masked=10 survivors=0/);
        expect(text).toContain("Survivor scan: FAIL (30 original values searched for in 17 text/json columns of 5 tables)");
        expect(text).toMatch(/FAIL {2}public\.audit_log\.payload +rows=3 {2}<- original values survived here/);
        expect(text).toMatch(/FAIL {2}auth\.identities\.email +rows=10/);
        expect(text).toContain("2 original values shorter than 4 characters were checked only in their own column");
        expect(text).toContain("not searched: vault.secrets.secret: no SELECT privilege");
    });

    it("quotes json keys the dotted form cannot show", () => {
        expect(columnLabel({ table: "public.t", column: "doc", path: ["a.b", "c"] })).toBe('public.t.doc."a.b".c');
        expect(ruleKey({ table: "t", column: "doc", path: [" padded"] })).toBe('public.t.doc." padded"');
    });
});
