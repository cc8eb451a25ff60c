// The WAL archive's infrastructure under Pulumi mocks (issue 11, item 1): the PitrRepository component
// on its own, and the prod and staging programs built from their real stack files plus a
// `supabase-dr:pitr` block. What must hold: the repository is pitr/<env>/ of the vault; the writer can
// add, read and retire (delete markers only) there and nothing else — never delete a version, bypass
// or change a lock, read the database dumps or touch the vault's settings; the reader only reads
// there; both are assumable through OIDC by exactly one repository and environment; S3 uses the vault
// key on their behalf; no lifecycle rule expires current objects of the archive, while what expire
// retires is reclaimed after the lock; the cipher passphrase only travels as a Pulumi secret; the
// generated configuration holds no secret; and config errors name the property path.
//
// The policies are judged by a small evaluator of IAM's rules (explicit Deny wins, else an Allow must
// match action, resource and condition), so the assertions are about what a request may do, not
// about how the documents happen to be written.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import type { PitrRepository as PitrRepositoryType, PitrRepositoryArgs } from "../../components/PitrRepository";
import { parseInfraPitrConfig } from "../../lib/infra/pitrConfig";
import { parseOpsSettings } from "../../lib/pitrOps/settings";
import { parseHostedPitrSettings } from "../../lib/supabase/pitrSettings";
import { assertNoCurrentExpiration, LifecycleModel, type LifecycleRule } from "../../lib/vault/lifecycle";
import { pitrReaderPolicy, pitrWriterPolicy, type PolicyDocument, type PolicyStatement } from "../../lib/vault/policies";
import { isSecretInput, outputValue, type RegisteredResource } from "../helpers/mocks";

const ROOT = path.resolve(__dirname, "../..");
const ACCOUNT = "123456789012";
const KEY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const GITHUB_PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const EKS_PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF`;
const CIPHER_PASS = "pitr-cipher-secret-0123456789abcdef0123456789";
const SECRETS: Record<string, string> = {
    "supabase-dr:sourceDbUrl": "postgresql://readonly:src-secret-1@db.abcd.supabase.co:5432/postgres",
    "supabase-dr:maskingSalt": "salt-secret-5",
    "supabase-dr:backendPassphrase": "passphrase-secret-6",
    "supabase-dr:pitrCipherPass": CIPHER_PASS,
};

/** Mock outputs shaped like the real providers' (the policy builders check ARN shapes). */
function outputsFor(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    switch (args.type) {
        case "aws:s3/bucket:Bucket": {
            const bucket = (args.inputs.bucket as string | undefined) ?? `${args.name}-bucket`;
            return { bucket, arn: `arn:aws:s3:::${bucket}` };
        }
        case "aws:kms/key:Key":
            return { arn: KEY_ARN, keyId: "1234abcd-12ab-34cd-56ef-1234567890ab" };
        case "aws:iam/role:Role":
            return { arn: `arn:aws:iam::${ACCOUNT}:role/${args.name}` };
        case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            return { arn: GITHUB_PROVIDER_ARN };
        case "azure-native:storage:StorageAccount": {
            const name = (args.inputs.accountName as string | undefined) ?? "archivepitr1a2b";
            return { name, primaryEndpoints: { blob: `https://${name}.blob.core.windows.net/` } };
        }
        case "azure-native:resources:ResourceGroup":
            return { name: args.inputs.resourceGroupName ?? `${args.name}-rg` };
        default:
            return {};
    }
}

// One mock monitor for the whole file (see test/unit/stacks.test.ts: a program that fails half-way
// still has registrations in flight).
const registered: RegisteredResource[] = [];
pulumi.runtime.setMocks(
    {
        newResource(args) {
            registered.push({ type: args.type, name: args.name, inputs: args.inputs });
            return { id: `${args.name}-id`, state: { ...args.inputs, ...outputsFor(args) } };
        },
        call(args) {
            return args.inputs;
        },
    },
    "supabase-dr",
    "infrastructure",
    false,
);

// ---- a small IAM evaluator --------------------------------------------------------------------

interface Request {
    action: string;
    resource: string;
    /** Condition keys of the request (s3:prefix, kms:ViaService). */
    context?: Record<string, string>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const globMatch = (pattern: string, value: string, ignoreCase = false) =>
    new RegExp(`^${pattern.split(/([*?])/).map((p) => (p === "*" ? ".*" : p === "?" ? "." : p.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`, ignoreCase ? "i" : "")
        .test(value);

function conditionHolds(condition: PolicyStatement["Condition"], context: Record<string, string>): boolean {
    for (const [operator, block] of Object.entries(condition ?? {})) {
        for (const [key, expected] of Object.entries(block as Record<string, string | string[]>)) {
            const actual = context[key];
            const values = list(expected);
            switch (operator) {
                case "StringEquals":
                    if (actual === undefined || !values.includes(actual)) return false;
                    break;
                case "StringLike":
                    if (actual === undefined || !values.some((v) => globMatch(v, actual))) return false;
                    break;
                default:
                    // An operator this evaluator does not know must not be guessed at.
                    throw new Error(`IAM evaluator: condition operator ${operator} is not modelled`);
            }
        }
    }
    return true;
}

function statementMatches(s: PolicyStatement, r: Request): boolean {
    return list(s.Action).some((a) => globMatch(a, r.action, true))
        && list(s.Resource).some((res) => globMatch(res, r.resource))
        && conditionHolds(s.Condition, r.context ?? {});
}

/** IAM's decision for an identity policy: an explicit Deny wins, else some Allow must match. */
function allowed(doc: PolicyDocument, r: Request): boolean {
    if (doc.Statement.some((s) => s.Effect === "Deny" && statementMatches(s, r))) return false;
    return doc.Statement.some((s) => s.Effect === "Allow" && statementMatches(s, r));
}

const allowedActions = (doc: PolicyDocument) => doc.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => list(s.Action)).sort();

// ---- fixtures ---------------------------------------------------------------------------------

const PITR_BLOCK = {
    stanza: "main-db",
    retention: { full: 2, diff: 6 },
    rpoSeconds: 120,
    server: { dataDir: "/var/lib/postgresql/15/main", port: 5432 },
};
const SERVER_IDENTITY = {
    oidcProviderArn: EKS_PROVIDER_ARN,
    subject: "system:serviceaccount:db:postgres",
};

function writerRequestsAllowed(bucket: string, env: string): Request[] {
    const objects = `arn:aws:s3:::${bucket}`;
    return [
        { action: "s3:PutObject", resource: `${objects}/pitr/${env}/archive/main-db/15-1/0000000100000000/000000010000000000000001-0a1b2c.gz` },
        { action: "s3:GetObject", resource: `${objects}/pitr/${env}/backup/main-db/backup.info` },
        { action: "s3:DeleteObject", resource: `${objects}/pitr/${env}/backup/main-db/20260101-020000F/pg_data/base/1/1259.gz` },
        { action: "s3:AbortMultipartUpload", resource: `${objects}/pitr/${env}/backup/main-db/20260101-020000F/bundle/1` },
        { action: "s3:GetObjectRetention", resource: `${objects}/pitr/${env}/archive/main-db/archive.info` },
        { action: "s3:ListBucket", resource: objects, context: { "s3:prefix": `pitr/${env}/archive/main-db/` } },
        { action: "s3:ListBucketVersions", resource: objects, context: { "s3:prefix": `pitr/${env}/` } },
        { action: "s3:GetBucketObjectLockConfiguration", resource: objects },
        { action: "kms:GenerateDataKey", resource: KEY_ARN, context: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
        { action: "kms:Decrypt", resource: KEY_ARN, context: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
    ];
}

function writerRequestsDenied(bucket: string, env: string, otherEnv: string): [string, Request][] {
    const objects = `arn:aws:s3:::${bucket}`;
    const own = `${objects}/pitr/${env}/archive/main-db/000000010000000000000001-0a1b2c.gz`;
    return [
        ["deleting a version for good", { action: "s3:DeleteObjectVersion", resource: own }],
        ["bypassing governance retention", { action: "s3:BypassGovernanceRetention", resource: own }],
        ["changing a retention", { action: "s3:PutObjectRetention", resource: own }],
        ["setting a legal hold", { action: "s3:PutObjectLegalHold", resource: own }],
        ["reading a database dump", { action: "s3:GetObject", resource: `${objects}/db/${env}/2026/01/01/backup_20260101.dump` }],
        ["reading a monthly dump", { action: "s3:GetObject", resource: `${objects}/monthly/db/${env}/2026-01/backup.dump` }],
        ["reading an old dump version", { action: "s3:GetObjectVersion", resource: `${objects}/db/${env}/2026/01/01/backup_20260101.dump` }],
        ["writing beside the dumps", { action: "s3:PutObject", resource: `${objects}/db/${env}/2026/01/01/backup_20260101.dump` }],
        ["deleting storage snapshots", { action: "s3:DeleteObject", resource: `${objects}/storage/${env}/avatars/x.png` }],
        ["writing another environment's archive", { action: "s3:PutObject", resource: `${objects}/pitr/${otherEnv}/archive/x.gz` }],
        ["deleting another environment's archive", { action: "s3:DeleteObject", resource: `${objects}/pitr/${otherEnv}/archive/x.gz` }],
        ["a look-alike prefix", { action: "s3:PutObject", resource: `${objects}/pitr/${env}x/archive/x.gz` }],
        ["listing the dumps", { action: "s3:ListBucket", resource: objects, context: { "s3:prefix": `db/${env}/` } }],
        ["listing the whole bucket", { action: "s3:ListBucket", resource: objects }],
        ["changing the lifecycle", { action: "s3:PutLifecycleConfiguration", resource: objects }],
        ["changing the lock", { action: "s3:PutBucketObjectLockConfiguration", resource: objects }],
        ["suspending versioning", { action: "s3:PutBucketVersioning", resource: objects }],
        ["changing the bucket policy", { action: "s3:PutBucketPolicy", resource: objects }],
        ["using the key outside S3", { action: "kms:Decrypt", resource: KEY_ARN }],
        ["scheduling the key's deletion", { action: "kms:ScheduleKeyDeletion", resource: KEY_ARN }],
        ["disabling the key", { action: "kms:DisableKey", resource: KEY_ARN }],
    ];
}

function readerRequestsDenied(bucket: string, env: string, otherEnv: string): [string, Request][] {
    const objects = `arn:aws:s3:::${bucket}`;
    const own = `${objects}/pitr/${env}/archive/main-db/000000010000000000000001-0a1b2c.gz`;
    return [
        ["writing", { action: "s3:PutObject", resource: own }],
        ["deleting", { action: "s3:DeleteObject", resource: own }],
        ["deleting a version", { action: "s3:DeleteObjectVersion", resource: own }],
        ["bypassing governance retention", { action: "s3:BypassGovernanceRetention", resource: own }],
        ["changing a retention", { action: "s3:PutObjectRetention", resource: own }],
        ["aborting an upload", { action: "s3:AbortMultipartUpload", resource: own }],
        ["reading a database dump", { action: "s3:GetObject", resource: `${objects}/db/${env}/2026/01/01/backup_20260101.dump` }],
        ["reading another environment's archive", { action: "s3:GetObject", resource: `${objects}/pitr/${otherEnv}/archive/x.gz` }],
        ["listing the dumps", { action: "s3:ListBucket", resource: objects, context: { "s3:prefix": `db/${env}/` } }],
        ["encrypting with the key", { action: "kms:GenerateDataKey", resource: KEY_ARN, context: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } }],
        ["decrypting outside S3", { action: "kms:Decrypt", resource: KEY_ARN }],
    ];
}

// ---- the component on its own -----------------------------------------------------------------

/** Inputs of a child, waiting for its (asynchronous) registration. */
async function inputsOf(type: string, name: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 400; i++) {
        const found = registered.find((r) => r.type === type && r.name === name);
        if (found) return found.inputs;
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`${type} ${name} was never registered`);
}

async function buildComponent(name: string, overrides: Partial<PitrRepositoryArgs> = {}) {
    const { PitrRepository } = await import("../../components/PitrRepository");
    const args: PitrRepositoryArgs = {
        environment: "prod",
        bucketName: "acme-supabase-backups-prod",
        bucketArn: "arn:aws:s3:::acme-supabase-backups-prod",
        kmsKeyArn: KEY_ARN,
        region: "eu-west-1",
        pitr: parseInfraPitrConfig(PITR_BLOCK),
        github: { owner: "acme-health", repository: "supabase-dr", environment: "prod-automation" },
        oidcProviderArn: GITHUB_PROVIDER_ARN,
        ...overrides,
    };
    const repo: PitrRepositoryType = new PitrRepository(name, args);
    const outputs = {
        writerRoleArn: await outputValue(repo.writerRoleArn),
        readerRoleArn: await outputValue(repo.readerRoleArn),
        repository: await outputValue(repo.repository),
        serverConfig: await outputValue(repo.serverConfig),
        jobSettingsJson: await outputValue(repo.jobSettingsJson),
    };
    const role = (suffix: string) => inputsOf("aws:iam/role:Role", `${name}-${suffix}`);
    const trust = async (suffix: string) => JSON.parse((await role(suffix)).assumeRolePolicy as string) as PolicyDocument;
    const permissions = async (suffix: string) => {
        const inputs = await inputsOf("aws:iam/rolePolicy:RolePolicy", `${name}-${suffix}-policy`);
        return { role: inputs.role, doc: JSON.parse(inputs.policy as string) as PolicyDocument };
    };
    return { outputs, role, trust, permissions };
}

/** Config lines that would hold a secret (pgBackRest takes them from PGBACKREST_* variables only). */
const SECRET_OPTION = /^\s*repo1-(cipher-pass|s3-key|s3-key-secret|s3-token)\s*=/m;

// Builds run in beforeAll, one describe after the other: they share the mock's list of registrations.
type Built<T extends (...a: never[]) => Promise<unknown>> = Awaited<ReturnType<T>>;

describe("PitrRepository (prod, GitHub jobs only)", () => {
    let built: Promise<Built<typeof buildComponent>>;
    beforeAll(async () => {
        built = buildComponent("pitr-c");
        await built;
    });

    it("puts the repository under pitr/prod/ of the vault bucket, at the bucket's regional endpoint", async () => {
        const { outputs } = await built;
        expect(outputs.repository).toEqual({
            environment: "prod",
            bucket: "acme-supabase-backups-prod",
            region: "eu-west-1",
            endpoint: "https://s3.eu-west-1.amazonaws.com",
            prefix: "pitr/prod/",
            path: "/pitr/prod",
            s3Uri: "s3://acme-supabase-backups-prod/pitr/prod/",
        });
        expect(outputs.writerRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/pitr-c-writer`);
        expect(outputs.readerRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/pitr-c-reader`);
    });

    it("lets the writer add, read and retire the archive's objects, under pitr/prod/ only", async () => {
        const { permissions } = await built;
        const { doc, role } = await permissions("writer");
        expect(role).toBe("pitr-c-writer-id");
        for (const r of writerRequestsAllowed("acme-supabase-backups-prod", "prod")) expect(allowed(doc, r), `${r.action} ${r.resource}`).toBe(true);
        for (const [what, r] of writerRequestsDenied("acme-supabase-backups-prod", "prod", "staging")) expect(allowed(doc, r), what).toBe(false);
        // What it is allowed, exactly: nothing that deletes for good, unlocks or reconfigures.
        expect(allowedActions(doc)).toEqual([
            "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
            "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetBucketObjectLockConfiguration", "s3:GetObject", "s3:GetObjectRetention",
            "s3:ListBucket", "s3:ListBucketVersions", "s3:PutObject",
        ]);
        expect(allowedActions(doc).filter((a) => /\*|DeleteObjectVersion|Bypass|Retention$|LegalHold|PutBucket|Lifecycle/.test(a) && a !== "s3:GetObjectRetention")).toEqual([]);
    });

    it("lets the reader only read and list under pitr/prod/, and decrypt through S3", async () => {
        const { permissions } = await built;
        const { doc, role } = await permissions("reader");
        expect(role).toBe("pitr-c-reader-id");
        const objects = "arn:aws:s3:::acme-supabase-backups-prod";
        const reads: Request[] = [
            { action: "s3:GetObject", resource: `${objects}/pitr/prod/backup/main-db/backup.info` },
            { action: "s3:ListBucket", resource: objects, context: { "s3:prefix": "pitr/prod/archive/main-db/15-1/" } },
            { action: "kms:Decrypt", resource: KEY_ARN, context: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } },
        ];
        for (const r of reads) expect(allowed(doc, r), `${r.action} ${r.resource}`).toBe(true);
        for (const [what, r] of readerRequestsDenied("acme-supabase-backups-prod", "prod", "staging")) expect(allowed(doc, r), what).toBe(false);
        expect(allowedActions(doc)).toEqual(["kms:Decrypt", "s3:GetObject", "s3:ListBucket"]);
    });

    it("lets only the jobs' GitHub environment of this repository assume either role, for an hour, without wildcards", async () => {
        const { trust, role } = await built;
        const github = {
            Sid: "GithubActionsOidc",
            Effect: "Allow",
            Principal: { Federated: GITHUB_PROVIDER_ARN },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "repo:acme-health/supabase-dr:environment:prod-automation",
                },
            },
        };
        for (const suffix of ["writer", "reader"]) {
            expect(await trust(suffix), suffix).toEqual({ Version: "2012-10-17", Statement: [github] });
            expect((await role(suffix)).maxSessionDuration, suffix).toBe(3600);
            expect((await role(suffix)).tags, suffix).toMatchObject({ "supabase-dr:environment": "prod", "supabase-dr:component": "pitr-repository" });
        }
    });

    it("generates the server's pgBackRest configuration from stack config, with no secret in it", async () => {
        const { outputs } = await built;
        const text = outputs.serverConfig;
        for (const line of [
            "repo1-type=s3", "repo1-path=/pitr/prod", "repo1-s3-bucket=acme-supabase-backups-prod",
            "repo1-s3-endpoint=s3.eu-west-1.amazonaws.com", "repo1-s3-region=eu-west-1", "repo1-s3-uri-style=host",
            // No host identity configured: the server's instance role (auto).
            "repo1-s3-key-type=auto", "repo1-cipher-type=aes-256-cbc", "repo1-retention-full=2", "repo1-retention-diff=6",
            "[main-db]", "pg1-path=/var/lib/postgresql/15/main", "pg1-port=5432", "pg1-socket-path=/var/run/postgresql", "pg1-user=postgres",
            "log-path=/var/log/pgbackrest", "spool-path=/var/spool/pgbackrest",
        ]) expect(text.split("\n"), line).toContain(line);
        expect(text).not.toMatch(SECRET_OPTION);
    });

    it("hands the jobs settings that `npm run pitr` accepts: shared keys from configure-aws-credentials, the server section, no secret", async () => {
        const { outputs } = await built;
        const settings = parseOpsSettings(JSON.parse(outputs.jobSettingsJson), "PITR_SETTINGS");
        expect(settings).toMatchObject({
            env: "prod",
            stanza: "main-db",
            repository: { type: "s3", bucket: "acme-supabase-backups-prod", endpoint: "https://s3.eu-west-1.amazonaws.com", region: "eu-west-1", path: "pitr/prod", uriStyle: "host", keyType: "shared" },
            cipher: "aes-256-cbc",
            retention: { full: 2, diff: 6 },
            rpoSeconds: 120,
            server: { dataDir: "/var/lib/postgresql/15/main", port: 5432, archiveKeyType: "auto" },
        });
        expect(outputs.jobSettingsJson).not.toMatch(/pass|secret|token/i);
    });
});

describe("PitrRepository with the database host's own OIDC identity (archive_command with web-id)", () => {
    let built: Promise<Built<typeof buildComponent>>;
    beforeAll(async () => {
        built = buildComponent("pitr-wi", {
            environment: "staging",
            bucketName: "acme-supabase-backups-staging",
            bucketArn: "arn:aws:s3:::acme-supabase-backups-staging",
            pitr: parseInfraPitrConfig({ ...PITR_BLOCK, serverIdentity: SERVER_IDENTITY }),
            github: { owner: "acme-health", repository: "supabase-dr", environment: "staging" },
        });
        await built;
    });

    it("adds exactly that subject and audience of that provider to the writer's trust, not to the reader's", async () => {
        const { trust } = await built;
        const writer = await trust("writer");
        expect(writer.Statement).toHaveLength(2);
        expect(writer.Statement[1]).toEqual({
            Sid: "WorkloadOidc",
            Effect: "Allow",
            Principal: { Federated: EKS_PROVIDER_ARN },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
                StringEquals: {
                    "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF:aud": "sts.amazonaws.com",
                    "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF:sub": "system:serviceaccount:db:postgres",
                },
            },
        });
        const reader = await trust("reader");
        expect(reader.Statement.map((s) => s.Sid)).toEqual(["GithubActionsOidc"]);
        expect(JSON.stringify(reader)).not.toContain("oidc.eks");
        for (const doc of [writer, reader]) {
            expect(JSON.stringify(doc)).not.toMatch(/StringLike|\*/);
            expect(JSON.stringify(doc)).toContain("repo:acme-health/supabase-dr:environment:staging");
        }
    });

    it("configures the server for web-id and keeps its policies on pitr/staging/", async () => {
        const { outputs, permissions } = await built;
        expect(outputs.serverConfig.split("\n")).toEqual(expect.arrayContaining(["repo1-s3-key-type=web-id", "repo1-path=/pitr/staging"]));
        expect(parseOpsSettings(JSON.parse(outputs.jobSettingsJson), "PITR_SETTINGS").server.archiveKeyType).toBe("web-id");
        const { doc } = await permissions("writer");
        for (const r of writerRequestsAllowed("acme-supabase-backups-staging", "staging")) expect(allowed(doc, r), `${r.action} ${r.resource}`).toBe(true);
        for (const [what, r] of writerRequestsDenied("acme-supabase-backups-staging", "staging", "prod")) expect(allowed(doc, r), what).toBe(false);
        const reader = (await permissions("reader")).doc;
        for (const [what, r] of readerRequestsDenied("acme-supabase-backups-staging", "staging", "prod")) expect(allowed(reader, r), what).toBe(false);
    });
});

describe("PitrRepository argument checks", () => {
    it.each([
        [{ environment: "Prod!" }, /^PitrRepository .*environment/],
        [{ region: "Ireland" }, /^PitrRepository aws:region must be an AWS region such as eu-west-1 \(got "Ireland"\)/],
        [{ github: { owner: "acme-health", repository: "supabase-dr", environment: "" } }, /^PitrRepository .*environment/],
    ])("refuses %j before registering anything", async (override, message) => {
        const before = registered.length;
        await expect(buildComponent(`pitr-bad-${Math.random().toString(36).slice(2, 8)}`, override as Partial<PitrRepositoryArgs>)).rejects.toThrow(message);
        await new Promise((r) => setTimeout(r, 50));
        expect(registered.length).toBe(before);
    });
});

describe("the policy builders refuse what would widen them", () => {
    it("refuses a bucket name or an alias where an ARN belongs", () => {
        expect(() => pitrWriterPolicy({ bucketArn: "acme-supabase-backups-prod", kmsKeyArn: KEY_ARN, environment: "prod" })).toThrow(/bucketArn/);
        expect(() => pitrReaderPolicy({ bucketArn: "arn:aws:s3:::acme-supabase-backups-prod", kmsKeyArn: "alias/vault", environment: "prod" })).toThrow(/kmsKeyArn/);
        expect(() => pitrWriterPolicy({ bucketArn: "arn:aws:s3:::acme-supabase-backups-prod", kmsKeyArn: KEY_ARN, environment: "*" })).toThrow(/environment/);
    });
});

// ---- the infrastructure programs with the archive ---------------------------------------------

function stackConfig(stack: string): Record<string, string> {
    const doc = yaml.load(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

let loads = 0;
/** Builds the program of Pulumi.<stack>.yaml with overrides (undefined removes a key) and secrets. */
async function buildStack(stack: string, overrides: Record<string, unknown> = {}, secrets = SECRETS) {
    registered.length = 0;
    const config: Record<string, string> = { ...stackConfig(stack), ...secrets };
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete config[k];
        else config[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    pulumi.runtime.setAllConfig(config, Object.keys(secrets));
    const raw = await import(`../../index?pitr=${++loads}`).then((m) => m.default ?? m) as Record<string, unknown>;
    const outputs: Record<string, unknown> = {};
    const secret: Record<string, boolean> = {};
    for (const [k, v] of Object.entries(raw)) {
        const o = pulumi.output(v as pulumi.Input<unknown>);
        outputs[k] = await outputValue(o);
        secret[k] = await pulumi.isSecret(o);
    }
    // Children register asynchronously; give the last ones a moment.
    await new Promise((r) => setTimeout(r, 100));
    return { registered: [...registered], outputs, secret };
}

const of = (rs: RegisteredResource[], type: string) => rs.filter((r) => r.type === type);
const named = (rs: RegisteredResource[], type: string, name: string) => {
    const found = rs.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`${type} ${name} was not registered`);
    return found.inputs;
};

describe.each([
    ["prod", "prod-automation", "acme-supabase-backups-prod", "staging"],
    ["staging", "staging", "backups-staging-bucket-bucket", "prod"],
])("the %s stack with supabase-dr:pitr", (stack, jobsEnvironment, bucket, otherEnv) => {
    let built: Promise<Built<typeof buildStack>>;
    beforeAll(async () => {
        built = buildStack(stack, { "supabase-dr:pitr": PITR_BLOCK });
        await built;
    });

    it("builds the PitrRepository in the vault, next to everything else, and outputs where it is", async () => {
        const { registered, outputs } = await built;
        expect(of(registered, "supabase-dr:aws:PitrRepository").map((r) => r.name)).toEqual([`pitr-${stack}`]);
        for (const t of ["supabase-dr:aws:BackupVault", "supabase-dr:aws:BackupAccess", "supabase-dr:azure:ArchiveVault", "supabase-dr:github:DrillAutomation"]) {
            expect(of(registered, t).length, t).toBeGreaterThan(0);
        }
        expect(outputs.pitrRepository).toMatchObject({ bucket, region: "eu-west-1", prefix: `pitr/${stack}/`, path: `/pitr/${stack}`, s3Uri: `s3://${bucket}/pitr/${stack}/` });
        expect(outputs.pitrWriterRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/pitr-${stack}-writer`);
        expect(outputs.pitrReaderRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/pitr-${stack}-reader`);
    });

    it("scopes both roles' trust to this repository's jobs environment and their policies to the vault's pitr/<env>/", async () => {
        const { registered } = await built;
        for (const role of ["writer", "reader"]) {
            const trust = JSON.parse(named(registered, "aws:iam/role:Role", `pitr-${stack}-${role}`).assumeRolePolicy as string) as PolicyDocument;
            expect(trust.Statement.map((s) => s.Condition?.StringEquals?.["token.actions.githubusercontent.com:sub"]), role)
                .toEqual([`repo:acme-health/supabase-dr:environment:${jobsEnvironment}`]);
            expect(trust.Statement[0].Principal).toEqual({ Federated: GITHUB_PROVIDER_ARN });
        }
        const writer = JSON.parse(named(registered, "aws:iam/rolePolicy:RolePolicy", `pitr-${stack}-writer-policy`).policy as string) as PolicyDocument;
        for (const r of writerRequestsAllowed(bucket, stack)) expect(allowed(writer, r), `${r.action} ${r.resource}`).toBe(true);
        for (const [what, r] of writerRequestsDenied(bucket, stack, otherEnv)) expect(allowed(writer, r), what).toBe(false);
        const reader = JSON.parse(named(registered, "aws:iam/rolePolicy:RolePolicy", `pitr-${stack}-reader-policy`).policy as string) as PolicyDocument;
        for (const [what, r] of readerRequestsDenied(bucket, stack, otherEnv)) expect(allowed(reader, r), what).toBe(false);
        // The vault key the bucket encrypts with is the one both roles may use through S3.
        expect(JSON.stringify(writer)).toContain(KEY_ARN);
        expect(JSON.stringify(reader)).toContain(KEY_ARN);
    });

    it("writes the jobs' roles and settings as GitHub variables, and the passphrase only as a Pulumi secret", async () => {
        const { registered, outputs, secret } = await built;
        const vars = Object.fromEntries(of(registered, "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
            .filter((v) => v.inputs.environment === jobsEnvironment)
            .map((v) => [v.inputs.variableName as string, v.inputs.value]));
        expect(vars.AWS_PITR_WRITER_ROLE_ARN).toBe(outputs.pitrWriterRoleArn);
        expect(vars.AWS_PITR_READER_ROLE_ARN).toBe(outputs.pitrReaderRoleArn);
        const settings = parseOpsSettings(JSON.parse(vars.PITR_SETTINGS as string), "PITR_SETTINGS");
        expect(settings.repository).toMatchObject({ bucket, path: `pitr/${stack}`, keyType: "shared" });

        const pass = of(registered, "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret").filter((s) => s.inputs.secretName === "PITR_CIPHER_PASS");
        expect(pass.map((s) => s.inputs.environment)).toEqual([jobsEnvironment]);
        expect(isSecretInput(pass[0].inputs.value)).toBe(true);
        expect((pass[0].inputs.value as { value: string }).value).toBe(CIPHER_PASS);
        expect(pass[0].inputs.plaintextValue).toBeUndefined();
        expect(outputs.githubSecretNames).toContain("PITR_CIPHER_PASS");

        // Nowhere else in plain text: not in any resource input, not in any stack output.
        const everything = JSON.stringify(registered, (_k, v) => (isSecretInput(v) ? "[secret]" : v));
        for (const value of Object.values(SECRETS)) expect(everything).not.toContain(value);
        for (const [k, v] of Object.entries(outputs)) if (!secret[k]) expect(JSON.stringify(v) ?? "", k).not.toContain(CIPHER_PASS);
        // The archive's outputs are plain (they are meant to be read), and so carry nothing secret.
        for (const k of ["pitrRepository", "pitrServerConfig", "pitrWriterRoleArn", "pitrReaderRoleArn"]) expect(secret[k], k).toBe(false);
        expect(outputs.pitrServerConfig as string).not.toMatch(SECRET_OPTION);
        expect(outputs.pitrServerConfig as string).toContain(`repo1-path=/pitr/${stack}`);
    });

    it("has no lifecycle rule that expires current objects under pitr/<env>/, and reclaims what expire retired after the lock", async () => {
        const { registered } = await built;
        const [lifecycle] = of(registered, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration");
        const rules = lifecycle.inputs.rules as LifecycleRule[];
        expect(() => assertNoCurrentExpiration(rules, `pitr/${stack}/`)).not.toThrow();
        const lock = named(registered, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", `backups-${stack}-object-lock`) as {
            rule: { defaultRetention: { days: number } };
        };
        const lockDays = lock.rule.defaultRetention.days;

        const DAY = 86_400_000;
        const t0 = new Date("2026-03-01T02:00:00Z");
        const at = (days: number) => new Date(t0.getTime() + days * DAY);
        const model = new LifecycleModel(rules);
        const wal = `pitr/${stack}/archive/main-db/15-1/0000000100000000/000000010000000000000001-0a1b2c.gz`;
        const kept = `pitr/${stack}/backup/main-db/20260301-020000F/backup.manifest`;
        const dump = `db/${stack}/2026/03/01/backup_20260301.dump`;
        for (const key of [wal, kept, dump]) model.put(key, t0, at(lockDays));
        // pgBackRest's expire retires the segment one day later: a plain DELETE, a delete marker.
        model.deleteObject(wal, at(1));
        const events = model.advanceTo(at(5 * 365));
        // The retired version goes, but never while locked; nothing else touches the archive.
        const removed = events.filter((e) => e.key === wal && e.kind === "version-removed");
        expect(removed).toHaveLength(1);
        expect(removed[0].at.getTime()).toBeGreaterThanOrEqual(at(lockDays).getTime());
        expect(events.filter((e) => e.key === kept)).toEqual([]);
        expect(model.current(kept)).toBeDefined();
        // The dumps' own retention does act on the same bucket (the rules are live, not inert).
        expect(events.some((e) => e.key === dump && e.kind === "delete-marker")).toBe(true);
    });
});

describe("assertNoCurrentExpiration", () => {
    const base: LifecycleRule = { id: "versions-and-uploads", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 8 }, expiration: { expiredObjectDeleteMarker: true } };
    it.each([
        [{ id: "everything-30d", status: "Enabled", filter: {}, expiration: { days: 30 } }],
        [{ id: "all-archives", status: "Enabled", filter: { prefix: "pitr/" }, expiration: { days: 30 } }],
        [{ id: "old-wal", status: "Enabled", filter: { prefix: "pitr/prod/archive/" }, expiration: { days: 14 } }],
    ] as [LifecycleRule][])("refuses %j, naming the rule and the prefix", (rule) => {
        expect(() => assertNoCurrentExpiration([base, rule], "pitr/prod/")).toThrow(
            `lifecycle rule ${rule.id} (prefix ${JSON.stringify(rule.filter.prefix ?? "")}) would expire current objects under pitr/prod/`);
    });
    it("accepts the dumps' rules, other environments' archives and the bucket-wide noncurrent rule", () => {
        expect(() => assertNoCurrentExpiration([
            base,
            { id: "daily-db", status: "Enabled", filter: { prefix: "db/prod/" }, expiration: { days: 7 } },
            { id: "staging-archive", status: "Enabled", filter: { prefix: "pitr/production/" }, expiration: { days: 7 } },
        ], "pitr/prod/")).not.toThrow();
    });
});

describe("supabase-dr:pitr config errors name the property path", () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
        ["an unknown key", { "supabase-dr:pitr": { ...PITR_BLOCK, retension: { full: 1 } } }, /supabase-dr:pitr: unknown key retension; did you mean retention\?/],
        ["an unknown server key", { "supabase-dr:pitr": { ...PITR_BLOCK, server: { datadir: "/var/lib/postgresql/15/main" } } }, /supabase-dr:pitr\.server: unknown key datadir; did you mean dataDir\?/],
        ["a port that is not a number", { "supabase-dr:pitr": { ...PITR_BLOCK, server: { ...PITR_BLOCK.server, port: "5432x" } } }, /supabase-dr:pitr\.server\.port: expected a TCP port, got "5432x"/],
        ["a relative data directory", { "supabase-dr:pitr": { ...PITR_BLOCK, server: { dataDir: "pgdata" } } }, /supabase-dr:pitr\.server\.dataDir: expected an absolute path/],
        ["no full-backup retention", { "supabase-dr:pitr": { ...PITR_BLOCK, retention: { diff: 3 } } }, /supabase-dr:pitr\.retention\.full: required/],
        ["zero full backups", { "supabase-dr:pitr": { ...PITR_BLOCK, retention: { full: 0 } } }, /supabase-dr:pitr\.retention\.full: expected a whole number from 1 to 9999, got 0/],
        ["an unknown cipher", { "supabase-dr:pitr": { ...PITR_BLOCK, cipher: "rot13" } }, /supabase-dr:pitr\.cipher: expected "aes-256-cbc", "none", got "rot13"/],
        ["a wildcard host subject", { "supabase-dr:pitr": { ...PITR_BLOCK, serverIdentity: { ...SERVER_IDENTITY, subject: "system:serviceaccount:db:*" } } }, /supabase-dr:pitr\.serverIdentity\.subject: expected the exact sub claim/],
        ["a repository location (the stack decides it)", { "supabase-dr:pitr": { ...PITR_BLOCK, repository: { bucket: "elsewhere" } } }, /supabase-dr:pitr: unknown key repository/],
        ["no GitHub settings", { "supabase-dr:pitr": PITR_BLOCK, "supabase-dr:github": undefined }, /supabase-dr:github: is required when supabase-dr:pitr is set/],
        ["no region", { "supabase-dr:pitr": PITR_BLOCK, "aws:region": undefined }, /config aws:region is required when supabase-dr:pitr is set/],
    ];
    it.each(cases)("%s", async (_what, overrides, message) => {
        await expect(buildStack("staging", overrides)).rejects.toThrow(message);
    });

    it("requires the passphrase secret unless the archive is unencrypted, and never echoes it", async () => {
        const { ["supabase-dr:pitrCipherPass"]: _omit, ...without } = SECRETS;
        await expect(buildStack("staging", { "supabase-dr:pitr": PITR_BLOCK }, without)).rejects.toThrow(/supabase-dr:pitrCipherPass: is required when supabase-dr:pitr\.cipher is not none/);
        const short = "short-pass-leak-me";
        const err = await buildStack("staging", { "supabase-dr:pitr": PITR_BLOCK }, { ...without, "supabase-dr:pitrCipherPass": short }).catch((e: Error) => e);
        expect(String(err)).toMatch(/supabase-dr:pitrCipherPass: must be at least 32 characters/);
        expect(String(err)).not.toContain(short);
        const plain = await buildStack("staging", { "supabase-dr:pitr": { ...PITR_BLOCK, cipher: "none" } }, without);
        expect(plain.outputs.pitrServerConfig as string).not.toContain("repo1-cipher-type");
    });

    it("builds no archive at all without supabase-dr:pitr", async () => {
        const { registered, outputs } = await buildStack("staging");
        expect(of(registered, "supabase-dr:aws:PitrRepository")).toEqual([]);
        expect(Object.keys(outputs).filter((k) => k.startsWith("pitr"))).toEqual([]);
        const varNames = of(registered, "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable").map((v) => v.inputs.variableName);
        expect(varNames.filter((n) => String(n).includes("PITR"))).toEqual([]);
    });
});

// ---- hosted Supabase: the inputs of supabase-pitr-health.yml ----------------------------------

describe("supabase-dr:supabase.projectRef and .pitr (hosted PITR health)", () => {
    const SUPABASE = { organization: "acme-health", region: "eu-west-2", instanceSize: "small" };
    const HOSTED = { prodProjectRef: "abcdefghijklmnopqrst", windowDays: 14 };
    const jobVariables = (rs: RegisteredResource[]) =>
        Object.fromEntries(of(rs, "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable").map((v) => [v.inputs.variableName as string, v.inputs.value]));

    it("writes SUPABASE_PROJECT_REF and SUPABASE_PITR_SETTINGS, the settings the health command accepts", async () => {
        const { registered } = await buildStack("prod", { "supabase-dr:supabase": { ...SUPABASE, projectRef: "abcdefghijklmnopqrst", pitr: HOSTED } });
        const vars = jobVariables(registered);
        expect(vars.SUPABASE_PROJECT_REF).toBe("abcdefghijklmnopqrst");
        const settings = parseHostedPitrSettings(JSON.parse(vars.SUPABASE_PITR_SETTINGS as string));
        expect(settings).toMatchObject({ prodProjectRef: "abcdefghijklmnopqrst", windowDays: 14, rpoSeconds: 120 });
    });

    it("writes neither without them", async () => {
        const vars = jobVariables((await buildStack("prod", { "supabase-dr:supabase": SUPABASE })).registered);
        expect(Object.keys(vars).filter((n) => n.startsWith("SUPABASE_P"))).toEqual([]);
    });

    const cases: [string, Record<string, unknown>, RegExp][] = [
        ["a ref that is not one", { ...SUPABASE, projectRef: "ABC" }, /supabase-dr:supabase\.projectRef: expected a project ref \(20 lowercase letters\), got "ABC"/],
        ["settings without the ref", { ...SUPABASE, pitr: HOSTED }, /supabase-dr:supabase\.projectRef: is required when supabase-dr:supabase\.pitr is set/],
        ["a window Supabase does not sell", { ...SUPABASE, projectRef: "abcdefghijklmnopqrst", pitr: { ...HOSTED, windowDays: 30 } }, /supabase-dr:supabase\.pitr\.windowDays/],
        ["an unknown key", { ...SUPABASE, projectRef: "abcdefghijklmnopqrst", pitr: { ...HOSTED, windowDayz: 7 } }, /supabase-dr:supabase\.pitr: unknown key windowDayz/],
    ];
    it.each(cases)("refuses %s, naming the property path", async (_what, value, message) => {
        await expect(buildStack("prod", { "supabase-dr:supabase": value })).rejects.toThrow(message);
    });
});
