// Selecting the rows to recover on the temporary copy: by the --keys file (key values cast to the key
// columns' types by the server) or by the --where predicate (validated by predicate.ts, run in a READ
// ONLY transaction). Then every backup row carrying a selected key is read, which is how a key that is
// not unique in the backup shows (the copy has no constraints to guarantee it).
import type { Client } from "pg";
import { pgErrorText } from "../redact";
import { displayTable, type TableName } from "./identifiers";
import type { KeysFile } from "./keysFile";
import { wrapPredicate } from "./predicate";
import { fetchRowsByKey, keyId, keyValues, qualified, textSelectList, type RowText } from "./rowText";
import type { ColumnInfo } from "./tableShape";
import { RefusedError, UsageError } from "../errors";

export type Selection = { kind: "keys"; keys: KeysFile } | { kind: "where"; predicate: string };

export interface BackupSelection {
    rows: RowText[];
    /** --keys rows that match no backup row (counted, never shown: they are data). */
    keysNotInBackup: number;
}

export async function selectBackupRows(
    client: Client,
    table: TableName,
    columns: string[],
    keyColumns: ColumnInfo[],
    selection: Selection,
): Promise<BackupSelection> {
    const key = keyColumns.map((c) => c.name);
    let keys: (string | null)[][];
    if (selection.kind === "keys") {
        const order = key.map((k) => selection.keys.columns.indexOf(k));
        if (order.some((i) => i < 0) || selection.keys.columns.length !== key.length) {
            throw new UsageError(
                `the --keys file's header (${selection.keys.columns.join(", ")}) must name exactly the key columns (${key.join(", ")})`,
            );
        }
        keys = selection.keys.rows.map((r) => order.map((i) => r[i]));
    } else {
        await client.query("begin isolation level repeatable read read only");
        try {
            const r = await client.query<RowText>(wrapPredicate(qualified(table), selection.predicate, textSelectList(key)));
            keys = r.rows.map((row) => keyValues(row, key));
            await client.query("commit");
        } catch (err) {
            await client.query("rollback").catch(() => undefined);
            // The server's message may quote a value (its own or a literal the user typed): redacted.
            throw new UsageError(`--where failed on the backup copy of ${displayTable(table)}: ${pgErrorText(err)}`, { cause: err });
        }
    }
    const distinct = new Map(keys.map((k) => [JSON.stringify(k), k]));
    let rows: RowText[];
    try {
        rows = await fetchRowsByKey(client, table, columns, keyColumns, [...distinct.values()]);
    } catch (err) {
        throw new UsageError(`reading the selected rows of ${displayTable(table)} from the backup copy failed (a key that does not fit the key column's type?): ${pgErrorText(err)}`, { cause: err });
    }
    const found = new Set(rows.map((r) => keyId(r, key)));
    let keysNotInBackup = 0;
    for (const id of distinct.keys()) if (!found.has(id)) keysNotInBackup++;
    assertUsableKeys(rows, key, table);
    return { rows, keysNotInBackup };
}

/** Refuses duplicate or NULL keys among the selected backup rows (ON CONFLICT cannot match NULL). */
export function assertUsableKeys(rows: RowText[], key: string[], table: TableName): void {
    const counts = new Map<string, number>();
    let nullKeys = 0;
    for (const row of rows) {
        if (key.some((k) => row[k] === null)) nullKeys++;
        const id = keyId(row, key);
        counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const duplicated = [...counts.values()].filter((n) => n > 1).length;
    if (duplicated > 0) {
        throw new RefusedError(
            `refusing: the key (${key.join(", ")}) is not unique in the backup's ${displayTable(table)}: ` +
                `${duplicated} selected key value(s) occur in more than one row. Choose a key the table is unique on.`,
        );
    }
    if (nullKeys > 0) {
        throw new RefusedError(`refusing: ${nullKeys} selected backup row(s) of ${displayTable(table)} have a NULL in the key (${key.join(", ")})`);
    }
}
