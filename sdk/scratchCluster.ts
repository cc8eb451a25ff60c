// The drill's own throw-away PostgreSQL cluster (initdb into a temp dir, free loopback port, random
// password), started on create and stopped and deleted on destroy.
// Provider side: provider/resources/scratchCluster.ts.
import * as pulumi from "@pulumi/pulumi";
import { packageOptions, typeToken } from "./package";

export interface ScratchClusterArgs {
    /** Where the cluster's temp directory goes. Default: the OS temp dir. */
    baseDir?: pulumi.Input<string>;
}

export class ScratchCluster extends pulumi.CustomResource {
    /** Superuser URI of the cluster's `postgres` database. A secret. */
    declare public readonly adminUrl: pulumi.Output<string>;
    declare public readonly systemIdentifier: pulumi.Output<string>;
    declare public readonly port: pulumi.Output<number>;

    constructor(name: string, args: ScratchClusterArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("ScratchCluster"),
            name,
            {
                adminUrl: undefined,
                systemIdentifier: undefined,
                port: undefined,
                host: undefined,
                rootDir: undefined,
                runAs: undefined,
                ownerToken: undefined,
                ...args,
            },
            packageOptions("ScratchCluster", opts),
        );
    }
}
