// Running validation queries without disturbing the caller's transaction.
//
// The source fingerprint is often taken inside the REPEATABLE READ transaction whose snapshot pg_dump
// is using: ending that transaction (or letting one failed query abort it) would break the dump. So
// inside a caller's transaction everything happens under SAVEPOINTs that are rolled back, which also
// undoes every SET LOCAL we make. Only when the client is idle (no transaction open) do we open our
// own READ ONLY transaction, which gives all queries one consistent snapshot, and roll it back.
// Nothing here uses a failing statement as a probe: on the source every ERROR is a line in production's
// server log. A read that may be refused is checked first (readability.ts); attempt() only contains
// what still fails.
import type { ClientBase } from "pg";
import { pgErrorText } from "../redact";

export type Queryable = Pick<ClientBase, "query">;
/** A client whose transaction state is known without asking the server (node-postgres tracks it). */
export type SessionClient = Pick<ClientBase, "query" | "getTransactionStatus">;

let savepointCounter = 0;

function nextSavepoint(): string {
    savepointCounter = (savepointCounter + 1) % 1_000_000;
    return `supabase_dr_validate_${savepointCounter}`;
}

/** A database error as one line without secrets or row values (a server error's DETAIL quotes rows). */
export function errorText(err: unknown): string {
    return pgErrorText(err);
}

/** The same error with its message redacted; a server error keeps its SQLSTATE in `code`. */
function redactedError(err: unknown): Error {
    const clean = new Error(pgErrorText(err));
    const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
    if (typeof code === "string") Object.assign(clean, { code });
    return clean;
}

/**
 * Runs fn inside the caller's open transaction (under a savepoint rolled back afterwards) or, when
 * none is open, inside a READ ONLY REPEATABLE READ transaction of our own that is rolled back.
 *
 * Whether a transaction is open comes from the protocol (ReadyForQuery's transaction status, which
 * node-postgres keeps), not from a SAVEPOINT that fails on an idle client: that failure is an ERROR line in the
 * source server's log, and teams that alert on those would be paged by every drill.
 */
export async function withIsolatedReads<T>(client: SessionClient, fn: () => Promise<T>): Promise<T> {
    // The status node-postgres keeps lags behind a failed query (its promise rejects before the
    // server's ReadyForQuery arrives). An empty query brings a fresh one, and cannot fail in any state:
    // with no statement in it, not even an aborted transaction refuses it.
    await client.query("");
    const status = client.getTransactionStatus();
    if (status === "E") {
        throw new Error("cannot start validation inside the caller's transaction: it is aborted (a statement in it failed; roll it back first)");
    }
    if (status !== "I" && status !== "T") throw new Error("cannot start validation: the client is not connected");
    const ownTransaction = status === "I";
    const savepoint = nextSavepoint();
    await client.query(ownTransaction ? "begin isolation level repeatable read read only" : `savepoint ${savepoint}`);
    try {
        return await fn();
    } catch (err) {
        throw redactedError(err);
    } finally {
        if (ownTransaction) {
            await client.query("rollback");
        } else {
            await client.query(`rollback to savepoint ${savepoint}`);
            await client.query(`release savepoint ${savepoint}`);
        }
    }
}

export type Attempt<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Runs fn under a savepoint so that a failing query (permission denied, missing table) is recorded
 * instead of aborting the surrounding transaction. With rollback: true the savepoint is always rolled
 * back, undoing SET LOCAL ROLE and set_config(..., true) made inside.
 */
export async function attempt<T>(client: Queryable, fn: () => Promise<T>, opts: { rollback?: boolean } = {}): Promise<Attempt<T>> {
    const savepoint = nextSavepoint();
    await client.query(`savepoint ${savepoint}`);
    let result: Attempt<T>;
    try {
        result = { ok: true, value: await fn() };
    } catch (err) {
        result = { ok: false, error: errorText(err) };
    }
    if (!result.ok || opts.rollback) await client.query(`rollback to savepoint ${savepoint}`);
    await client.query(`release savepoint ${savepoint}`);
    return result;
}

/**
 * Output settings that change how values print as text (and so the row checksums): pinned so two
 * servers, or two sessions with different defaults, print identical data identically. An empty
 * search_path makes every catalog definition print schema-qualified names.
 */
export async function pinOutputSettings(client: Queryable): Promise<void> {
    await client.query(
        `select set_config('TimeZone', 'UTC', true),
                set_config('DateStyle', 'ISO, MDY', true),
                set_config('IntervalStyle', 'postgres', true),
                set_config('extra_float_digits', '1', true),
                set_config('bytea_output', 'hex', true),
                set_config('lc_monetary', 'C', true),
                set_config('search_path', '', true),
                set_config('row_security', 'off', true)`,
    );
}
