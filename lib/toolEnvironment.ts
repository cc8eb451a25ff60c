// The environment a child process (pg_dump, psql, pgBackRest, initdb, postgres, pg_config's shell) starts
// with: ours, minus every secret it has no use for.
//
// Why: the Pulumi engine starts provider plugins with the program's whole configuration, secrets decrypted,
// in PULUMI_CONFIG (sdk/go/common/resource/plugin/provider_plugin.go), beside the inherited
// PULUMI_CONFIG_PASSPHRASE. Whatever the provider starts inherits both unless it is told otherwise, and a
// scratch PostgreSQL server started by a drill keeps its start-up environment readable in
// /proc/<pid>/environ for as long as it runs. A tool gets the one secret it needs from its caller
// (PGPASSWORD of the server it talks to, the stanza's repository key), never the rest.

/** Variables that hold secrets of the engine or of this project's configuration (see lib/infra/config.ts). */
export const SECRET_ENVIRONMENT_VARIABLES: readonly string[] = [
    // The engine's: decrypted program config for plugins, the secrets passphrase, a Pulumi Cloud token.
    "PULUMI_CONFIG",
    "PULUMI_CONFIG_PASSPHRASE",
    "PULUMI_ACCESS_TOKEN",
    // Ours: what CI and the README put in the environment for drills, backups and recovery.
    "SOURCE_DB_URL",
    "TARGET_DB_URL",
    "LIVE_DB_URL",
    "SUPABASE_ACCESS_TOKEN",
    "SUPABASE_SERVICE_ROLE_KEY",
    "API_BEARER_TOKEN",
    "MASKING_SALT",
    // Cloud keys a drill or backup reads its vault with (the SDK reads them in-process): no PostgreSQL
    // tool uses them, and the scratch server runs as another OS user, for as long as the drill lasts.
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
    // A PITR archive's secrets as the drill reads them; pgBackRest gets them from its caller
    // (lib/pitr/runner.ts pgBackRestEnvironment), never by inheritance.
    "PGBACKREST_REPO1_S3_KEY",
    "PGBACKREST_REPO1_S3_KEY_SECRET",
    "PGBACKREST_REPO1_S3_TOKEN",
    "PGBACKREST_REPO1_CIPHER_PASS",
    "PITR_CIPHER_PASS",
    // Alarm and dead-man's-switch URLs carry their own tokens.
    "WEBHOOK_URL",
    "HEALTHCHECK_URL",
    "ALERT_WEBHOOK_URL",
    "FRESHNESS_HEALTHCHECK_URL",
    // GitHub Actions: with id-token: write, these two mint an OIDC token for the job's cloud roles —
    // holding them is as good as holding the role's keys; the job token and service principal secrets.
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_RUNTIME_TOKEN",
    "GITHUB_TOKEN",
    "AZURE_CLIENT_SECRET",
    "ARM_CLIENT_SECRET",
];

/** A copy of `base` without the secret variables, with `extra` laid over it (its secrets are the caller's choice). */
export function toolEnvironment(extra: NodeJS.ProcessEnv = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...base };
    for (const name of SECRET_ENVIRONMENT_VARIABLES) delete env[name];
    for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
    return env;
}

/**
 * Removes the engine's secrets from this process's own environment, so nothing it starts can inherit them,
 * including calls that pass no `env` (execFileSync's default). For the provider plugin, which gets its
 * configuration through Configure and has no use for PULUMI_CONFIG. Our own variables stay: a CLI reads them.
 */
export function dropEngineSecretsFromEnvironment(): void {
    for (const name of ["PULUMI_CONFIG", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN"]) delete process.env[name];
}
