// BackupVault under Pulumi mocks: the properties that make backups immutable and private (Object Lock
// mode and days, versioning, SSE-KMS with a rotating key, public access block, TLS-only and
// encryption-only bucket policy, runbook 004's lifecycle, deletion protection), plus the bucket policy
// builder on its own and the arguments that must be refused.
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { BackupVault, type BackupVaultArgs } from "../../components/BackupVault";
import { assertNoCurrentExpiration, type LifecycleRule as VaultLifecycleRule } from "../../lib/vault/lifecycle";
import { vaultBucketPolicy, type PolicyDocument, type PolicyStatement } from "../../lib/vault/policies";
import { captureResources, outputValue } from "../helpers/mocks";

const ACCOUNT = "111122223333";

const registered = captureResources((r) => {
    if (r.type === "aws:s3/bucket:Bucket") {
        const bucket = (r.inputs.bucket as string | undefined) ?? `${r.name}-4f2a9c`;
        return { bucket, arn: `arn:aws:s3:::${bucket}` };
    }
    if (r.type === "aws:kms/key:Key") {
        return { arn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${r.name}-0001`, keyId: `${r.name}-0001` };
    }
    return {};
});

// Mocks never see resource options; the engine request does. Record protect/retainOnDelete from the
// RegisterResourceRequest the SDK sends, which is exactly what `pulumi up` would receive.
interface RegisterRequest {
    getName(): string;
    getProtect(): boolean | undefined;
    getRetainondelete(): boolean | undefined;
}
const sentOptions = new Map<string, { protect: boolean; retainOnDelete: boolean }>();
const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: RegisterRequest, cb: unknown): unknown };
const forward = monitor.registerResource.bind(monitor);
monitor.registerResource = (req, cb) => {
    sentOptions.set(req.getName(), { protect: req.getProtect() === true, retainOnDelete: req.getRetainondelete() === true });
    return forward(req, cb);
};

/** Inputs of a child, waiting for its (asynchronous) registration. */
async function inputsOf(type: string, name: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 400; i++) {
        const found = registered.find((r) => r.type === type && r.name === name);
        if (found) return found.inputs;
        await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`${type} ${name} was never registered`);
}

function statement(doc: PolicyDocument, sid: string): PolicyStatement {
    const found = doc.Statement.find((s) => s.Sid === sid);
    if (!found) throw new Error(`no statement ${sid} in ${JSON.stringify(doc)}`);
    return found;
}

interface LifecycleRule {
    id: string;
    status: string;
    filter?: { prefix?: string };
    expiration?: { days?: number; expiredObjectDeleteMarker?: boolean };
    transitions?: { days: number; storageClass: string }[];
    noncurrentVersionExpiration?: { noncurrentDays: number };
    abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

async function build(name: string, args: BackupVaultArgs) {
    const vault = new BackupVault(name, args);
    const outputs = {
        bucketName: await outputValue(vault.bucketName),
        bucketArn: await outputValue(vault.bucketArn),
        kmsKeyArn: await outputValue(vault.kmsKeyArn),
        kmsKeyId: await outputValue(vault.kmsKeyId),
        dbPrefix: await outputValue(vault.dbPrefix),
        storagePrefix: await outputValue(vault.storagePrefix),
        pitrPrefix: await outputValue(vault.pitrPrefix),
        retentionDays: await outputValue(vault.retentionDays),
        objectLockMode: await outputValue(vault.objectLockMode),
    };
    const child = (type: string, suffix: string) => inputsOf(type, `${name}-${suffix}`);
    const policy = JSON.parse((await child("aws:s3/bucketPolicy:BucketPolicy", "policy")).policy as string) as PolicyDocument;
    const lifecycle = (await child("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lifecycle")).rules as LifecycleRule[];
    return { outputs, child, policy, lifecycle, rule: (id: string) => lifecycle.find((r) => r.id === id)! };
}

const CASES = [
    {
        env: "prod",
        args: { environment: "prod", objectLockMode: "COMPLIANCE" } as BackupVaultArgs,
        expect: { mode: "COMPLIANCE", days: 7, daily: 7, monthlyDays: 12 * 31, storageClass: "GLACIER", noncurrent: 8, protect: true },
    },
    {
        env: "staging",
        args: {
            environment: "staging", objectLockMode: "GOVERNANCE", bucketName: "polaris-backups-staging",
            retentionDays: 3, dailyRetentionDays: 5, monthlyArchiveMonths: 6, archiveStorageClass: "DEEP_ARCHIVE",
            noncurrentVersionExpirationDays: 2, tags: { team: "platform" },
        } as BackupVaultArgs,
        expect: { mode: "GOVERNANCE", days: 3, daily: 5, monthlyDays: 6 * 31, storageClass: "DEEP_ARCHIVE", noncurrent: 2, protect: false },
    },
] as const;

describe.each(CASES)("BackupVault for $env", ({ env, args, expect: want }) => {
    const name = `vault-${env}`;
    const built = build(name, args);

    it("locks objects by default with the configured mode and days, on a versioned bucket", async () => {
        const { child, outputs } = await built;
        const bucket = await child("aws:s3/bucket:Bucket", "bucket");
        expect(bucket.objectLockEnabled).toBe(true);
        expect(bucket.forceDestroy).toBe(false);
        const lock = await child("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "object-lock");
        expect(lock.bucket).toBe(`${name}-bucket-id`);
        expect(lock.objectLockEnabled).toBe("Enabled");
        expect(lock.rule).toEqual({ defaultRetention: { mode: want.mode, days: want.days } });
        const versioning = await child("aws:s3/bucketVersioning:BucketVersioning", "versioning");
        expect(versioning.bucket).toBe(`${name}-bucket-id`);
        expect(versioning.versioningConfiguration).toEqual({ status: "Enabled" });
        expect(outputs.retentionDays).toBe(want.days);
        expect(outputs.objectLockMode).toBe(want.mode);
    });

    it("encrypts with SSE-KMS under its own rotating key", async () => {
        const { child, outputs } = await built;
        const key = await child("aws:kms/key:Key", "key");
        expect(key.enableKeyRotation).toBe(true);
        expect(key.deletionWindowInDays).toBe(30);
        expect(key.description).toContain(env);
        const sse = await child("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "encryption");
        expect(sse.bucket).toBe(`${name}-bucket-id`);
        expect(sse.rules).toEqual([{
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: outputs.kmsKeyArn },
            bucketKeyEnabled: true,
        }]);
        const alias = await child("aws:kms/alias:Alias", "key-alias");
        expect(alias.targetKeyId).toBe(outputs.kmsKeyId);
        expect(alias.name).toBe(`alias/supabase-dr-${env}-backups`);
        expect(outputs.kmsKeyArn).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/${name}-key-0001`);
    });

    it("blocks every form of public access and disables ACLs", async () => {
        const { child } = await built;
        const pab = await child("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "public-access");
        expect(pab).toMatchObject({
            bucket: `${name}-bucket-id`,
            blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
        });
        const ownership = await child("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "ownership");
        expect(ownership.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    });

    it("has a bucket policy that only denies: non-TLS requests, non-KMS or foreign-key puts, other lock modes", async () => {
        const { policy, outputs } = await built;
        expect(policy.Statement.every((s) => s.Effect === "Deny")).toBe(true);
        expect(statement(policy, "DenyInsecureTransport")).toEqual({
            Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*",
            Resource: [outputs.bucketArn, `${outputs.bucketArn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
        expect(statement(policy, "DenyNonKmsEncryption")).toMatchObject({
            Action: "s3:PutObject", Resource: `${outputs.bucketArn}/*`,
            Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } },
        });
        expect(statement(policy, "DenyOtherKmsKeys").Condition).toEqual({
            StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption-aws-kms-key-id": outputs.kmsKeyArn },
        });
        expect(statement(policy, "DenyOtherLockMode").Condition).toEqual({
            StringNotEqualsIfExists: { "s3:object-lock-mode": want.mode },
        });
        expect(statement(policy, "DenyExcessiveRetention").Condition).toEqual({
            NumericGreaterThan: { "s3:object-lock-remaining-retention-days": String(want.monthlyDays) },
        });
        expect(statement(policy, "DenyGovernanceBypass").Action).toBe("s3:BypassGovernanceRetention");
    });

    it("implements runbook 004's retention as lifecycle rules", async () => {
        const { lifecycle, rule } = await built;
        expect(lifecycle.map((r) => r.id).sort()).toEqual(["daily-db", "daily-storage", "monthly-db", "monthly-storage", "versions-and-uploads"]);
        expect(lifecycle.every((r) => r.status === "Enabled")).toBe(true);
        expect(rule("daily-db")).toMatchObject({ filter: { prefix: `db/${env}/` }, expiration: { days: want.daily } });
        expect(rule("daily-storage")).toMatchObject({ filter: { prefix: `storage/${env}/` }, expiration: { days: want.daily } });
        for (const [id, prefix] of [["monthly-db", `monthly/db/${env}/`], ["monthly-storage", `monthly/storage/${env}/`]]) {
            expect(rule(id)).toMatchObject({
                filter: { prefix },
                transitions: [{ days: 1, storageClass: want.storageClass }],
                expiration: { days: want.monthlyDays },
            });
        }
        // Expiration only adds delete markers on a versioned bucket: the real deletion and cleanup.
        expect(rule("versions-and-uploads")).toEqual({
            id: "versions-and-uploads", status: "Enabled", filter: {},
            noncurrentVersionExpiration: { noncurrentDays: want.noncurrent },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
            expiration: { expiredObjectDeleteMarker: true },
        });
        // Nothing expires the WAL archive's current objects: its retention is pgBackRest's expire.
        expect(() => assertNoCurrentExpiration(lifecycle as VaultLifecycleRule[], `pitr/${env}/`)).not.toThrow();
    });

    it(want.protect ? "protects bucket and key from deletion and keeps the key if destroyed" : "leaves bucket and key deletable", async () => {
        await built;
        expect(sentOptions.get(`${name}-bucket`)).toEqual({ protect: want.protect, retainOnDelete: false });
        expect(sentOptions.get(`${name}-key`)).toEqual({ protect: want.protect, retainOnDelete: want.protect });
        // Configuration children are cheap to recreate: never protected.
        expect(sentOptions.get(`${name}-policy`)?.protect).toBe(false);
    });

    it("exports the layout prefixes and names", async () => {
        const { outputs, child } = await built;
        expect(outputs.dbPrefix).toBe(`db/${env}/`);
        expect(outputs.storagePrefix).toBe(`storage/${env}/`);
        // The WAL archive's pgBackRest repository (components/PitrRepository.ts).
        expect(outputs.pitrPrefix).toBe(`pitr/${env}/`);
        expect(outputs.bucketArn).toBe(`arn:aws:s3:::${outputs.bucketName}`);
        const bucket = await child("aws:s3/bucket:Bucket", "bucket");
        expect(bucket.bucket).toBe(args.bucketName);
        expect(bucket.tags).toMatchObject({ "supabase-dr:environment": env, ...args.tags });
    });
});

describe("BackupVault options", () => {
    it("protects a non-prod vault when asked, and names admins in the bucket policy", async () => {
        const admin = `arn:aws:iam::${ACCOUNT}:role/pulumi-deployer`;
        const { policy, outputs } = await build("vault-dr", {
            environment: "dr", objectLockMode: "GOVERNANCE", protect: true, adminPrincipalArns: [admin],
        });
        expect(sentOptions.get("vault-dr-bucket")?.protect).toBe(true);
        expect(sentOptions.get("vault-dr-key")).toEqual({ protect: true, retainOnDelete: true });
        const admins = statement(policy, "DenyVaultAdministrationExceptAdmins");
        expect(admins.Effect).toBe("Deny");
        expect(admins.Action).toEqual(expect.arrayContaining([
            "s3:PutBucketObjectLockConfiguration", "s3:BypassGovernanceRetention", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy",
        ]));
        expect(admins.Resource).toEqual([outputs.bucketArn, `${outputs.bucketArn}/*`]);
        expect(admins.Condition).toEqual({ ArnNotLike: { "aws:PrincipalArn": [admin] } });
        expect(policy.Statement.some((s) => s.Sid === "DenyGovernanceBypass")).toBe(false);
    });

    it("defaults dailyRetentionDays up to a longer retention instead of failing", async () => {
        const { rule, outputs } = await build("vault-long", { environment: "long", objectLockMode: "GOVERNANCE", retentionDays: 10 });
        expect(outputs.retentionDays).toBe(10);
        expect(rule("daily-db").expiration).toEqual({ days: 10 });
        expect(rule("versions-and-uploads").noncurrentVersionExpiration).toEqual({ noncurrentDays: 11 });
    });
});

describe("BackupVault refuses unsafe arguments", () => {
    const base: BackupVaultArgs = { environment: "staging", objectLockMode: "GOVERNANCE" };

    it.each([
        [{ retentionDays: 0 }, /BackupVault retentionDays must be a whole number of days .*\(got 0\)/],
        [{ retentionDays: 1.5 }, /retentionDays must be a whole number.*\(got 1\.5\)/],
        [{ retentionDays: 36501 }, /retentionDays .*36500 \(got 36501\)/],
        [{ retentionDays: 7, dailyRetentionDays: 6 }, /dailyRetentionDays must be ≥ retentionDays \(7\) \(got 6\)/],
        [{ dailyRetentionDays: 0 }, /dailyRetentionDays must be a whole number of days ≥ 1 \(got 0\)/],
        [{ monthlyArchiveMonths: 0 }, /monthlyArchiveMonths must be a whole number of months ≥ 1 \(got 0\)/],
        [{ noncurrentVersionExpirationDays: -1 }, /noncurrentVersionExpirationDays must be a whole number of days ≥ 1 \(got -1\)/],
        [{ archiveStorageClass: "STANDARD_IA" }, /archiveStorageClass must be one of GLACIER, DEEP_ARCHIVE, GLACIER_IR \(got "STANDARD_IA"\)/],
        [{ objectLockMode: "NONE" }, /objectLockMode must be "COMPLIANCE" or "GOVERNANCE" \(got "NONE"\)/],
        [{ environment: "prod", objectLockMode: "GOVERNANCE" }, /objectLockMode must be "COMPLIANCE" for environment "prod"/],
        [{ environment: "prod/eu" }, /BackupVault environment must be/],
        [{ bucketName: "Polaris_Backups" }, /bucketName must be 3-63 lowercase/],
        [{ bucketName: "ab" }, /bucketName must be/],
    ])("%j", async (override, message) => {
        expect(() => new BackupVault("bad", { ...base, ...override } as BackupVaultArgs)).toThrow(message);
        // Refused before registering anything (registration is asynchronous: give it time to show up).
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(registered.filter((r) => r.name.startsWith("bad"))).toEqual([]);
    });

    it("accepts prod with COMPLIANCE and staging with either mode", () => {
        expect(() => new BackupVault("ok-1", { environment: "prod", objectLockMode: "COMPLIANCE" })).not.toThrow();
        expect(() => new BackupVault("ok-2", { environment: "staging", objectLockMode: "COMPLIANCE" })).not.toThrow();
    });
});

describe("vaultBucketPolicy", () => {
    const input = {
        bucketArn: "arn:aws:s3:::polaris-backups",
        kmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
        objectLockMode: "COMPLIANCE" as const,
        maxRetentionDays: 372,
    };

    it("never allows anything (grants live on the roles)", () => {
        const doc = vaultBucketPolicy(input);
        expect(doc.Version).toBe("2012-10-17");
        expect(doc.Statement.filter((s) => s.Effect !== "Deny")).toEqual([]);
        expect(doc.Statement.every((s) => s.Principal === "*")).toBe(true);
    });

    it.each([
        [{ bucketArn: "polaris-backups" }, /bucketArn must be an S3 bucket ARN/],
        [{ bucketArn: "arn:aws:s3:::*" }, /bucketArn must be/],
        [{ kmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/backups` }, /kmsKeyArn must be a KMS key ARN .*not an alias/],
        [{ maxRetentionDays: 0 }, /maxRetentionDays must be a whole number of days ≥ 1 \(got 0\)/],
        [{ adminPrincipalArns: ["pulumi-deployer"] }, /adminPrincipalArns entries must be IAM principal ARNs/],
    ])("refuses %j", (override, message) => {
        expect(() => vaultBucketPolicy({ ...input, ...override })).toThrow(message);
    });
});
