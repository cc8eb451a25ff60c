// Source fingerprint vs target fingerprint: one result per compared item, so the report can show
// exactly what matched and what did not, including objects that exist on only one side.
import { byText } from "./catalog";
import type { CheckResult, Fingerprint, RlsProbeResult, TableFingerprint } from "./types";

/** JSON with sorted object keys: equal values give equal text whatever order keys were built in. */
export function canonicalJson(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) => {
        if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
        const obj = v as Record<string, unknown>;
        return Object.fromEntries(Object.keys(obj).sort(byText).map((k) => [k, obj[k]]));
    });
}

function sameValue(a: unknown, b: unknown): boolean {
    return canonicalJson(a) === canonicalJson(b);
}

function result(check: string, object: string, pass: boolean, source: unknown, target: unknown, detail?: string): CheckResult {
    return { check, object, status: pass ? "pass" : "fail", source, target, ...(detail ? { detail } : {}) };
}

/** Items matched by key; those on one side only fail. `project` picks what must be equal. */
function compareKeyed<T>(
    check: string,
    source: T[],
    target: T[],
    key: (item: T) => string,
    project: (item: T) => unknown,
    describeDiff?: (s: T, t: T) => string,
): CheckResult[] {
    const src = new Map(source.map((item) => [key(item), item]));
    const tgt = new Map(target.map((item) => [key(item), item]));
    const keys = [...new Set([...src.keys(), ...tgt.keys()])].sort(byText);
    return keys.map((k) => {
        const s = src.get(k);
        const t = tgt.get(k);
        if (s === undefined) return result(check, k, false, undefined, t && project(t), "present on target only, not in source");
        if (t === undefined) return result(check, k, false, project(s), undefined, "missing on target");
        const pass = sameValue(project(s), project(t));
        return result(check, k, pass, project(s), project(t), pass || !describeDiff ? undefined : describeDiff(s, t));
    });
}

function compareTableData(source: TableFingerprint[], target: TableFingerprint[]): CheckResult[] {
    const out: CheckResult[] = [];
    const tgt = new Map(target.map((t) => [t.table, t]));
    const names = [...new Set([...source.map((t) => t.table), ...tgt.keys()])].sort(byText);
    const src = new Map(source.map((t) => [t.table, t]));
    for (const name of names) {
        const s = src.get(name);
        const t = tgt.get(name);
        if (!s || !t) {
            out.push(result("table", name, false, s ? "present" : undefined, t ? "present" : undefined,
                s ? "table missing on target" : "table present on target only, not in source"));
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
        const sameSum = s.checksum === t.checksum;
        out.push(result("checksum", name, sameSum, s.checksum, t.checksum,
            sameSum ? undefined : s.rowCount === t.rowCount ? "content differs with the same row count" : "content differs"));
    }
    return out;
}

function probeLabel(p: RlsProbeResult): string {
    return p.claims ? `${p.role} ${canonicalJson(p.claims)}` : p.role;
}

function compareProbes(source: RlsProbeResult[], target: RlsProbeResult[]): CheckResult[] {
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
                (sv, tv) => (sv.rowCount === tv.rowCount ? "same visible row count, different visible content" : "visible row count differs"),
            ),
        );
    }
    return out;
}

function compareServerVersions(source: Fingerprint, target: Fingerprint): CheckResult {
    const sourceMajor = Math.floor(source.serverVersionNum / 10000);
    const targetMajor = Math.floor(target.serverVersionNum / 10000);
    // A newer target major is a normal upgrade path; an older one cannot load a newer server's dump.
    const pass = targetMajor >= sourceMajor;
    return result("server_version", "server", pass, source.serverVersion, target.serverVersion,
        pass ? undefined : "target major version is older than the source's");
}

function compareMigrations(source: Fingerprint, target: Fingerprint): CheckResult {
    const object = "supabase_migrations.schema_migrations";
    if (source.migrationError || target.migrationError) {
        const detail = [source.migrationError && `source: ${source.migrationError}`, target.migrationError && `target: ${target.migrationError}`]
            .filter(Boolean).join("; ");
        return result("migration", object, false, source.latestMigration, target.latestMigration, `migration history unreadable: ${detail}`);
    }
    const pass = source.latestMigration === target.latestMigration;
    const detail = !pass ? "latest migration version differs" : source.latestMigration === null ? "no migration history on either side" : undefined;
    return result("migration", object, pass, source.latestMigration, target.latestMigration, detail);
}

export function compareFingerprints(source: Fingerprint, target: Fingerprint): CheckResult[] {
    if (source.formatVersion !== target.formatVersion) {
        // Checksums of different formats never match: say so instead of reporting every table as changed.
        return [result("fingerprint_format", "fingerprint", false, source.formatVersion, target.formatVersion,
            "the backup's fingerprint was taken by another supabase-dr version; take a new backup (or compare with the live source)")];
    }
    const schemaObjects = (fp: Fingerprint) => fp.schemas.map((name) => ({ name }));
    return [
        compareServerVersions(source, target),
        ...compareKeyed("schema", schemaObjects(source), schemaObjects(target), (s) => s.name, () => "present"),
        ...compareTableData(source.tables, target.tables),
        ...compareKeyed("rls", source.rls, target.rls, (r) => r.table, (r) => ({ enabled: r.enabled, forced: r.forced })),
        ...compareKeyed(
            "policy",
            source.policies,
            target.policies,
            (p) => `${p.table}.${p.name}`,
            (p) => ({ permissive: p.permissive, roles: p.roles, cmd: p.cmd, qual: p.qual, with_check: p.withCheck }),
            () => "policy definition differs",
        ),
        ...compareKeyed("extension", source.extensions, target.extensions, (e) => e.name, (e) => ({ version: e.version, schema: e.schema })),
        ...compareKeyed("function", source.functions, target.functions, (f) => f.signature, (f) => f.definitionMd5,
            () => "definition differs (md5 of pg_get_functiondef)"),
        ...compareKeyed("trigger", source.triggers, target.triggers, (t) => t.trigger, (t) => ({ enabled: t.enabled, md5: t.definitionMd5 }),
            (s, t) => (s.enabled !== t.enabled ? "enabled state differs" : "definition differs")),
        ...compareKeyed("view", source.views, target.views, (v) => v.view, (v) => v.definitionMd5, () => "definition differs"),
        compareMigrations(source, target),
        ...compareProbes(source.rlsProbes, target.rlsProbes),
    ];
}
