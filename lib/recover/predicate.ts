// --where: a predicate the user types, run only on the temporary copy of the backup. PostgreSQL's own
// parser (libpg-query) checks that it is one boolean expression: wrapped as the WHERE clause of a
// fixed SELECT, the text must parse to exactly that one SELECT with nothing added (a second statement,
// a UNION, an ORDER BY, a LIMIT, a locking clause would all show up in the tree). It then runs in a
// READ ONLY transaction on the copy.
import { parse } from "libpg-query";
import { UsageError } from "../errors";

const PROBE_TABLE = "recover_predicate_probe";

/** The SELECT a predicate is checked in and run in: `SELECT … FROM <from> WHERE (<predicate>)`. */
export function wrapPredicate(fromSql: string, predicate: string, select = "*"): string {
    // The newline keeps a trailing `--` comment from swallowing the closing parenthesis unnoticed: it
    // would then be a syntax error rather than a changed query.
    return `SELECT ${select} FROM ${fromSql} WHERE (${predicate}\n)`;
}

/** Throws a readable error unless `predicate` is one expression usable as a WHERE clause. */
export async function validatePredicate(predicate: string): Promise<void> {
    if (!predicate.trim()) throw new UsageError("--where is empty: give a predicate such as \"created_at > '2024-05-01'\"");
    if (predicate.includes("\0")) throw new UsageError("--where contains a NUL character");
    let tree: { stmts?: { stmt: Record<string, unknown> }[] };
    try {
        tree = (await parse(wrapPredicate(PROBE_TABLE, predicate))) as typeof tree;
    } catch (err) {
        throw new UsageError(`--where is not a valid SQL predicate: ${(err as Error).message}`, { cause: err });
    }
    const stmts = tree.stmts ?? [];
    if (stmts.length !== 1) throw new UsageError(`--where must be one expression; it makes ${stmts.length} statements`);
    const select = stmts[0].stmt.SelectStmt as Record<string, unknown> | undefined;
    if (!select) throw new UsageError("--where must be an expression inside a WHERE clause");
    const allowed = new Set(["targetList", "fromClause", "whereClause", "limitOption", "op"]);
    const extra = Object.keys(select).filter((k) => !allowed.has(k));
    if (extra.length > 0 || select.op !== "SETOP_NONE" || select.limitOption !== "LIMIT_OPTION_DEFAULT") {
        throw new UsageError(`--where must be a predicate only; it adds ${extra.join(", ") || "a set operation or a limit"} to the query`);
    }
    const from = select.fromClause as { RangeVar?: { relname?: string; schemaname?: string } }[] | undefined;
    if (from?.length !== 1 || from[0].RangeVar?.relname !== PROBE_TABLE || from[0].RangeVar?.schemaname) {
        throw new UsageError("--where must be a predicate only; it changes the FROM clause");
    }
    if (!select.whereClause) throw new UsageError("--where must be a predicate");
}
