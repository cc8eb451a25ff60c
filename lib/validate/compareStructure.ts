// Source vs target structure (format 3): indexes, constraints, columns, grants, sequence positions,
// publications and storage bucket settings. A format-2 fingerprint (an older backup) has none of them:
// each check is then reported as not compared, never as a pass.
import { byText } from "./catalog";
import {
    allowedAbsence,
    compareKeyed,
    fieldChanges,
    listChanges,
    result,
    sameValue,
    type Allowances,
} from "./compareKit";
import { sequenceKeptUp } from "./sequenceValues";
import type {
    CheckResult,
    ColumnFingerprint,
    ConstraintFingerprint,
    GrantFingerprint,
    IndexFingerprint,
    PublicationFingerprint,
    SequenceFingerprint,
    StorageBucketsFingerprint,
    StoredFingerprint,
    StructuredFingerprint,
} from "./types";

/** The structure checks, in report order, with what each one covers. */
const STRUCTURE_CHECKS: [check: string, what: string][] = [
    ["index", "indexes"],
    ["constraint", "constraints"],
    ["column", "column definitions"],
    ["grant", "grants"],
    ["sequence_value", "sequence values"],
    ["publication", "publications"],
    ["storage_bucket", "storage bucket settings"],
];

function notRecorded(which: "source" | "target", version: number): CheckResult[] {
    const whose = which === "source" ? "this backup's fingerprint" : "the target's fingerprint";
    const advice = which === "source" ? "; a backup taken by this version records them" : "";
    return STRUCTURE_CHECKS.map(([check, what]) => ({
        check,
        object: "all",
        status: "skip" as const,
        detail: `not recorded in ${whose} (format ${version}): ${what} were not compared${advice}`,
    }));
}

function compareIndexes(source: IndexFingerprint[], target: IndexFingerprint[], allow: Allowances): CheckResult[] {
    return compareKeyed("index", source, target, (i) => i.index, (i) => ({ table: i.table, definition: i.definition, valid: i.valid, unique: i.unique, primary: i.primary }), {
        describeDiff: (s, t) =>
            fieldChanges({ table: [s.table, t.table], definition: [s.definition, t.definition], valid: [s.valid, t.valid], unique: [s.unique, t.unique], primary: [s.primary, t.primary] }),
        missingAllowed: (s) => allowedAbsence(allow, s.index),
    });
}

function compareConstraints(source: ConstraintFingerprint[], target: ConstraintFingerprint[], allow: Allowances): CheckResult[] {
    return compareKeyed(
        "constraint",
        source,
        target,
        (c) => c.constraint,
        (c) => ({ on: c.on, domain: c.onDomain, type: c.type, definition: c.definition, validated: c.validated }),
        {
            describeDiff: (s, t) => fieldChanges({ type: [s.type, t.type], definition: [s.definition, t.definition], validated: [s.validated, t.validated] }),
            missingAllowed: (s) => allowedAbsence(allow, s.constraint),
        },
    );
}

function compareColumns(source: ColumnFingerprint[], target: ColumnFingerprint[], allow: Allowances): CheckResult[] {
    const project = (c: ColumnFingerprint) => ({ type: c.type, default: c.default, notNull: c.notNull, generated: c.generated, identity: c.identity });
    return compareKeyed("column", source, target, (c) => c.column, project, {
        describeDiff: (s, t) =>
            fieldChanges({
                type: [s.type, t.type],
                default: [s.default, t.default],
                nullability: [s.notNull ? "NOT NULL" : "nullable", t.notNull ? "NOT NULL" : "nullable"],
                generated: [s.generated, t.generated],
                identity: [s.identity, t.identity],
            }),
        missingAllowed: (s) => allowedAbsence(allow, s.column),
    });
}

/** Privileges a server older than `versionNum` does not know (a newer server's GRANT ALL includes them). */
function newerPrivileges(versionNum: number): string[] {
    return versionNum < 170000 ? ["MAINTAIN"] : [];
}

/** "grantee:PRIVILEGE[*]" → grantee (role names may contain ':'; privilege names do not). */
function granteeOf(entry: string): string {
    return entry.slice(0, entry.lastIndexOf(":"));
}

function privilegeOf(entry: string): string {
    return entry.slice(entry.lastIndexOf(":") + 1).replace(/\*$/, "");
}

/**
 * Grants per object. Left out on both sides: what either side's owner holds (a --no-owner restore gives
 * the objects to the restoring role, whose privileges are then implicit), and privileges that only the
 * newer of the two servers knows.
 */
function compareGrants(source: StructuredFingerprint, target: StructuredFingerprint, allow: Allowances): CheckResult[] {
    const unknown = new Set(newerPrivileges(Math.min(source.serverVersionNum, target.serverVersionNum)));
    const src = new Map(source.grants.map((g) => [g.object, g]));
    const tgt = new Map(target.grants.map((g) => [g.object, g]));
    const visible = (g: GrantFingerprint, owners: string[]) =>
        g.privileges.filter((p) => !owners.includes(granteeOf(p)) && !unknown.has(privilegeOf(p)));
    return [...new Set([...src.keys(), ...tgt.keys()])].sort(byText).map((object) => {
        const s = src.get(object);
        const t = tgt.get(object);
        if (!t) {
            const allowed = allowedAbsence(allow, s!.name);
            return result("grant", object, allowed !== undefined, visible(s!, [s!.owner]), undefined, allowed ?? "object missing on target");
        }
        if (!s) return result("grant", object, false, undefined, visible(t, [t.owner]), "object present on target only, not in source");
        const owners = [s.owner, t.owner];
        const sp = visible(s, owners);
        const tp = visible(t, owners);
        const pass = sameValue(sp, tp);
        return result("grant", object, pass, sp, tp, pass ? undefined : listChanges(sp, tp));
    });
}

function compareSequences(source: SequenceFingerprint[], target: SequenceFingerprint[], allow: Allowances): CheckResult[] {
    const src = new Map(source.map((s) => [s.sequence, s]));
    const tgt = new Map(target.map((s) => [s.sequence, s]));
    const definition = (s: SequenceFingerprint) => ({ type: s.type, increment: s.increment, min: s.min, max: s.max, cycle: s.cycle });
    return [...new Set([...src.keys(), ...tgt.keys()])].sort(byText).map((name) => {
        const s = src.get(name);
        const t = tgt.get(name);
        if (!t) {
            const allowed = allowedAbsence(allow, name);
            return result("sequence_value", name, allowed !== undefined, s!.lastValue, undefined, allowed ?? "sequence missing on target");
        }
        if (!s) return result("sequence_value", name, false, undefined, t.lastValue, "sequence present on target only, not in source");
        if (s.error || t.error) {
            const detail = [s.error && `source: ${s.error}`, t.error && `target: ${t.error}`].filter(Boolean).join("; ");
            return result("sequence_value", name, false, s.lastValue, t.lastValue, `cannot read: ${detail}`);
        }
        if (!sameValue(definition(s), definition(t))) {
            return result("sequence_value", name, false, definition(s), definition(t), `definition differs: ${fieldChanges({
                type: [s.type, t.type], increment: [s.increment, t.increment], min: [s.min, t.min], max: [s.max, t.max], cycle: [s.cycle, t.cycle],
            })}`);
        }
        if (sequenceKeptUp(s.lastValue, t.lastValue, s.increment)) {
            const same = s.lastValue === t.lastValue;
            return result("sequence_value", name, true, s.lastValue, t.lastValue, same ? undefined : "target is past the source's value at the snapshot");
        }
        const fix = s.lastValue === null ? "" : `; fix with select setval('${name}', ${s.lastValue})`;
        return result("sequence_value", name, false, s.lastValue, t.lastValue,
            `sequence behind the source's value at the snapshot (last value ${t.lastValue ?? "never used"}, source ${s.lastValue}): ` +
                `new rows may reuse ids${fix}`);
    });
}

function comparePublications(source: PublicationFingerprint[], target: PublicationFingerprint[]): CheckResult[] {
    return compareKeyed(
        "publication",
        source,
        target,
        (p) => p.name,
        (p) => ({ allTables: p.allTables, operations: p.operations, viaRoot: p.viaRoot, tables: p.tables, schemas: p.schemas }),
        {
            describeDiff: (s, t) =>
                [
                    fieldChanges({ "all tables": [s.allTables, t.allTables], operations: [s.operations, t.operations], "via root": [s.viaRoot, t.viaRoot] }),
                    !sameValue(s.tables, t.tables) && `tables ${listChanges(s.tables, t.tables)}`,
                    !sameValue(s.schemas, t.schemas) && `schemas ${listChanges(s.schemas, t.schemas)}`,
                ]
                    .filter(Boolean)
                    .join("; "),
        },
    );
}

function compareBuckets(source: StorageBucketsFingerprint | null, target: StorageBucketsFingerprint | null): CheckResult[] {
    if (!source && !target) return [];
    const object = "storage.buckets";
    if (source && !target) return [result("storage_bucket", object, false, "present", undefined, "storage.buckets missing on target")];
    if (source?.error || target?.error) {
        const detail = [source?.error && `source: ${source.error}`, target?.error && `target: ${target.error}`].filter(Boolean).join("; ");
        return [result("storage_bucket", object, false, source?.error ?? "readable", target?.error ?? "readable", `cannot read: ${detail}`)];
    }
    const tgt = target!;
    const src = source ?? { columns: tgt.columns, buckets: [] };
    const common = src.columns.filter((c) => tgt.columns.includes(c));
    const pick = (b: { settings: Record<string, unknown> }) => Object.fromEntries(common.map((c) => [c, b.settings[c] ?? null]));
    const out = compareKeyed("storage_bucket", src.buckets, tgt.buckets, (b) => b.id, pick, {
        describeDiff: (s, t) => fieldChanges(Object.fromEntries(common.map((c) => [c, [s.settings[c] ?? null, t.settings[c] ?? null]]))),
    });
    const oneSided = [...src.columns.filter((c) => !common.includes(c)), ...tgt.columns.filter((c) => !src.columns.includes(c))];
    if (oneSided.length > 0) {
        // Not a loss: Supabase adds bucket columns over time, and a target may run a newer Storage.
        out.push(result("storage_bucket", object, true, src.columns, tgt.columns,
            `compared ${common.join(", ") || "no columns"}; on one side only, not compared: ${oneSided.join(", ")}`));
    }
    return out;
}

export function compareStructure(source: StoredFingerprint, target: StoredFingerprint, allow: Allowances): CheckResult[] {
    // Format 2 predates the structure fields; format 3 and later record them alike.
    if (source.formatVersion === 2) return notRecorded("source", source.formatVersion);
    if (target.formatVersion === 2) return notRecorded("target", target.formatVersion);
    return [
        ...compareIndexes(source.indexes, target.indexes, allow),
        ...compareConstraints(source.constraints, target.constraints, allow),
        ...compareColumns(source.columns, target.columns, allow),
        ...compareGrants(source, target, allow),
        ...compareSequences(source.sequences, target.sequences, allow),
        ...comparePublications(source.publications, target.publications),
        ...compareBuckets(source.storageBuckets, target.storageBuckets),
    ];
}
