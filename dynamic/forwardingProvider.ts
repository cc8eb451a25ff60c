// LEGACY: no new resource uses this. Resources are custom resources of the supabase-dr provider
// package (sdk/, provider/); this stays loadable because stacks made before it hold this forwarder's
// serialized code, which loads dynamic/<name>.ts of their checkout (README: "Upgrading from dynamic
// providers").
//
// Why it existed: Pulumi serializes a dynamic provider's code (and everything it captures) into the
// resource's state, and runs it in a separate provider process. Capturing our modules by value is
// fragile: test runners and TypeScript loaders wrap imports in objects the serializer walks into
// (down to Node internals it cannot serialize). So the provider that gets serialized is this small
// forwarder, which captures only two strings: the absolute path of the module holding the real
// provider, and the export's name. In the provider process it loads that module with tsx (so .ts
// sources work with no build step) and forwards every call. The real adapters stay ordinary,
// unit-testable modules.
import type * as pulumi from "@pulumi/pulumi";

type Method = "check" | "diff" | "create" | "read" | "update" | "delete";
const METHODS: Method[] = ["check", "diff", "create", "read", "update", "delete"];

/**
 * A serializable ResourceProvider that forwards to `require(modulePath)[exportName]`.
 * `modulePath` must be absolute (the provider process runs in another working directory).
 */
export function forwardingProvider(modulePath: string, exportName: string): pulumi.dynamic.ResourceProvider {
    const tsxApi = require.resolve("tsx/cjs/api");
    // Only these strings (and the loader below) are captured by the serialized closures.
    const load = (): pulumi.dynamic.ResourceProvider => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const tsx = require(tsxApi);
        const mod = tsx.require(modulePath, modulePath);
        const provider = mod[exportName];
        if (!provider) throw new Error(`dynamic provider '${exportName}' not found in ${modulePath}`);
        return provider;
    };
    const forwarder: Record<string, unknown> = {};
    for (const method of METHODS) {
        // Each method checks at call time whether the real provider implements it, so optional
        // methods (read, update, ...) keep the engine's default behaviour when absent.
        forwarder[method] = (...args: unknown[]) => {
            const provider = load() as unknown as Record<string, ((...a: unknown[]) => unknown) | undefined>;
            const fn = provider[method];
            if (fn) return fn.apply(provider, args);
            return defaultFor(method, args);
        };
    }
    return forwarder as unknown as pulumi.dynamic.ResourceProvider;

    // Engine defaults when a provider does not implement a method.
    function defaultFor(method: Method, args: unknown[]): unknown {
        switch (method) {
            case "check":
                return Promise.resolve({ inputs: args[1] });
            case "diff":
                return Promise.resolve({});
            case "read":
                return Promise.resolve({ id: args[0], props: args[1] });
            case "update":
                return Promise.resolve({ outs: args[2] });
            case "delete":
                return Promise.resolve();
            default:
                return Promise.reject(new Error(`dynamic provider '${exportName}' does not implement ${method}`));
        }
    }
}
