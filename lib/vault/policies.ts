// The vault's policy documents as pure functions of resolved strings, so the rules that make backups
// immutable and the roles least-privileged can be unit-tested without Pulumi, and the components only
// call them inside `pulumi.all(...).apply`.
import { assertEnvironment, environmentPrefixes, monthlyStoragePrefix, storagePrefix } from "./keys";

export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
    Sid: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | { Federated: string } | { AWS: string | string[] };
    Action: string | string[];
    Resource?: string | string[];
    Condition?: ConditionBlock;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

export type ObjectLockMode = "COMPLIANCE" | "GOVERNANCE";

// ---------------------------------------------------------------------------------------------
// ARNs

const BUCKET_ARN = /^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// A key ARN, not an alias ARN: IAM grants on alias ARNs do not authorize use of the key.
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/;

function assertMatches(what: string, value: string, pattern: RegExp, form: string): void {
    if (typeof value !== "string" || !pattern.test(value)) {
        throw new Error(`${what} must be ${form} (got ${JSON.stringify(value)})`);
    }
}

function assertBucketArn(bucketArn: string): void {
    assertMatches("bucketArn", bucketArn, BUCKET_ARN, "an S3 bucket ARN like arn:aws:s3:::my-bucket");
}

function assertKeyArn(kmsKeyArn: string): void {
    assertMatches("kmsKeyArn", kmsKeyArn, KEY_ARN, "a KMS key ARN like arn:aws:kms:eu-west-1:111122223333:key/<id> (not an alias)");
}

/** Object ARNs for every backup prefix of an environment: the only places a role may touch. */
export function backupObjectArns(bucketArn: string, environment: string): string[] {
    assertBucketArn(bucketArn);
    return environmentPrefixes(environment).map((prefix) => `${bucketArn}/${prefix}*`);
}

/** `s3:prefix` patterns that let ListBucket see the backup prefixes and nothing else. */
export function backupListPrefixes(environment: string): string[] {
    return environmentPrefixes(environment).map((prefix) => `${prefix}*`);
}

// S3 uses the key on the caller's behalf; nobody needs it directly, so grants only hold through S3.
const VIA_S3: ConditionBlock = { StringLike: { "kms:ViaService": "s3.*.amazonaws.com" } };

// ---------------------------------------------------------------------------------------------
// Bucket policy

export interface VaultBucketPolicyInput {
    bucketArn: string;
    kmsKeyArn: string;
    objectLockMode: ObjectLockMode;
    /** Longest retention a put may ask for; longer would outlive the lifecycle and cannot be undone. */
    maxRetentionDays: number;
    /** Principals still allowed to change lock/lifecycle/policy settings (the deployer). */
    adminPrincipalArns?: string[];
}

export function vaultBucketPolicy(input: VaultBucketPolicyInput): PolicyDocument {
    const { bucketArn, kmsKeyArn, objectLockMode, maxRetentionDays } = input;
    assertBucketArn(bucketArn);
    assertKeyArn(kmsKeyArn);
    if (objectLockMode !== "COMPLIANCE" && objectLockMode !== "GOVERNANCE") {
        throw new Error(`objectLockMode must be "COMPLIANCE" or "GOVERNANCE" (got ${JSON.stringify(objectLockMode)})`);
    }
    if (!Number.isInteger(maxRetentionDays) || maxRetentionDays < 1) {
        throw new Error(`maxRetentionDays must be a whole number of days ≥ 1 (got ${maxRetentionDays})`);
    }
    const objects = `${bucketArn}/*`;
    const statements: PolicyStatement[] = [
        {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucketArn, objects],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        // "IfExists": a put without the header still gets SSE-KMS with the vault key from the bucket's
        // default encryption, so requiring the header would only break clients (aws s3 cp, SDK
        // defaults) without protecting anything. What is refused is asking for anything else (SSE-S3,
        // DSSE).
        {
            Sid: "DenyNonKmsEncryption",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:PutObject",
            Resource: objects,
            Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption": "aws:kms" } },
        },
        // A caller-chosen key is a ransom lever: encrypt with a key you control, then disable it while
        // the objects are locked. Clients either omit the key id or send this key's full ARN.
        {
            Sid: "DenyOtherKmsKeys",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:PutObject",
            Resource: objects,
            Condition: { StringNotEqualsIfExists: { "s3:x-amz-server-side-encryption-aws-kms-key-id": kmsKeyArn } },
        },
        // Per-object lock headers override the bucket default: a writer must not downgrade prod objects
        // to GOVERNANCE (bypassable) nor lock staging objects in COMPLIANCE (undeletable).
        {
            Sid: "DenyOtherLockMode",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:PutObject", "s3:PutObjectRetention"],
            Resource: objects,
            Condition: { StringNotEqualsIfExists: { "s3:object-lock-mode": objectLockMode } },
        },
        // A compromised writer could otherwise lock objects for a century: storage you pay for and can
        // never delete in COMPLIANCE mode.
        {
            Sid: "DenyExcessiveRetention",
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:PutObject", "s3:PutObjectRetention"],
            Resource: objects,
            Condition: { NumericGreaterThan: { "s3:object-lock-remaining-retention-days": String(maxRetentionDays) } },
        },
    ];
    const admins = input.adminPrincipalArns ?? [];
    for (const arn of admins) {
        if (typeof arn !== "string" || !arn.startsWith("arn:")) {
            throw new Error(`adminPrincipalArns entries must be IAM principal ARNs (got ${JSON.stringify(arn)})`);
        }
    }
    if (admins.length > 0) {
        // Only the deployer may change what keeps backups immutable. Locking everyone out is
        // recoverable (the account root can always delete a bucket policy), but that is an incident.
        statements.push({
            Sid: "DenyVaultAdministrationExceptAdmins",
            Effect: "Deny",
            Principal: "*",
            Action: [
                "s3:PutBucketObjectLockConfiguration",
                "s3:BypassGovernanceRetention",
                "s3:PutLifecycleConfiguration",
                "s3:PutBucketPolicy",
                "s3:DeleteBucketPolicy",
                "s3:PutEncryptionConfiguration",
                "s3:PutBucketVersioning",
            ],
            Resource: [bucketArn, objects],
            Condition: { ArnNotLike: { "aws:PrincipalArn": admins } },
        });
    } else {
        // Without a named deployer, `pulumi up` itself needs the configuration actions, so only the
        // one action no routine job needs is refused to everyone: lifting a GOVERNANCE lock early.
        statements.push({
            Sid: "DenyGovernanceBypass",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:BypassGovernanceRetention",
            Resource: objects,
        });
    }
    return { Version: "2012-10-17", Statement: statements };
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions OIDC trust

export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
export const GITHUB_OIDC_URL = `https://${GITHUB_OIDC_HOST}`;
export const STS_AUDIENCE = "sts.amazonaws.com";

export interface GithubRepository {
    owner: string;
    repository: string;
}

// GitHub's own rules: owners are 1-39 alphanumerics with single inner hyphens; repositories are
// 1-100 of [A-Za-z0-9._-]. Neither can hold "*" or "?", which would turn a sub claim into a wildcard.
const GITHUB_OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const GITHUB_REPOSITORY = /^[A-Za-z0-9._-]{1,100}$/;
const GITHUB_ENVIRONMENT = /^[A-Za-z0-9._-](?:[A-Za-z0-9 ._-]{0,253}[A-Za-z0-9._-])?$/;

export function assertGithubRepository(repo: GithubRepository): void {
    assertMatches("github.owner", repo.owner, GITHUB_OWNER, "a GitHub user or organization name (letters, digits, single inner hyphens, ≤ 39)");
    if (typeof repo.repository !== "string" || !GITHUB_REPOSITORY.test(repo.repository)
        || repo.repository === "." || repo.repository === "..") {
        throw new Error(`github.repository must be a repository name of letters, digits, ".", "-" or "_" (got ${JSON.stringify(repo.repository)})`);
    }
}

/** git check-ref-format's rules, plus no IAM wildcard characters. */
export function assertGitBranch(branch: string): void {
    const bad = typeof branch !== "string" || branch.length === 0 || branch.length > 255
        || /[\s~^:?*[\\]/.test(branch) || branch.includes("..") || branch.includes("@{") || branch.includes("//")
        || branch.startsWith("/") || branch.startsWith("-") || branch.endsWith("/") || branch.endsWith(".")
        || branch.endsWith(".lock") || branch === "@";
    if (bad) {
        throw new Error(`github.branch must be a plain branch name like "main" (no wildcards, spaces or "..") (got ${JSON.stringify(branch)})`);
    }
}

export function assertGithubEnvironment(what: string, environment: string): void {
    assertMatches(what, environment, GITHUB_ENVIRONMENT, "a GitHub environment name of letters, digits, spaces, \".\", \"-\" or \"_\" (no wildcards)");
}

/** The `sub` claim of a job running on a branch without a GitHub environment. */
export function branchSubject(repo: GithubRepository, branch: string): string {
    assertGithubRepository(repo);
    assertGitBranch(branch);
    return `repo:${repo.owner}/${repo.repository}:ref:refs/heads/${branch}`;
}

/**
 * The `sub` claim of a job that declares `environment:`. Only as strong as that environment's
 * deployment-branch rules: GitHub creates an unknown environment on first use, unprotected.
 */
export function environmentSubject(repo: GithubRepository, environment: string): string {
    assertGithubRepository(repo);
    assertGithubEnvironment("github environment", environment);
    return `repo:${repo.owner}/${repo.repository}:environment:${environment}`;
}

/**
 * Trust for sts:AssumeRoleWithWebIdentity from GitHub's OIDC provider, for exactly these subjects.
 * StringEquals (not StringLike) so no subject can ever match more than itself.
 */
export function githubTrustPolicy(oidcProviderArn: string, subjects: string[]): PolicyDocument {
    assertMatches("oidcProviderArn", oidcProviderArn, OIDC_PROVIDER_ARN,
        `the ARN of the account's ${GITHUB_OIDC_HOST} OIDC provider`);
    if (!Array.isArray(subjects) || subjects.length === 0) {
        throw new Error("trust policy needs at least one GitHub subject");
    }
    for (const sub of subjects) {
        if (typeof sub !== "string" || !sub.startsWith("repo:") || /[*?]/.test(sub)) {
            throw new Error(`GitHub subject must be an exact "repo:<owner>/<repo>:..." claim without wildcards (got ${JSON.stringify(sub)})`);
        }
    }
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "GithubActionsOidc",
                Effect: "Allow",
                Principal: { Federated: oidcProviderArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                    StringEquals: {
                        [`${GITHUB_OIDC_HOST}:aud`]: STS_AUDIENCE,
                        [`${GITHUB_OIDC_HOST}:sub`]: subjects.length === 1 ? subjects[0] : [...subjects],
                    },
                },
            },
        ],
    };
}

// ---------------------------------------------------------------------------------------------
// Role permissions

export interface RolePolicyInput {
    bucketArn: string;
    kmsKeyArn: string;
    environment: string;
}

/**
 * Explicitly denied to the writer, so no policy attached later can grant them:
 * - DeleteObject: Object Lock does not stop a delete *marker*, which hides the latest backup.
 * - DeleteObjectVersion: the real deletion, once a lock has lapsed.
 * - BypassGovernanceRetention: lifts GOVERNANCE locks (staging) early.
 * - PutObjectLegalHold: sets *and removes* holds that incident responders place.
 * - PutBucketObjectLockConfiguration: shorten or downgrade the default lock for future backups.
 * - PutLifecycleConfiguration: a 1-day expiration deletes every backup as soon as its lock lapses.
 * - PutBucketPolicy / DeleteBucketPolicy: remove the bucket-policy guards above.
 * - PutEncryptionConfiguration: switch default encryption away from the vault key.
 * - PutBucketVersioning: try to suspend versioning (refused by S3 under Object Lock; belt and braces).
 * - DeleteBucket: self-explanatory.
 */
/** Changes to the vault itself (its lock, lifecycle, policy, encryption, versioning): no job role makes them. */
const VAULT_CONFIGURATION_S3_ACTIONS = [
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketVersioning",
    "s3:DeleteBucket",
] as const;

export const WRITER_DENIED_S3_ACTIONS = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectLegalHold",
    ...VAULT_CONFIGURATION_S3_ACTIONS,
] as const;

/** Disabling or deleting the vault key makes every backup unreadable: never the writer's call. */
export const WRITER_DENIED_KMS_ACTIONS = [
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
] as const;

/**
 * The nightly backup job: put objects (with their retention) under this environment's prefixes,
 * list them, and nothing that removes or weakens a backup.
 */
export function writerPolicy(input: RolePolicyInput): PolicyDocument {
    const { bucketArn, kmsKeyArn, environment } = input;
    assertEnvironment(environment);
    assertKeyArn(kmsKeyArn);
    return {
        Version: "2012-10-17",
        Statement: [
            // PutObjectRetention is what a put carrying x-amz-object-lock-* headers is authorized
            // against; on an existing object it can only lengthen a lock without the (denied) bypass.
            // AbortMultipartUpload lets a failed upload clean up instead of waiting for the lifecycle.
            {
                Sid: "WriteBackups",
                Effect: "Allow",
                Action: ["s3:PutObject", "s3:PutObjectRetention", "s3:AbortMultipartUpload"],
                Resource: backupObjectArns(bucketArn, environment),
            },
            {
                Sid: "ListBackupPrefixes",
                Effect: "Allow",
                Action: "s3:ListBucket",
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": backupListPrefixes(environment) } },
            },
            // The storage snapshot checks what is already there (HeadObject is authorized as
            // s3:GetObject), reads the previous night's manifest, and copies unchanged objects and
            // monthly archives server-side (CopyObject reads its source, pinned to a version). Only its
            // own environment's storage snapshots: the job fetched those objects from Storage anyway.
            {
                Sid: "ReadStorageSnapshotsForCopies",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:GetObjectVersion"],
                Resource: [`${bucketArn}/${storagePrefix(environment)}*`, `${bucketArn}/${monthlyStoragePrefix(environment)}*`],
            },
            // Decrypt is not a read grant of the dumps (the writer reads only storage snapshots): S3
            // needs it to complete SSE-KMS multipart uploads and to serve those snapshot reads.
            {
                Sid: "UseVaultKeyThroughS3",
                Effect: "Allow",
                Action: ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
                Resource: kmsKeyArn,
                Condition: VIA_S3,
            },
            {
                Sid: "DenyDestructiveS3Actions",
                Effect: "Deny",
                Action: [...WRITER_DENIED_S3_ACTIONS],
                Resource: [bucketArn, `${bucketArn}/*`],
            },
            {
                Sid: "DenyKeyAdministration",
                Effect: "Deny",
                Action: [...WRITER_DENIED_KMS_ACTIONS],
                Resource: kmsKeyArn,
            },
        ],
    };
}

/**
 * The restore drill and retention audit: read objects, their versions and their retention under this
 * environment's prefixes. ListBucketVersions is read-only and is what makes GetObjectVersion usable
 * (a backup hidden behind a delete marker is only reachable by version id).
 */
export function readerPolicy(input: RolePolicyInput): PolicyDocument {
    const { bucketArn, kmsKeyArn, environment } = input;
    assertEnvironment(environment);
    assertKeyArn(kmsKeyArn);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadBackups",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"],
                Resource: backupObjectArns(bucketArn, environment),
            },
            {
                Sid: "ListBackupPrefixes",
                Effect: "Allow",
                Action: ["s3:ListBucket", "s3:ListBucketVersions"],
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": backupListPrefixes(environment) } },
            },
            {
                Sid: "DecryptThroughS3",
                Effect: "Allow",
                Action: "kms:Decrypt",
                Resource: kmsKeyArn,
                Condition: VIA_S3,
            },
        ],
    };
}

/**
 * Explicitly denied to the retention auditor. Above all BypassGovernanceRetention: with it, a delete
 * of a GOVERNANCE-locked version would succeed on request, and the audit's delete proof would then
 * test the role's privilege instead of the lock. DeleteObject (without a version id: a delete marker,
 * which hides the newest backup), writes and every configuration change are denied as for the writer.
 */
export const AUDITOR_DENIED_S3_ACTIONS = [
    "s3:BypassGovernanceRetention",
    "s3:DeleteObject",
    "s3:PutObject",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    ...VAULT_CONFIGURATION_S3_ACTIONS,
] as const;

/**
 * The quarterly retention audit (runbook 004): read every version's retention and legal hold and the
 * bucket's lock configuration, and delete object versions — the delete proof is meaningful only when
 * IAM allows the delete, so that a refusal can only come from Object Lock. What that grant really
 * allows: deleting a version of this environment whose lock has lapsed (which the lifecycle does
 * anyway); a version under retention stays undeletable because the bypass is denied. No object
 * content and no KMS: versions and their ETags come from the listing, so the key is denied outright.
 */
export function retentionAuditorPolicy(input: RolePolicyInput): PolicyDocument {
    const { bucketArn, kmsKeyArn, environment } = input;
    assertEnvironment(environment);
    assertKeyArn(kmsKeyArn);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadVersionLocks",
                Effect: "Allow",
                Action: ["s3:GetObjectRetention", "s3:GetObjectLegalHold"],
                Resource: backupObjectArns(bucketArn, environment),
            },
            {
                Sid: "DeleteProof",
                Effect: "Allow",
                Action: "s3:DeleteObjectVersion",
                Resource: backupObjectArns(bucketArn, environment),
            },
            {
                Sid: "ListBackupVersions",
                Effect: "Allow",
                Action: ["s3:ListBucket", "s3:ListBucketVersions"],
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": backupListPrefixes(environment) } },
            },
            {
                Sid: "ReadBucketLockConfiguration",
                Effect: "Allow",
                Action: "s3:GetBucketObjectLockConfiguration",
                Resource: bucketArn,
            },
            {
                Sid: "DenyBypassAndChanges",
                Effect: "Deny",
                Action: [...AUDITOR_DENIED_S3_ACTIONS],
                Resource: [bucketArn, `${bucketArn}/*`],
            },
            {
                Sid: "DenyKeyUse",
                Effect: "Deny",
                Action: "kms:*",
                Resource: kmsKeyArn,
            },
        ],
    };
}

// ---------------------------------------------------------------------------------------------
// The WAL archive (pgBackRest repository under pitr/<env>/)
//
// How pgBackRest and Object Lock fit together: pgBackRest (2.45) deletes with plain DELETEs, no
// version id. On a versioned, locked bucket such a DELETE only adds a delete marker: the locked
// version stays, noncurrent, until its retention lapses and the noncurrent-version lifecycle rule
// removes it (lib/vault/lifecycle.ts). So the archive writer may DeleteObject under its prefix (expire,
// and backup's own expire, retire what retention no longer needs) but never DeleteObjectVersion nor
// the governance bypass: what a writer deletes stays recoverable for the lock period at least.

/** `pitr/{env}/`: the pgBackRest repository of an environment (repo1-path /pitr/{env}). */
export function pitrPrefix(env: string): string {
    assertEnvironment(env);
    return `pitr/${env}/`;
}

/** Denied to the archive writer on the whole bucket: real deletion, unlocking, holds, vault changes. */
export const PITR_WRITER_DENIED_S3_ACTIONS = [
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectLegalHold",
    "s3:PutObjectRetention",
    ...VAULT_CONFIGURATION_S3_ACTIONS,
] as const;

/** Denied to the archive reader on the whole bucket: anything that writes, deletes or changes. */
export const PITR_READER_DENIED_S3_ACTIONS = [
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    ...VAULT_CONFIGURATION_S3_ACTIONS,
] as const;

/** The database dumps (daily and monthly) of every environment: the archive roles never read them. */
function dumpObjectArns(bucketArn: string): string[] {
    return [`${bucketArn}/db/*`, `${bucketArn}/monthly/db/*`];
}

/**
 * pgBackRest's writer (archive-push from the server, backup, expire, check, stanza-create): read and
 * write its repository — it reads archive.info, backup.info and the previous manifest, and writes
 * segments, backup files and those info files — delete there (delete markers only, see above), list
 * versions and read retention so `expire` can say what Object Lock keeps. Nothing outside pitr/<env>/.
 */
export function pitrWriterPolicy(input: RolePolicyInput): PolicyDocument {
    const { bucketArn, kmsKeyArn, environment } = input;
    assertBucketArn(bucketArn);
    assertKeyArn(kmsKeyArn);
    const prefix = pitrPrefix(environment);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadWriteRepository",
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObjectRetention"],
                Resource: `${bucketArn}/${prefix}*`,
            },
            {
                Sid: "ListRepository",
                Effect: "Allow",
                Action: ["s3:ListBucket", "s3:ListBucketVersions"],
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": `${prefix}*` } },
            },
            {
                Sid: "ReadBucketLockConfiguration",
                Effect: "Allow",
                Action: "s3:GetBucketObjectLockConfiguration",
                Resource: bucketArn,
            },
            {
                Sid: "UseVaultKeyThroughS3",
                Effect: "Allow",
                Action: ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"],
                Resource: kmsKeyArn,
                Condition: VIA_S3,
            },
            {
                Sid: "DenyRealDeletionAndUnlocking",
                Effect: "Deny",
                Action: [...PITR_WRITER_DENIED_S3_ACTIONS],
                Resource: [bucketArn, `${bucketArn}/*`],
            },
            {
                Sid: "DenyReadingDumps",
                Effect: "Deny",
                Action: ["s3:GetObject", "s3:GetObjectVersion"],
                Resource: dumpObjectArns(bucketArn),
            },
            {
                Sid: "DenyKeyAdministration",
                Effect: "Deny",
                Action: [...WRITER_DENIED_KMS_ACTIONS],
                Resource: kmsKeyArn,
            },
        ],
    };
}

/** pgBackRest's reader (restore drills, info, verify, health): read and list the repository, nothing else. */
export function pitrReaderPolicy(input: RolePolicyInput): PolicyDocument {
    const { bucketArn, kmsKeyArn, environment } = input;
    assertBucketArn(bucketArn);
    assertKeyArn(kmsKeyArn);
    const prefix = pitrPrefix(environment);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadRepository",
                Effect: "Allow",
                Action: "s3:GetObject",
                Resource: `${bucketArn}/${prefix}*`,
            },
            {
                Sid: "ListRepository",
                Effect: "Allow",
                Action: "s3:ListBucket",
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": `${prefix}*` } },
            },
            {
                Sid: "DecryptThroughS3",
                Effect: "Allow",
                Action: "kms:Decrypt",
                Resource: kmsKeyArn,
                Condition: VIA_S3,
            },
            {
                Sid: "DenyWrites",
                Effect: "Deny",
                Action: [...PITR_READER_DENIED_S3_ACTIONS],
                Resource: [bucketArn, `${bucketArn}/*`],
            },
            {
                Sid: "DenyReadingDumps",
                Effect: "Deny",
                Action: ["s3:GetObject", "s3:GetObjectVersion"],
                Resource: dumpObjectArns(bucketArn),
            },
        ],
    };
}

const ANY_OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/([A-Za-z0-9.-]+(?:\/[A-Za-z0-9._-]+)*)$/;

/**
 * Trust for a workload's own OIDC identity (the database host's, for archive_command with
 * repo1-s3-key-type=web-id): exactly one subject and audience of exactly one provider.
 */
export function workloadTrustPolicy(oidcProviderArn: string, subject: string, audience: string): PolicyDocument {
    const m = ANY_OIDC_PROVIDER_ARN.exec(oidcProviderArn);
    if (!m) throw new Error(`oidcProviderArn must be an IAM OIDC provider ARN (got ${JSON.stringify(oidcProviderArn)})`);
    for (const [what, v] of [["subject", subject], ["audience", audience]] as const) {
        if (typeof v !== "string" || v.length === 0 || /[*?\s]/.test(v)) throw new Error(`OIDC ${what} must be exact, without wildcards or spaces (got ${JSON.stringify(v)})`);
    }
    const host = m[1];
    return {
        Version: "2012-10-17",
        Statement: [{
            Sid: "WorkloadOidc",
            Effect: "Allow",
            Principal: { Federated: oidcProviderArn },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { [`${host}:aud`]: audience, [`${host}:sub`]: subject } },
        }],
    };
}
