import { describe, expect, it } from "vitest";
import { redact, redactConnectionSecrets, redactError } from "../../lib/redact";

describe("redact", () => {
    it("masks passwords in connection URIs", () => {
        expect(redactConnectionSecrets("cannot reach postgresql://app:s3cr%40t@db.example.com:5432/prod now")).toBe(
            "cannot reach postgresql://app:****@db.example.com:5432/prod now",
        );
    });
    it("masks libpq keyword passwords", () => {
        expect(redactConnectionSecrets("host=db password='x y' user=app")).toBe("host=db password=**** user=app");
        expect(redactConnectionSecrets("PGPASSWORD=hunter22 pg_dump")).toBe("PGPASSWORD=**** pg_dump");
    });
    it("replaces registered secrets, also URI-encoded", () => {
        const out = redact("token abc/def+1 and abc%2Fdef%2B1", ["abc/def+1"]);
        expect(out).toBe("token **** and ****");
    });
    it("keeps the error name and redacts the stack", () => {
        const err = new TypeError("bad postgresql://u:pw123456@h/db");
        const clean = redactError(err, ["pw123456"]);
        expect(clean.name).toBe("TypeError");
        expect(clean.message).not.toContain("pw123456");
        expect(clean.stack).not.toContain("pw123456");
    });
});
