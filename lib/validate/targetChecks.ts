// Checks that need only the restored target: sequences that would hand out ids already in use, and
// the operator's own SQL assertions (runbook 003: `invalid_progress = 0`).
import type { ClientBase } from "pg";
import { quoteIdent } from "../postgres/connection";
import { byText } from "./catalog";
import { attempt, pinOutputSettings, withIsolatedReads, type Queryable } from "./session";
import type { CheckResult, SqlAssertion } from "./types";

export type { SqlAssertion } from "./types";

export interface TargetCheckOptions {
    assertions?: SqlAssertion[];
    /** Schemas whose sequences are checked. Default: every non-system schema. */
    schemas?: string[];
}

interface OwnedSequence {
    seq_schema: string;
    seq_name: string;
    table_schema: string;
    table_name: string;
    column_name: string;
    increment: string;
}

/**
 * Sequences owned by an integer column: serial/OWNED BY (pg_depend 'a') and identity columns
 * (pg_depend 'i'). These are the ones whose next value must not collide with existing rows.
 */
async function ownedSequences(client: Queryable, schemas: string[] | undefined): Promise<OwnedSequence[]> {
    const r = await client.query<OwnedSequence>(
        `select sn.nspname::text as seq_schema, s.relname::text as seq_name, tn.nspname::text as table_schema,
                t.relname::text as table_name, a.attname::text as column_name, sq.seqincrement::text as increment
         from pg_catalog.pg_depend d
         join pg_catalog.pg_class s on s.oid = d.objid and s.relkind = 'S'
         join pg_catalog.pg_namespace sn on sn.oid = s.relnamespace
         join pg_catalog.pg_sequence sq on sq.seqrelid = s.oid
         join pg_catalog.pg_class t on t.oid = d.refobjid
         join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
         join pg_catalog.pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid and not a.attisdropped
         where d.classid = 'pg_catalog.pg_class'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
           and d.deptype in ('a', 'i') and d.refobjsubid > 0 and t.relkind in ('r', 'p') and not t.relispartition
           and a.atttypid in ('pg_catalog.int2'::regtype, 'pg_catalog.int4'::regtype, 'pg_catalog.int8'::regtype)
           and tn.nspname not in ('pg_catalog', 'information_schema') and tn.nspname !~ '^pg_toast' and tn.nspname !~ '^pg_temp'
           and ($1::text[] is null or tn.nspname = any($1::text[]))`,
        [schemas ?? null],
    );
    return r.rows.sort((a, b) => byText(`${a.seq_schema}.${a.seq_name}`, `${b.seq_schema}.${b.seq_name}`));
}

/**
 * The last value the sequence handed out (is_called false means last_value is the NEXT value, not a
 * used one), compared with the column's extreme in the direction the sequence moves.
 */
export function sequenceVerdict(
    lastValue: bigint,
    isCalled: boolean,
    increment: bigint,
    columnExtreme: bigint | null,
): { behind: boolean; lastUsed: bigint } {
    const lastUsed = isCalled ? lastValue : lastValue - increment;
    if (columnExtreme === null) return { behind: false, lastUsed };
    return { behind: increment > 0n ? lastUsed < columnExtreme : lastUsed > columnExtreme, lastUsed };
}

async function checkSequence(client: Queryable, s: OwnedSequence): Promise<CheckResult> {
    const sequence = `${quoteIdent(s.seq_schema)}.${quoteIdent(s.seq_name)}`;
    const table = `${quoteIdent(s.table_schema)}.${quoteIdent(s.table_name)}`;
    const increment = BigInt(s.increment);
    const extreme = increment > 0n ? "max" : "min";
    const object = `${s.seq_schema}.${s.seq_name} (${s.table_schema}.${s.table_name}.${s.column_name})`;
    const read = await attempt(client, async () => {
        const r = await client.query<{ last_value: string; is_called: boolean; extreme: string | null }>(
            `select last_value::text, is_called, (select ${extreme}(${quoteIdent(s.column_name)})::text from ${table}) as extreme
             from ${sequence}`,
        );
        return r.rows[0];
    });
    if (!read.ok) return { check: "sequence", object, status: "fail", detail: `cannot read: ${read.error}` };
    const columnExtreme = read.value.extreme === null ? null : BigInt(read.value.extreme);
    const verdict = sequenceVerdict(BigInt(read.value.last_value), read.value.is_called, increment, columnExtreme);
    const target = { lastValue: read.value.last_value, isCalled: read.value.is_called, [`${extreme}(${s.column_name})`]: read.value.extreme };
    if (!verdict.behind) return { check: "sequence", object, status: "pass", target };
    return {
        check: "sequence",
        object,
        status: "fail",
        source: `${extreme}(${s.column_name}) = ${read.value.extreme}`,
        target,
        detail:
            `sequence is behind its column (last used ${verdict.lastUsed}, ${extreme} ${read.value.extreme}): inserts will hit ` +
            `duplicate keys; fix with select setval('${s.seq_schema}.${s.seq_name}', ${read.value.extreme})`,
    };
}

/** The expected value as PostgreSQL would print it (booleans print as t/f). */
function expectedText(expected: SqlAssertion["expected"]): string | null {
    if (expected === null) return null;
    if (typeof expected === "boolean") return expected ? "t" : "f";
    return String(expected);
}

function matches(expected: SqlAssertion["expected"], actual: string | null): boolean {
    if (expected === null || actual === null) return expected === actual;
    if (typeof expected === "number" && actual.trim() !== "" && !Number.isNaN(Number(actual))) {
        return Number(actual) === expected; // 0 matches "0", 1.5 matches numeric "1.50"
    }
    if (typeof expected === "boolean") return actual === expectedText(expected) || actual === String(expected);
    return actual === expectedText(expected);
}

// Every column comes back as PostgreSQL's own text output, so "compare as text" means what psql shows.
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

async function checkAssertion(client: Queryable, a: SqlAssertion): Promise<CheckResult> {
    const base = { check: "assertion", object: a.name, source: a.expected };
    const run = await attempt(client, async () => {
        const r = await client.query<unknown[]>({ text: a.sql, rowMode: "array", types: RAW_TEXT });
        return { rows: r.rows, columns: r.fields.length };
    });
    if (!run.ok) return { ...base, status: "fail", detail: `query failed: ${run.error}` };
    const { rows, columns } = run.value;
    if (rows.length !== 1 || columns !== 1) {
        return { ...base, status: "fail", detail: `expected one row with one column, got ${rows.length} row(s) x ${columns} column(s)` };
    }
    const actual = rows[0][0] === null ? null : String(rows[0][0]);
    const pass = matches(a.expected, actual);
    return { ...base, status: pass ? "pass" : "fail", target: actual, ...(pass ? {} : { detail: `expected ${expectedText(a.expected)}` }) };
}

export async function runTargetChecks(client: ClientBase, opts: TargetCheckOptions = {}): Promise<CheckResult[]> {
    return withIsolatedReads(client, async () => {
        // Assertions are the operator's SQL and may use unqualified names: keep the session's search_path.
        const searchPath = (await client.query<{ p: string }>("select current_setting('search_path') as p")).rows[0].p;
        await pinOutputSettings(client);
        const results: CheckResult[] = [];
        for (const s of await ownedSequences(client, opts.schemas)) results.push(await checkSequence(client, s));
        await client.query("select pg_catalog.set_config('search_path', $1, true), pg_catalog.set_config('row_security', 'on', true)", [
            searchPath,
        ]);
        for (const a of opts.assertions ?? []) results.push(await checkAssertion(client, a));
        return results;
    });
}
