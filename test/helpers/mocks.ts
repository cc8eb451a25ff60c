// Pulumi mocks for unit tests: records every resource the program registers, so tests can assert
// on types, inputs and options without any cloud or engine.
import * as pulumi from "@pulumi/pulumi";

export interface RegisteredResource {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

/**
 * Installs mocks that echo inputs back as outputs (plus `<name>-id` ids) and returns the live list
 * of registered resources. Call at module scope of a test file, before creating resources.
 */
export function captureResources(
    extraOutputs: (r: pulumi.runtime.MockResourceArgs) => Record<string, unknown> = () => ({}),
    project = "supabase-dr",
    stack = "test",
): RegisteredResource[] {
    const registered: RegisteredResource[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs, ...extraOutputs(args) } };
            },
            call(args) {
                return args.inputs;
            },
        },
        project,
        stack,
        false,
    );
    return registered;
}

/** Resolves an Output's value (undefined while unknown). */
export function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

// Pulumi's wire marker for secret values (runtime/rpc specialSecretSig): mocks receive secret inputs
// wrapped in { [sigKey]: secretSig, value }.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** True when a registered input value arrived as a Pulumi secret. */
export function isSecretInput(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}
