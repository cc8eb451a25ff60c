// Validating a PITR at a consistent point: the restored database's fingerprint against the mark's.
// Everything must be identical, byte for byte in the fingerprint's JSON, except sequence POSITIONS.
// Sequences are not transactional: pg_sequence_last_value() reads the sequence's live state, not the
// exported snapshot's, so the mark records a position from slightly after its LSN; and recovery
// restores the WAL-logged position, which PostgreSQL logs ahead in batches of 32 values. Neither side's
// value belongs to the consistent point, so positions are reported, not judged; the sequences' set and
// definitions still must match exactly.
import { compareFingerprints } from "../validate/compare";
import type { CheckResult, Fingerprint, SequenceFingerprint } from "../validate/types";
import type { ConsistentMark } from "./marks";

export interface MarkComparison {
    ok: boolean;
    /** Fingerprint sections that differ from the mark's (sequences: apart from their positions). */
    differingSections: string[];
    /** Failed comparisons from lib/validate (tables, structure), named by object. */
    failures: CheckResult[];
    /** Sequences whose position differs: informative only (see above). */
    sequencePositions: { sequence: string; mark: string | null; restored: string | null }[];
}

function withoutPositions(list: SequenceFingerprint[] | undefined): unknown {
    return (list ?? []).map((s) => ({ ...s, lastValue: undefined }));
}

export function compareWithMark(mark: ConsistentMark, restored: Fingerprint): MarkComparison {
    const expected = mark.fingerprint as unknown as Record<string, unknown>;
    const actual = restored as unknown as Record<string, unknown>;
    const sections = [...new Set([...Object.keys(expected), ...Object.keys(actual)])];
    const same = (k: string) =>
        k === "sequences"
            ? JSON.stringify(withoutPositions(mark.fingerprint.sequences)) === JSON.stringify(withoutPositions(restored.sequences))
            : JSON.stringify(expected[k]) === JSON.stringify(actual[k]);
    const differingSections = sections.filter((k) => !same(k)).sort();
    const failures = compareFingerprints(mark.fingerprint, restored).filter((r) => r.status === "fail" && r.check !== "sequence_value");
    const restoredSeq = new Map((restored.sequences ?? []).map((s) => [s.sequence, s.lastValue]));
    const sequencePositions = (mark.fingerprint.sequences ?? [])
        .filter((s) => restoredSeq.has(s.sequence) && restoredSeq.get(s.sequence) !== s.lastValue)
        .map((s) => ({ sequence: s.sequence, mark: s.lastValue, restored: restoredSeq.get(s.sequence) ?? null }));
    return { ok: differingSections.length === 0 && failures.length === 0, differingSections, failures, sequencePositions };
}
