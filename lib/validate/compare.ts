// Source fingerprint vs target fingerprint: one result per compared item, so the report can show
// exactly what matched and what did not, including objects that exist on only one side.
import { byText } from "./catalog";
import {
    ALLOWED_MISSING_EXTENSION,
    allowances,
    allowedAbsence,
    canonicalJson,
    checksumMethod,
    compareKeyed,
    result,
    type Allowances,
} from "./compareKit";
import { compareStructure } from "./compareStructure";
import type { CheckResult, RlsProbeResult, StoredFingerprint, TableFingerprint } from "./types";

export { canonicalJson } from "./compareKit";

export interface CompareOptions {
    /**
     * Extensions the restore was allowed to skip because the target cannot install them: absent on the
     * target, each is a pass with a note instead of a failure, and so is everything in the schemas it owns.
     */
    allowMissingExtensions?: string[];
}

function compareTableData(source: TableFingerprint[], target: TableFingerprint[], allow: Allowances): CheckResult[] {
    const out: CheckResult[] = [];
    const tgt = new Map(target.map((t) => [t.table, t]));
    const names = [...new Set([...source.map((t) => t.table), ...tgt.keys()])].sort(byText);
    const src = new Map(source.map((t) => [t.table, t]));
    for (const name of names) {
        const s = src.get(name);
        const t = tgt.get(name);
        if (!s || !t) {
            const allowed = s ? allowedAbsence(allow, name) : undefined;
            out.push(result("table", name, allowed !== undefined, s ? "present" : undefined, t ? "present" : undefined,
                allowed ?? (s ? "table missing on target" : "table present on target only, not in source")));
            continue;
        }
        if (s.error || t.error) {
            const detail = [s.error && `source: ${s.error}`, t.error && `target: ${t.error}`].filter(Boolean).join("; ");
            out.push(result("table", name, false, s.error ?? "readable", t.error ?? "readable", detail));
            continue;
        }
        out.push(result("row_count", name, s.rowCount === t.rowCount, s.rowCount, t.rowCount));
        if (s.hasUpdatedAt || t.hasUpdatedAt) {
            out.push(result("updated_at", name, s.maxUpdatedAt === t.maxUpdatedAt && s.hasUpdatedAt === t.hasUpdatedAt,
                s.maxUpdatedAt, t.maxUpdatedAt, s.hasUpdatedAt !== t.hasUpdatedAt ? "updated_at column exists on one side only" : undefined));
        }
        const sourceMethod = checksumMethod(s);
        const targetMethod = checksumMethod(t);
        if (sourceMethod !== targetMethod) {
            // Not a data verdict: the sums were computed differently, so they say nothing either way.
            const why = t.checksumNote ? ` (${t.checksumNote})` : " (fingerprint the target with the source's fingerprint as basis)";
            out.push(result("checksum", name, false, s.checksum, t.checksum,
                `not comparable: source ${sourceMethod}, target ${targetMethod}${why}`));
            continue;
        }
        const sameSum = s.checksum === t.checksum;
        out.push(result("checksum", name, sameSum, s.checksum, t.checksum,
            sameSum ? undefined : s.rowCount === t.rowCount ? "content differs with the same row count" : "content differs"));
    }
    return out;
}

function probeLabel(p: RlsProbeResult): string {
    return p.claims ? `${p.role} ${canonicalJson(p.claims)}` : p.role;
}

function compareProbes(source: RlsProbeResult[], target: RlsProbeResult[], allow: Allowances): CheckResult[] {
    const out: CheckResult[] = [];
    const src = new Map(source.map((p) => [probeLabel(p), p]));
    const tgt = new Map(target.map((p) => [probeLabel(p), p]));
    for (const label of [...new Set([...src.keys(), ...tgt.keys()])].sort(byText)) {
        const s = src.get(label);
        const t = tgt.get(label);
        if (!s || !t) {
            out.push(result("rls_probe", label, false, s?.status, t?.status,
                s ? "probe not run on target (fingerprint it with the same rlsProbes)" : "probe run on target only"));
            continue;
        }
        if (s.status !== "ok" || t.status !== "ok") {
            // A probe that could not run on either side proves nothing, even when both sides agree.
            const detail = [s.error && `source: ${s.error}`, t.error && `target: ${t.error}`].filter(Boolean).join("; ");
            out.push(result("rls_probe", label, false, s.status, t.status, detail || `role ${s.role} could not be probed`));
            continue;
        }
        const bypass = s.bypassesRls || t.bypassesRls ? "role bypasses RLS (superuser or BYPASSRLS): counts do not exercise policies" : undefined;
        out.push(result("rls_probe", label, s.bypassesRls === t.bypassesRls, "ok", "ok", bypass));
        out.push(
            ...compareKeyed(
                "rls_visibility",
                s.tables,
                t.tables,
                (v) => `${label}: ${v.table}`,
                (v) => (v.error ? { error: v.error } : { rows: v.rowCount, checksum: v.checksum }),
                {
                    describeDiff: (sv, tv) => (sv.rowCount === tv.rowCount ? "same visible row count, different visible content" : "visible row count differs"),
                    missingAllowed: (sv) => allowedAbsence(allow, sv.table),
                },
            ),
        );
    }
    return out;
}

function compareServerVersions(source: StoredFingerprint, target: StoredFingerprint): CheckResult {
    const sourceMajor = Math.floor(source.serverVersionNum / 10000);
    const targetMajor = Math.floor(target.serverVersionNum / 10000);
    // A newer target major is a normal upgrade path; an older one cannot load a newer server's dump.
    const pass = targetMajor >= sourceMajor;
    return result("server_version", "server", pass, source.serverVersion, target.serverVersion,
        pass ? undefined : "target major version is older than the source's");
}

function compareMigrations(source: StoredFingerprint, target: StoredFingerprint): CheckResult {
    const object = "supabase_migrations.schema_migrations";
    if (source.migrationExcluded || target.migrationExcluded) {
        return { check: "migration", object, status: "skip", detail: "not compared: the backup does not carry the migration history (supabase_migrations is left out)" };
    }
    if (source.migrationError || target.migrationError) {
        const detail = [source.migrationError && `source: ${source.migrationError}`, target.migrationError && `target: ${target.migrationError}`]
            .filter(Boolean).join("; ");
        return result("migration", object, false, source.latestMigration, target.latestMigration, `migration history unreadable: ${detail}`);
    }
    const pass = source.latestMigration === target.latestMigration;
    const detail = !pass ? "latest migration version differs" : source.latestMigration === null ? "no migration history on either side" : undefined;
    return result("migration", object, pass, source.latestMigration, target.latestMigration, detail);
}

const KNOWN_FORMATS = new Set([2, 3, 4]);

/**
 * One result per compared item. A format-2 source (an older backup) is compared on everything it
 * recorded; the structure checks it lacks come back as "skip" results saying so. Table checksums are
 * compared when both sides used the same method (the target must follow the source's: see takeFingerprint).
 */
export function compareFingerprints(source: StoredFingerprint, target: StoredFingerprint, opts: CompareOptions = {}): CheckResult[] {
    if (!KNOWN_FORMATS.has(source.formatVersion) || !KNOWN_FORMATS.has(target.formatVersion)) {
        // Checksums of unknown formats may not match: say so instead of reporting every table as changed.
        return [result("fingerprint_format", "fingerprint", false, source.formatVersion, target.formatVersion,
            "the backup's fingerprint was taken by another supabase-dr version; take a new backup (or compare with the live source)")];
    }
    const allow = allowances(source, target, opts.allowMissingExtensions);
    const inAllowedSchema = (name: string) => allowedAbsence(allow, name);
    const schemaObjects = (fp: StoredFingerprint) => fp.schemas.map((name) => ({ name }));
    return [
        compareServerVersions(source, target),
        ...compareKeyed("schema", schemaObjects(source), schemaObjects(target), (s) => s.name, () => "present", {
            missingAllowed: (s) => inAllowedSchema(s.name),
        }),
        ...compareTableData(source.tables, target.tables, allow),
        ...compareKeyed("rls", source.rls, target.rls, (r) => r.table, (r) => ({ enabled: r.enabled, forced: r.forced }), {
            missingAllowed: (r) => inAllowedSchema(r.table),
        }),
        ...compareKeyed(
            "policy",
            source.policies,
            target.policies,
            (p) => `${p.table}.${p.name}`,
            (p) => ({ permissive: p.permissive, roles: p.roles, cmd: p.cmd, qual: p.qual, with_check: p.withCheck }),
            { describeDiff: () => "policy definition differs", missingAllowed: (p) => inAllowedSchema(p.table) },
        ),
        ...compareKeyed("extension", source.extensions, target.extensions, (e) => e.name, (e) => ({ version: e.version, schema: e.schema }), {
            missingAllowed: (e) => (allow.missingExtensions.has(e.name) ? ALLOWED_MISSING_EXTENSION : undefined),
        }),
        ...compareKeyed("function", source.functions, target.functions, (f) => f.signature, (f) => f.definitionMd5, {
            describeDiff: () => "definition differs (md5 of pg_get_functiondef)",
            missingAllowed: (f) => inAllowedSchema(f.signature),
        }),
        ...compareKeyed("trigger", source.triggers, target.triggers, (t) => t.trigger, (t) => ({ enabled: t.enabled, md5: t.definitionMd5 }), {
            describeDiff: (s, t) => (s.enabled !== t.enabled ? "enabled state differs" : "definition differs"),
            missingAllowed: (t) => inAllowedSchema(t.trigger),
        }),
        ...compareKeyed("view", source.views, target.views, (v) => v.view, (v) => v.definitionMd5, {
            describeDiff: () => "definition differs",
            missingAllowed: (v) => inAllowedSchema(v.view),
        }),
        compareMigrations(source, target),
        ...compareProbes(source.rlsProbes, target.rlsProbes, allow),
        ...compareStructure(source, target, allow),
    ];
}
