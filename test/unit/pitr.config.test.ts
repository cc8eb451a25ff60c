// The pgBackRest configuration generated from settings, the secrets' route (environment only), the
// settings schema, WAL name arithmetic, info parsing, gap detection and target planning.
import { describe, expect, it } from "vitest";
import { archiveCommand, renderConfig, secretEnvironment, serverSettingsHint } from "../../lib/pitr/config";
import { assessArchiveHealth, findGaps } from "../../lib/pitr/health";
import { parseArchiveListing, parseInfo, type ArchivedSegment } from "../../lib/pitr/info";
import { pgBackRestArgs, pgBackRestEnvironment } from "../../lib/pitr/runner";
import { assertSecretsPresent, parsePitrSettings, repositoryPath } from "../../lib/pitr/settings";
import { formatTargetTime, planRestore } from "../../lib/pitr/target";
import { formatLsn, parseLsn, parseSegmentName, segmentName, segNoOfLsn } from "../../lib/pitr/walNames";

const SECRETS = { s3Key: "AKIAEXAMPLEKEY123", s3KeySecret: "s3cr3t/with+chars=", cipherPass: "correct horse battery staple" };
const server = { dataDir: "/var/lib/postgresql/15/main", port: 5432, socketDir: "/run/postgresql", user: "postgres" };

function settings(extra: Record<string, unknown> = {}) {
    return parsePitrSettings({
        env: "prod",
        stanza: "prod-db",
        repository: { bucket: "acme-vault", endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1" },
        retention: { full: 2, diff: 6 },
        ...extra,
    });
}

describe("settings", () => {
    it("applies defaults: encryption on, path pitr/<env>, host-style URIs, shared keys", () => {
        const s = settings();
        expect(s.cipher).toBe("aes-256-cbc");
        expect(s.repository).toMatchObject({ type: "s3", uriStyle: "host", keyType: "shared" });
        expect(s.processMax).toBe(2);
        expect(renderConfig(s, server)).toContain("repo1-path=/pitr/prod");
    });

    it("rejects unknown keys (with the path) and secrets written as settings", () => {
        expect(() => settings({ cipherPass: "x" })).toThrow(/supabase-dr:pitr.*cipherPass/s);
        expect(() => settings({ repository: { bucket: "acme-vault", endpoint: "https://h", region: "r", key: "AKIA" } })).toThrow(/repository: unknown key "key"|repository.*key/);
    });

    it("rejects plain-HTTP endpoints (pgBackRest 2.45 speaks only HTTPS) and bad stanza names", () => {
        expect(() => settings({ repository: { bucket: "acme", endpoint: "http://127.0.0.1:9000", region: "r" } })).toThrow(/https/);
        expect(() => settings({ stanza: "Prod DB" })).toThrow(/stanza/);
        expect(() => settings({ retention: { full: 0 } })).toThrow(/retention\.full/);
    });
});

describe("posix repository (a directory: the local demo, a mounted volume)", () => {
    const posix = (repository: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        parsePitrSettings({ env: "demo", stanza: "demo-db", repository, retention: { full: 1 }, ...extra });

    it("renders repo1-type=posix and repo1-path, and no S3 option", () => {
        const s = posix({ type: "posix", path: "/var/lib/pgbackrest/demo/" });
        const lines = renderConfig(s, server).split("\n");
        expect(lines).toContain("repo1-type=posix");
        expect(lines).toContain("repo1-path=/var/lib/pgbackrest/demo");
        expect(lines.filter((l) => l.startsWith("repo1-s3") || l.startsWith("repo1-storage"))).toEqual([]);
        expect(repositoryPath(s)).toBe("/var/lib/pgbackrest/demo");
    });

    it("needs no S3 keys; the cipher passphrase is still a secret of the environment", () => {
        const s = posix({ type: "posix", path: "/srv/repo" });
        expect(() => assertSecretsPresent(s, {})).toThrow(/cipherPass \(PGBACKREST_REPO1_CIPHER_PASS\)$/);
        expect(() => assertSecretsPresent(s, { cipherPass: "p" })).not.toThrow();
        expect(secretEnvironment(s, SECRETS)).toEqual({ PGBACKREST_REPO1_CIPHER_PASS: SECRETS.cipherPass });
        expect(renderConfig(s, server)).not.toContain(SECRETS.cipherPass);
        expect(() => assertSecretsPresent(posix({ type: "posix", path: "/srv/repo" }, { cipher: "none" }), {})).not.toThrow();
    });

    it("rejects a relative path, a path with .., S3 keys on a posix repository and an unknown type, naming the property", () => {
        expect(() => posix({ type: "posix", path: "repo" })).toThrow(/supabase-dr:pitr\.repository\.path: expected an absolute directory path/);
        expect(() => posix({ type: "posix", path: "/srv/../etc" })).toThrow(/repository\.path/);
        expect(() => posix({ type: "posix", path: "/srv/repo", bucket: "b" })).toThrow(/repository.*unknown key bucket/);
        expect(() => posix({ type: "nfs", path: "/srv" })).toThrow(/repository\.type.*expected \{type: "s3"/);
        expect(() => posix({ type: "posix" })).toThrow(/repository\.path: required/);
    });

    it("keeps S3 the default type, so existing settings parse unchanged", () => {
        expect(settings().repository.type).toBe("s3");
        expect(renderConfig(settings(), server)).toContain("repo1-type=s3");
    });
});

describe("generated configuration", () => {
    const s = settings({ repository: { bucket: "acme-vault", endpoint: "https://localhost:9443", region: "us-east-1", uriStyle: "path", caFile: "/etc/ssl/ca.pem" } });

    it("holds the repository, encryption type, retention and server options", () => {
        const text = renderConfig(s, server, { logPath: "/w/log", lockPath: "/w/lock", spoolPath: "/w/spool" });
        for (const line of [
            "repo1-type=s3", "repo1-s3-bucket=acme-vault", "repo1-s3-endpoint=localhost", "repo1-storage-port=9443",
            "repo1-s3-uri-style=path", "repo1-storage-ca-file=/etc/ssl/ca.pem", "repo1-cipher-type=aes-256-cbc",
            "repo1-retention-full=2", "repo1-retention-diff=6", "process-max=2", "log-path=/w/log", "[prod-db]",
            "pg1-path=/var/lib/postgresql/15/main", "pg1-socket-path=/run/postgresql",
        ]) {
            expect(text.split("\n")).toContain(line);
        }
    });

    it("never contains a secret: they go to PGBACKREST_* environment variables", () => {
        const text = renderConfig(s, server);
        for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
        expect(text).not.toMatch(/cipher-pass|key-secret|repo1-s3-key=/);
        expect(secretEnvironment(s, SECRETS)).toEqual({
            PGBACKREST_REPO1_S3_KEY: SECRETS.s3Key,
            PGBACKREST_REPO1_S3_KEY_SECRET: SECRETS.s3KeySecret,
            PGBACKREST_REPO1_CIPHER_PASS: SECRETS.cipherPass,
        });
    });

    it("argv carries config path, stanza and command only, and refuses secret options", () => {
        const ctx = { settings: s, configFile: "/w/pgbackrest.conf" };
        const argv = pgBackRestArgs(ctx, "backup", ["--type=full"]);
        expect(argv).toEqual(["--config=/w/pgbackrest.conf", "--stanza=prod-db", "--type=full", "backup"]);
        for (const secret of Object.values(SECRETS)) expect(argv.join(" ")).not.toContain(secret);
        expect(() => pgBackRestArgs(ctx, "backup", [`--repo1-cipher-pass=${SECRETS.cipherPass}`])).toThrow(/secret option/);
        expect(() => pgBackRestArgs(ctx, "backup", [`--repo1-s3-key-secret=x`])).toThrow(/secret option/);
    });

    it("the process environment has our secrets and drops stray PGBACKREST_* and engine secrets", () => {
        process.env.PGBACKREST_REPO1_PATH = "/elsewhere";
        process.env.PULUMI_CONFIG_PASSPHRASE = "engine-secret";
        try {
            const env = pgBackRestEnvironment({ settings: s, secrets: SECRETS });
            expect(env.PGBACKREST_REPO1_PATH).toBeUndefined();
            expect(env.PULUMI_CONFIG_PASSPHRASE).toBeUndefined();
            expect(env.PGBACKREST_REPO1_CIPHER_PASS).toBe(SECRETS.cipherPass);
        } finally {
            delete process.env.PGBACKREST_REPO1_PATH;
            delete process.env.PULUMI_CONFIG_PASSPHRASE;
        }
    });

    it("web-id and auto credentials need no keys in the environment; no cipher means no passphrase", () => {
        const web = settings({ repository: { bucket: "acme-vault", endpoint: "https://s3.amazonaws.com", region: "us-east-1", keyType: "web-id" }, cipher: "none" });
        expect(secretEnvironment(web, SECRETS)).toEqual({});
        expect(renderConfig(web, server)).toContain("repo1-s3-key-type=web-id");
        expect(renderConfig(web, server)).not.toContain("repo1-cipher-type");
    });

    it("prints the server settings: archive_command without secrets, wal_level logical", () => {
        const hint = serverSettingsHint("prod-db", "/etc/pgbackrest/pgbackrest.conf");
        expect(hint.archive_command).toBe("pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=prod-db archive-push %p");
        expect(hint.wal_level).toBe("logical");
        expect(hint.archive_mode).toBe("on");
        expect(() => archiveCommand("s", "/a b/c.conf")).toThrow(/spaces/);
    });
});

describe("WAL names and LSNs", () => {
    it("round-trips names and crosses a log boundary after segment FF", () => {
        const s = parseSegmentName("0000000100000000000000FF");
        expect(s).toEqual({ timeline: 1, segNo: 255 });
        expect(segmentName({ timeline: 1, segNo: 256 })).toBe("000000010000000100000000");
        expect(parseLsn("16/B374D848")).toBe((0x16n << 32n) | 0xb374d848n);
        expect(formatLsn(parseLsn("16/B374D848"))).toBe("16/B374D848");
        expect(segNoOfLsn("1/3000028")).toBe(256 + 3);
        expect(() => parseSegmentName("00000001000000000000100")).toThrow(/not a WAL segment/);
    });
});

const INFO = JSON.stringify([{
    name: "prod-db", status: { code: 0, message: "ok" }, cipher: "aes-256-cbc",
    archive: [{ id: "15-1", min: "000000010000000000000001", max: "000000010000000000000009" }],
    backup: [
        { label: "20261130-010000F", type: "full", error: false, timestamp: { start: 1796000000, stop: 1796000010 }, lsn: { start: "0/2000028", stop: "0/2000100" }, archive: { start: "000000010000000000000002", stop: "000000010000000000000002" } },
        { label: "20261130-010000F_20261130-020000D", type: "diff", error: false, timestamp: { start: 1796003600, stop: 1796003610 }, lsn: { start: "0/6000028", stop: "0/6000100" }, archive: { start: "000000010000000000000006", stop: "000000010000000000000006" } },
    ],
}]);

function seg(name: string, time: number): ArchivedSegment {
    return { archiveId: "15-1", name, path: `15-1/${name.slice(0, 16)}/${name}-${"a".repeat(40)}.gz`, bytes: 100, time: new Date(time * 1000) };
}

describe("info, archive listing, health", () => {
    const stanza = parseInfo(INFO, "prod-db");

    it("parses backups and the archive range", () => {
        expect(stanza.oldestBackup?.label).toBe("20261130-010000F");
        expect(stanza.newestBackup?.type).toBe("diff");
        expect(stanza.newestBackup?.stopTime.toISOString()).toBe(new Date(1796003610 * 1000).toISOString());
        expect(stanza.archives[0].max).toBe("000000010000000000000009");
        expect(() => parseInfo(INFO, "other")).toThrow(/stanza other is not in the repository/);
    });

    it("parses repo-ls output, ignoring .backup and .history files", () => {
        const listing = parseArchiveListing(JSON.stringify({
            "15-1/0000000100000000/000000010000000000000002-d781cd2572638d10056e84a29b3994276c5269b1.gz": { type: "file", size: 10, time: 1796000000 },
            "15-1/0000000100000000/000000010000000000000002.00000028.backup": { type: "file", size: 1, time: 1796000000 },
            "15-1/00000002.history": { type: "file", size: 1, time: 1796000000 },
            "15-1": { type: "path" },
        }));
        expect(listing.map((s) => s.name)).toEqual(["000000010000000000000002"]);
    });

    it("names the missing segment(s) of a gap, from the oldest backup's start on", () => {
        const segs = ["01", "02", "03", "05", "06", "09"].map((n) => seg(`0000000100000000000000${n}`, 1796003600));
        const { gaps } = findGaps(segs, "000000010000000000000002");
        expect(gaps).toEqual([
            { after: "000000010000000000000003", firstMissing: "000000010000000000000004", lastMissing: "000000010000000000000004", count: 1 },
            { after: "000000010000000000000006", firstMissing: "000000010000000000000007", lastMissing: "000000010000000000000008", count: 2 },
        ]);
        const health = assessArchiveHealth(stanza, segs, { rpoSeconds: 300, maxBackupAgeHours: 26 }, new Date(1796003700 * 1000));
        expect(health.status).toBe("FAIL");
        expect(health.reasons).toContain("WAL segment 000000010000000000000004 is missing from the archive after 000000010000000000000003: recovery cannot replay past it");
    });

    it("a continuous, fresh archive passes; a stale one fails against the RPO target", () => {
        const segs = ["02", "03", "04", "05", "06"].map((n, i) => seg(`0000000100000000000000${n}`, 1796003600 + i * 60));
        const now = new Date((1796003840 + 100) * 1000);
        expect(assessArchiveHealth(stanza, segs, { rpoSeconds: 300, maxBackupAgeHours: 26 }, now)).toMatchObject({ status: "PASS", reasons: [], gaps: [] });
        const later = new Date(now.getTime() + 3600_000);
        const stale = assessArchiveHealth(stanza, segs, { rpoSeconds: 300, maxBackupAgeHours: 26 }, later);
        expect(stale.status).toBe("FAIL");
        expect(stale.reasons.join("\n")).toMatch(/newest archived WAL segment 000000010000000000000006 is \d+ s old, over the RPO target of 300 s/);
    });
});

describe("recovery target planning", () => {
    const stanza = parseInfo(INFO, "prod-db");
    const now = new Date(1796007200 * 1000);

    it("picks the newest backup that ends before the target, with pgBackRest's time format", () => {
        const t = new Date(1796003700 * 1000);
        const plan = planRestore(stanza, { type: "time", time: t }, now);
        expect(plan.backup.type).toBe("diff");
        expect(plan.options).toEqual(["--type=time", `--target=${formatTargetTime(t)}`, "--set=20261130-010000F_20261130-020000D"]);
        expect(formatTargetTime(new Date("2026-11-30T03:30:40.123Z"))).toBe("2026-11-30 03:30:40.123+00");
        expect(planRestore(stanza, { type: "lsn", lsn: "0/5000000" }, now).backup.type).toBe("full");
        // A mark's target stops before the record at its LSN (see target.ts).
        expect(planRestore(stanza, { type: "lsn", lsn: "0/7000000", exclusive: true }, now).options)
            .toEqual(["--type=lsn", "--target=0/7000000", "--target-exclusive", "--set=20261130-010000F_20261130-020000D"]);
    });

    it("refuses a time in the future, before the oldest backup, and an LSN past the archive", () => {
        expect(() => planRestore(stanza, { type: "time", time: new Date(now.getTime() + 1000) }, now)).toThrow(/in the future/);
        expect(() => planRestore(stanza, { type: "time", time: new Date(1796000000 * 1000) }, now)).toThrow(/before the oldest backup 20261130-010000F/);
        expect(() => planRestore(stanza, { type: "lsn", lsn: "0/1000000" }, now)).toThrow(/before the oldest backup/);
        expect(() => planRestore(stanza, { type: "lsn", lsn: "0/A000000" }, now)).toThrow(/past the newest archived WAL segment 000000010000000000000009/);
    });
});
