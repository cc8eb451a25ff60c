// The drill stack's program, shared by index.ts (`pulumi up` of a drill-* stack) and the drill
// command's Automation API inline program: both read the stack's config, so both run the same drill.
import * as pulumi from "@pulumi/pulumi";
import { RestoreDrill, type DrillTarget, type RestoreDrillArgs, type RestoreSettings, type SupabaseTargetSettings } from "../components/RestoreDrill";
import { CONFIG_NAMESPACE, drillArgsFromConfig } from "../lib/drill/config";
import type { UserDrillSettings } from "../lib/drill/settingsSchema";

// What lib/drill reads from config must stay assignable to what the drill component takes (checked
// here, where both are known: lib/ does not import the components).
type Assignable<T extends U, U> = T;
export type _SettingsMatchTheComponent = [
    Assignable<ReturnType<typeof drillArgsFromConfig>, RestoreDrillArgs>,
    Assignable<NonNullable<UserDrillSettings["restore"]>, RestoreSettings>,
    Assignable<Omit<Extract<NonNullable<UserDrillSettings["target"]>, { kind: "supabase-project" }>, "kind">, SupabaseTargetSettings>,
];

export function drillProgram(): Record<string, pulumi.Output<unknown>> {
    const config = new pulumi.Config(CONFIG_NAMESPACE);
    // Secrets are read as plain strings to validate their form (errors never quote them); they enter
    // the resources wrapped as secrets again below.
    const secret = (key: string) => pulumi.runtime.getConfig(`${CONFIG_NAMESPACE}:${key}`);
    const args = drillArgsFromConfig(
        config.getObject("drill"),
        {
            sourceDbUrl: secret("sourceDbUrl"),
            targetDbUrl: secret("targetDbUrl"),
            supabaseAccessToken: secret("supabaseAccessToken"),
            apiBearerToken: secret("apiBearerToken"),
            maskingSalt: secret("maskingSalt"),
            storageServiceKey: secret("storageServiceKey"),
            pitrS3Key: secret("pitrS3Key"),
            pitrS3KeySecret: secret("pitrS3KeySecret"),
            pitrS3Token: secret("pitrS3Token"),
            pitrCipherPass: secret("pitrCipherPass"),
        },
        pulumi.getStack(),
    );
    const drill = new RestoreDrill("drill", {
        ...args,
        sourceUrl: args.sourceUrl === undefined ? undefined : pulumi.secret(args.sourceUrl),
        target: secretTarget(args.target),
        masking: args.masking && { ...args.masking, salt: args.masking.salt === undefined ? undefined : pulumi.secret(args.masking.salt) },
        storage: args.storage && { ...args.storage, serviceKey: pulumi.secret(args.storage.serviceKey) },
        smoke: args.smoke && { ...args.smoke, bearerToken: args.smoke.bearerToken === undefined ? undefined : pulumi.secret(args.smoke.bearerToken) },
        pitr: args.pitr && { ...args.pitr, secrets: pulumi.secret(args.pitr.secrets) },
    });
    return {
        status: drill.status,
        summaryPath: drill.summaryPath,
        reportJsonPath: drill.reportJsonPath,
        scratchDatabase: drill.scratchDatabase,
        rtoSeconds: drill.rtoSeconds,
        rpoSeconds: drill.rpoSeconds,
    };
}

/** A target's credential enters the resources as a secret; the drill's own cluster has none. */
function secretTarget(target: DrillTarget): DrillTarget {
    switch (target.kind) {
        case "cluster":
            return target;
        case "database":
            return { ...target, adminUrl: pulumi.secret(target.adminUrl) };
        case "supabase-project":
            return { ...target, accessToken: pulumi.secret(target.accessToken) };
    }
}
