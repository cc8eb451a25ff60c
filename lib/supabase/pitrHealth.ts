// PITR health of a hosted project for the freshness job, from GET /v1/projects/{ref}/database/backups:
// the add-on is on (pitr_enabled, walg_enabled), the latest recovery point is within the RPO (WAL-G
// pushes WAL at least every 120 s while there is activity), and the window reaches back the configured
// 7/14/28 days. One line per check, a verdict, and Prometheus textfile lines for node_exporter.
//
// physical_backup_data.latest_physical_backup_date_unix is what the dashboard shows as the latest point
// of recovery; Supabase notes it can lag on an idle database (no WAL to push). A staging project with
// no writes for longer than the RPO therefore fails the freshness check: that is deliberate (nothing
// proves WAL-G works then), and a heartbeat writer on the project keeps an idle project honest.
import type { V1BackupsResponse } from "supabase-management-js";
import { escapeLabelValue } from "../drill/prometheus";
import type { HostedPitrSettings } from "./pitrSettings";

export type CheckStatus = "PASS" | "WARN" | "FAIL";

export interface PitrCheck {
    name: "pitr_enabled" | "walg_enabled" | "recovery_point" | "window" | "backups";
    status: CheckStatus;
    detail: string;
}

export interface PitrWindow {
    earliest: Date;
    latest: Date;
}

export interface HostedPitrHealth {
    project: string;
    status: CheckStatus;
    checkedAt: string;
    checks: PitrCheck[];
    /** The FAIL and WARN details, in check order. */
    reasons: string[];
    window?: { earliest: string; latest: string; days: number };
    latestRecoveryPointAgeSeconds?: number;
}

export type HealthLimits = Pick<HostedPitrSettings, "windowDays" | "rpoSeconds" | "rpoMarginSeconds" | "windowToleranceHours">;

/** The restorable window from the response, or undefined when it names none (PITR off, or no backup yet). */
export function pitrWindow(backups: Pick<V1BackupsResponse, "physical_backup_data">): PitrWindow | undefined {
    const earliest = backups.physical_backup_data?.earliest_physical_backup_date_unix;
    const latest = backups.physical_backup_data?.latest_physical_backup_date_unix;
    if (typeof earliest !== "number" || typeof latest !== "number" || earliest <= 0 || latest <= 0) return undefined;
    return { earliest: new Date(earliest * 1000), latest: new Date(latest * 1000) };
}

const days = (ms: number) => ms / 86_400_000;

function formatAge(seconds: number): string {
    if (seconds < 600) return `${seconds} s`;
    if (seconds < 7_200) return `${(seconds / 60).toFixed(1)} min`;
    if (seconds < 172_800) return `${(seconds / 3_600).toFixed(1)} h`;
    return `${(seconds / 86_400).toFixed(1)} days`;
}

/** Judges one backups response (pure: tests feed it responses directly). */
export function assessPitrHealth(project: string, backups: V1BackupsResponse, limits: HealthLimits, now = new Date()): HostedPitrHealth {
    const checks: PitrCheck[] = [];
    const add = (name: PitrCheck["name"], status: CheckStatus, detail: string) => checks.push({ name, status, detail });

    add("pitr_enabled", backups.pitr_enabled ? "PASS" : "FAIL", backups.pitr_enabled ? "PITR add-on enabled" : "PITR is not enabled on the project (pitr_enabled false): only daily backups, RPO up to 24 h");
    add("walg_enabled", backups.walg_enabled ? "PASS" : "FAIL", backups.walg_enabled ? "WAL-G archiving enabled" : "WAL-G archiving is not enabled (walg_enabled false): no WAL is archived");

    const window = pitrWindow(backups);
    const result: HostedPitrHealth = { project, status: "PASS", checkedAt: now.toISOString(), checks, reasons: [] };
    if (!window) {
        add("recovery_point", "FAIL", "the API reports no physical backup window (physical_backup_data has no earliest/latest time)");
        add("window", "FAIL", "no restorable window");
    } else {
        const ageSeconds = Math.max(0, Math.round((now.getTime() - window.latest.getTime()) / 1000));
        const limit = limits.rpoSeconds + limits.rpoMarginSeconds;
        result.latestRecoveryPointAgeSeconds = ageSeconds;
        add(
            "recovery_point",
            ageSeconds <= limit ? "PASS" : "FAIL",
            ageSeconds <= limit
                ? `latest recovery point ${window.latest.toISOString()} is ${formatAge(ageSeconds)} old (limit ${limit} s)`
                : `latest recovery point ${window.latest.toISOString()} is ${formatAge(ageSeconds)} old, over the RPO target of ${limits.rpoSeconds} s + ${limits.rpoMarginSeconds} s margin (WAL not pushed, or no writes at all)`,
        );
        const span = days(window.latest.getTime() - window.earliest.getTime());
        const needed = limits.windowDays - limits.windowToleranceHours / 24;
        result.window = { earliest: window.earliest.toISOString(), latest: window.latest.toISOString(), days: Number(span.toFixed(3)) };
        add(
            "window",
            span >= needed ? "PASS" : "FAIL",
            span >= needed
                ? `window ${span.toFixed(2)} days from ${window.earliest.toISOString()} (configured ${limits.windowDays})`
                : `window is ${span.toFixed(2)} days from ${window.earliest.toISOString()}, shorter than the configured ${limits.windowDays} days (tolerance ${limits.windowToleranceHours} h): wrong add-on variant, or PITR enabled recently`,
        );
    }

    // PITR projects may list no backups at all (the CLI's PITR-only response); a failed newest one is worth a look.
    const list = [...(backups.backups ?? [])].sort((a, b) => Date.parse(a.inserted_at) - Date.parse(b.inserted_at));
    const newest = list[list.length - 1];
    if (!newest) add("backups", "PASS", "no backup entries listed (normal with PITR)");
    else if (newest.status === "COMPLETED") add("backups", "PASS", `newest backup ${newest.inserted_at} COMPLETED`);
    else if (newest.status === "PENDING") add("backups", "PASS", `newest backup ${newest.inserted_at} PENDING (running)`);
    else add("backups", "WARN", `newest backup ${newest.inserted_at} is ${newest.status}`);

    result.status = checks.some((c) => c.status === "FAIL") ? "FAIL" : checks.some((c) => c.status === "WARN") ? "WARN" : "PASS";
    result.reasons = checks.filter((c) => c.status !== "PASS").map((c) => `${c.name}: ${c.detail}`);
    return result;
}

/** One line per check, then the verdict. */
export function formatPitrHealth(h: HostedPitrHealth): string {
    const lines = h.checks.map((c) => `${c.status.padEnd(4)} ${c.name}: ${c.detail}`);
    lines.push(`${h.status} hosted PITR of project ${h.project}`);
    return lines.join("\n");
}

export const HOSTED_METRIC_PREFIX = "supabase_dr_hosted_pitr_";

/** Prometheus textfile content (node_exporter's textfile collector; no timestamps, it rejects them). */
export function pitrHealthPrometheus(h: HostedPitrHealth): string {
    const labels = `project="${escapeLabelValue(h.project)}"`;
    const families: [string, string, number | undefined][] = [
        ["status", "Hosted PITR health: 1 PASS, 0.5 WARN, 0 FAIL.", h.status === "PASS" ? 1 : h.status === "WARN" ? 0.5 : 0],
        ["enabled", "PITR add-on enabled (pitr_enabled and walg_enabled): 1 yes, 0 no.", h.checks.every((c) => (c.name === "pitr_enabled" || c.name === "walg_enabled" ? c.status === "PASS" : true)) ? 1 : 0],
        ["latest_recovery_point_age_seconds", "Age of the latest point of recovery when checked.", h.latestRecoveryPointAgeSeconds],
        ["window_days", "Restorable window, latest minus earliest recovery point, in days.", h.window?.days],
        ["last_check_timestamp_seconds", "When the check ran (Unix time).", Date.parse(h.checkedAt) / 1000],
    ];
    const lines: string[] = [];
    for (const [name, help, value] of families) {
        if (value === undefined || Number.isNaN(value)) continue;
        const metric = HOSTED_METRIC_PREFIX + name;
        lines.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} gauge`, `${metric}{${labels}} ${value}`);
    }
    return lines.join("\n") + "\n";
}
