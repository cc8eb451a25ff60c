// HTTP smoke checks against the restored environment (a scratch project's API with its key, or
// TARGET_API_URL). Any 5xx or timeout fails the drill; results go to smoke_<id>.txt/.json.
// Provider side: provider/resources/smokeTest.ts.
import * as pulumi from "@pulumi/pulumi";
import { packageOptions, typeToken } from "./package";

export interface SmokeTestArgs {
    baseUrl?: pulumi.Input<string>;
    bearerToken?: pulumi.Input<string>;
    /** The key of the API at baseUrl (a Supabase project's), sent as `apikey` with path checks. A secret. */
    apiKey?: pulumi.Input<string>;
    checks: pulumi.Input<unknown>;
    retries?: pulumi.Input<number>;
    artifactsDir: pulumi.Input<string>;
    drillId: pulumi.Input<string>;
    /** Orders the smoke test after restore/masking. */
    after: pulumi.Input<string>;
}

export class SmokeTest extends pulumi.CustomResource {
    declare public readonly status: pulumi.Output<string>;
    declare public readonly passed: pulumi.Output<number>;
    declare public readonly total: pulumi.Output<number>;

    constructor(name: string, args: SmokeTestArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("SmokeTest"),
            name,
            {
                status: undefined,
                passed: undefined,
                total: undefined,
                ...args,
                bearerToken: args.bearerToken === undefined ? undefined : pulumi.secret(args.bearerToken),
                apiKey: args.apiKey === undefined ? undefined : pulumi.secret(args.apiKey),
            },
            packageOptions("SmokeTest", opts),
        );
    }
}
