// Drill settings you can trust: one schema, unknown keys rejected with the nearest known key, every
// problem with its property path and all of them at once, the drill's own cluster as the default
// target, the shipped stack files valid, the published JSON Schema in step with the zod schema, and
// the drill command reporting a bad settings file cleanly (exit 2, no stack trace) before any engine.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, isConfigError, nearestKey, type ConfigIssue } from "../../lib/config/errors";
import { drillArgsFromConfig, mergeDrillSettings, parseUserDrillSettings, type DrillSecrets } from "../../lib/drill/config";
import { drillStackSettingsSchema, userDrillSettingsSchema } from "../../lib/drill/settingsSchema";
import { DRILL_SETTINGS_SCHEMA_FILE, drillSettingsSchemaText } from "../../scripts/schema";

const ROOT = path.resolve(__dirname, "../..");
const BASE = { env: "staging", id: "20261122101500", artifactsDir: "/tmp/a", startedAt: "2026-11-22T10:15:00Z", backupPath: "/backups/dump.sql.gz" };

/** The ConfigError's issues (fails the test when something else, or nothing, is thrown). */
function issuesOf(f: () => unknown): ConfigIssue[] {
    try {
        f();
    } catch (err) {
        expect(isConfigError(err), String(err)).toBe(true);
        return (err as ConfigError).issues;
    }
    throw new Error("expected a ConfigError, nothing was thrown");
}

const lines = (issues: ConfigIssue[]) => issues.map((i) => `${i.path}: ${i.message}`);

describe("drill settings schema", () => {
    it("rejects a misspelled top-level key, suggesting the nearest known one", () => {
        const issues = issuesOf(() => parseUserDrillSettings({ validaton: { assertions: [] } }));
        expect(lines(issues)).toEqual(["supabase-dr:drill: unknown key validaton; did you mean validation?"]);
    });

    it("rejects misspelled nested keys with their path, and lists the known keys when nothing is close", () => {
        const issues = lines(
            issuesOf(() =>
                parseUserDrillSettings({
                    restore: { jobz: 4 },
                    targets: { rto_seconds: 60 },
                    target: { kind: "supabase-project", organisation: "acme", region: "eu-west-2" },
                    validation: { fingerprint: { rlsProbes: [{ role: "anon", claim: {} }] } },
                    colour: "blue",
                }),
            ),
        );
        expect(issues).toContain("supabase-dr:drill.restore: unknown key jobz; did you mean jobs?");
        expect(issues).toContain("supabase-dr:drill.targets: unknown key rto_seconds; did you mean rtoSeconds?");
        expect(issues).toContain("supabase-dr:drill.target: unknown key organisation; did you mean organization?");
        expect(issues).toContain("supabase-dr:drill.target.organization: required: expected a non-empty string");
        expect(issues).toContain("supabase-dr:drill.validation.fingerprint.rlsProbes[0]: unknown key claim; did you mean claims?");
        const colour = issues.find((l) => l.includes("colour"));
        expect(colour).toMatch(/^supabase-dr:drill: unknown key colour \(known keys: backupPath, .*nextDrillDays, storage\)$/);
    });

    it("points a key written one level too high to where it belongs", () => {
        const issues = lines(issuesOf(() => parseUserDrillSettings({ jobs: 4, assertions: [] })));
        expect(issues).toEqual([
            "supabase-dr:drill: unknown key jobs; did you mean restore.jobs?",
            "supabase-dr:drill: unknown key assertions; did you mean validation.assertions?",
        ]);
    });

    it("names the path, the form expected and the value given for a bad value", () => {
        const issues = issuesOf(() => parseUserDrillSettings({ restore: { jobs: "many" } }));
        expect(lines(issues)).toEqual(['supabase-dr:drill.restore.jobs: expected a whole number ≥ 1, got "many"']);
        // The message is the list alone: nothing of a stack trace.
        expect(new ConfigError(issues).message).toBe('supabase-dr:drill.restore.jobs: expected a whole number ≥ 1, got "many"');
    });

    it("reports every problem at once, across sections and sub-parsers", () => {
        const issues = lines(
            issuesOf(() =>
                parseUserDrillSettings({
                    restore: { jobs: 0, allowErrors: ["(unclosed"], platform: "cloud" },
                    validation: { assertions: [{ name: "a", sql: "select 1" }, { name: "a", sql: "select 2", expected: 2 }] },
                    masking: { rules: { "auth.users.email": "emial" }, allowUnmasked: ["email"] },
                    smoke: { checks: [{ path: "api/health" }, { url: "https://x.test/", bogus: 1 }] },
                    target: { kind: "clustr" },
                    nextDrillDays: 1.5,
                    backupTakenAt: "last tuesday",
                }),
            ),
        );
        expect(issues).toEqual(
            expect.arrayContaining([
                "supabase-dr:drill.restore.jobs: expected a whole number ≥ 1, got 0",
                expect.stringMatching(/^supabase-dr:drill\.restore\.allowErrors\[0\]: not a valid regular expression/),
                'supabase-dr:drill.restore.platform: expected "auto", "source", "baseline" or "none", got "cloud"',
                "supabase-dr:drill.validation.assertions[0].expected: required: expected a string, number, true/false or null",
                expect.stringMatching(/^supabase-dr:drill\.masking\.rules: masking rule auth\.users\.email: unknown strategy "emial"/),
                'supabase-dr:drill.masking.allowUnmasked[0]: expected "schema.table.column" (or "table.column" for public), got "email"',
                expect.stringMatching(/^supabase-dr:drill\.smoke\.checks\[0\]\.path: expected a path starting with "\/"/),
                expect.stringMatching(/^supabase-dr:drill\.smoke\.checks\[1\]\.bogus: unknown field/),
                'supabase-dr:drill.target.kind: expected kind "cluster", "database" or "supabase-project", got "clustr"',
                "supabase-dr:drill.nextDrillDays: expected a whole number ≥ 1, got 1.5",
                'supabase-dr:drill.backupTakenAt: expected an ISO 8601 time such as 2026-11-22T10:15:00Z, got "last tuesday"',
            ]),
        );
        expect(issues).toHaveLength(11);
    });

    it("checks cross-field rules alongside field errors", () => {
        const issues = lines(
            issuesOf(() =>
                parseUserDrillSettings({
                    backupPath: "/b.dump",
                    vault: { kind: "s3", bucket: "vault" },
                    storage: { storageUrl: "https://x.supabase.co/storage/v1", buckets: ["avatars"] },
                    restore: { jobs: -1 },
                }),
            ),
        );
        expect(issues).toContain("supabase-dr:drill.vault: cannot be combined with backupPath: adopt one backup");
        expect(issues).toContain("supabase-dr:drill.restore.jobs: expected a whole number ≥ 1, got -1");
        const noVault = lines(issuesOf(() => parseUserDrillSettings({ storage: { storageUrl: "https://x.supabase.co/storage/v1", buckets: ["avatars"] } })));
        expect(noVault).toEqual(["supabase-dr:drill.storage.vault: required when drill.vault is not set (where the snapshots are)"]);
        expect(lines(issuesOf(() => parseUserDrillSettings(null)))).toEqual(["supabase-dr:drill: expected an object, got null"]);
    });

    it("keeps the drill stack's own keys out of what users write, and requires them in a drill stack", () => {
        expect(lines(issuesOf(() => parseUserDrillSettings({ id: "20261122101500" })))[0]).toMatch(/^supabase-dr:drill: unknown key id/);
        expect(drillStackSettingsSchema.safeParse(BASE).success).toBe(true);
        const missing = lines(issuesOf(() => drillArgsFromConfig({ backupPath: "/b" }, {}, "drill-x")));
        expect(missing).toEqual([
            "supabase-dr:drill.env: required: expected a non-empty string",
            "supabase-dr:drill.id: required: expected yyyymmddHHMMss",
            "supabase-dr:drill.artifactsDir: required: expected a non-empty string",
            "supabase-dr:drill.startedAt: required: expected an ISO 8601 time such as 2026-11-22T10:15:00Z",
        ]);
    });

    it("suggests only close keys", () => {
        expect(nearestKey("validaton", ["validation", "vault"])).toBe("validation");
        expect(nearestKey("artifactsdir", ["artifactsDir"])).toBe("artifactsDir");
        expect(nearestKey("xyz", ["jobs", "platform"])).toBeUndefined();
        expect(nearestKey("mask", ["masking", "smoke"])).toBeUndefined();
    });
});

describe("drillArgsFromConfig", () => {
    const SOURCE = "postgresql://ro:src-pw@prod-db:5432/postgres";
    const TARGET = "postgresql://postgres:tgt-pw@scratch:5432/postgres";

    it("defaults the target to the drill's own cluster, or a database on TARGET_DB_URL's server", () => {
        expect(drillArgsFromConfig(BASE, {}, "drill-x").target).toEqual({ kind: "cluster" });
        expect(drillArgsFromConfig(BASE, { targetDbUrl: TARGET }, "drill-x").target).toEqual({ kind: "database", adminUrl: TARGET });
        // An explicit kind wins over the URL's presence.
        expect(drillArgsFromConfig({ ...BASE, target: { kind: "cluster" } }, { targetDbUrl: TARGET }, "drill-x").target).toEqual({ kind: "cluster" });
        expect(lines(issuesOf(() => drillArgsFromConfig({ ...BASE, target: { kind: "database" } }, {}, "drill-x")))).toEqual([
            "supabase-dr:targetDbUrl: required for drill.target kind database: the scratch server's admin URI (TARGET_DB_URL)",
        ]);
    });

    it("adopts from a directory vault, and storage defaults to the same directory", () => {
        const args = drillArgsFromConfig(
            { ...BASE, backupPath: undefined, vault: { kind: "dir", path: "/vault", notAfter: "2026-10-01T00:00:00Z" }, storage: { storageUrl: "https://x.supabase.co/storage/v1", buckets: ["avatars"] } },
            { storageServiceKey: "service-key" },
            "drill-staging-1",
        );
        expect(args.vault).toEqual({ settings: { kind: "dir", path: "/vault" }, env: "staging", notAfter: "2026-10-01T00:00:00Z" });
        expect(args.storage?.vault).toEqual({ kind: "dir", path: "/vault" });
        // A dir vault takes no S3 fields; an unknown kind names both forms.
        expect(issuesOf(() => parseUserDrillSettings({ vault: { kind: "dir", path: "/v", bucket: "b" } })).map((i) => i.path)).toEqual(["supabase-dr:drill.vault"]);
        expect(issuesOf(() => parseUserDrillSettings({ vault: { kind: "ftp", path: "/v" } })).map((i) => i.message).join()).toMatch(/expected \{kind: "s3"/);
    });

    it("returns the component's arguments, with the new restore and validation fields and the defaults", () => {
        const args = drillArgsFromConfig(
            {
                ...BASE,
                backupPath: undefined,
                vault: { kind: "s3", bucket: "vault", region: "eu-west-1" },
                restore: { jobs: 4, allowErrors: ["extension \"pg_graphql\""], allowMissingExtensions: ["pg_graphql"], platform: "baseline" },
                validation: { allowNoData: true, assertions: [{ name: "users", sql: "select count(*) from auth.users", expected: 3 }] },
                masking: { rules: { "auth.users.email": "email" }, allowUnmasked: ["storage.objects.name"] },
                storage: { storageUrl: "https://x.supabase.co/storage/v1", buckets: ["avatars"] },
                target: { kind: "supabase-project", organization: "acme", region: "eu-west-2", readyTimeoutSeconds: 600 },
            },
            { supabaseAccessToken: "sbp_x", maskingSalt: "salt-123456", storageServiceKey: "service-key" },
            "drill-staging-1",
        );
        expect(args.restore).toEqual({ jobs: 4, allowErrors: ["extension \"pg_graphql\""], allowMissingExtensions: ["pg_graphql"], platform: "baseline" });
        expect(args.validation).toEqual({ allowNoData: true, assertions: [{ name: "users", sql: "select count(*) from auth.users", expected: 3 }] });
        expect(args.vault).toEqual({ settings: { kind: "s3", bucket: "vault", region: "eu-west-1", endpoint: undefined }, env: "staging", notAfter: undefined });
        expect(args.storage).toEqual({
            storageUrl: "https://x.supabase.co/storage/v1",
            buckets: ["avatars"],
            vault: { kind: "s3", bucket: "vault", region: "eu-west-1", endpoint: undefined },
            env: "staging",
            serviceKey: "service-key",
        });
        expect(args.masking).toEqual({ rules: { "auth.users.email": "email" }, salt: "salt-123456", allowUnmasked: ["storage.objects.name"] });
        expect(args.target).toEqual({ kind: "supabase-project", accessToken: "sbp_x", organization: "acme", region: "eu-west-2", readyTimeoutSeconds: 600 });
        expect(args.targets).toEqual({ rtoSeconds: 7200, rpoSeconds: 86400 });
        expect(args.nextDrillDays).toBe(90);
    });

    it("reports settings and secret problems together, never quoting a secret", () => {
        const issues = lines(
            issuesOf(() =>
                drillArgsFromConfig(
                    { ...BASE, backupPath: undefined, target: { kind: "database" }, storage: { storageUrl: "https://x/storage/v1", buckets: ["a"], vault: { kind: "dir", path: "/v" } }, targets: { rtoSeconds: 0 } },
                    { targetDbUrl: "mysql://u:hidden-pw@h/db" } satisfies DrillSecrets,
                    "drill-x",
                ),
            ),
        );
        expect(issues).toEqual([
            "supabase-dr:drill.targets.rtoSeconds: expected a positive number, got 0",
            "supabase-dr:targetDbUrl: the connection string must start with postgresql:// or postgres:// (got mysql://)",
            "supabase-dr:sourceDbUrl: required unless drill.backupPath or drill.vault is set: dump the source now, or adopt a backup",
            "supabase-dr:storageServiceKey: required for a storage restore: the project's service role key (SUPABASE_SERVICE_ROLE_KEY)",
        ]);
        expect(issues.join("\n")).not.toContain("hidden-pw");
        expect(drillArgsFromConfig(BASE, { sourceDbUrl: SOURCE }, "drill-x").sourceUrl).toBe(SOURCE);
    });
});

describe("mergeDrillSettings (stack file, then --settings file)", () => {
    const stack = { vault: { kind: "s3", bucket: "acme-supabase-backups-prod", region: "eu-west-1" }, targets: { rtoSeconds: 7200 } };
    const storage = { storageUrl: "https://abcdefghijklmnopqrst.supabase.co/storage/v1", buckets: ["uploads"] };

    it("judges the rules that span keys on the merged settings: a storage-only file uses the stack's vault", () => {
        const merged = mergeDrillSettings([{ label: "Pulumi.prod.yaml", value: stack }, { label: "extra.yaml", value: { storage } }]);
        expect(merged.vault).toMatchObject({ kind: "s3", bucket: "acme-supabase-backups-prod" });
        expect(merged.storage).toMatchObject({ buckets: ["uploads"] });
        expect(merged.targets).toMatchObject({ rtoSeconds: 7200 });
    });

    it("still refuses what is wrong in one source, naming that source, and what the merge leaves inconsistent", () => {
        let err: ConfigError | undefined;
        try {
            mergeDrillSettings([{ label: "Pulumi.prod.yaml", value: stack }, { label: "extra.yaml", value: { storage, targetss: {} } }]);
        } catch (e) {
            err = e as ConfigError;
        }
        expect(err?.message).toMatch(/invalid drill settings \(extra\.yaml\)/);
        expect(err?.issues).toContainEqual({ path: "supabase-dr:drill", message: "unknown key targetss; did you mean targets?" });
        expect(() => mergeDrillSettings([{ label: "a.yaml", value: {} }, { label: "b.yaml", value: { storage } }])).toThrow(/invalid drill settings \(a\.yaml \+ b\.yaml\)[\s\S]*storage\.vault: required when drill\.vault is not set/);
    });
});

describe("the shipped stack files", () => {
    const drillSettings = (stack: string) =>
        (yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config["supabase-dr:drill"];

    it.each(["prod", "staging"])("Pulumi.%s.yaml's drill settings validate and hold no app-specific rule", (stack) => {
        const settings = parseUserDrillSettings(drillSettings(stack));
        expect(settings.targets?.rtoSeconds).toBeGreaterThan(0);
        expect(settings.nextDrillDays).toBeGreaterThan(0);
        // Only Supabase's own schemas: a rule or assertion on public.* fails on any other project.
        expect(JSON.stringify(settings)).not.toMatch(/public\.|lms_|profiles/);
        expect(settings.validation?.assertions ?? []).toEqual([]);
    });

    it("staging masks Supabase Auth's emails and phones, including the json copies", () => {
        const rules = parseUserDrillSettings(drillSettings("staging")).masking?.rules as Record<string, unknown>;
        expect(rules).toMatchObject({
            "auth.users.email": "email",
            "auth.users.phone": "phone",
            "auth.users.raw_user_meta_data.email": "email",
            "auth.identities.identity_data.email": "email",
        });
        expect(Object.keys(rules).every((k) => /^(auth|storage)\./.test(k))).toBe(true);
    });
});

describe("the published JSON Schema", () => {
    it("is what `npm run schema` generates from the zod schema (run it after changing settingsSchema.ts)", () => {
        expect(fs.readFileSync(DRILL_SETTINGS_SCHEMA_FILE, "utf8")).toBe(drillSettingsSchemaText());
    });

    it("is strict and documented, so editors flag typos and explain keys", () => {
        const schema = JSON.parse(drillSettingsSchemaText()) as {
            additionalProperties: boolean;
            properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }>;
        };
        expect(schema.additionalProperties).toBe(false);
        expect(Object.keys(schema.properties)).toEqual(Object.keys(userDrillSettingsSchema.shape));
        expect(schema.properties.restore.properties!.jobs.description).toMatch(/pg_restore jobs/);
        for (const [key, property] of Object.entries(schema.properties)) expect(property.description, key).toBeTruthy();
    });
});

describe("npm run drill with bad settings", () => {
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-settings-"));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    function drill(args: string[]) {
        const env = { ...process.env };
        for (const k of ["SOURCE_DB_URL", "TARGET_DB_URL", "BACKUP_PATH", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "DRILL_ENV"]) delete env[k];
        // No engine: an unusable Pulumi home and no pulumi on PATH would fail any attempt to use one.
        env.PULUMI_HOME = path.join(dir, "no-pulumi-home");
        env.PATH = path.dirname(process.execPath);
        return spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "scripts/drill.ts"), ...args], {
            cwd: dir,
            env: { ...env, SOURCE_DB_URL: "postgresql://u@h/db" },
            encoding: "utf8",
            timeout: 120_000,
        });
    }

    it("exits 2 listing every problem with its path, without a stack trace", () => {
        const file = path.join(dir, "bad.yaml");
        fs.writeFileSync(file, "validaton:\n  assertions: []\nrestore:\n  jobs: many\n");
        // "settingstest" has no Pulumi.<env>.yaml: only the file's settings apply.
        const r = drill(["--env", "settingstest", "--settings", file]);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toContain(`drill: CONFIG_INVALID: invalid drill settings (${file}):`);
        expect(r.stderr).toContain('supabase-dr:drill.restore.jobs: expected a whole number ≥ 1, got "many"');
        expect(r.stderr).toContain("supabase-dr:drill: unknown key validaton; did you mean validation?");
        expect(r.stderr).not.toMatch(/^\s{4}at /m);
        expect(r.stdout).toBe("");
    });

    it("exits 2 naming the file, line and column of a YAML syntax error", () => {
        const file = path.join(dir, "broken.yaml");
        fs.writeFileSync(file, "restore:\n  jobs: [1\n");
        const r = drill(["--env", "settingstest", "--settings", file]);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`^drill: USAGE: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: not valid YAML: `));
        expect(r.stderr).not.toMatch(/^\s{4}at /m);
    });
});
