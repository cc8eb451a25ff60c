import { describe, expect, it } from "vitest";
import { applyMasking } from "../../lib/mask/apply";
import { maskExpression, SqlParams } from "../../lib/mask/expressions";
import { looksLikePii } from "../../lib/mask/piiGuard";
import { formatMaskingReport, type MaskingResult } from "../../lib/mask/report";

describe("looksLikePii", () => {
    it("flags PII-looking names on string columns", () => {
        for (const name of [
            "email", "e_mail", "Email", "contact_email", "email_address", "phone", "phone_number", "mobile",
            "home_phone", "name", "first_name", "last_name", "full_name", "display_name", "username", "user_name",
            "surname", "address", "postal_address", "address_line1", "street", "ssn", "dob", "date_of_birth",
        ]) {
            expect(looksLikePii(name, "S"), name).toBe(true);
        }
    });

    it("ignores look-alikes and non-string types", () => {
        for (const name of ["email_confirmed_at", "phone_verified", "bucket_id", "names_count", "title", "body", "nameplate"]) {
            expect(looksLikePii(name, "S"), name).toBe(false);
        }
        expect(looksLikePii("email", "N")).toBe(false); // numeric
        expect(looksLikePii("name", "D")).toBe(false);
        expect(looksLikePii("date_of_birth", "D")).toBe(true); // birth dates are usually `date`
    });
});

describe("applyMasking refuses before connecting", () => {
    // Port 1 on loopback: if any of these tried to connect, the error would be a connection error.
    const url = "postgresql://u:secret-pw-9@127.0.0.1:1/staging";

    it("needs a salt for the hash strategy", async () => {
        const rules = [{ table: "public.notes", column: "name", rule: { strategy: "hash" as const } }];
        await expect(applyMasking(url, rules, {})).rejects.toThrow(
            /masking rules public\.notes\.name use the hash strategy, which needs a salt/,
        );
        await expect(applyMasking(url, rules, { salt: "short" })).rejects.toThrow(/at least 8 characters/);
    });

    it("validates rules built in code and allowUnmasked entries", async () => {
        const bad = [{ table: "t", column: "c", rule: { strategy: "wipe" } }] as unknown as Parameters<typeof applyMasking>[1];
        await expect(applyMasking(url, bad, {})).rejects.toThrow(/masking rule public\.t\.c: unknown strategy "wipe"/);
        await expect(applyMasking(url, [], { allowUnmasked: ["email"] })).rejects.toThrow(
            /allowUnmasked entry "email" must be "schema\.table\.column"/,
        );
    });
});

describe("maskExpression", () => {
    it("keeps the salt and fixed values out of the SQL text", () => {
        const params = new SqlParams();
        const hash = maskExpression({ strategy: "hash" }, `t."c"`, `t."id"`, params, "pepper-123456");
        const fixed = maskExpression({ strategy: "fixed", value: "x'; drop table t; --" }, `t."d"`, `t."id"`, params, undefined);
        const again = maskExpression({ strategy: "hash" }, `t."e"`, `t."id"`, params, "pepper-123456");
        expect(hash + fixed + again).not.toContain("pepper");
        expect(fixed).not.toContain("drop table");
        expect(params.values).toEqual(["pepper-123456", "x'; drop table t; --"]); // the salt slot is reused
        expect(maskExpression({ strategy: "null" }, `t."c"`, `t."id"`, params, undefined)).toBe("NULL");
    });
});

describe("formatMaskingReport", () => {
    const result: MaskingResult = {
        status: "fail",
        columns: [
            { table: "public.profiles", column: "email", strategy: "email", rowsMasked: 50, survivors: 0, status: "pass" },
            { table: "public.profiles", column: "bio", strategy: "fixed", rowsMasked: 50, survivors: 50, status: "fail" },
        ],
        survivorScan: {
            status: "pass",
            searched: 100,
            tooShort: 0,
            minChars: 4,
            tablesScanned: 3,
            columnsScanned: 9,
            survivors: [],
            notSearched: [],
        },
        unmaskedPii: [],
        allowedUnmasked: ["storage.objects.name"],
        durationMs: 12,
    };

    it("shows the verdict, each column and the allow-listed columns", () => {
        const text = formatMaskingReport(result);
        expect(text).toMatch(/^Data masking: FAIL \(2 columns, 100 values masked, 12 ms\)/);
        expect(text).toMatch(/PASS {2}public\.profiles\.email +email +masked=50 survivors=0/);
        expect(text).toMatch(/FAIL {2}public\.profiles\.bio +fixed +masked=50 survivors=50 {2}<- masked values still match originals/);
        expect(text).toContain("left unmasked by allowUnmasked: storage.objects.name");
    });

    it("lists unmasked PII columns as failures", () => {
        const text = formatMaskingReport({ ...result, unmaskedPii: ["public.notes.name"] });
        expect(text).toContain("FAIL  public.notes.name: column looks like PII but has no masking rule");
    });
});
