// Freshness and health of the WAL archive, from what the repository holds: the newest backup's age,
// the continuity of the archived WAL from the oldest backup on (a missing segment makes every target
// after it unreachable), and the newest archived segment's age against the RPO target. The result
// names the missing segment(s), so the alarm says what is lost, not just that something is.
import { info, listArchive, type ArchivedSegment, type StanzaInfo } from "./info";
import type { PgBackRestContext } from "./runner";
import { DEFAULT_WAL_SEGMENT_SIZE, parseSegmentName, segmentName } from "./walNames";

export type HealthStatus = "PASS" | "WARN" | "FAIL";

export interface WalGap {
    /** The last segment present before the gap, and the first and last missing ones. */
    after: string;
    firstMissing: string;
    lastMissing: string;
    count: number;
}

export interface ArchiveHealth {
    status: HealthStatus;
    reasons: string[];
    newestBackup?: { label: string; type: string; stopTime: string; ageSeconds: number };
    newestWal?: { name: string; archivedAt: string; ageSeconds: number };
    gaps: WalGap[];
    segmentsChecked: number;
}

export interface HealthLimits {
    rpoSeconds: number;
    maxBackupAgeHours: number;
    segmentSize?: number;
}

/**
 * Gaps in the archived segments from `fromSegment` on. Segment numbers are taken across timelines: after
 * a promotion the new timeline continues at the switch segment, so a number present on any timeline is
 * not a gap. Gaps are reported on the timeline of the segment before them.
 */
export function findGaps(segments: ArchivedSegment[], fromSegment: string | undefined, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): { gaps: WalGap[]; checked: number } {
    const from = fromSegment ? parseSegmentName(fromSegment, segmentSize).segNo : -1;
    const byNo = new Map<number, string>();
    for (const s of segments) {
        const seg = parseSegmentName(s.name, segmentSize);
        if (seg.segNo < from) continue;
        const prev = byNo.get(seg.segNo);
        if (!prev || prev < s.name) byNo.set(seg.segNo, s.name);
    }
    const numbers = [...byNo.keys()].sort((a, b) => a - b);
    const gaps: WalGap[] = [];
    // The first required segment itself missing is a gap too (nothing can start from that backup).
    if (fromSegment && numbers.length > 0 && numbers[0] > from) {
        const tl = parseSegmentName(fromSegment, segmentSize).timeline;
        gaps.push({ after: "(backup start)", firstMissing: fromSegment, lastMissing: segmentName({ timeline: tl, segNo: numbers[0] - 1 }, segmentSize), count: numbers[0] - from });
    }
    for (let i = 1; i < numbers.length; i++) {
        if (numbers[i] === numbers[i - 1] + 1) continue;
        const before = byNo.get(numbers[i - 1])!;
        const tl = parseSegmentName(before, segmentSize).timeline;
        gaps.push({
            after: before,
            firstMissing: segmentName({ timeline: tl, segNo: numbers[i - 1] + 1 }, segmentSize),
            lastMissing: segmentName({ timeline: tl, segNo: numbers[i] - 1 }, segmentSize),
            count: numbers[i] - numbers[i - 1] - 1,
        });
    }
    return { gaps, checked: numbers.length };
}

/** Judges a repository's state (pure: the tests feed it listings directly). */
export function assessArchiveHealth(stanza: StanzaInfo, segments: ArchivedSegment[], limits: HealthLimits, now = new Date()): ArchiveHealth {
    const reasons: string[] = [];
    let status: HealthStatus = "PASS";
    const fail = (r: string) => {
        status = "FAIL";
        reasons.push(r);
    };
    const warn = (r: string) => {
        if (status === "PASS") status = "WARN";
        reasons.push(r);
    };
    if (stanza.status.code !== 0) fail(`pgBackRest reports stanza ${stanza.stanza} status ${stanza.status.code}: ${stanza.status.message}`);

    const result: ArchiveHealth = { status, reasons, gaps: [], segmentsChecked: 0 };
    const newest = stanza.newestBackup;
    if (!newest) {
        fail(`stanza ${stanza.stanza} has no backup: nothing can be restored`);
    } else {
        const ageSeconds = Math.round((now.getTime() - newest.stopTime.getTime()) / 1000);
        result.newestBackup = { label: newest.label, type: newest.type, stopTime: newest.stopTime.toISOString(), ageSeconds };
        if (ageSeconds > limits.maxBackupAgeHours * 3600) {
            fail(`newest backup ${newest.label} is ${(ageSeconds / 3600).toFixed(1)} h old (limit ${limits.maxBackupAgeHours} h)`);
        }
        for (const b of stanza.backups.filter((b) => b.error)) warn(`backup ${b.label} recorded page checksum errors`);
    }

    const { gaps, checked } = findGaps(segments, stanza.oldestBackup?.archiveStart, limits.segmentSize);
    result.gaps = gaps;
    result.segmentsChecked = checked;
    for (const g of gaps) {
        const which = g.count === 1 ? `WAL segment ${g.firstMissing} is` : `WAL segments ${g.firstMissing} to ${g.lastMissing} (${g.count}) are`;
        fail(`${which} missing from the archive after ${g.after}: recovery cannot replay past it`);
    }

    const newestSegment = segments.reduce<ArchivedSegment | undefined>((a, s) => (!a || s.time > a.time || (s.time.getTime() === a.time.getTime() && s.name > a.name) ? s : a), undefined);
    if (!newestSegment) {
        fail(`stanza ${stanza.stanza} has no archived WAL: archive_command is not working`);
    } else {
        const ageSeconds = Math.round((now.getTime() - newestSegment.time.getTime()) / 1000);
        result.newestWal = { name: newestSegment.name, archivedAt: newestSegment.time.toISOString(), ageSeconds };
        if (ageSeconds > limits.rpoSeconds) {
            fail(`newest archived WAL segment ${newestSegment.name} is ${ageSeconds} s old, over the RPO target of ${limits.rpoSeconds} s (is archive_command failing? see pg_stat_archiver)`);
        }
    }
    result.status = status;
    return result;
}

/** Reads the repository (info + archive listing) and judges it against the settings' limits. */
export async function archiveHealth(ctx: PgBackRestContext, now = new Date()): Promise<ArchiveHealth> {
    const [stanza, segments] = await Promise.all([info(ctx), listArchive(ctx)]);
    return assessArchiveHealth(stanza, segments, { rpoSeconds: ctx.settings.rpoSeconds, maxBackupAgeHours: ctx.settings.maxBackupAgeHours }, now);
}
