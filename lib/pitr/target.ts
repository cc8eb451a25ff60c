// Recovery targets: what a PITR drill asks for, checked against the repository before anything is
// restored. A target in the future or before the oldest backup cannot be reached; saying so up front
// beats a restore that runs for minutes and then fails inside PostgreSQL's recovery.
import type { BackupSummary, StanzaInfo } from "./info";
import { parseLsn, parseSegmentName, segNoOfLsn } from "./walNames";

export type RecoveryTarget =
    | { type: "time"; time: Date }
    /**
     * exclusive: stop just BEFORE the first record at or past the LSN (recovery_target_inclusive = off).
     * A mark needs it: the record starting exactly at a slot's consistent_point can be a commit the
     * exported snapshot does not see, and an inclusive stop would replay it (seen here under load).
     */
    | { type: "lsn"; lsn: string; exclusive?: boolean }
    /** A restore point from pg_create_restore_point; `createdAt` (when known) picks the backup before it. */
    | { type: "name"; name: string; createdAt?: Date }
    /** The end of the chosen backup: the earliest consistent state it gives. */
    | { type: "immediate" };

export interface PlannedRestore {
    target: RecoveryTarget;
    /** The backup to restore from: the newest one that ends before the target. */
    backup: BackupSummary;
    /** pgBackRest restore options for the target (no secrets). */
    options: string[];
}

/** pgBackRest (PostgreSQL) time format with an explicit UTC offset: "2026-11-30 03:30:40.123+00". */
export function formatTargetTime(time: Date): string {
    return time.toISOString().replace("T", " ").replace("Z", "+00");
}

export function describeTarget(target: RecoveryTarget): string {
    switch (target.type) {
        case "time":
            return `time ${target.time.toISOString()}`;
        case "lsn":
            return `LSN ${target.lsn}${target.exclusive ? " (exclusive)" : ""}`;
        case "name":
            return `restore point ${JSON.stringify(target.name)}`;
        case "immediate":
            return "the end of the newest backup (immediate)";
    }
}

function targetOptions(target: RecoveryTarget): string[] {
    switch (target.type) {
        case "time":
            return ["--type=time", `--target=${formatTargetTime(target.time)}`];
        case "lsn":
            return ["--type=lsn", `--target=${target.lsn}`, ...(target.exclusive ? ["--target-exclusive"] : [])];
        case "name":
            return ["--type=name", `--target=${target.name}`];
        case "immediate":
            return ["--type=immediate"];
    }
}

/**
 * Chooses the backup and the options for a target, or throws a clear refusal: a time in the future, a
 * time or LSN before the oldest backup's end (recovery can only go forward from a backup's consistent
 * point), an LSN past the archived WAL, or a repository without backups.
 */
export function planRestore(stanza: StanzaInfo, target: RecoveryTarget, now = new Date()): PlannedRestore {
    const backups = stanza.backups;
    const oldest = stanza.oldestBackup;
    if (!oldest || backups.length === 0) throw new Error(`stanza ${stanza.stanza} has no backup to restore from`);
    let backup: BackupSummary | undefined;
    switch (target.type) {
        case "time": {
            if (Number.isNaN(target.time.getTime())) throw new Error("recovery target time is not a valid time");
            if (target.time.getTime() > now.getTime()) {
                throw new Error(`recovery target ${target.time.toISOString()} is in the future (now ${now.toISOString()}): refused`);
            }
            if (target.time.getTime() < oldest.stopTime.getTime()) {
                throw new Error(
                    `recovery target ${target.time.toISOString()} is before the oldest backup ${oldest.label}, consistent from ` +
                        `${oldest.stopTime.toISOString()}: refused (the archive cannot reach it)`,
                );
            }
            backup = [...backups].reverse().find((b) => b.stopTime.getTime() <= target.time.getTime());
            break;
        }
        case "lsn": {
            const pos = parseLsn(target.lsn);
            if (pos < parseLsn(oldest.stopLsn)) {
                throw new Error(`recovery target LSN ${target.lsn} is before the oldest backup ${oldest.label}, consistent from LSN ${oldest.stopLsn}: refused`);
            }
            const max = stanza.archives.map((a) => a.max).filter((m): m is string => !!m).sort().pop();
            if (max && segNoOfLsn(target.lsn) > parseSegmentName(max).segNo) {
                throw new Error(`recovery target LSN ${target.lsn} is past the newest archived WAL segment ${max}: refused (not archived yet, or in the future)`);
            }
            backup = [...backups].reverse().find((b) => parseLsn(b.stopLsn) <= pos);
            break;
        }
        case "name": {
            if (!target.name || target.name.length > 63) throw new Error("restore point name must be 1-63 characters");
            if (target.createdAt && target.createdAt.getTime() > now.getTime()) {
                throw new Error(`restore point ${JSON.stringify(target.name)} claims a creation time in the future: refused`);
            }
            if (target.createdAt && target.createdAt.getTime() < oldest.stopTime.getTime()) {
                throw new Error(`restore point ${JSON.stringify(target.name)} was created before the oldest backup ${oldest.label}: refused`);
            }
            const created = target.createdAt;
            backup = created ? [...backups].reverse().find((b) => b.stopTime.getTime() <= created.getTime()) : oldest;
            break;
        }
        case "immediate":
            backup = stanza.newestBackup;
            break;
    }
    if (!backup) throw new Error(`no backup of stanza ${stanza.stanza} ends before ${describeTarget(target)}`);
    return { target, backup, options: [...targetOptions(target), `--set=${backup.label}`] };
}
