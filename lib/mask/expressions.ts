// SQL for one masked column: the replacement expression and the fingerprint used by the proof.
// Everything here runs inside PostgreSQL; values never travel to Node.
import { quoteIdent } from "../postgres/connection";
import type { MaskStrategy } from "./rules";

/**
 * Collects bind parameters so secrets (the salt) and config values (fixed values, json keys) never
 * get spliced into SQL text. Arrays bind as PostgreSQL arrays (json key paths).
 */
export class SqlParams {
    readonly values: (string | string[])[] = [];
    private readonly slots = new Map<string, string>();

    /** Returns "$n" for value; the same key reuses its slot. */
    add(value: string | string[], key?: string): string {
        const existing = key === undefined ? undefined : this.slots.get(key);
        if (existing) return existing;
        this.values.push(value);
        const slot = `$${this.values.length}`;
        if (key !== undefined) this.slots.set(key, slot);
        return slot;
    }
}

/** `alias."column"` */
export function columnRef(alias: string, column: string): string {
    return `${alias}.${quoteIdent(column)}`;
}

/**
 * sha256 of the value's text form: the fingerprint we compare before/after masking. Works for any
 * column type; NULL stays NULL so null values are never "originals".
 */
export function fingerprint(ref: string): string {
    return `sha256(convert_to(${ref}::text, 'UTF8'))`;
}

/** The masked value for one row, before null handling (text for the string strategies). */
export function replacement(rule: MaskStrategy, ref: string, idRef: string, params: SqlParams, salt: string | undefined): string {
    switch (rule.strategy) {
        case "email":
            return `'test-' || ${idRef}::text || '@example.com'`;
        case "phone":
            return `'+1000000' || ${idRef}::text`;
        case "name":
            return `'Test Customer ' || ${idRef}::text`;
        case "null":
            return "NULL";
        case "fixed":
            return params.add(rule.value);
        case "hash": {
            if (!salt) throw new Error("the hash strategy needs a salt");
            const saltSlot = params.add(salt, "salt");
            return `encode(sha256(convert_to(${saltSlot}::text || ${ref}::text, 'UTF8')), 'hex')`;
        }
    }
}

/**
 * Right-hand side of `SET column = ...`. NULLs stay NULL (whether a value is missing is not PII,
 * and inventing emails for rows without one would change application behaviour). Putting the
 * column itself in the THEN branch also lets PostgreSQL give untyped values (a fixed value for a
 * date column) the column's type.
 */
export function maskExpression(
    rule: MaskStrategy,
    ref: string,
    idRef: string,
    params: SqlParams,
    salt: string | undefined,
): string {
    if (rule.strategy === "null") return "NULL";
    return `CASE WHEN ${ref} IS NULL THEN ${ref} ELSE ${replacement(rule, ref, idRef, params, salt)} END`;
}
