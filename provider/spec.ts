// The resource types of the supabase-dr provider package and which of their properties are secret.
// Plain data shared by the plugin (provider/server.ts wraps these outputs as secrets) and the
// programs' resource classes (sdk/, which also declare them as additionalSecretOutputs): one list,
// so the two sides cannot disagree about what must never be stored in clear.
export const PACKAGE = "supabase-dr";

export const RESOURCE_SECRETS = {
    ScratchCluster: ["adminUrl", "ownerToken"],
    ScratchDatabase: ["adminUrl", "connectionString", "ownerToken"],
    BackupArtifact: ["sourceUrl"],
    Restore: ["targetUrl", "protectedSourceUrl"],
    Validation: ["targetUrl", "sourceUrl"],
    Masking: ["targetUrl", "sourceUrl", "salt"],
    SmokeTest: ["bearerToken", "apiKey", "checks"],
    DrillReport: ["redactValues"],
    StorageRestore: ["serviceKey", "vault", "ownerToken"],
    SupabaseProject: ["accessToken", "poolerUrl", "directUrl", "connectionString", "dbPassword", "anonKey", "serviceRoleKey"],
    SupabaseProjectSecrets: ["accessToken", "secrets"],
    ImmutabilityPolicyLock: ["token"],
    PitrRestore: ["secrets", "adminUrl", "connectionString", "ownerToken"],
    PitrValidation: ["targetUrl", "sourceUrl", "secrets"],
    RecoverRehearsal: ["targetUrl", "sourceUrl"],
} as const satisfies Record<string, readonly string[]>;

export type ResourceName = keyof typeof RESOURCE_SECRETS;

/** The type token of a resource of this package: `supabase-dr:index:<Name>`. */
export function typeToken(name: ResourceName): string {
    return `${PACKAGE}:index:${name}`;
}
