// A scratch Supabase project created through the Management API for a drill and deleted with it.
// It offers `connectionString` and `databaseName` like ScratchDatabase, so a drill can restore into it,
// and the project's API (`apiUrl`, its anon and service_role keys as secrets) for smoke tests.
// Provider side: provider/resources/supabaseProject.ts.
import * as pulumi from "@pulumi/pulumi";
import { packageOptions, typeToken } from "./package";

export interface SupabaseProjectArgs {
    /** Management API personal access token (sbp_…). Always stored as a secret. */
    accessToken: pulumi.Input<string>;
    /** Organization slug. */
    organization: pulumi.Input<string>;
    /** Region code (eu-central-1, …) or smart group (americas, emea, apac). */
    region: pulumi.Input<string>;
    /** desired_instance_size (micro, small, …). */
    instanceSize?: pulumi.Input<string>;
    /** Start of the generated project name. Default "drill". */
    namePrefix?: pulumi.Input<string>;
    /** Default https://api.supabase.com. */
    apiBaseUrl?: pulumi.Input<string>;
    /** The projects' API URL, `{ref}` standing for the ref. Default https://{ref}.supabase.co. */
    projectApiUrl?: pulumi.Input<string>;
    /** How long to wait for ACTIVE_HEALTHY and healthy services. Default 600. */
    readyTimeoutSeconds?: pulumi.Input<number>;
    /** Default 5. */
    pollIntervalSeconds?: pulumi.Input<number>;
}

export class SupabaseProject extends pulumi.CustomResource {
    declare public readonly ref: pulumi.Output<string>;
    declare public readonly name: pulumi.Output<string>;
    declare public readonly region: pulumi.Output<string>;
    declare public readonly apiUrl: pulumi.Output<string>;
    /** Session-mode pooler URL (IPv4-reachable). Secret. */
    declare public readonly poolerUrl: pulumi.Output<string>;
    /** Direct database URL (IPv6 unless the IPv4 add-on is on). Secret. */
    declare public readonly directUrl: pulumi.Output<string>;
    /** Same as poolerUrl: the ScratchDatabase-compatible target. Secret. */
    declare public readonly connectionString: pulumi.Output<string>;
    declare public readonly databaseName: pulumi.Output<string>;
    declare public readonly dbPassword: pulumi.Output<string>;
    declare public readonly anonKey: pulumi.Output<string>;
    declare public readonly serviceRoleKey: pulumi.Output<string>;

    constructor(name: string, args: SupabaseProjectArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("SupabaseProject"),
            name,
            {
                ref: undefined,
                name: undefined,
                apiUrl: undefined,
                poolerUrl: undefined,
                directUrl: undefined,
                connectionString: undefined,
                databaseName: undefined,
                dbPassword: undefined,
                anonKey: undefined,
                serviceRoleKey: undefined,
                ...args,
                accessToken: pulumi.secret(args.accessToken),
            },
            packageOptions("SupabaseProject", opts),
        );
    }
}
