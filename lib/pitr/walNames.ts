// WAL segment names and LSNs. A segment file is named TTTTTTTTLLLLLLLLSSSSSSSS (hex): timeline, then
// the segment number split into a "log" part and a segment-within-log part. With the default 16 MiB
// segments (Supabase's too) a log holds 256 segments, so ...0000000000FF is followed by ...0000000100000000.
const SEGMENT_NAME = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const LSN = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;

export const DEFAULT_WAL_SEGMENT_SIZE = 16 * 1024 * 1024;

export interface Segment {
    timeline: number;
    /** Absolute segment number (log × segments-per-log + segment). */
    segNo: number;
}

function segmentsPerLog(segmentSize: number): number {
    if (!Number.isInteger(Math.log2(segmentSize)) || segmentSize < 1 << 20 || segmentSize > 1 << 30) {
        throw new Error(`WAL segment size must be a power of two from 1 MiB to 1 GiB (got ${segmentSize})`);
    }
    return 0x1_0000_0000 / segmentSize;
}

export function isSegmentName(name: string): boolean {
    return SEGMENT_NAME.test(name);
}

export function parseSegmentName(name: string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): Segment {
    const m = SEGMENT_NAME.exec(name);
    if (!m) throw new Error(`not a WAL segment name: ${JSON.stringify(name)}`);
    const perLog = segmentsPerLog(segmentSize);
    const seg = parseInt(m[3], 16);
    if (seg >= perLog) throw new Error(`WAL segment name ${name} is out of range for ${segmentSize}-byte segments`);
    return { timeline: parseInt(m[1], 16), segNo: parseInt(m[2], 16) * perLog + seg };
}

export function segmentName(seg: Segment, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): string {
    const perLog = segmentsPerLog(segmentSize);
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, "0");
    return hex(seg.timeline) + hex(Math.floor(seg.segNo / perLog)) + hex(seg.segNo % perLog);
}

/** "16/B374D848" → its 64-bit position. */
export function parseLsn(lsn: string): bigint {
    const m = LSN.exec(lsn.trim());
    if (!m) throw new Error(`not an LSN: ${JSON.stringify(lsn)} (expected hex like 0/3000028)`);
    return (BigInt(parseInt(m[1], 16)) << 32n) | BigInt(parseInt(m[2], 16));
}

export function formatLsn(pos: bigint): string {
    return `${(pos >> 32n).toString(16).toUpperCase()}/${(pos & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** The segment number holding `lsn`. */
export function segNoOfLsn(lsn: string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): number {
    return Number(parseLsn(lsn) / BigInt(segmentSize));
}
