// A scratch database on a PostgreSQL server, created for a drill and dropped with it.
// Served by provider/resources/scratchDatabase.
// Provider side: provider/resources/scratchDatabase.ts.
import * as pulumi from "@pulumi/pulumi";
import { packageOptions, typeToken } from "./package";

export interface ScratchDatabaseArgs {
    /** Connection URI of a role allowed to CREATE DATABASE on the target server. A secret. */
    adminUrl: pulumi.Input<string>;
    /** Prefix of the generated name. Default: "drill". */
    namePrefix?: pulumi.Input<string>;
}

export class ScratchDatabase extends pulumi.CustomResource {
    declare public readonly databaseName: pulumi.Output<string>;
    /** Connection URI of the scratch database (its own owner role). A secret. */
    declare public readonly connectionString: pulumi.Output<string>;
    declare public readonly server: pulumi.Output<string>;

    constructor(name: string, args: ScratchDatabaseArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("ScratchDatabase"),
            name,
            {
                databaseName: undefined,
                connectionString: undefined,
                server: undefined,
                ownerToken: undefined,
                ...args,
                adminUrl: pulumi.secret(args.adminUrl),
            },
            packageOptions("ScratchDatabase", opts),
        );
    }
}
