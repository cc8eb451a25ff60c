// Configuration errors that say where and what: every problem carries the full property path
// (`supabase-dr:drill.restore.jobs`) and the form expected, and all problems of one configuration
// are reported together so one edit fixes the file. Zod issues are turned into these here; a
// misspelled key gets the nearest known key of its level as a suggestion.
//
// Messages never quote long or structured values: settings are not secrets, but a smoke check's
// header may hold an API key and a masking rule may be pasted next to real data.
import { z } from "zod";
import { SupabaseDrError, type ErrorOptions } from "../errors";

export interface ConfigIssue {
    /** Full property path, e.g. "supabase-dr:drill.restore.jobs" or "supabase-dr:targetDbUrl". */
    path: string;
    message: string;
}

/** Code CONFIG_INVALID (exit 2). */
export class ConfigError extends SupabaseDrError {
    declare readonly code: "CONFIG_INVALID";
    readonly issues: ConfigIssue[];

    /** `context` heads the message ("invalid drill settings (Pulumi.staging.yaml)"), the issues follow it indented. */
    constructor(issues: ConfigIssue[], options: ErrorOptions & { context?: string } = {}) {
        const lines = issues.map(formatIssue);
        super("CONFIG_INVALID", options.context ? `${options.context}:\n${lines.map((l) => `  ${l}`).join("\n")}` : lines.join("\n"), options);
        this.name = "ConfigError";
        this.issues = issues;
    }
}

export function isConfigError(err: unknown): err is ConfigError {
    // The code check also knows a ConfigError of another copy of this module (a provider process's bundle).
    return err instanceof ConfigError || (err as { code?: unknown } | null)?.code === "CONFIG_INVALID";
}

export function formatIssue(issue: ConfigIssue): string {
    return `${issue.path}: ${issue.message}`;
}

/** `root.a.b[0].c` */
export function propertyPath(root: string, path: readonly PropertyKey[]): string {
    let out = root;
    for (const segment of path) {
        if (typeof segment === "number") out += `[${segment}]`;
        else if (typeof segment === "string" && /^[A-Za-z_$][\w$-]*$/.test(segment)) out += `.${segment}`;
        else out += `[${JSON.stringify(String(segment))}]`;
    }
    return out;
}

/** Short primitives verbatim (they help the fix), anything else by its kind only. */
export function describeValue(value: unknown): string {
    if (value === undefined) return "nothing";
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Edit distance (insertions, deletions, substitutions). */
export function levenshtein(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

// Case and separators are the cheapest mistakes (rto_seconds, artifactsdir): compare without them.
const normalizeKey = (key: string) => key.toLowerCase().replace(/[-_\s]/g, "");

/**
 * The allowed key closest to `key`, when it is close enough to be a likely typo: at most one edit
 * for keys up to 4 characters, two up to 8, three beyond. Ties go to the first allowed key.
 */
export function nearestKey(key: string, allowed: readonly string[]): string | undefined {
    const wanted = normalizeKey(key);
    let best: { key: string; distance: number } | undefined;
    for (const candidate of allowed) {
        const distance = levenshtein(wanted, normalizeKey(candidate));
        if (!best || distance < best.distance) best = { key: candidate, distance };
    }
    if (!best) return undefined;
    const length = Math.max(wanted.length, normalizeKey(best.key).length);
    const limit = length <= 4 ? 1 : length <= 8 ? 2 : 3;
    return best.distance <= limit ? best.key : undefined;
}

/**
 * "unknown key validaton; did you mean validation?". Without a close key at this level, a key of the
 * same name one level down is suggested (jobs → restore.jobs), else the known keys are listed.
 */
export function unknownKeyMessage(key: string, allowed: readonly string[], nested: readonly string[] = []): string {
    const nearest = nearestKey(key, allowed) ?? nested.find((p) => normalizeKey(p.slice(p.lastIndexOf(".") + 1)) === normalizeKey(key));
    if (nearest) return `unknown key ${key}; did you mean ${nearest}?`;
    return allowed.length ? `unknown key ${key} (known keys: ${allowed.join(", ")})` : `unknown key ${key}`;
}

type Shape = Record<string, unknown>;

// An object schema's shape, through optional/nullable/default wrappers.
function shapeOf(schema: unknown): Shape | undefined {
    let current = schema as { shape?: Shape; _zod?: { def?: { innerType?: unknown } } } | undefined;
    for (let depth = 0; current && depth < 5; depth++) {
        if (current.shape && typeof current.shape === "object") return current.shape;
        current = current._zod?.def?.innerType as typeof current;
    }
    return undefined;
}

/** "child.key" for every key of every object-valued child of `shape`. */
function nestedKeys(shape: Shape): string[] {
    return Object.entries(shape).flatMap(([name, child]) => Object.keys(shapeOf(child) ?? {}).map((key) => `${name}.${key}`));
}

const TYPE_NAMES: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    object: "an object",
    array: "a list",
    record: "an object",
    null: "null",
};

// Marks a message whose issue concerns several unknown keys: the formatter splits it, one issue per key.
const KEY_SEPARATOR = "\u0000";

/**
 * The messages of issues whose schema gave none. Unknown keys are named one by one, with the
 * allowed keys of that object level (known here through the schema that raised the issue).
 */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
    switch (issue.code) {
        case "unrecognized_keys": {
            const shape = shapeOf(issue.inst) ?? {};
            return issue.keys.map((key) => unknownKeyMessage(key, Object.keys(shape), nestedKeys(shape))).join(KEY_SEPARATOR);
        }
        case "invalid_type":
            return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
        case "invalid_value":
            return `expected ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
        case "too_small":
            if (issue.origin === "string") return "expected a non-empty string";
            if (issue.origin === "array") return `expected at least ${issue.minimum} item(s)`;
            return `expected a number ${issue.inclusive ? "≥" : ">"} ${issue.minimum}`;
        case "too_big":
            return `expected at most ${issue.maximum}`;
        case "invalid_union":
            return "does not match any of the accepted forms";
        default:
            return undefined;
    }
}

// What the value was, after an "expected …" message that does not say it yet; an absent value is
// "required" instead. A wrong discriminator (target.kind) shows the discriminator, not its object.
function withInput(message: string, issue: z.core.$ZodIssue): string {
    if (issue.code === "unrecognized_keys" || !message.startsWith("expected") || message.includes(", got ")) return message;
    let input = issue.input;
    if (issue.code === "invalid_union" && issue.discriminator && input !== null && typeof input === "object") {
        input = (input as Record<string, unknown>)[issue.discriminator];
    }
    // Issues a refinement adds itself carry no input: nothing to show.
    if (input === undefined) return issue.code === "custom" ? message : `required: ${message}`;
    return `${message}, got ${describeValue(input)}`;
}

/** Zod issues as config issues under `root`, one per unknown key. */
export function configIssues(issues: readonly z.core.$ZodIssue[], root: string): ConfigIssue[] {
    return issues.flatMap((issue) =>
        issue.message.split(KEY_SEPARATOR).map((message) => ({ path: propertyPath(root, issue.path), message: withInput(message, issue) })),
    );
}

/**
 * Parses `value` with `schema` and returns its output, or throws one ConfigError listing every
 * problem, each under `root` (e.g. "supabase-dr:drill").
 */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
    const result = safeParseConfig(schema, value, root);
    if (!result.success) throw new ConfigError(result.issues);
    return result.data;
}

export function safeParseConfig<S extends z.ZodType>(
    schema: S,
    value: unknown,
    root: string,
): { success: true; data: z.output<S> } | { success: false; issues: ConfigIssue[] } {
    const result = schema.safeParse(value, { error: defaultMessage, reportInput: true });
    return result.success ? { success: true, data: result.data } : { success: false, issues: configIssues(result.error.issues, root) };
}
