// Building blocks of the fingerprint comparison: one CheckResult per compared item, items matched by
// key, and the allowances that turn an expected absence on the target into a pass with a note.
import { byText } from "./catalog";
import type { CheckResult, StoredFingerprint, TableFingerprint } from "./types";

/** JSON with sorted object keys: equal values give equal text whatever order keys were built in. */
export function canonicalJson(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) => {
        if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
        const obj = v as Record<string, unknown>;
        return Object.fromEntries(Object.keys(obj).sort(byText).map((k) => [k, obj[k]]));
    });
}

export function sameValue(a: unknown, b: unknown): boolean {
    return canonicalJson(a) === canonicalJson(b);
}

export function result(check: string, object: string, pass: boolean, source: unknown, target: unknown, detail?: string): CheckResult {
    return { check, object, status: pass ? "pass" : "fail", source, target, ...(detail ? { detail } : {}) };
}

/**
 * What the target is allowed to lack: extensions the restore was allowed to skip (absent from the
 * target) and the schemas those extensions own, with everything in them.
 */
export interface Allowances {
    /** Allowed extensions that the source has and the target lacks. */
    missingExtensions: Set<string>;
    /** Schema → the allowed-missing extension that owns it. */
    schemas: Map<string, string>;
}

export function allowances(source: StoredFingerprint, target: StoredFingerprint, allowMissingExtensions: string[] = []): Allowances {
    const onTarget = new Set(target.extensions.map((e) => e.name));
    const allowed = new Set(allowMissingExtensions);
    const missing = source.extensions.filter((e) => allowed.has(e.name) && !onTarget.has(e.name));
    const schemas = new Map<string, string>();
    for (const e of missing) for (const s of e.ownedSchemas ?? []) schemas.set(s, e.name);
    return { missingExtensions: new Set(missing.map((e) => e.name)), schemas };
}

export const ALLOWED_MISSING_EXTENSION = "allowed missing: not available on the target";

/**
 * The note for an object (by its schema-qualified name) missing on the target because its schema
 * belongs to an allowed-missing extension; undefined when its absence is a loss.
 */
export function allowedAbsence(allow: Allowances, qualifiedName: string): string | undefined {
    for (const [schema, extension] of allow.schemas) {
        if (qualifiedName === schema || qualifiedName.startsWith(`${schema}.`)) {
            return `allowed missing: schema ${schema} belongs to extension ${extension}, not available on the target`;
        }
    }
    return undefined;
}

export interface KeyedOptions<T> {
    /** Explains a difference between two present items. */
    describeDiff?: (s: T, t: T) => string;
    /** A note when the item's absence on the target is allowed (then a pass), else undefined. */
    missingAllowed?: (s: T) => string | undefined;
}

/** Items matched by key; those on one side only fail (unless allowed). `project` picks what must be equal. */
export function compareKeyed<T>(
    check: string,
    source: T[],
    target: T[],
    key: (item: T) => string,
    project: (item: T) => unknown,
    opts: KeyedOptions<T> = {},
): CheckResult[] {
    const src = new Map(source.map((item) => [key(item), item]));
    const tgt = new Map(target.map((item) => [key(item), item]));
    const keys = [...new Set([...src.keys(), ...tgt.keys()])].sort(byText);
    return keys.map((k) => {
        const s = src.get(k);
        const t = tgt.get(k);
        if (s === undefined) return result(check, k, false, undefined, t && project(t), "present on target only, not in source");
        if (t === undefined) {
            const allowed = opts.missingAllowed?.(s);
            return result(check, k, allowed !== undefined, project(s), undefined, allowed ?? "missing on target");
        }
        const pass = sameValue(project(s), project(t));
        return result(check, k, pass, project(s), project(t), pass || !opts.describeDiff ? undefined : opts.describeDiff(s, t));
    });
}

/** "a → b" lines for the fields of two objects that differ, for a readable failure. */
export function fieldChanges(fields: Record<string, [unknown, unknown]>): string {
    const shown = (v: unknown) => (v === null || v === undefined ? "(none)" : typeof v === "string" ? v : canonicalJson(v));
    return Object.entries(fields)
        .filter(([, [s, t]]) => !sameValue(s, t))
        .map(([name, [s, t]]) => `${name} ${shown(s)} → ${shown(t)}`)
        .join("; ");
}

/** Members of two lists that one side lacks: "missing on target: a, b; extra on target: c". */
export function listChanges(source: string[], target: string[]): string {
    const tgt = new Set(target);
    const src = new Set(source);
    const missing = source.filter((x) => !tgt.has(x));
    const extra = target.filter((x) => !src.has(x));
    return [missing.length > 0 && `missing on target: ${missing.join(", ")}`, extra.length > 0 && `extra on target: ${extra.join(", ")}`]
        .filter(Boolean)
        .join("; ");
}

/**
 * A table's checksum method in words, for comparing and reporting: checksums of different methods
 * (or seeds, or text-form columns) never match, whatever the data. No method recorded (formats 2 and
 * 3) is the text form.
 */
export function checksumMethod(t: Pick<TableFingerprint, "checksumMethod" | "checksumSeed" | "textColumns">): string {
    if (t.checksumMethod !== "row-hash") return "text form";
    const asText = t.textColumns ?? [];
    return `row hash (seed ${t.checksumSeed ?? "none"}${asText.length > 0 ? `; as text: ${asText.join(", ")}` : ""})`;
}
