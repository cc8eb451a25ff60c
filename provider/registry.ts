// Which adapter serves which resource type. Loaded on first use: a drill needs the PostgreSQL
// adapters, an infrastructure stack only the Azure lock, and the AWS/Azure SDKs behind the vault
// adapters are costly to initialise in a provider process that does not need them.
import type * as pulumi from "@pulumi/pulumi";
import type { ResourceName } from "./spec";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each adapter has its own input/output types
export type Adapter = pulumi.dynamic.ResourceProvider<any, any>;

export const ADAPTERS: Record<ResourceName, () => Promise<Adapter>> = {
    ScratchCluster: async () => (await import("./resources/scratchCluster")).scratchClusterProvider,
    ScratchDatabase: async () => (await import("./resources/scratchDatabase")).scratchDatabaseProvider,
    BackupArtifact: async () => (await import("./resources/backupArtifact")).backupArtifactProvider,
    Restore: async () => (await import("./resources/restore")).restoreProvider,
    Validation: async () => (await import("./resources/validation")).validationProvider,
    Masking: async () => (await import("./resources/masking")).maskingProvider,
    SmokeTest: async () => (await import("./resources/smokeTest")).smokeTestProvider,
    DrillReport: async () => (await import("./resources/drillReport")).drillReportProvider,
    StorageRestore: async () => (await import("./resources/storageRestore")).storageRestoreProvider,
    SupabaseProject: async () => (await import("./resources/supabaseProject")).supabaseProjectProvider,
    SupabaseProjectSecrets: async () => (await import("./resources/supabaseSecrets")).supabaseSecretsProvider,
    ImmutabilityPolicyLock: async () => (await import("./resources/immutabilityPolicyLock")).immutabilityPolicyLockProvider,
    PitrRestore: async () => (await import("./resources/pitrRestore")).pitrRestoreProvider,
    PitrValidation: async () => (await import("./resources/pitrRestore")).pitrValidationProvider,
    RecoverRehearsal: async () => (await import("./resources/recoverRehearsal")).recoverRehearsalProvider,
};
