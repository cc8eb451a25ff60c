// The diff between the selected backup rows and live, on the key: rows missing live (insert), rows that
// differ (per column, old → new), rows identical. formatDiff() prints values — it is for the terminal
// or the diff file the user asked for; summarizeDiff() has counts and column names only, for logs.
import { displayTable, type TableName } from "./identifiers";
import { keyId, keyValues, type RowText } from "./rowText";

export interface RowChange {
    kind: "insert" | "update";
    key: (string | null)[];
    backup: RowText;
    /** The live row (updates only). */
    live?: RowText;
    /** Columns whose value differs (updates only). */
    changed: string[];
}

export interface RowDiff {
    table: TableName;
    key: string[];
    /** Columns compared and written on update (--columns, default all but generated ones). */
    columns: string[];
    changes: RowChange[];
    identical: number;
}

export function computeDiff(table: TableName, key: string[], columns: string[], backupRows: RowText[], liveRows: RowText[]): RowDiff {
    const live = new Map(liveRows.map((r) => [keyId(r, key), r]));
    const changes: RowChange[] = [];
    let identical = 0;
    for (const b of backupRows) {
        const l = live.get(keyId(b, key));
        if (!l) {
            changes.push({ kind: "insert", key: keyValues(b, key), backup: b, changed: [] });
            continue;
        }
        const changed = columns.filter((c) => b[c] !== l[c]);
        if (changed.length === 0) identical++;
        else changes.push({ kind: "update", key: keyValues(b, key), backup: b, live: l, changed });
    }
    return { table, key, columns, changes, identical };
}

export function countChanges(diff: RowDiff): { insert: number; update: number; identical: number } {
    const insert = diff.changes.filter((c) => c.kind === "insert").length;
    return { insert, update: diff.changes.length - insert, identical: diff.identical };
}

/** Counts and column names only: safe for logs and CI output. */
export function summarizeDiff(diff: RowDiff): string {
    const n = countChanges(diff);
    const columns = new Map<string, number>();
    for (const c of diff.changes) for (const col of c.changed) columns.set(col, (columns.get(col) ?? 0) + 1);
    const perColumn = [...columns].map(([c, k]) => `${c} ${k}`).join(", ");
    return (
        `${displayTable(diff.table)} on (${diff.key.join(", ")}): ${n.insert} to insert, ${n.update} to update, ${n.identical} identical` +
        (perColumn ? ` (changed columns: ${perColumn})` : "")
    );
}

function show(value: string | null | undefined): string {
    return value === null || value === undefined ? "NULL" : JSON.stringify(value);
}

/** The full diff with values (data): for the terminal or a diff file only. */
export function formatDiff(diff: RowDiff): string {
    const lines = [`# ${summarizeDiff(diff)}`];
    const keyText = (k: (string | null)[]) => `(${diff.key.join(", ")})=(${k.map(show).join(", ")})`;
    for (const c of diff.changes) {
        if (c.kind === "insert") {
            lines.push(`+ insert ${keyText(c.key)}`);
            for (const [col, v] of Object.entries(c.backup)) if (!diff.key.includes(col)) lines.push(`    ${col}: ${show(v)}`);
        } else {
            lines.push(`~ update ${keyText(c.key)}`);
            for (const col of c.changed) lines.push(`    ${col}: ${show(c.live?.[col])} → ${show(c.backup[col])}`);
        }
    }
    return lines.join("\n") + "\n";
}
