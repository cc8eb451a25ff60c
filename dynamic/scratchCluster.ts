// Legacy module path. Stacks created before the supabase-dr provider package hold their resources as
// dynamic resources whose serialized forwarder (dynamic/forwardingProvider.ts) loads this file by its
// absolute path and calls `scratchClusterProvider`. It stays until no such stack is left, so those stacks can
// still be refreshed and destroyed from the checkout that created them (README: "Upgrading from
// dynamic providers"). New resources never use it: see sdk/scratchCluster.ts.
export { scratchClusterProvider } from "../provider/resources/scratchCluster";
