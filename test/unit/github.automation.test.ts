// DrillAutomation under Pulumi mocks: environment-scoped secrets that only travel as secrets, a prod
// environment only main may use and reviewers approve, and the argument checks.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type { DrillAutomation as DrillAutomationType, DrillAutomationArgs } from "../../components/DrillAutomation";
import { captureResources, isSecretInput, outputValue, type RegisteredResource } from "../helpers/mocks";

const registered = captureResources();

const SECRET_VALUES = {
    SOURCE_DB_URL: "postgresql://readonly:s3cr3t-source@db.abcd.supabase.co:5432/postgres",
    TARGET_DB_URL: "postgresql://postgres:s3cr3t-target@scratch:5432/postgres",
    SUPABASE_ACCESS_TOKEN: "sbp_0123456789abcdef0123456789abcdef01234567",
    API_BEARER_TOKEN: "bearer-s3cr3t-token",
    MASKING_SALT: "salt-s3cr3t",
    PULUMI_CONFIG_PASSPHRASE: "passphrase-s3cr3t",
};
const VARIABLES = {
    AWS_BACKUP_WRITER_ROLE_ARN: "arn:aws:iam::123456789012:role/backup-writer-prod",
    BACKUP_BUCKET: "acme-supabase-backups-prod",
    AZURE_STORAGE_ACCOUNT: "acmesdrprod",
};

let DrillAutomation: typeof DrillAutomationType;
beforeAll(async () => {
    ({ DrillAutomation } = await import("../../components/DrillAutomation"));
});

async function build(name: string, args: DrillAutomationArgs): Promise<{ component: DrillAutomationType; resources: RegisteredResource[] }> {
    const component = new DrillAutomation(name, args);
    await outputValue(pulumi.all([component.urn, component.environmentName, component.secretNames]));
    const expected = 1 + Object.keys(args.secrets).length + Object.keys(args.variables ?? {}).length;
    for (let i = 0; i < 50 && registered.filter((r) => r.name.startsWith(`${name}-`)).length < expected; i++) {
        await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 50));
    return { component, resources: registered.filter((r) => r.name.startsWith(`${name}-`)) };
}

const ofType = (rs: RegisteredResource[], type: string) => rs.filter((r) => r.type === type);

describe("DrillAutomation for prod", () => {
    let c: DrillAutomationType;
    let rs: RegisteredResource[];
    beforeAll(async () => {
        ({ component: c, resources: rs } = await build("prod-automation", {
            repository: "supabase-dr",
            environment: "prod",
            secrets: { ...SECRET_VALUES, MASKING_SALT: pulumi.output(SECRET_VALUES.MASKING_SALT) },
            variables: VARIABLES,
            reviewers: { users: [1234567], teams: [42] },
        }));
    });

    it("makes one environment secret per secret, each value sent as a Pulumi secret", () => {
        const secrets = ofType(rs, "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
        expect(secrets.map((s) => s.inputs.secretName).sort()).toEqual(Object.keys(SECRET_VALUES).sort());
        for (const s of secrets) {
            expect(s.inputs.repository).toBe("supabase-dr");
            expect(s.inputs.environment).toBe("prod");
            expect(isSecretInput(s.inputs.value), String(s.inputs.secretName)).toBe(true);
            expect((s.inputs.value as { value: string }).value).toBe(SECRET_VALUES[s.inputs.secretName as keyof typeof SECRET_VALUES]);
            expect(s.inputs.plaintextValue).toBeUndefined();
        }
        // No repository-wide secrets: those would reach every branch's workflows.
        expect(registered.filter((r) => r.type === "github:index/actionsSecret:ActionsSecret")).toHaveLength(0);
    });

    it("never carries a secret value in plain text in any registered input", () => {
        const plain = registered.map((r) => {
            const copy: Record<string, unknown> = { ...r.inputs };
            for (const [k, v] of Object.entries(copy)) if (isSecretInput(v)) delete copy[k];
            return JSON.stringify(copy);
        }).join("\n");
        for (const value of Object.values(SECRET_VALUES)) expect(plain).not.toContain(value);
    });

    it("protects the environment: required reviewers, no self-review, no admin bypass", () => {
        const [env] = ofType(rs, "github:index/repositoryEnvironment:RepositoryEnvironment");
        expect(env.inputs).toMatchObject({
            repository: "supabase-dr",
            environment: "prod",
            reviewers: [{ users: [1234567], teams: [42] }],
            preventSelfReview: true,
            canAdminsBypass: false,
            deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
        });
    });

    it("lets only main deploy", () => {
        const policies = ofType(rs, "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy");
        expect(policies).toHaveLength(1);
        expect(policies[0].inputs).toMatchObject({ repository: "supabase-dr", environment: "prod", branchPattern: "main" });
        expect(policies[0].inputs.tagPattern).toBeUndefined();
    });

    it("makes plain environment variables", () => {
        const vars = ofType(rs, "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable");
        expect(Object.fromEntries(vars.map((v) => [v.inputs.variableName, v.inputs.value]))).toEqual(VARIABLES);
        for (const v of vars) expect(v.inputs.environment).toBe("prod");
    });

    it("outputs the environment and the names, never the values", async () => {
        expect(await outputValue(c.environmentName)).toBe("prod");
        expect(await outputValue(c.secretNames)).toEqual(Object.keys(SECRET_VALUES).sort());
        expect(await outputValue(c.variableNames)).toEqual(Object.keys(VARIABLES).sort());
    });
});

describe("DrillAutomation for staging", () => {
    let rs: RegisteredResource[];
    beforeAll(async () => {
        ({ resources: rs } = await build("staging-automation", {
            repository: "supabase-dr",
            environment: "staging",
            secrets: { SOURCE_DB_URL: "postgresql://u:staging-pw@h/db", TARGET_DB_URL: "postgresql://u:staging-pw2@h/db" },
        }));
    });

    it("is not protected: no reviewers, no branch policy", () => {
        const [env] = ofType(rs, "github:index/repositoryEnvironment:RepositoryEnvironment");
        expect(env.inputs.reviewers).toBeUndefined();
        expect(env.inputs.deploymentBranchPolicy).toBeUndefined();
        expect(ofType(rs, "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy")).toHaveLength(0);
    });

    it("still sends its secrets as secrets", () => {
        const secrets = ofType(rs, "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret");
        expect(secrets).toHaveLength(2);
        for (const s of secrets) expect(isSecretInput(s.inputs.value)).toBe(true);
    });
});

describe("DrillAutomation for an unattended protected environment", () => {
    it("keeps the main-only policy without reviewers when requireReviewers is false", async () => {
        const { resources: rs } = await build("jobs-automation", {
            repository: "supabase-dr",
            environment: "prod-automation",
            protectedEnvironment: true,
            requireReviewers: false,
            deploymentBranch: "release/v1",
            secrets: { SOURCE_DB_URL: "postgresql://u:pw@h/db" },
        });
        const [env] = ofType(rs, "github:index/repositoryEnvironment:RepositoryEnvironment");
        expect(env.inputs.reviewers).toBeUndefined();
        expect(env.inputs.deploymentBranchPolicy).toEqual({ protectedBranches: false, customBranchPolicies: true });
        const [policy] = ofType(rs, "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy");
        expect(policy.inputs.branchPattern).toBe("release/v1");
    });
});

describe("DrillAutomation argument validation", () => {
    const base: DrillAutomationArgs = {
        repository: "supabase-dr",
        environment: "staging",
        secrets: { SOURCE_DB_URL: "postgresql://u:pw@h/db" },
    };
    const make = (args: Partial<DrillAutomationArgs>) => () =>
        new DrillAutomation(`bad-${Math.random().toString(36).slice(2, 8)}`, { ...base, ...args });

    it("rejects secret names GitHub would refuse or that differ only by case", () => {
        expect(make({ secrets: { "source-db-url": "x" } })).toThrow(
            'DrillAutomation secrets name "source-db-url" must be upper-case letters, digits and \'_\', not starting with a digit');
        expect(make({ secrets: { "1PASSWORD": "x" } })).toThrow(/not starting with a digit/);
        expect(make({ secrets: { GITHUB_TOKEN: "x" } })).toThrow('DrillAutomation secrets name "GITHUB_TOKEN" must not start with GITHUB_ (reserved by GitHub)');
        expect(make({ secrets: { source_db_url: "x" } })).toThrow(/upper-case/);
    });

    it("rejects bad variable names and names used for both", () => {
        expect(make({ variables: { "bucket name": "x" } })).toThrow(/variables name "bucket name"/);
        expect(make({ variables: { SOURCE_DB_URL: "x" } })).toThrow(/must not share names \(SOURCE_DB_URL\)/);
    });

    it("refuses an empty secrets map and empty secret values", () => {
        expect(make({ secrets: {} })).toThrow(/secrets must hold at least one secret/);
        expect(make({ secrets: { SOURCE_DB_URL: "" } })).toThrow("DrillAutomation secrets.SOURCE_DB_URL must not be empty");
    });

    it("refuses a protected environment without reviewers unless asked not to require them", () => {
        expect(make({ environment: "prod" })).toThrow(/reviewers must name at least one user or team id for the protected environment "prod"/);
        expect(make({ environment: "prod", reviewers: { users: [] } })).toThrow(/reviewers must name at least one/);
        expect(make({ environment: "prod", requireReviewers: false })).not.toThrow();
        expect(make({ environment: "prod", protectedEnvironment: false })).not.toThrow();
    });

    it("rejects malformed reviewer ids, too many reviewers, an owner in the repository name and odd branches", () => {
        expect(make({ environment: "prod", reviewers: { users: ["octocat" as unknown as number] } })).toThrow(/reviewers.users must be a list of numeric GitHub user ids/);
        expect(make({ environment: "prod", reviewers: { users: [1, 2, 3, 4], teams: [5, 6, 7] } })).toThrow(/at most 6/);
        expect(make({ repository: "acme/supabase-dr" })).toThrow(/repository must be a repository name without the owner/);
        expect(make({ environment: "" })).toThrow(/environment must be a GitHub environment name/);
        expect(make({ environment: "prod", reviewers: { teams: [1] }, deploymentBranch: "main..x" })).toThrow(/deploymentBranch/);
    });
});
