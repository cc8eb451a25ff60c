// Settings of the continuous WAL archive (pgBackRest) as one strict zod schema: the stanza, the S3
// repository inside the vault, encryption, retention and parallelism. Secrets are NOT settings: the S3
// keys and the cipher passphrase travel separately (PitrSecrets) and reach pgBackRest only through its
// PGBACKREST_* environment variables (config.ts), so a settings object can be logged, stored in stack
// state or written beside artifacts without leaking anything.
import { z } from "zod";
import { parseConfig } from "../config/errors";
import { assertEnvironment } from "../vault/keys";

// pgBackRest stanza names become directory names in the repository and a section name in its config.
const STANZA = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// A repository path inside the bucket: relative segments, no "..", no whitespace (it is joined into S3 keys).
const REPO_PATH = /^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*)*$/i;
// A posix repository directory: absolute, no "..", nothing a config line or a shell word would split.
const ABSOLUTE_DIR = /^\/(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9_./-]*$/;

const wholeNumber = (min: number, max: number, description: string) => {
    const error = `expected a whole number from ${min} to ${max}`;
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error }).describe(description);
};

const httpsEndpoint = z
    .string({ error: "expected an https:// URL such as https://s3.eu-west-1.amazonaws.com" })
    .refine((v) => {
        try {
            const u = new URL(v);
            return u.protocol === "https:" && !u.username && !u.password && (u.pathname === "/" || u.pathname === "") && !u.search;
        } catch {
            return false;
        }
    }, {
        // pgBackRest 2.45 speaks only HTTPS to S3 (plain HTTP arrived in 2.58).
        error: "expected an https:// URL with host and optional port only (pgBackRest 2.45 speaks only HTTPS to S3)",
    })
    .describe("S3 endpoint, https://host[:port]");

// The S3 repository (the vault): `type` may be left out, it is the default.
const s3RepositorySchema = z.strictObject({
    type: z.literal("s3").default("s3").describe('"s3" (default): a bucket of the vault, reached over HTTPS'),
    bucket: z.string().min(3, { error: "expected an S3 bucket name" }).describe("Vault bucket (Object Lock)"),
    endpoint: httpsEndpoint,
    region: z.string().min(1, { error: "expected an S3 region" }).describe("S3 region used for request signing"),
    /** Default pitr/<env>. */
    path: z.string().regex(REPO_PATH, { error: "expected a relative path such as pitr/prod" }).optional().describe("Repository path inside the bucket"),
    uriStyle: z.enum(["host", "path"]).default("host").describe("S3 URI style: path for S3-compatible servers on an IP"),
    keyType: z.enum(["shared", "auto", "web-id"]).default("shared").describe("shared: access keys in secrets; auto: instance role; web-id: OIDC token"),
    caFile: z.string().min(1).optional().describe("PEM CA file for the endpoint's certificate (a private CA)"),
});

// A directory repository (pgBackRest repo1-type=posix): the local demo, or a mounted volume. It must be
// writable by the OS user PostgreSQL runs as (archive_command and restores run as that user).
const posixRepositorySchema = z.strictObject({
    type: z.literal("posix").describe('"posix": a directory on this machine or a mounted volume'),
    path: z
        .string({ error: "expected an absolute directory path such as /var/lib/pgbackrest" })
        .regex(ABSOLUTE_DIR, { error: "expected an absolute directory path such as /var/lib/pgbackrest (no spaces, no ..)" })
        .describe("Repository directory (pgBackRest repo1-path)"),
});

export const pitrSettingsSchema = z.strictObject({
    env: z.string().refine((v) => {
        try {
            assertEnvironment(v);
            return true;
        } catch {
            return false;
        }
    }, { error: "expected an environment name (lowercase letters, digits, - or _)" }).describe("Environment whose archive this is; the repository lives under pitr/<env> in the vault"),
    stanza: z.string().regex(STANZA, { error: "expected 1-63 lowercase letters, digits, - or _" }).describe("pgBackRest stanza name"),
    repository: z
        .discriminatedUnion("type", [s3RepositorySchema, posixRepositorySchema], {
            error: 'expected {type: "s3" (the default), bucket, endpoint, region, …} or {type: "posix", path}',
        })
        .describe("Where the archive is: an S3 bucket (the vault), or a directory (local demo, a mounted volume)"),
    cipher: z.enum(["aes-256-cbc", "none"]).default("aes-256-cbc").describe("Repository encryption; the passphrase is a secret"),
    retention: z.strictObject({
        full: wholeNumber(1, 9999, "Full backups to keep"),
        diff: wholeNumber(1, 9999, "Differential backups to keep").optional(),
    }),
    processMax: wholeNumber(1, 64, "Parallel processes for backup, restore, archive").default(2),
    /** RPO target in seconds for the freshness check (hosted Supabase: about 120). */
    rpoSeconds: wholeNumber(1, 86_400 * 7, "RPO target in seconds: the newest archived WAL may be at most this old").default(300),
    /** The newest backup may be at most this old. */
    maxBackupAgeHours: wholeNumber(1, 24 * 60, "Newest backup may be at most this many hours old").default(26),
});

export type PitrSettingsInput = z.input<typeof pitrSettingsSchema>;
export type PitrSettings = z.output<typeof pitrSettingsSchema>;
export type S3Repository = z.output<typeof s3RepositorySchema>;
export type PosixRepository = z.output<typeof posixRepositorySchema>;

/** Secrets handed to pgBackRest through its environment, never through argv or a config file. */
export interface PitrSecrets {
    /** Required for an S3 repository unless repository.keyType is "auto" or "web-id". */
    s3Key?: string;
    s3KeySecret?: string;
    s3Token?: string;
    /** Required unless cipher is "none". */
    cipherPass?: string;
}

/** Validates settings (unknown keys rejected, every problem named with its path). */
export function parsePitrSettings(value: unknown, root = "supabase-dr:pitr"): PitrSettings {
    return parseConfig(pitrSettingsSchema, value, root);
}

/** repo1-path: inside the bucket, the configured path or pitr/<env>; a posix repository's directory. */
export function repositoryPath(settings: PitrSettings): string {
    const repo = settings.repository;
    if (repo.type === "posix") return repo.path.replace(/\/+$/, "") || "/";
    return "/" + (repo.path ?? `pitr/${settings.env}`);
}

/** Throws naming the missing secret (never its value) when settings require one that is absent. */
export function assertSecretsPresent(settings: PitrSettings, secrets: PitrSecrets): void {
    const missing: string[] = [];
    if (settings.repository.type === "s3" && settings.repository.keyType === "shared") {
        if (!secrets.s3Key) missing.push("s3Key (PGBACKREST_REPO1_S3_KEY)");
        if (!secrets.s3KeySecret) missing.push("s3KeySecret (PGBACKREST_REPO1_S3_KEY_SECRET)");
    }
    if (settings.cipher !== "none" && !secrets.cipherPass) missing.push("cipherPass (PGBACKREST_REPO1_CIPHER_PASS)");
    if (missing.length) throw new Error(`pgBackRest secrets missing: ${missing.join(", ")}`);
}
