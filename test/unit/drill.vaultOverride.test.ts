// BACKUP_BUCKET in a drill relocates the settings' vault (the bucket the nightly job writes), keeps
// its adoption settings, and never turns a dump-now drill into an adopting one.
import { describe, expect, it } from "vitest";
import { vaultAtBackupBucket } from "../../lib/drill/vaultOverride";

describe("BACKUP_BUCKET as the drill's vault", () => {
    it("replaces an S3 vault's bucket, keeping its region, env and notAfter; S3_ENDPOINT wins over the settings' endpoint", () => {
        const moved = vaultAtBackupBucket({ kind: "s3", bucket: "acme-prod", region: "eu-west-1", env: "prod", notAfter: "2026-11-01T00:00:00Z" }, "acme-prod-v2", { AWS_REGION: "us-east-2", S3_ENDPOINT: "https://127.0.0.1:9000" });
        expect(moved?.vault).toEqual({ kind: "s3", bucket: "acme-prod-v2", region: "eu-west-1", endpoint: "https://127.0.0.1:9000", env: "prod", notAfter: "2026-11-01T00:00:00Z" });
        expect(moved?.note).toBe("vault: acme-prod-v2 (BACKUP_BUCKET; drill.vault names acme-prod)");
        expect(vaultAtBackupBucket({ kind: "s3", bucket: "acme-prod" }, "acme-prod", {})?.note).toMatch(/as in drill\.vault/);
        expect(vaultAtBackupBucket({ kind: "dir", path: "/v" }, "b", { AWS_REGION: "us-east-2" })?.vault).toEqual({ kind: "s3", bucket: "b", region: "us-east-2" });
    });

    it("file:///dir makes a directory vault; a relative or malformed file URL is refused", () => {
        expect(vaultAtBackupBucket({ kind: "s3", bucket: "acme-prod", region: "eu-west-1" }, "file:///srv/vault", {})?.vault).toEqual({ kind: "dir", path: "/srv/vault" });
        expect(() => vaultAtBackupBucket({ kind: "s3", bucket: "b" }, "file://host/vault", {})).toThrow(/BACKUP_BUCKET "file:\/\/host\/vault" is not a file:\/\/\/absolute\/path URL/);
    });

    it("does nothing without a vault in the settings", () => {
        expect(vaultAtBackupBucket(undefined, "acme-prod", {})).toBeUndefined();
    });
});
