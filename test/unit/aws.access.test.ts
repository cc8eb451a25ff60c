// BackupAccess under Pulumi mocks: GitHub OIDC trust pinned to one repository and branch/environment
// (no wildcards), a writer that can only add backups under its environment's prefixes and is
// explicitly denied every destructive action, and a reader that can only read. Plus the policy
// builders on their own and the names that must be refused.
import { describe, expect, it } from "vitest";
import { BackupAccess, type BackupAccessArgs } from "../../components/BackupAccess";
import {
    githubTrustPolicy,
    readerPolicy,
    retentionAuditorPolicy,
    AUDITOR_DENIED_S3_ACTIONS,
    WRITER_DENIED_KMS_ACTIONS,
    WRITER_DENIED_S3_ACTIONS,
    writerPolicy,
    type PolicyDocument,
    type PolicyStatement,
} from "../../lib/vault/policies";
import { captureResources, outputValue } from "../helpers/mocks";

const ACCOUNT = "111122223333";
const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const BUCKET_ARN = "arn:aws:s3:::polaris-backups-prod";
const KEY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const registered = captureResources((r) => {
    if (r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider") return { arn: PROVIDER_ARN };
    if (r.type === "aws:iam/role:Role") return { arn: `arn:aws:iam::${ACCOUNT}:role/${r.name}` };
    return {};
});

async function inputsOf(type: string, name: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 400; i++) {
        const found = registered.find((r) => r.type === type && r.name === name);
        if (found) return found.inputs;
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`${type} ${name} was never registered`);
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const allows = (doc: PolicyDocument): PolicyStatement[] => doc.Statement.filter((s) => s.Effect === "Allow");
const allowedActions = (doc: PolicyDocument): string[] => allows(doc).flatMap((s) => asList(s.Action));
const deniedActions = (doc: PolicyDocument): string[] =>
    doc.Statement.filter((s) => s.Effect === "Deny").flatMap((s) => asList(s.Action));

async function build(name: string, args: BackupAccessArgs) {
    const access = new BackupAccess(name, args);
    const outputs = {
        writerRoleArn: await outputValue(access.writerRoleArn),
        readerRoleArn: await outputValue(access.readerRoleArn),
        auditorRoleArn: await outputValue(access.auditorRoleArn),
        oidcProviderArn: await outputValue(access.oidcProviderArn),
    };
    const role = (suffix: string) => inputsOf("aws:iam/role:Role", `${name}-${suffix}`);
    const trust = async (suffix: string) => JSON.parse((await role(suffix)).assumeRolePolicy as string) as PolicyDocument;
    const permissions = async (suffix: string) => {
        const inputs = await inputsOf("aws:iam/rolePolicy:RolePolicy", `${name}-${suffix}-policy`);
        return { role: inputs.role, doc: JSON.parse(inputs.policy as string) as PolicyDocument };
    };
    return { outputs, role, trust, permissions };
}

const PREFIXES = (env: string) => [`db/${env}/`, `storage/${env}/`, `monthly/db/${env}/`, `monthly/storage/${env}/`];
const READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention", "s3:ListBucket", "s3:ListBucketVersions", "kms:Decrypt"];

describe("BackupAccess for prod (GitHub environment, new OIDC provider)", () => {
    const name = "access-prod";
    const built = build(name, {
        environment: "prod",
        bucketArn: BUCKET_ARN,
        kmsKeyArn: KEY_ARN,
        github: { owner: "polaris-coach", repository: "supabase-dr", environment: "prod" },
        tags: { team: "platform" },
    });

    it("creates the account's GitHub OIDC provider for the STS audience", async () => {
        const { outputs } = await built;
        const provider = await inputsOf("aws:iam/openIdConnectProvider:OpenIdConnectProvider", `${name}-github-oidc`);
        expect(provider.url).toBe("https://token.actions.githubusercontent.com");
        expect(provider.clientIdLists).toEqual(["sts.amazonaws.com"]);
        expect(outputs.oidcProviderArn).toBe(PROVIDER_ARN);
    });

    it("lets only the prod GitHub environment of this repository assume the writer, for an hour", async () => {
        const { trust, role, outputs } = await built;
        expect(await trust("writer")).toEqual({
            Version: "2012-10-17",
            Statement: [{
                Sid: "GithubActionsOidc",
                Effect: "Allow",
                Principal: { Federated: PROVIDER_ARN },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                    StringEquals: {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": "repo:polaris-coach/supabase-dr:environment:prod",
                    },
                },
            }],
        });
        expect((await role("writer")).maxSessionDuration).toBe(3600);
        expect((await role("writer")).tags).toMatchObject({ team: "platform", "supabase-dr:environment": "prod" });
        expect(outputs.writerRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${name}-writer`);
    });

    it("lets the reader be assumed from the main branch only, for an hour", async () => {
        const { trust, role } = await built;
        const doc = await trust("reader");
        expect(doc.Statement).toHaveLength(1);
        expect(doc.Statement[0].Condition).toEqual({
            StringEquals: {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": "repo:polaris-coach/supabase-dr:ref:refs/heads/main",
            },
        });
        expect((await role("reader")).maxSessionDuration).toBe(3600);
    });

    it("never uses a wildcard or StringLike in a trust policy", async () => {
        const { trust } = await built;
        for (const doc of [await trust("writer"), await trust("reader"), await trust("auditor")]) {
            const text = JSON.stringify(doc);
            expect(text).not.toMatch(/[*?]/);
            expect(text).not.toContain("StringLike");
        }
    });

    it("gives the writer put/retention on its environment's prefixes and nothing that deletes or unlocks", async () => {
        const { permissions } = await built;
        const { role, doc } = await permissions("writer");
        expect(role).toBe(`${name}-writer-id`);
        expect(allowedActions(doc).sort()).toEqual([
            "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
            "s3:AbortMultipartUpload", "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject", "s3:PutObjectRetention",
        ]);
        // The storage snapshot HEADs what is there (authorized as s3:GetObject), reads the previous
        // manifest and copies unchanged objects server-side (CopyObject reads its source version):
        // reads of its own environment's storage snapshots only — never of the database dumps.
        const read = allows(doc).find((s) => asList(s.Action).includes("s3:GetObject"))!;
        expect(asList(read.Action).sort()).toEqual(["s3:GetObject", "s3:GetObjectVersion"]);
        expect(asList(read.Resource).sort()).toEqual([`${BUCKET_ARN}/monthly/storage/prod/*`, `${BUCKET_ARN}/storage/prod/*`]);
        expect(allowedActions(doc).filter((a) => /Delete|Bypass|LegalHold|Lifecycle|PutBucket|Encryption|Versioning|\*/.test(a))).toEqual([]);
        const put = allows(doc).find((s) => asList(s.Action).includes("s3:PutObject"))!;
        expect(asList(put.Resource).sort()).toEqual(PREFIXES("prod").map((p) => `${BUCKET_ARN}/${p}*`).sort());
        const list = allows(doc).find((s) => asList(s.Action).includes("s3:ListBucket"))!;
        expect(list.Resource).toBe(BUCKET_ARN);
        expect(list.Condition).toEqual({ StringLike: { "s3:prefix": PREFIXES("prod").map((p) => `${p}*`) } });
        const kms = allows(doc).find((s) => asList(s.Action).includes("kms:GenerateDataKey"))!;
        expect(kms.Resource).toBe(KEY_ARN);
        expect(kms.Condition).toEqual({ StringLike: { "kms:ViaService": "s3.*.amazonaws.com" } });
        // Every allowed resource is the bucket itself (listing), an env prefix, or the vault key.
        for (const resource of allows(doc).flatMap((s) => asList(s.Resource))) {
            expect(resource === BUCKET_ARN || resource === KEY_ARN || PREFIXES("prod").some((p) => resource === `${BUCKET_ARN}/${p}*`)).toBe(true);
        }
    });

    it("explicitly denies the writer every action that removes or weakens a backup", async () => {
        const { permissions } = await built;
        const { doc } = await permissions("writer");
        const denied = deniedActions(doc);
        for (const action of [
            "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutObjectLegalHold",
            "s3:PutBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucket",
            "kms:ScheduleKeyDeletion", "kms:DisableKey",
        ]) {
            expect(denied).toContain(action);
        }
        const s3Deny = doc.Statement.find((s) => s.Sid === "DenyDestructiveS3Actions")!;
        expect(s3Deny.Effect).toBe("Deny");
        expect(s3Deny.Resource).toEqual([BUCKET_ARN, `${BUCKET_ARN}/*`]);
        expect(doc.Statement.find((s) => s.Sid === "DenyKeyAdministration")!.Resource).toBe(KEY_ARN);
    });

    it("gives the reader read actions only, on the same prefixes", async () => {
        const { permissions } = await built;
        const { role, doc } = await permissions("reader");
        expect(role).toBe(`${name}-reader-id`);
        expect(doc.Statement.every((s) => s.Effect === "Allow")).toBe(true);
        expect(allowedActions(doc).sort()).toEqual([...READ_ACTIONS].sort());
        const read = allows(doc).find((s) => asList(s.Action).includes("s3:GetObject"))!;
        expect(asList(read.Resource).sort()).toEqual(PREFIXES("prod").map((p) => `${BUCKET_ARN}/${p}*`).sort());
        const decrypt = allows(doc).find((s) => s.Action === "kms:Decrypt")!;
        expect(decrypt).toMatchObject({ Resource: KEY_ARN, Condition: { StringLike: { "kms:ViaService": "s3.*.amazonaws.com" } } });
    });

    it("lets only the prod GitHub environment (the audit job's) assume the retention auditor, for an hour", async () => {
        const { trust, role, outputs } = await built;
        const doc = await trust("auditor");
        expect(doc.Statement).toHaveLength(1);
        expect(doc.Statement[0].Condition).toEqual({
            StringEquals: {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": "repo:polaris-coach/supabase-dr:environment:prod",
            },
        });
        expect((await role("auditor")).maxSessionDuration).toBe(3600);
        expect(outputs.auditorRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${name}-auditor`);
    });

    it("lets the auditor read locks and delete versions under its prefixes, and denies it the governance bypass", async () => {
        const { permissions } = await built;
        const { role, doc } = await permissions("auditor");
        expect(role).toBe(`${name}-auditor-id`);
        expect(allowedActions(doc).sort()).toEqual([
            "s3:DeleteObjectVersion", "s3:GetBucketObjectLockConfiguration", "s3:GetObjectLegalHold", "s3:GetObjectRetention",
            "s3:ListBucket", "s3:ListBucketVersions",
        ]);
        // The delete proof is allowed by IAM (so a refusal can only be Object Lock's) on exactly the env prefixes ...
        const del = allows(doc).find((s) => asList(s.Action).includes("s3:DeleteObjectVersion"))!;
        expect(asList(del.Resource).sort()).toEqual(PREFIXES("prod").map((p) => `${BUCKET_ARN}/${p}*`).sort());
        expect(del.Condition).toBeUndefined();
        // ... while the bypass is never allowed and explicitly denied on every object of the bucket.
        expect(allowedActions(doc).filter((a) => /Bypass|\*|Put|GetObject$|kms:/.test(a))).toEqual([]);
        const deny = doc.Statement.find((s) => s.Sid === "DenyBypassAndChanges")!;
        expect(deny.Effect).toBe("Deny");
        expect(deny.Resource).toEqual([BUCKET_ARN, `${BUCKET_ARN}/*`]);
        expect(asList(deny.Action)).toContain("s3:BypassGovernanceRetention");
        // A delete without a version id only adds a delete marker, hiding the newest backup: denied.
        expect(asList(deny.Action)).toContain("s3:DeleteObject");
        expect(asList(deny.Action)).not.toContain("s3:DeleteObjectVersion");
        expect(doc.Statement.find((s) => s.Sid === "DenyKeyUse")).toMatchObject({ Effect: "Deny", Action: "kms:*", Resource: KEY_ARN });
        const lockConfig = allows(doc).find((s) => asList(s.Action).includes("s3:GetBucketObjectLockConfiguration"))!;
        expect(lockConfig.Resource).toBe(BUCKET_ARN);
        const list = allows(doc).find((s) => asList(s.Action).includes("s3:ListBucketVersions"))!;
        expect(list.Condition).toEqual({ StringLike: { "s3:prefix": PREFIXES("prod").map((p) => `${p}*`) } });
    });

    it("gives the reader no delete at all: the old audit's refusals were IAM's, not the lock's", async () => {
        const { permissions } = await built;
        const { doc } = await permissions("reader");
        expect(allowedActions(doc).filter((a) => /Delete/.test(a))).toEqual([]);
    });
});

describe("BackupAccess for staging (branch trust, existing OIDC provider, drill environment)", () => {
    const name = "access-staging";
    const existing = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
    const built = build(name, {
        environment: "staging",
        bucketArn: "arn:aws:s3:::polaris-backups-staging",
        kmsKeyArn: KEY_ARN,
        github: { owner: "polaris-coach", repository: "supabase-dr", branch: "release", drillEnvironment: "drill" },
        oidcProviderArn: existing,
    });

    it("reuses the given provider instead of creating a second one", async () => {
        const { outputs, trust } = await built;
        expect(outputs.oidcProviderArn).toBe(existing);
        expect(registered.filter((r) => r.name === `${name}-github-oidc`)).toEqual([]);
        expect((await trust("writer")).Statement[0].Principal).toEqual({ Federated: existing });
    });

    it("trusts the configured branch for the writer, and branch plus drill environment for the reader", async () => {
        const { trust } = await built;
        const sub = async (suffix: string) =>
            (await trust(suffix)).Statement[0].Condition!.StringEquals["token.actions.githubusercontent.com:sub"];
        expect(await sub("writer")).toBe("repo:polaris-coach/supabase-dr:ref:refs/heads/release");
        expect(await sub("reader")).toEqual([
            "repo:polaris-coach/supabase-dr:ref:refs/heads/release",
            "repo:polaris-coach/supabase-dr:environment:drill",
        ]);
    });

    it("trusts the branch for the auditor when no environment is configured, and an explicit audit environment otherwise", async () => {
        const { trust } = await built;
        expect((await trust("auditor")).Statement[0].Condition!.StringEquals["token.actions.githubusercontent.com:sub"])
            .toBe("repo:polaris-coach/supabase-dr:ref:refs/heads/release");
        const audited = await build("access-audit-env", {
            environment: "staging",
            bucketArn: "arn:aws:s3:::polaris-backups-staging",
            kmsKeyArn: KEY_ARN,
            github: { owner: "polaris-coach", repository: "supabase-dr", environment: "staging", auditEnvironment: "audit" },
            oidcProviderArn: existing,
        });
        expect((await audited.trust("auditor")).Statement[0].Condition!.StringEquals["token.actions.githubusercontent.com:sub"])
            .toBe("repo:polaris-coach/supabase-dr:environment:audit");
    });

    it("scopes every role to the staging prefixes", async () => {
        const { permissions } = await built;
        for (const suffix of ["writer", "reader", "auditor"]) {
            const { doc } = await permissions(suffix);
            const bucket = "arn:aws:s3:::polaris-backups-staging";
            const s3Resources = allows(doc).flatMap((s) => asList(s.Resource)).filter((r) => r.startsWith("arn:aws:s3"));
            expect([...new Set(s3Resources.filter((r) => r !== bucket))].sort())
                .toEqual(PREFIXES("staging").map((p) => `${bucket}/${p}*`).sort());
            expect(JSON.stringify(doc)).not.toContain("/prod/");
        }
    });
});

describe("BackupAccess refuses names that would widen the trust", () => {
    const base: BackupAccessArgs = {
        environment: "prod",
        bucketArn: BUCKET_ARN,
        kmsKeyArn: KEY_ARN,
        github: { owner: "polaris-coach", repository: "supabase-dr" },
    };
    it.each([
        [{ owner: "*" }, /BackupAccess github\.owner must be a GitHub user or organization name/],
        [{ owner: "polaris/evil" }, /github\.owner must be/],
        [{ owner: "-polaris" }, /github\.owner must be/],
        [{ owner: "polaris--coach" }, /github\.owner must be/],
        [{ owner: "" }, /github\.owner must be/],
        [{ repository: "*" }, /BackupAccess github\.repository must be a repository name/],
        [{ repository: "supabase dr" }, /github\.repository must be/],
        [{ repository: ".." }, /github\.repository must be/],
        [{ repository: "dr:ref:refs/heads/x" }, /github\.repository must be/],
        [{ branch: "*" }, /BackupAccess github\.branch must be a plain branch name/],
        [{ branch: "release/*" }, /github\.branch must be/],
        [{ branch: "a..b" }, /github\.branch must be/],
        [{ branch: "" }, /github\.branch must be/],
        [{ environment: "prod*" }, /BackupAccess github\.environment must be a GitHub environment name/],
        [{ drillEnvironment: "dr?ll" }, /github\.drillEnvironment must be/],
        [{ auditEnvironment: "aud*t" }, /github\.auditEnvironment must be/],
    ])("%j", async (override, message) => {
        const args = { ...base, github: { ...base.github, ...override } };
        expect(() => new BackupAccess("bad-access", args)).toThrow(message);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(registered.filter((r) => r.name.startsWith("bad-access"))).toEqual([]);
    });

    it("refuses an invalid vault environment", () => {
        expect(() => new BackupAccess("bad-access-env", { ...base, environment: "prod/*" })).toThrow(/BackupAccess environment must be/);
    });
});

describe("policy builders", () => {
    it("githubTrustPolicy refuses wildcard or foreign subjects and a non-GitHub provider", () => {
        expect(() => githubTrustPolicy(PROVIDER_ARN, ["repo:polaris-coach/*"])).toThrow(/without wildcards/);
        expect(() => githubTrustPolicy(PROVIDER_ARN, ["repo:polaris-coach/supabase-dr:ref:refs/heads/ma?n"])).toThrow(/without wildcards/);
        expect(() => githubTrustPolicy(PROVIDER_ARN, ["*"])).toThrow(/exact "repo:/);
        expect(() => githubTrustPolicy(PROVIDER_ARN, [])).toThrow(/at least one GitHub subject/);
        expect(() => githubTrustPolicy(`arn:aws:iam::${ACCOUNT}:oidc-provider/accounts.google.com`, ["repo:a/b:ref:refs/heads/main"]))
            .toThrow(/oidcProviderArn must be the ARN of the account's token\.actions\.githubusercontent\.com OIDC provider/);
    });

    it("writer and reader policies refuse an alias instead of the key, a bucket name instead of its ARN", () => {
        const alias = `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/backups`;
        expect(() => writerPolicy({ bucketArn: BUCKET_ARN, kmsKeyArn: alias, environment: "prod" })).toThrow(/not an alias/);
        expect(() => readerPolicy({ bucketArn: BUCKET_ARN, kmsKeyArn: alias, environment: "prod" })).toThrow(/not an alias/);
        expect(() => writerPolicy({ bucketArn: "polaris-backups", kmsKeyArn: KEY_ARN, environment: "prod" })).toThrow(/bucketArn must be/);
        expect(() => readerPolicy({ bucketArn: "arn:aws:s3:::*", kmsKeyArn: KEY_ARN, environment: "prod" })).toThrow(/bucketArn must be/);
    });

    it("the auditor's deny list is never also allowed, and its policy refuses an alias or a bucket name", () => {
        const doc = retentionAuditorPolicy({ bucketArn: BUCKET_ARN, kmsKeyArn: KEY_ARN, environment: "prod" });
        const allowed = new Set(allowedActions(doc));
        for (const action of AUDITOR_DENIED_S3_ACTIONS) expect(allowed.has(action)).toBe(false);
        expect(() => retentionAuditorPolicy({ bucketArn: BUCKET_ARN, kmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/backups`, environment: "prod" })).toThrow(/not an alias/);
        expect(() => retentionAuditorPolicy({ bucketArn: "polaris-backups", kmsKeyArn: KEY_ARN, environment: "prod" })).toThrow(/bucketArn must be/);
        expect(() => retentionAuditorPolicy({ bucketArn: BUCKET_ARN, kmsKeyArn: KEY_ARN, environment: "prod/*" })).toThrow(/environment must be/);
    });

    it("the writer's deny list is never also allowed", () => {
        const doc = writerPolicy({ bucketArn: BUCKET_ARN, kmsKeyArn: KEY_ARN, environment: "prod" });
        const allowed = new Set(allowedActions(doc));
        for (const action of [...WRITER_DENIED_S3_ACTIONS, ...WRITER_DENIED_KMS_ACTIONS]) {
            expect(allowed.has(action)).toBe(false);
        }
    });
});
