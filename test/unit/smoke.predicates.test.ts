import { describe, expect, it } from "vitest";
import { excerpt } from "../../lib/smoke/excerpt";
import { bodyFailures, lookup, splitCsvLine } from "../../lib/smoke/predicates";

describe("smoke body predicates", () => {
    it("looks up dotted paths, telling missing from null", () => {
        const doc = { a: { b: null, list: [{ id: 1 }] } };
        expect(lookup(doc, "a.b")).toEqual({ present: true, value: null });
        expect(lookup(doc, "a.list.0.id")).toEqual({ present: true, value: 1 });
        expect(lookup(doc, "a.list.1.id")).toEqual({ present: false });
        expect(lookup(doc, "a.c")).toEqual({ present: false });
        expect(lookup(doc, "a.b.c")).toEqual({ present: false });
        expect(lookup({ toString: 1 }, "constructor")).toEqual({ present: false });
    });

    it("compares JSON values deeply", () => {
        const body = JSON.stringify({ checks: { db: "ok", list: [1, 2] } });
        expect(bodyFailures({ json: { checks: { db: "ok", list: [1, 2] } } }, body, false)).toEqual([]);
        expect(bodyFailures({ json: { "checks.list": [1] } }, body, false)).toEqual(['JSON "checks.list": expected [1], got [1,2]']);
    });

    it("refuses to judge a truncated body as JSON, and says a search covered only its start", () => {
        expect(bodyFailures({ json: { ok: true } }, '{"ok":true}', true)).toEqual(["body is too large to check as JSON"]);
        expect(bodyFailures({ contains: "zzz" }, "abc", true)).toEqual(['body does not contain "zzz" (only the start of a large body was searched)']);
    });

    it("splits CSV cells with quotes and doubled quotes", () => {
        expect(splitCsvLine('id,"a, b","say ""hi""",')).toEqual(["id", "a, b", 'say "hi"', ""]);
        expect(bodyFailures({ csvHeader: ["id"] }, "", false)).toEqual(['body is empty, expected a CSV header with "id"']);
    });

    it("excerpts redact before truncating and stay on one line", () => {
        const token = "secret_token_value_42";
        const text = `${"a".repeat(195)}\n${token}${"b".repeat(50)}`;
        const out = excerpt(text, [token]);
        expect(out).not.toContain("secret_t");
        expect(out).toBe(`${"a".repeat(195)} ****...`);
        expect(excerpt("short\n\tbody ", [])).toBe("short body");
    });
});
