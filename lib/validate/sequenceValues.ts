// Sequence positions at the snapshot. Sequences are not transactional: a value read inside the dump's
// snapshot is the value at the moment of reading, and the source keeps advancing. takeFingerprint reads
// them first, before pg_dump (started at the same time) has read its catalog, so the recorded value is
// at most the dumped one: a correct restore's sequence is at or past it, and one that was set back or
// left at its start value is behind it. The comparison is therefore "at or past", never "equal".
import { byText, NOT_EXTENSION_MEMBER } from "./catalog";
import type { Queryable } from "./session";
import type { SequenceFingerprint } from "./types";

export async function listSequences(client: Queryable, schemas: string[]): Promise<SequenceFingerprint[]> {
    const r = await client.query<{
        nspname: string;
        relname: string;
        type: string;
        increment: string;
        min: string;
        max: string;
        cycle: boolean;
        readable: boolean;
        last_value: string | null;
    }>(
        // pg_sequence_last_value: the last value handed out, NULL when never used; it raises an error
        // without SELECT or USAGE on the sequence, so it is only called where that is granted.
        `select n.nspname::text, c.relname::text, pg_catalog.format_type(s.seqtypid, null) as type,
                s.seqincrement::text as increment, s.seqmin::text as min, s.seqmax::text as max, s.seqcycle as cycle,
                pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE') as readable,
                case when pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')
                     then pg_catalog.pg_sequence_last_value(c.oid)::text end as last_value
         from pg_catalog.pg_sequence s
         join pg_catalog.pg_class c on c.oid = s.seqrelid
         join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = any($1::text[]) and ${NOT_EXTENSION_MEMBER("pg_catalog.pg_class", "c.oid")}`,
        [schemas],
    );
    return r.rows
        .map((s) => ({
            sequence: `${s.nspname}.${s.relname}`,
            type: s.type,
            increment: s.increment,
            min: s.min,
            max: s.max,
            cycle: s.cycle,
            lastValue: s.last_value,
            ...(s.readable ? {} : { error: "no SELECT or USAGE privilege on the sequence" }),
        }))
        .sort((a, b) => byText(a.sequence, b.sequence));
}

/** Whether the target's position is at or past the source's, in the direction the sequence moves. */
export function sequenceKeptUp(source: string | null, target: string | null, increment: string): boolean {
    if (source === null) return true; // nothing handed out at the snapshot: any position is at or past it
    if (target === null) return false;
    return BigInt(increment) > 0n ? BigInt(target) >= BigInt(source) : BigInt(target) <= BigInt(source);
}
