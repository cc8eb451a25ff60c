// What a recovery rehearsal expects of path A, checked step by step: the dry run lists exactly the
// deleted rows as missing and exactly the changed rows (with the columns the damage changed) as
// different; the apply inserts and updates exactly those. Every difference is named by its kind, a
// count and the rows' key hashes (sha256 of the key's text, 12 hex digits): never a value.
import { createHash } from "node:crypto";
import type { RowDiff } from "./diff";

/** A row's key as a short hash: identifies the row in the report without showing the key itself. */
export function keyHash(key: (string | null)[]): string {
    return createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 12);
}

const SHOWN_HASHES = 10;

function hashes(keys: string[]): string {
    const shown = keys.slice(0, SHOWN_HASHES).join(", ");
    return keys.length > SHOWN_HASHES ? `${shown}, … ${keys.length - SHOWN_HASHES} more` : shown;
}

/** Per changed row (by key id): the columns the damage changed, as measured before and after it. */
export type ExpectedChanges = Map<string, string[]>;

export interface DryRunExpectation {
    deleted: string[][];
    changed: ExpectedChanges;
}

/** Problems with the dry run's diff, each a sentence naming counts and key hashes; empty when exact. */
export function judgeDryRun(diff: RowDiff, expected: DryRunExpectation, keysNotInBackup: number): string[] {
    const problems: string[] = [];
    const deleted = new Set(expected.deleted.map((k) => JSON.stringify(k)));
    const inserts = new Set(diff.changes.filter((c) => c.kind === "insert").map((c) => JSON.stringify(c.key)));
    const updates = new Map(diff.changes.filter((c) => c.kind === "update").map((c) => [JSON.stringify(c.key), c.changed]));

    const notListed = [...deleted].filter((k) => !inserts.has(k));
    if (notListed.length > 0) problems.push(`${notListed.length} deleted row(s) not listed as missing: ${hashes(notListed.map(hashOfId))}`);
    const extraMissing = [...inserts].filter((k) => !deleted.has(k));
    if (extraMissing.length > 0) problems.push(`${extraMissing.length} row(s) listed as missing that were not deleted: ${hashes(extraMissing.map(hashOfId))}`);

    const notShown = [...expected.changed.keys()].filter((k) => !updates.has(k));
    if (notShown.length > 0) problems.push(`${notShown.length} changed row(s) not listed as different: ${hashes(notShown.map(hashOfId))}`);
    const extraChanged = [...updates.keys()].filter((k) => !expected.changed.has(k));
    if (extraChanged.length > 0) problems.push(`${extraChanged.length} row(s) listed as different that were not changed: ${hashes(extraChanged.map(hashOfId))}`);
    const wrongColumns = new Map<string, string[]>();
    for (const [k, cols] of expected.changed) {
        const shown = updates.get(k);
        if (!shown) continue;
        const want = [...cols].sort().join(",");
        const got = [...shown].sort().join(",");
        if (want !== got) wrongColumns.set(`${want || "none"} → listed ${got || "none"}`, [...(wrongColumns.get(`${want || "none"} → listed ${got || "none"}`) ?? []), hashOfId(k)]);
    }
    for (const [what, keys] of wrongColumns) problems.push(`${keys.length} changed row(s) listed with other columns (changed ${what}): ${hashes(keys)}`);
    if (keysNotInBackup > 0) problems.push(`${keysNotInBackup} sampled row(s) are not in the backup`);
    if (diff.identical > 0) problems.push(`${diff.identical} sampled row(s) listed as identical to the backup, though damaged`);
    return problems;
}

function hashOfId(id: string): string {
    return keyHash(JSON.parse(id) as (string | null)[]);
}

/** Changed-column counts of a diff: `column → rows`, for the report. */
export function columnCounts(diff: RowDiff): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const c of diff.changes) for (const col of c.changed) counts[col] = (counts[col] ?? 0) + 1;
    return counts;
}

export interface TableState {
    rowCount: number;
    checksum: string;
}

/** "" when equal; else what differs (row counts, or the checksum alone: the contents). */
export function stateDifference(expected: TableState, actual: TableState): string {
    if (expected.rowCount !== actual.rowCount) return `${actual.rowCount} row(s) instead of ${expected.rowCount}`;
    if (expected.checksum !== actual.checksum) return `same row count (${actual.rowCount}) but different contents (checksum ${actual.checksum.slice(0, 12)} instead of ${expected.checksum.slice(0, 12)})`;
    return "";
}
