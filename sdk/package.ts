// The supabase-dr provider package as programs use it: every resource is a custom resource
// `supabase-dr:index:<Name>` served by the plugin pulumi-resource-supabase-dr at this package's
// version (package.json), which scripts/ensure-provider.sh builds and installs. The state records the
// type, the inputs and outputs, and the plugin version: no code and no path of this checkout, so any
// checkout with the plugin installed can refresh or destroy the resources.
import type * as pulumi from "@pulumi/pulumi";
import { version } from "../package.json";
import { RESOURCE_SECRETS, type ResourceName } from "../provider/spec";

export { typeToken } from "../provider/spec";

/** The plugin version every resource of this package asks the engine for. */
export const PACKAGE_VERSION: string = version;

/** Options of a resource of this package: the plugin version, and its secret outputs declared. */
export function packageOptions(name: ResourceName, opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
    return {
        ...opts,
        version: PACKAGE_VERSION,
        additionalSecretOutputs: [...new Set([...(opts.additionalSecretOutputs ?? []), ...RESOURCE_SECRETS[name]])],
    };
}

