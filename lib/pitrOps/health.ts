// `npm run pitr -- health`: the WAL archive's health (lib/pitr/health.ts: a stale archive against the
// RPO target, WAL gaps naming the missing segments, the newest backup's age), as one line for people,
// a JSON result for machines and a Prometheus textfile for node_exporter's textfile collector (as the
// drill's .prom): a FAIL pages through the same alert rules as the other jobs' metrics.
import * as fs from "node:fs";
import * as path from "node:path";
import { escapeLabelValue } from "../drill/prometheus";
import type { ArchiveHealth } from "../pitr/health";

export const PITR_METRIC_PREFIX = "supabase_dr_pitr_";

export interface HealthRecord extends ArchiveHealth {
    env: string;
    stanza: string;
    checkedAt: string;
    rpoSeconds: number;
    maxBackupAgeHours: number;
}

/** The people's summary: the verdict line, then one line per reason. */
export function formatHealth(h: HealthRecord): string {
    const wal = h.newestWal ? `newest WAL ${h.newestWal.name} ${h.newestWal.ageSeconds} s old (RPO ${h.rpoSeconds} s)` : "no archived WAL";
    const backup = h.newestBackup ? `newest backup ${h.newestBackup.label} (${h.newestBackup.type}) ${(h.newestBackup.ageSeconds / 3600).toFixed(1)} h old` : "no backup";
    const lines = [`pitr health ${h.env}/${h.stanza}: ${h.status} — ${wal}; ${backup}; ${h.segmentsChecked} segments checked, ${h.gaps.length} gap(s)`];
    for (const r of h.reasons) lines.push(`  ${h.status === "PASS" ? "note" : h.status}: ${r}`);
    return lines.join("\n");
}

/** The textfile: every series labelled env and stanza; no sample timestamps (the collector rejects them). */
export function healthTextfile(h: HealthRecord): string {
    const labels = `env="${escapeLabelValue(h.env)}",stanza="${escapeLabelValue(h.stanza)}"`;
    const families: [string, string, number | undefined][] = [
        ["health_ok", "1 when the WAL archive's health check passed (PASS or WARN), 0 on FAIL", h.status === "FAIL" ? 0 : 1],
        ["wal_age_seconds", "Age of the newest archived WAL segment", h.newestWal?.ageSeconds],
        ["rpo_target_seconds", "RPO target the newest archived WAL is held to", h.rpoSeconds],
        ["backup_age_seconds", "Age of the newest pgBackRest backup", h.newestBackup?.ageSeconds],
        ["wal_missing_segments", "WAL segments missing from the archive after the oldest backup", h.gaps.reduce((n, g) => n + g.count, 0)],
        ["last_check_timestamp_seconds", "When this health check ran (Unix time)", Date.parse(h.checkedAt) / 1000],
    ];
    const out: string[] = [];
    for (const [name, help, value] of families) {
        if (value === undefined) continue;
        const metric = PITR_METRIC_PREFIX + name;
        out.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} gauge`, `${metric}{${labels}} ${value}`);
    }
    return out.join("\n") + "\n";
}

/** Writes pitr-health-<env>.json and pitr-health-<env>.prom into dir; returns their paths. */
export function writeHealthFiles(dir: string, h: HealthRecord): { json: string; textfile: string } {
    fs.mkdirSync(dir, { recursive: true });
    const json = path.join(dir, `pitr-health-${h.env}.json`);
    const textfile = path.join(dir, `pitr-health-${h.env}.prom`);
    fs.writeFileSync(json, JSON.stringify(h, null, 2) + "\n");
    // Written beside and renamed: the collector must never read a half-written file.
    fs.writeFileSync(textfile + ".tmp", healthTextfile(h));
    fs.renameSync(textfile + ".tmp", textfile);
    return { json, textfile };
}
