// Property values as the engine sends them to a provider that accepts secrets (the server of
// @pulumi/pulumi/provider always says it does): secrets arrive wrapped in { [sig]: secretSig, value }
// objects, and so must secret outputs go back. The adapters in provider/resources work on plain values,
// as they did as dynamic providers; this module unwraps their inputs, notes which top-level properties
// were secret, and wraps those (and the resource type's declared secrets) on the way out.

/** Pulumi's wire markers (runtime/rpc in @pulumi/pulumi). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
/** How the engine marks a value not known yet (preview). The adapters compare against it. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Props = Record<string, unknown>;

export interface Unwrapped {
    props: Props;
    /** Top-level properties that held a secret anywhere inside them. */
    secretKeys: Set<string>;
}

/** Plain properties for an adapter, and which top-level ones were secret. */
export function unwrapProps(wire: Props | undefined): Unwrapped {
    const props: Props = {};
    const secretKeys = new Set<string>();
    for (const [key, value] of Object.entries(wire ?? {})) {
        const found = { secret: false };
        props[key] = unwrapValue(value, found);
        if (found.secret) secretKeys.add(key);
    }
    return { props, secretKeys };
}

function unwrapValue(value: unknown, found: { secret: boolean }): unknown {
    if (Array.isArray(value)) return value.map((v) => unwrapValue(v, found));
    if (value === null || typeof value !== "object") return value;
    const obj = value as Props;
    switch (obj[SIG_KEY]) {
        case SECRET_SIG:
            found.secret = true;
            return unwrapValue(obj.value, found);
        case OUTPUT_VALUE_SIG:
            if (obj.secret === true) found.secret = true;
            return "value" in obj ? unwrapValue(obj.value, found) : UNKNOWN;
        case RESOURCE_SIG:
            // No resource of this package takes a resource as input; its id is the closest plain value.
            return obj.id ?? obj.urn;
        case undefined:
            return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapValue(v, found)]));
        default:
            // Assets and archives: not used by this package; passed through untouched.
            return obj;
    }
}

/**
 * Properties for the engine: undefined members dropped (the protobuf Struct has no undefined), and
 * every property named in `secretKeys` wrapped as a secret.
 */
export function wrapProps(props: Props | undefined, secretKeys: Iterable<string>): Props {
    const secrets = new Set(secretKeys);
    const out: Props = {};
    for (const [key, value] of Object.entries(props ?? {})) {
        if (value === undefined) continue;
        const plain = toWireValue(value);
        out[key] = secrets.has(key) ? { [SIG_KEY]: SECRET_SIG, value: plain } : plain;
    }
    return out;
}

function toWireValue(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toWireValue(v)));
    if (value === null || typeof value !== "object") return value;
    if (value instanceof Date) return value.toISOString();
    const out: Props = {};
    for (const [k, v] of Object.entries(value as Props)) if (v !== undefined) out[k] = toWireValue(v);
    return out;
}

/** The resource type's name from its URN (`urn:pulumi:stack::project::[parent$]pkg:mod:Name::name`). */
export function typeOfUrn(urn: string): string {
    const parts = urn.split("::");
    if (parts.length < 4) throw new Error(`malformed resource URN: ${urn}`);
    const qualified = parts[2];
    return qualified.slice(qualified.lastIndexOf("$") + 1);
}
