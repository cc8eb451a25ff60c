// The WAL archive's place in the vault (issue 11): pgBackRest's repository under pitr/<env>/ of the
// backup bucket — so it has the vault's Object Lock, SSE-KMS key, TLS-only policy and lifecycle — a
// writer role (archive-push, backup, check, expire) and a reader role (restore drills, info, verify,
// health), both assumable only through OIDC, and the pgBackRest configuration for the server,
// generated from stack config and free of secrets (the cipher passphrase is a Pulumi secret that
// reaches the jobs as the GitHub secret PITR_CIPHER_PASS, and the server through its environment).
//
// Retention under Object Lock: the repository has no lifecycle expiration of current objects.
// pgBackRest's expire retires what its retention no longer needs with plain DELETEs, which on a
// locked, versioned bucket add delete markers; the locked versions stay until their retention lapses
// and the bucket's noncurrent-version rule deletes them (lib/vault/lifecycle.ts, lib/vault/policies.ts).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { jobSettings, s3Endpoint, serverConfigText, type InfraPitrConfig, type RepositoryLocation } from "../lib/infra/pitrConfig";
import { assertEnvironment } from "../lib/vault/keys";
import {
    environmentSubject,
    githubTrustPolicy,
    pitrPrefix,
    pitrReaderPolicy,
    pitrWriterPolicy,
    workloadTrustPolicy,
    type GithubRepository,
    type PolicyDocument,
} from "../lib/vault/policies";

export interface PitrRepositoryArgs {
    environment: string;
    bucketName: pulumi.Input<string>;
    bucketArn: pulumi.Input<string>;
    kmsKeyArn: pulumi.Input<string>;
    /** The bucket's region (aws:region): pgBackRest signs for it and talks to its regional endpoint. */
    region: string;
    pitr: InfraPitrConfig;
    /** The repository and the GitHub environment of the scheduled PITR jobs (backup, check, health). */
    github: GithubRepository & { environment: string };
    /** The account's GitHub OIDC provider (BackupAccess creates or reuses it). */
    oidcProviderArn: pulumi.Input<string>;
    tags?: Record<string, string>;
}

// Short sessions, as for the vault's other roles: a leaked token is useless within the hour.
const MAX_SESSION_SECONDS = 3600;

/** The writer's trust: the jobs' GitHub environment, plus the database host's own identity when configured. */
export function pitrWriterTrust(args: Pick<PitrRepositoryArgs, "github" | "pitr">, githubProviderArn: string): PolicyDocument {
    const doc = githubTrustPolicy(githubProviderArn, [environmentSubject(args.github, args.github.environment)]);
    const id = args.pitr.serverIdentity;
    if (id) doc.Statement.push(...workloadTrustPolicy(id.oidcProviderArn, id.subject, id.audience).Statement);
    return doc;
}

export class PitrRepository extends pulumi.ComponentResource {
    public readonly writerRoleArn: pulumi.Output<string>;
    public readonly readerRoleArn: pulumi.Output<string>;
    /** bucket, region, endpoint, prefix (pitr/<env>/), path (/pitr/<env>, repo1-path) and s3Uri. */
    public readonly repository: pulumi.Output<RepositoryLocation & { path: string; s3Uri: string }>;
    /** pgBackRest configuration for the server (no secret). */
    public readonly serverConfig: pulumi.Output<string>;
    /** What the scheduled jobs read from the GitHub variable PITR_SETTINGS (JSON, no secret). */
    public readonly jobSettingsJson: pulumi.Output<string>;

    constructor(name: string, args: PitrRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate before registering anything, so bad arguments leave no half-built component behind.
        try {
            assertEnvironment(args.environment);
            environmentSubject(args.github, args.github.environment);
            s3Endpoint(args.region);
        } catch (err) {
            throw new Error(`PitrRepository ${(err as Error).message}`);
        }
        super("supabase-dr:aws:PitrRepository", name, {}, opts);
        const env = args.environment;
        const tags = { "supabase-dr:environment": env, "supabase-dr:component": "pitr-repository", ...args.tags };
        const prefix = pitrPrefix(env);

        const writer = new aws.iam.Role(`${name}-writer`, {
            description: `supabase-dr ${env}: pgBackRest writes the WAL archive under ${prefix} (archive-push, backup, expire); cannot delete versions or unlock`,
            assumeRolePolicy: pulumi.output(args.oidcProviderArn).apply((arn) => JSON.stringify(pitrWriterTrust(args, arn))),
            maxSessionDuration: MAX_SESSION_SECONDS,
            tags,
        }, { parent: this });
        const reader = new aws.iam.Role(`${name}-reader`, {
            description: `supabase-dr ${env}: pgBackRest reads the WAL archive under ${prefix} (restore drills, verify, health)`,
            assumeRolePolicy: pulumi.output(args.oidcProviderArn).apply((arn) =>
                JSON.stringify(githubTrustPolicy(arn, [environmentSubject(args.github, args.github.environment)]))),
            maxSessionDuration: MAX_SESSION_SECONDS,
            tags,
        }, { parent: this });

        const resolved = pulumi.all([args.bucketArn, args.kmsKeyArn]);
        new aws.iam.RolePolicy(`${name}-writer-policy`, {
            role: writer.id,
            policy: resolved.apply(([bucketArn, kmsKeyArn]) => JSON.stringify(pitrWriterPolicy({ bucketArn, kmsKeyArn, environment: env }))),
        }, { parent: this });
        new aws.iam.RolePolicy(`${name}-reader-policy`, {
            role: reader.id,
            policy: resolved.apply(([bucketArn, kmsKeyArn]) => JSON.stringify(pitrReaderPolicy({ bucketArn, kmsKeyArn, environment: env }))),
        }, { parent: this });

        const location = pulumi.output(args.bucketName).apply((bucket): RepositoryLocation => ({
            environment: env,
            bucket,
            region: args.region,
            endpoint: s3Endpoint(args.region),
            prefix,
        }));
        this.writerRoleArn = writer.arn;
        this.readerRoleArn = reader.arn;
        this.repository = location.apply((l) => ({ ...l, path: `/${prefix.replace(/\/$/, "")}`, s3Uri: `s3://${l.bucket}/${prefix}` }));
        this.serverConfig = location.apply((l) => serverConfigText(args.pitr, l));
        this.jobSettingsJson = location.apply((l) => JSON.stringify(jobSettings(args.pitr, l)));
        this.registerOutputs({
            writerRoleArn: this.writerRoleArn,
            readerRoleArn: this.readerRoleArn,
            repository: this.repository,
            serverConfig: this.serverConfig,
            jobSettingsJson: this.jobSettingsJson,
        });
    }
}
