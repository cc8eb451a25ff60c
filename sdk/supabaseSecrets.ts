// A set of secrets on a Supabase project (Edge Function environment); only the names this
// resource manages are written or deleted.
// Provider side: provider/resources/supabaseSecrets.ts.
import * as pulumi from "@pulumi/pulumi";
import { packageOptions, typeToken } from "./package";

export interface SupabaseProjectSecretsArgs {
    /** Project ref (e.g. SupabaseProject.ref). */
    ref: pulumi.Input<string>;
    /** Management API personal access token. Always stored as a secret. */
    accessToken: pulumi.Input<string>;
    /** name → value. Always stored as a secret. */
    secrets: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Default https://api.supabase.com. */
    apiBaseUrl?: pulumi.Input<string>;
}

export class SupabaseProjectSecrets extends pulumi.CustomResource {
    declare public readonly ref: pulumi.Output<string>;
    declare public readonly names: pulumi.Output<string[]>;

    constructor(name: string, args: SupabaseProjectSecretsArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("SupabaseProjectSecrets"),
            name,
            {
                names: undefined,
                ...args,
                accessToken: pulumi.secret(args.accessToken),
                secrets: pulumi.secret(args.secrets),
            },
            packageOptions("SupabaseProjectSecrets", opts),
        );
    }
}
