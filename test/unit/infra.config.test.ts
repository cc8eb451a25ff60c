// The infrastructure stacks' configuration (lib/infra/config.ts) read the way the program reads it:
// every supabase-dr:* key of the stack file. A misspelled key must fail with its path and the key
// it was probably meant to be — a silent default (7 days instead of the 30 someone typed as
// `retentionDay`) is the worst outcome for a vault — and every problem of the file is reported at once.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { isConfigError, type ConfigError } from "../../lib/config/errors";
import * as os from "node:os";
import { parseInfraConfig } from "../../lib/infra/config";
import { readStackFile, VAULT_SECTIONS } from "../../lib/infra/stackFile";

const ROOT = path.resolve(__dirname, "../..");

/** The supabase-dr:* values of a stack file, keyed without the namespace (as the program passes them). */
function stackValues(stack: string): Record<string, unknown> {
    const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).filter(([k]) => k.startsWith("supabase-dr:")).map(([k, v]) => [k.slice("supabase-dr:".length), v]));
}

function issuesOf(values: Record<string, unknown>): ConfigError["issues"] {
    try {
        parseInfraConfig(values);
    } catch (err) {
        if (isConfigError(err)) return (err as ConfigError).issues;
        throw err;
    }
    throw new Error("expected a configuration error");
}

const staging = () => structuredClone(stackValues("staging"));
const prod = () => structuredClone(stackValues("prod"));

describe("infrastructure stack configuration", () => {
    it.each(["prod", "staging"])("the shipped Pulumi.%s.yaml is valid, drill section included", (stack) => {
        const config = parseInfraConfig(stackValues(stack));
        expect(config.environment).toBe(stack);
        expect(config.aws.retentionDays).toBeGreaterThanOrEqual(1);
    });

    it("defaults what is left out", () => {
        const config = parseInfraConfig({ environment: "staging", aws: {} });
        expect(config.aws).toEqual({ objectLockMode: "COMPLIANCE", retentionDays: 7, dailyRetentionDays: 7, monthlyArchiveMonths: 12, archiveStorageClass: "GLACIER" });
        expect(config.azure).toBeUndefined();
        expect(config.github).toBeUndefined();
    });

    it("a misspelled key fails with its path and the nearest known key, never falling back to a default", () => {
        const values = staging();
        (values.aws as Record<string, unknown>).retentionDay = 30;
        expect(issuesOf(values)).toEqual([{ path: "supabase-dr:aws", message: "unknown key retentionDay; did you mean retentionDays?" }]);
    });

    it.each([
        ["azure", "immutabiltyDays", "immutabilityDays"],
        ["github", "deployEnviroment", "deployEnvironment"],
        ["supabase", "storageBucket", "storageBuckets"],
    ])("rejects an unknown key in supabase-dr:%s (%s)", (section, key, meant) => {
        const values = staging();
        values[section] = { ...(values[section] as object), [key]: "x" };
        const issues = issuesOf(values);
        expect(issues).toHaveLength(1);
        expect(issues[0]).toEqual({ path: `supabase-dr:${section}`, message: `unknown key ${key}; did you mean ${meant}?` });
    });

    it("rejects an unknown key in github.reviewers", () => {
        const values = prod();
        (values.github as Record<string, unknown>).reviewers = { team: [1] };
        expect(issuesOf(values)).toContainEqual({ path: "supabase-dr:github.reviewers", message: "unknown key team; did you mean teams?" });
    });

    it("rejects an unknown top-level key, suggesting the setting or secret it resembles", () => {
        const values = staging();
        values.retentionDays = 30;
        values.sourceDbURL = "not echoed";
        values.vaults = {};
        const issues = issuesOf(values);
        expect(issues).toContainEqual({ path: "supabase-dr:retentionDays", message: expect.stringMatching(/^unknown key retentionDays \(known keys: .*\baws\b.*\)/) as unknown as string });
        expect(issues).toContainEqual({ path: "supabase-dr:sourceDbURL", message: "unknown key sourceDbURL; did you mean sourceDbUrl?" });
        expect(JSON.stringify(issues)).not.toContain("not echoed");
        expect(issues.map((i) => i.path)).toContain("supabase-dr:vaults");
    });

    it("accepts the secret keys the stacks and drills read (their values are checked elsewhere)", () => {
        const values = { ...staging(), sourceDbUrl: "postgresql://u@h/db", pitrS3Key: "k", storageServiceKey: "s", backendPassphrase: "p" };
        expect(() => parseInfraConfig(values)).not.toThrow();
    });

    it("reports every problem of the file at once, across sections", () => {
        const values = prod();
        (values.aws as Record<string, unknown>).objectLockMode = "GOVERNANCE";
        (values.aws as Record<string, unknown>).retentionDays = 0;
        (values.azure as Record<string, unknown>).accountName = "Bad_Name";
        (values.github as Record<string, unknown>).owner = "";
        (values.drill as Record<string, unknown>).targets = { rtoSecond: 10 };
        const paths = issuesOf(values).map((i) => i.path);
        expect(paths).toEqual(expect.arrayContaining([
            "supabase-dr:aws.objectLockMode",
            "supabase-dr:aws.retentionDays",
            "supabase-dr:azure.accountName",
            "supabase-dr:github.owner",
            "supabase-dr:drill.targets",
        ]));
    });

    it.each([
        [{ aws: { objectLockMode: "GOVERNANCE" } }, "prod", "supabase-dr:aws.objectLockMode", /must be COMPLIANCE on prod/],
        [{ aws: { retentionDays: 0 } }, "staging", "supabase-dr:aws.retentionDays", /whole number ≥ 1, got 0/],
        [{ aws: { retentionDays: 2.5 } }, "staging", "supabase-dr:aws.retentionDays", /whole number/],
        [{ aws: { retentionDays: 10, dailyRetentionDays: 7 } }, "staging", "supabase-dr:aws.dailyRetentionDays", /must be ≥ aws\.retentionDays \(10\)/],
        [{ aws: { archiveStorageClass: "COLD" } }, "staging", "supabase-dr:aws.archiveStorageClass", /"GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", got "COLD"/],
        [{ aws: "COMPLIANCE" }, "staging", "supabase-dr:aws", /expected an object/],
        [{ aws: undefined }, "staging", "supabase-dr:aws", /required/],
        [{ azure: { accountName: "ok1234" } }, "staging", "supabase-dr:azure.location", /required/],
        [{ azure: { location: "westeurope", accountName: "Bad_Name" } }, "staging", "supabase-dr:azure.accountName", /3-24 lowercase/],
        [{ azure: { location: "westeurope", lockImmutabilityPolicy: "yes" } }, "staging", "supabase-dr:azure.lockImmutabilityPolicy", /true or false/],
        [{ environment: "PROD!" }, "prod", "supabase-dr:environment", /short lowercase name/],
        [{ github: { owner: "acme", repository: "supabase-dr" } }, "prod", "supabase-dr:github.reviewers", /at least one user or team/],
        [{ github: { owner: "acme", repository: "supabase-dr", reviewers: { users: [0] } } }, "prod", "supabase-dr:github.reviewers.users[0]", /numeric GitHub id/],
        [{ github: { owner: "acme/x", repository: "r" } }, "staging", "supabase-dr:github.owner", /GitHub user or organization/],
        [{ supabase: { organization: "o", region: "r", projectRef: "nope" } }, "staging", "supabase-dr:supabase.projectRef", /20 lowercase letters/],
        [{ supabase: { organization: "o", region: "r", storageUrl: "https://x.supabase.co" } }, "staging", "supabase-dr:supabase.storageUrl", /storage\/v1/],
        [{ supabase: { organization: "o", region: "r", storageBuckets: [] } }, "staging", "supabase-dr:supabase.storageBuckets", /at least 1/],
        [{ pitr: { server: { dataDir: "/var/lib/postgresql/15/main" } }, github: undefined }, "staging", "supabase-dr:github", /required when supabase-dr:pitr is set/],
    ])("rejects %j on %s, naming %s", (override, stack, key, message) => {
        const values: Record<string, unknown> = { ...(stack === "prod" ? prod() : staging()), ...override };
        for (const [k, v] of Object.entries(override as Record<string, unknown>)) if (v === undefined) delete values[k];
        const issue = issuesOf(values).find((i) => i.path === key);
        expect(issue, JSON.stringify(issuesOf(values))).toBeDefined();
        expect(issue!.message).toMatch(message);
    });

    it("GitHub environments default by stack: prod's scheduled jobs in prod-automation, deploys in prod", () => {
        const values = prod();
        const github = values.github as Record<string, unknown>;
        delete github.environment;
        delete github.deployEnvironment;
        delete github.branch;
        expect(parseInfraConfig(values).github).toMatchObject({ environment: "prod-automation", deployEnvironment: "prod", branch: "main" });
        const s = staging();
        delete (s.github as Record<string, unknown>).environment;
        expect(parseInfraConfig(s).github).toMatchObject({ environment: "staging", deployEnvironment: "staging" });
    });

    it("the scheduled jobs read only the vault's sections: a typo in the drill's settings does not cost a backup night", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-stackfile-"));
        try {
            const text = fs.readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8").replace("  supabase-dr:drill:", "  supabase-dr:drill:\n    targetss: {}");
            fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), text);
            expect(() => readStackFile(dir, "staging")).toThrow(/supabase-dr:drill: unknown key targetss/);
            expect(readStackFile(dir, "staging", VAULT_SECTIONS)?.aws).toMatchObject({ objectLockMode: "GOVERNANCE", retentionDays: 3 });
            fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), "config:\n  supabase-dr:aws: [unclosed\n");
            expect(() => readStackFile(dir, "staging", VAULT_SECTIONS)).toThrow(/not readable YAML at line \d+, column \d+/);
            expect(readStackFile(dir, "prod")).toBeUndefined();
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
