// The immutable backup vault (issue 4, runbooks 001 and 004): an S3 bucket with Object Lock, SSE-KMS
// under a dedicated rotating key, no public access, a TLS-only bucket policy, and lifecycle rules that
// implement "7 daily backups, 12 monthly archives".
//
// Known pitfalls, so nobody rediscovers them in an incident:
// - Object Lock puts need a content checksum: S3 rejects PutObject/UploadPart on a lock-enabled bucket
//   without Content-MD5 or an x-amz-checksum-* header. Current AWS SDKs and CLI send a CRC by default;
//   hand-rolled uploaders and old SDKs must add one.
// - Lifecycle "expiration" on a versioned bucket never deletes data: it adds a delete marker and the
//   object becomes noncurrent. Only the noncurrent-version expiration deletes, and S3 skips (and
//   retries later) any version whose lock has not lapsed. So a backup lives for roughly
//   expiration days + noncurrent days, never less than its retention.
// - Locked objects block destroy: the bucket cannot be emptied until every version's retention ends
//   (COMPLIANCE: not even by the root user), so `pulumi destroy` fails with BucketNotEmpty until then.
//   forceDestroy stays false so Pulumi never even tries to empty it.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assertEnvironment, dbPrefix, storagePrefix } from "../lib/vault/keys";
import { assertNoCurrentExpiration, DAYS_PER_MONTH, vaultLifecycleRules as lifecycleRules } from "../lib/vault/lifecycle";
import { pitrPrefix, vaultBucketPolicy, type ObjectLockMode } from "../lib/vault/policies";

export type ArchiveStorageClass = "GLACIER" | "DEEP_ARCHIVE" | "GLACIER_IR";

export interface BackupVaultArgs {
    /** "prod" | "staging" | other; names the key prefixes. */
    environment: string;
    /** Physical bucket name; default: Pulumi's auto-name from the component name. */
    bucketName?: pulumi.Input<string>;
    /** Default Object Lock mode. prod must be COMPLIANCE. */
    objectLockMode: ObjectLockMode;
    /** Default Object Lock retention in days (default 7). */
    retentionDays?: number;
    /** Runbook 004: daily backups are kept this many days (default 7, ≥ retentionDays). */
    dailyRetentionDays?: number;
    /** Runbook 004: monthly archives are kept this many months (default 12). */
    monthlyArchiveMonths?: number;
    /** Storage class monthly archives move to (default GLACIER). */
    archiveStorageClass?: ArchiveStorageClass;
    /** Days a superseded/expired version survives before real deletion (default dailyRetentionDays + 1). */
    noncurrentVersionExpirationDays?: number;
    /** Protect bucket and key from deletion (default: environment === "prod"). */
    protect?: boolean;
    /**
     * Principals (the deployer) still allowed to change lock, lifecycle, encryption and policy
     * settings; everyone else is denied them by the bucket policy. Without it only
     * s3:BypassGovernanceRetention is denied to everyone.
     */
    adminPrincipalArns?: pulumi.Input<pulumi.Input<string>[]>;
    tags?: Record<string, string>;
}

const ARCHIVE_CLASSES: readonly ArchiveStorageClass[] = ["GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"];
// S3's ceiling for a default retention period.
const MAX_LOCK_DAYS = 36500;

function wholeDays(arg: string, value: number | undefined, fallback: number, form = "a whole number of days ≥ 1"): number {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < 1) {
        throw new Error(`BackupVault ${arg} must be ${form} (got ${value})`);
    }
    return v;
}

// S3 naming rules for a name known at construction time (Outputs are checked by AWS).
function assertBucketName(name: pulumi.Input<string> | undefined): void {
    if (typeof name !== "string") return;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
        throw new Error(`BackupVault bucketName must be 3-63 lowercase letters, digits, "." or "-", starting and ending with a letter or digit (got ${JSON.stringify(name)})`);
    }
}

interface ResolvedVaultSettings {
    environment: string;
    objectLockMode: ObjectLockMode;
    retentionDays: number;
    dailyRetentionDays: number;
    monthlyArchiveMonths: number;
    archiveStorageClass: ArchiveStorageClass;
    noncurrentVersionExpirationDays: number;
    protect: boolean;
}

/** Validates BackupVaultArgs and fills in defaults; throws naming the argument. */
export function resolveVaultSettings(args: BackupVaultArgs): ResolvedVaultSettings {
    try {
        assertEnvironment(args.environment);
    } catch (err) {
        throw new Error(`BackupVault ${(err as Error).message}`);
    }
    const mode = args.objectLockMode;
    if (mode !== "COMPLIANCE" && mode !== "GOVERNANCE") {
        throw new Error(`BackupVault objectLockMode must be "COMPLIANCE" or "GOVERNANCE" (got ${JSON.stringify(mode)})`);
    }
    if (args.environment === "prod" && mode !== "COMPLIANCE") {
        throw new Error(`BackupVault objectLockMode must be "COMPLIANCE" for environment "prod": GOVERNANCE locks can be bypassed (got "${mode}")`);
    }
    const retentionDays = wholeDays("retentionDays", args.retentionDays, 7, `a whole number of days between 1 and ${MAX_LOCK_DAYS}`);
    if (retentionDays > MAX_LOCK_DAYS) {
        throw new Error(`BackupVault retentionDays must be a whole number of days between 1 and ${MAX_LOCK_DAYS} (got ${retentionDays})`);
    }
    const dailyRetentionDays = wholeDays("dailyRetentionDays", args.dailyRetentionDays, Math.max(7, retentionDays));
    if (dailyRetentionDays < retentionDays) {
        // Expiring a backup the lock still holds would only leave delete markers on locked versions.
        throw new Error(`BackupVault dailyRetentionDays must be ≥ retentionDays (${retentionDays}) (got ${dailyRetentionDays})`);
    }
    const monthlyArchiveMonths = wholeDays("monthlyArchiveMonths", args.monthlyArchiveMonths, 12, "a whole number of months ≥ 1");
    const archiveStorageClass = args.archiveStorageClass ?? "GLACIER";
    if (!ARCHIVE_CLASSES.includes(archiveStorageClass)) {
        throw new Error(`BackupVault archiveStorageClass must be one of ${ARCHIVE_CLASSES.join(", ")} (got ${JSON.stringify(archiveStorageClass)})`);
    }
    const noncurrentVersionExpirationDays = wholeDays(
        "noncurrentVersionExpirationDays", args.noncurrentVersionExpirationDays, dailyRetentionDays + 1);
    return {
        environment: args.environment,
        objectLockMode: mode,
        retentionDays,
        dailyRetentionDays,
        monthlyArchiveMonths,
        archiveStorageClass,
        noncurrentVersionExpirationDays,
        protect: args.protect ?? args.environment === "prod",
    };
}

/** Runbook 004's retention as lifecycle rules (lib/vault/lifecycle.ts; pitfalls at the top of this file). */
export function vaultLifecycleRules(s: ResolvedVaultSettings): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
    const rules = lifecycleRules(s);
    // The WAL archive (pitr/<env>/, components/PitrRepository.ts) shares the bucket and its lock; only
    // pgBackRest's expire may retire its current objects, the noncurrent rule then reclaims them.
    assertNoCurrentExpiration(rules, pitrPrefix(s.environment));
    return rules;
}

export class BackupVault extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;
    public readonly kmsKeyArn: pulumi.Output<string>;
    public readonly kmsKeyId: pulumi.Output<string>;
    public readonly dbPrefix: pulumi.Output<string>;
    public readonly storagePrefix: pulumi.Output<string>;
    /** Where the WAL archive's pgBackRest repository lives (pitr/<env>/). */
    public readonly pitrPrefix: pulumi.Output<string>;
    public readonly retentionDays: pulumi.Output<number>;
    public readonly objectLockMode: pulumi.Output<ObjectLockMode>;

    constructor(name: string, args: BackupVaultArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate before registering anything, so bad arguments leave no half-built component behind.
        const s = resolveVaultSettings(args);
        assertBucketName(args.bucketName);
        super("supabase-dr:aws:BackupVault", name, {}, opts);
        const tags = { "supabase-dr:environment": s.environment, "supabase-dr:component": "backup-vault", ...args.tags };

        // protect makes deletion a deliberate two-step (unprotect, then destroy). The key also gets
        // retainOnDelete: locked objects outlive any stack that is destroyed anyway, and a key deleted
        // under them makes them unreadable forever. The bucket needs no retainOnDelete: while it holds
        // locked versions S3 refuses to delete it, and once empty there is nothing left to keep.
        const keep: pulumi.CustomResourceOptions = s.protect ? { parent: this, protect: true } : { parent: this };

        // No explicit key policy: the default one delegates to IAM in this account, which is where the
        // writer and reader grants live; a hand-written key policy is the classic way to lock a key.
        const key = new aws.kms.Key(`${name}-key`, {
            description: `supabase-dr ${s.environment} backup vault (S3 SSE-KMS)`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            tags,
        }, s.protect ? { ...keep, retainOnDelete: true } : keep);

        new aws.kms.Alias(`${name}-key-alias`, {
            name: `alias/supabase-dr-${s.environment}-backups`,
            targetKeyId: key.keyId,
        }, { parent: this });

        const bucket = new aws.s3.Bucket(`${name}-bucket`, {
            bucket: args.bucketName,
            objectLockEnabled: true,
            forceDestroy: false,
            tags,
        }, keep);

        // Object Lock already forces versioning on; declaring it keeps drift detection honest.
        const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, {
            bucket: bucket.id,
            versioningConfiguration: { status: "Enabled" },
        }, { parent: this });

        new aws.s3.BucketObjectLockConfiguration(`${name}-object-lock`, {
            bucket: bucket.id,
            objectLockEnabled: "Enabled",
            rule: { defaultRetention: { mode: s.objectLockMode, days: s.retentionDays } },
        }, { parent: this, dependsOn: [versioning] });

        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
            bucket: bucket.id,
            rules: [{
                applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn },
                // One data key per bucket instead of per object: far fewer KMS calls (and costs).
                bucketKeyEnabled: true,
            }],
        }, { parent: this });

        const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-public-access`, {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }, { parent: this });

        // ACLs disabled: every object belongs to the account, whoever uploaded it.
        const ownership = new aws.s3.BucketOwnershipControls(`${name}-ownership`, {
            bucket: bucket.id,
            rule: { objectOwnership: "BucketOwnerEnforced" },
        }, { parent: this });

        const maxRetentionDays = Math.max(s.dailyRetentionDays, s.monthlyArchiveMonths * DAYS_PER_MONTH);
        // S3 answers OperationAborted to concurrent bucket-level changes: serialize the policy after them.
        new aws.s3.BucketPolicy(`${name}-policy`, {
            bucket: bucket.id,
            policy: pulumi.all([bucket.arn, key.arn, pulumi.output(args.adminPrincipalArns ?? [])])
                .apply(([bucketArn, kmsKeyArn, admins]) => JSON.stringify(vaultBucketPolicy({
                    bucketArn,
                    kmsKeyArn,
                    objectLockMode: s.objectLockMode,
                    maxRetentionDays,
                    adminPrincipalArns: admins,
                }))),
        }, { parent: this, dependsOn: [publicAccess, ownership] });

        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
            bucket: bucket.id,
            rules: vaultLifecycleRules(s),
        }, { parent: this, dependsOn: [versioning] });

        this.bucketName = bucket.bucket;
        this.bucketArn = bucket.arn;
        this.kmsKeyArn = key.arn;
        this.kmsKeyId = key.keyId;
        this.dbPrefix = pulumi.output(dbPrefix(s.environment));
        this.storagePrefix = pulumi.output(storagePrefix(s.environment));
        this.pitrPrefix = pulumi.output(pitrPrefix(s.environment));
        this.retentionDays = pulumi.output(s.retentionDays);
        this.objectLockMode = pulumi.output(s.objectLockMode);
        this.registerOutputs({
            bucketName: this.bucketName,
            bucketArn: this.bucketArn,
            kmsKeyArn: this.kmsKeyArn,
            kmsKeyId: this.kmsKeyId,
            dbPrefix: this.dbPrefix,
            storagePrefix: this.storagePrefix,
            pitrPrefix: this.pitrPrefix,
            retentionDays: this.retentionDays,
            objectLockMode: this.objectLockMode,
        });
    }
}
