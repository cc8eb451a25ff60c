// Running validation queries without disturbing the caller's transaction.
//
// The source fingerprint is often taken inside the REPEATABLE READ transaction whose snapshot pg_dump
// is using: ending that transaction (or letting one failed query abort it) would break the dump. So
// inside a caller's transaction everything happens under SAVEPOINTs that are rolled back, which also
// undoes every SET LOCAL we make. Only when the client is idle (no transaction open) do we open our
// own READ ONLY transaction, which gives all queries one consistent snapshot, and roll it back.
import type { ClientBase } from "pg";
import { redact } from "../redact";

export type Queryable = Pick<ClientBase, "query">;

let savepointCounter = 0;

function nextSavepoint(): string {
    savepointCounter = (savepointCounter + 1) % 1_000_000;
    return `supabase_dr_validate_${savepointCounter}`;
}

function pgCode(err: unknown): string | undefined {
    return typeof err === "object" && err !== null && "code" in err ? String((err as { code: unknown }).code) : undefined;
}

/** A database error as one redacted line (PostgreSQL messages can quote connection strings). */
export function errorText(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    const code = pgCode(err);
    return redact(code ? `${message} (SQLSTATE ${code})` : message);
}

/**
 * Runs fn inside the caller's open transaction (under a savepoint rolled back afterwards) or, when
 * none is open, inside a READ ONLY REPEATABLE READ transaction of our own that is rolled back.
 */
export async function withIsolatedReads<T>(client: Queryable, fn: () => Promise<T>): Promise<T> {
    const savepoint = nextSavepoint();
    let ownTransaction = false;
    try {
        await client.query(`savepoint ${savepoint}`);
    } catch (err) {
        // 25P01 no_active_sql_transaction: the client is idle, so the transaction is ours to own.
        if (pgCode(err) !== "25P01") {
            throw new Error(`cannot start validation inside the caller's transaction: ${errorText(err)}`);
        }
        await client.query("begin isolation level repeatable read read only");
        ownTransaction = true;
    }
    try {
        return await fn();
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
