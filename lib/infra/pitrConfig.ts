// Stack config of the WAL archive (`supabase-dr:pitr` in Pulumi.<stack>.yaml) as one strict zod
// schema: the pgBackRest options that are ours to choose (stanza, retention, parallelism, encryption,
// RPO and backup-age limits, reused from lib/pitr/settings.ts), the server the archive backs up, and
// optionally the OIDC identity its archive_command pushes WAL with. Where the repository lives is not
// configurable: the stack puts it in its own vault under pitr/<env>/ (repository.path in PitrSettings).
// Unknown keys are rejected and every problem names its full property path.
import { z } from "zod";
import { renderConfig, type PgServer } from "../pitr/config";
import { parsePitrSettings, pitrSettingsSchema, type PitrSettings } from "../pitr/settings";
import { parseConfig } from "../config/errors";

export const PITR_CONFIG_KEY = "supabase-dr:pitr";

const ABSOLUTE_PATH = /^\/[A-Za-z0-9_./@+-]*$/;
const absolutePath = (description: string) =>
    z.string({ error: "expected an absolute path" })
        .regex(ABSOLUTE_PATH, { error: "expected an absolute path of letters, digits and _ . / @ + - (no spaces or quotes)" })
        .refine((p) => !p.split("/").includes(".."), { error: "expected a path without .. segments" })
        .describe(description);

/** The PostgreSQL server whose WAL is archived, as pgBackRest on that host sees it. */
export const pitrServerSchema = z.strictObject({
    dataDir: absolutePath("PGDATA of the server (pg1-path)"),
    port: z.number({ error: "expected a TCP port" }).int({ error: "expected a TCP port" }).min(1, { error: "expected a TCP port" }).max(65535, { error: "expected a TCP port" }).default(5432).describe("Server port (pg1-port)"),
    socketDir: absolutePath("Unix socket directory (pg1-socket-path)").default("/var/run/postgresql"),
    user: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "expected a database role name such as postgres" }).default("postgres").describe("Superuser pgBackRest connects as (pg1-user)"),
    /** Where the generated configuration lives on the server; archive_command names it. */
    configFile: absolutePath("pgBackRest configuration file on the server").default("/etc/pgbackrest/pgbackrest.conf"),
    logPath: absolutePath("pgBackRest log directory on the server").default("/var/log/pgbackrest"),
    lockPath: absolutePath("pgBackRest lock directory on the server").default("/tmp/pgbackrest"),
    spoolPath: absolutePath("pgBackRest spool directory on the server").default("/var/spool/pgbackrest"),
    /**
     * Where archive_command takes S3 credentials on the server: web-id (the host's OIDC identity,
     * serverIdentity), auto (an instance role) or shared (keys in the server's environment). Default:
     * web-id with serverIdentity, else auto.
     */
    archiveKeyType: z.enum(["shared", "auto", "web-id"]).optional().describe("S3 credentials of archive_command on the server"),
});

export type PitrServerSettings = z.output<typeof pitrServerSchema>;

const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/[A-Za-z0-9.-]+(\/[A-Za-z0-9._-]+)*$/;

/**
 * The database host's own OIDC identity (an EKS service account, a workload identity), for
 * archive_command with repo1-s3-key-type=web-id: pgBackRest exchanges the token in
 * AWS_WEB_IDENTITY_TOKEN_FILE for the archive writer role (AWS_ROLE_ARN). Exact subject, no wildcard.
 */
export const pitrServerIdentitySchema = z.strictObject({
    oidcProviderArn: z.string().regex(OIDC_PROVIDER_ARN, { error: "expected an IAM OIDC provider ARN such as arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC" }).describe("IAM OIDC provider of the database host's identity"),
    subject: z.string().min(1).regex(/^[^*?\s]+$/, { error: "expected the exact sub claim, without wildcards or spaces" }).describe("Exact sub claim, e.g. system:serviceaccount:db:postgres"),
    audience: z.string().min(1).regex(/^[^*?\s]+$/, { error: "expected the exact aud claim, without wildcards or spaces" }).default("sts.amazonaws.com").describe("Exact aud claim"),
});

const s = pitrSettingsSchema.shape;

export const infraPitrSchema = z.strictObject({
    stanza: s.stanza,
    cipher: s.cipher,
    retention: s.retention,
    processMax: s.processMax,
    rpoSeconds: s.rpoSeconds,
    maxBackupAgeHours: s.maxBackupAgeHours,
    server: pitrServerSchema,
    serverIdentity: pitrServerIdentitySchema.optional(),
});

export type InfraPitrConfig = z.output<typeof infraPitrSchema>;

/** Validates `supabase-dr:pitr` (every problem named with its path, unknown keys rejected). */
export function parseInfraPitrConfig(value: unknown): InfraPitrConfig {
    return parseConfig(infraPitrSchema, value, PITR_CONFIG_KEY);
}

/** The regional S3 endpoint pgBackRest talks to (HTTPS only in 2.45). */
export function s3Endpoint(region: string): string {
    if (!/^[a-z]{2}(-[a-z0-9]+)+-\d$/.test(region)) throw new Error(`aws:region must be an AWS region such as eu-west-1 (got ${JSON.stringify(region)})`);
    return `https://s3.${region}.amazonaws.com`;
}

export interface RepositoryLocation {
    environment: string;
    bucket: string;
    region: string;
    endpoint: string;
    /** Key prefix inside the bucket, "pitr/<env>/". */
    prefix: string;
}

/**
 * The PitrSettings the stack's pgBackRest configuration is rendered from. keyType decides where
 * pgBackRest takes S3 credentials: web-id on a host with an OIDC identity, auto with an instance role,
 * shared with temporary keys in its environment (the GitHub jobs after configure-aws-credentials).
 */
export function stackPitrSettings(pitr: InfraPitrConfig, repo: RepositoryLocation, keyType: "shared" | "auto" | "web-id"): PitrSettings {
    return parsePitrSettings({
        env: repo.environment,
        stanza: pitr.stanza,
        repository: { bucket: repo.bucket, endpoint: repo.endpoint, region: repo.region, path: repo.prefix.replace(/\/$/, ""), uriStyle: "host", keyType },
        cipher: pitr.cipher,
        retention: pitr.retention,
        processMax: pitr.processMax,
        rpoSeconds: pitr.rpoSeconds,
        maxBackupAgeHours: pitr.maxBackupAgeHours,
    }, PITR_CONFIG_KEY);
}

/** The credentials archive_command uses on the server (see pitrServerSchema.archiveKeyType). */
export function serverKeyType(pitr: InfraPitrConfig): "shared" | "auto" | "web-id" {
    return pitr.server.archiveKeyType ?? (pitr.serverIdentity ? "web-id" : "auto");
}

export function pgServerOf(server: PitrServerSettings): PgServer {
    return { dataDir: server.dataDir, port: server.port, socketDir: server.socketDir, user: server.user };
}

/** The pgBackRest configuration file for the database server: no secret in it (lib/pitr/config.ts). */
export function serverConfigText(pitr: InfraPitrConfig, repo: RepositoryLocation): string {
    const server = pitr.server;
    return renderConfig(stackPitrSettings(pitr, repo, serverKeyType(pitr)), pgServerOf(server), {
        logPath: server.logPath,
        lockPath: server.lockPath,
        spoolPath: server.spoolPath,
    });
}

/**
 * The settings the scheduled jobs run `npm run pitr` with (the GitHub variable PITR_SETTINGS): the
 * PitrSettings with keyType shared — configure-aws-credentials hands them the role's temporary keys —
 * and the server section. No secret: the cipher passphrase is the secret PITR_CIPHER_PASS.
 */
export function jobSettings(pitr: InfraPitrConfig, repo: RepositoryLocation): Record<string, unknown> {
    return { ...stackPitrSettings(pitr, repo, "shared"), server: { ...pitr.server, archiveKeyType: serverKeyType(pitr) } };
}
