// Who may touch the vault (issue 4): a backup-writer role that can only add backups, a drill-reader
// role that can only read them, and a retention-auditor role for the quarterly audit's delete proof
// (allowed to delete versions, never to bypass a lock), all assumable solely by this repository's
// GitHub Actions jobs through OIDC, so no long-lived AWS keys exist anywhere.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assertEnvironment } from "../lib/vault/keys";
import {
    assertGitBranch,
    assertGithubEnvironment,
    assertGithubRepository,
    branchSubject,
    environmentSubject,
    githubTrustPolicy,
    GITHUB_OIDC_URL,
    readerPolicy,
    retentionAuditorPolicy,
    STS_AUDIENCE,
    writerPolicy,
    type GithubRepository,
} from "../lib/vault/policies";

export interface GithubTrustArgs extends GithubRepository {
    /** Branch whose runs are trusted when no GitHub environment is used (default "main"). */
    branch?: string;
    /** GitHub environment of the backup job (e.g. "prod"); when set the writer trusts only it. */
    environment?: string;
    /** GitHub environment of the drill job, if it declares one; trusted by the reader besides the branch. */
    drillEnvironment?: string;
    /** GitHub environment of the quarterly retention audit job (default: environment); trusted by the auditor. */
    auditEnvironment?: string;
}

export interface BackupAccessArgs {
    environment: string;
    bucketArn: pulumi.Input<string>;
    kmsKeyArn: pulumi.Input<string>;
    github: GithubTrustArgs;
    /** Create the account's GitHub OIDC provider (one per account); or pass an existing provider's ARN. */
    oidcProviderArn?: pulumi.Input<string>;
    tags?: Record<string, string>;
}

// Short sessions: a leaked token from a CI log is useless within the hour.
const MAX_SESSION_SECONDS = 3600;

interface TrustSubjects {
    writer: string[];
    reader: string[];
    auditor: string[];
}

/**
 * Validates the GitHub arguments and derives the exact `sub` claims each role trusts.
 * Writer: the backup job's GitHub environment when given (its protection rules then gate backups),
 * else the branch. Reader: the branch (scheduled and manually dispatched drills run on the default
 * branch) plus the drill's own environment when it declares one. Pull-request runs
 * (`repo:o/r:pull_request`) are never trusted.
 */
export function trustSubjects(args: BackupAccessArgs): TrustSubjects {
    const gh = args.github;
    try {
        assertEnvironment(args.environment);
        if (!gh || typeof gh !== "object") throw new Error("github must be { owner, repository, branch?, environment? }");
        assertGithubRepository(gh);
        assertGitBranch(gh.branch ?? "main");
        if (gh.environment !== undefined) assertGithubEnvironment("github.environment", gh.environment);
        if (gh.drillEnvironment !== undefined) assertGithubEnvironment("github.drillEnvironment", gh.drillEnvironment);
        if (gh.auditEnvironment !== undefined) assertGithubEnvironment("github.auditEnvironment", gh.auditEnvironment);
    } catch (err) {
        throw new Error(`BackupAccess ${(err as Error).message}`);
    }
    const onBranch = branchSubject(gh, gh.branch ?? "main");
    const writer = gh.environment !== undefined ? [environmentSubject(gh, gh.environment)] : [onBranch];
    const reader = gh.drillEnvironment !== undefined ? [onBranch, environmentSubject(gh, gh.drillEnvironment)] : [onBranch];
    // The audit job declares its GitHub environment (the backup job's), so its token carries that
    // environment's subject and never the branch's: trusting only it keeps the delete-capable role
    // behind the environment's branch rules.
    const auditEnvironment = gh.auditEnvironment ?? gh.environment;
    const auditor = auditEnvironment !== undefined ? [environmentSubject(gh, auditEnvironment)] : [onBranch];
    return { writer, reader, auditor };
}

export class BackupAccess extends pulumi.ComponentResource {
    public readonly writerRoleArn: pulumi.Output<string>;
    public readonly readerRoleArn: pulumi.Output<string>;
    /** The quarterly retention audit's role: may delete versions (the proof), never bypass a lock. */
    public readonly auditorRoleArn: pulumi.Output<string>;
    public readonly oidcProviderArn: pulumi.Output<string>;

    constructor(name: string, args: BackupAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate before registering anything, so bad arguments leave no half-built component behind.
        const subjects = trustSubjects(args);
        super("supabase-dr:aws:BackupAccess", name, {}, opts);
        const env = args.environment;
        const tags = { "supabase-dr:environment": env, "supabase-dr:component": "backup-access", ...args.tags };

        // AWS validates GitHub's certificate against its own trusted CAs, so no thumbprint is pinned
        // (a pinned one breaks whenever GitHub rotates its certificate chain).
        const providerArn: pulumi.Output<string> = args.oidcProviderArn !== undefined
            ? pulumi.output(args.oidcProviderArn)
            : new aws.iam.OpenIdConnectProvider(`${name}-github-oidc`, {
                url: GITHUB_OIDC_URL,
                clientIdLists: [STS_AUDIENCE],
                tags,
            }, { parent: this }).arn;

        const role = (suffix: string, description: string, trusted: string[]) => new aws.iam.Role(`${name}-${suffix}`, {
            description,
            assumeRolePolicy: providerArn.apply((arn) => JSON.stringify(githubTrustPolicy(arn, trusted))),
            maxSessionDuration: MAX_SESSION_SECONDS,
            tags,
        }, { parent: this });

        const writer = role("writer", `supabase-dr ${env}: GitHub Actions backup job puts backups; cannot delete or unlock`, subjects.writer);
        const reader = role("reader", `supabase-dr ${env}: GitHub Actions restore drill reads backups`, subjects.reader);
        const auditor = role("auditor", `supabase-dr ${env}: GitHub Actions retention audit reads locks and proves a locked version cannot be deleted; no governance bypass`, subjects.auditor);

        // Inline policies live and die with their role: nothing to detach, nothing reusable elsewhere.
        const resolved = pulumi.all([args.bucketArn, args.kmsKeyArn]);
        new aws.iam.RolePolicy(`${name}-writer-policy`, {
            role: writer.id,
            policy: resolved.apply(([bucketArn, kmsKeyArn]) =>
                JSON.stringify(writerPolicy({ bucketArn, kmsKeyArn, environment: env }))),
        }, { parent: this });
        new aws.iam.RolePolicy(`${name}-reader-policy`, {
            role: reader.id,
            policy: resolved.apply(([bucketArn, kmsKeyArn]) =>
                JSON.stringify(readerPolicy({ bucketArn, kmsKeyArn, environment: env }))),
        }, { parent: this });
        new aws.iam.RolePolicy(`${name}-auditor-policy`, {
            role: auditor.id,
            policy: resolved.apply(([bucketArn, kmsKeyArn]) =>
                JSON.stringify(retentionAuditorPolicy({ bucketArn, kmsKeyArn, environment: env }))),
        }, { parent: this });

        this.writerRoleArn = writer.arn;
        this.readerRoleArn = reader.arn;
        this.auditorRoleArn = auditor.arn;
        this.oidcProviderArn = providerArn;
        this.registerOutputs({
            writerRoleArn: this.writerRoleArn,
            readerRoleArn: this.readerRoleArn,
            auditorRoleArn: this.auditorRoleArn,
            oidcProviderArn: this.oidcProviderArn,
        });
    }
}
