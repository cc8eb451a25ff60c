// Locks an Azure container's time-based immutability policy (irreversible: see
// components/ArchiveVault.ts). Provider side: provider/resources/immutabilityPolicyLock.ts.
import * as pulumi from "@pulumi/pulumi";
import { packageOptions, typeToken } from "./package";

export interface ImmutabilityPolicyLockArgs {
    /** ARM id of the container's immutability policy (…/immutabilityPolicies/default). */
    policyId: pulumi.Input<string>;
    /** ARM bearer token of the azure-native provider's identity. A secret; short-lived, never kept in the outputs. */
    token: pulumi.Input<string>;
    /** ARM endpoint; default https://management.azure.com (other clouds, tests). */
    armEndpoint?: pulumi.Input<string>;
}

export class ImmutabilityPolicyLock extends pulumi.CustomResource {
    declare public readonly state: pulumi.Output<string>;
    declare public readonly lockedAt: pulumi.Output<string>;

    constructor(name: string, args: ImmutabilityPolicyLockArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            typeToken("ImmutabilityPolicyLock"),
            name,
            { state: undefined, lockedAt: undefined, policyId: args.policyId, token: pulumi.secret(args.token), armEndpoint: args.armEndpoint },
            packageOptions("ImmutabilityPolicyLock", opts),
        );
    }
}
