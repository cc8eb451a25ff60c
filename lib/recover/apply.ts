// `rows --apply`: one transaction on live.
//   1. lock every selected key's live row (SELECT … FOR UPDATE) and diff again under the lock — the
//      dry run the operator read may be stale;
//   2. write the before-image of every row about to change and fsync it (beforeImage.ts);
//   3. INSERT … ON CONFLICT (key) DO UPDATE; a key that was missing but is now updated (inserted by
//      someone meanwhile: missing rows cannot be locked) aborts, since undo would delete their row;
//   4. SET CONSTRAINTS ALL IMMEDIATE: a foreign key (or other deferred constraint) violation fails here,
//      rolls everything back and names the constraint;
//   5. record the after-image, COMMIT, mark the artifact committed.
// Retrying finds the rows identical and changes nothing (no artifact, an audit record saying so).
//
// Triggers: live's triggers fire, as in runbook 001 path A (a plain INSERT … ON CONFLICT in a normal
// session). `session_replication_role = replica` would silence them, but it also silences the foreign
// key checks (they are triggers), which this path must run. A trigger that rewrites a value (an
// updated_at stamp) shows up in the result as a row that still differs from the backup.
import * as path from "node:path";
import type { Client } from "pg";
import { RefusedError, type ErrorOptions } from "../errors";
import { ArtifactWriter, ARTIFACT_KIND, type ArtifactHeader } from "./beforeImage";
import { computeDiff, countChanges, type RowDiff } from "./diff";
import { displayTable } from "./identifiers";
import { checkConstraintsNow, describeWriteError, upsertRows, type WriteTarget } from "./liveWrite";
import { fetchRowsByKey, keyId, keyValues, type RowText } from "./rowText";
import type { ColumnInfo } from "./tableShape";

export interface ApplyInput {
    target: WriteTarget;
    keyColumns: ColumnInfo[];
    /** Columns compared and written on update. */
    compare: string[];
    backupRows: RowText[];
    artifactFile: string;
    live: string;
    backupSha256: Record<string, string>;
    lockTimeoutMs: number;
}

export interface ApplyOutcome {
    diff: RowDiff;
    inserted: number;
    updated: number;
    /** The before-image, when anything changed. */
    artifact?: string;
    /** Rows that differ from the backup after the apply (a live trigger rewrote them): counts per column. */
    stillDiffering: Record<string, number>;
}

/** The write to live was rolled back, nothing changed (code APPLY_REFUSED, exit 3). */
export class ApplyRefused extends RefusedError {
    constructor(message: string, options: ErrorOptions = {}) {
        super(message, { ...options, code: "APPLY_REFUSED" });
    }
}

export async function applyRows(client: Client, input: ApplyInput): Promise<ApplyOutcome> {
    const { target } = input;
    const names = target.columns.map((c) => c.name);
    const keys = input.backupRows.map((r) => keyValues(r, target.key));
    await client.query("begin isolation level read committed");
    let writer: ArtifactWriter | undefined;
    try {
        await client.query("select pg_catalog.set_config('lock_timeout', $1, true)", [`${input.lockTimeoutMs}ms`]);
        const liveRows = await fetchRowsByKey(client, target.table, names, input.keyColumns, keys, { lock: true });
        const diff = computeDiff(target.table, target.key, input.compare, input.backupRows, liveRows);
        const counts = countChanges(diff);
        if (diff.changes.length === 0) {
            await client.query("rollback");
            return { diff, inserted: 0, updated: 0, stillDiffering: {} };
        }
        const header: ArtifactHeader = {
            kind: ARTIFACT_KIND,
            version: 1,
            made: "rows",
            table: target.table,
            key: target.key,
            columns: names,
            types: Object.fromEntries(target.columns.map((c) => [c.name, c.type])),
            identity: Object.fromEntries(target.columns.filter((c) => c.identity !== "").map((c) => [c.name, c.identity as "a" | "d"])),
            live: input.live,
            createdAt: new Date().toISOString(),
            backupSha256: input.backupSha256,
        };
        writer = ArtifactWriter.create(input.artifactFile, header);
        writer.append(diff.changes.map((c) => ({ op: "before" as const, key: c.key, row: c.live ?? null })));

        const outcome = await upsertRows(client, target, diff.changes.map((c) => c.backup), input.compare);
        for (const c of diff.changes) {
            const inserted = outcome.get(JSON.stringify(c.key));
            if (inserted === undefined || inserted !== (c.kind === "insert")) {
                throw new ApplyRefused(
                    `a row of ${displayTable(target.table)} that was missing when locked was inserted by another session meanwhile; ` +
                        `nothing was changed: run the command again`,
                );
            }
        }
        await checkConstraintsNow(client);
        const after = await fetchRowsByKey(client, target.table, names, input.keyColumns, diff.changes.map((c) => c.key));
        const afterById = new Map(after.map((r) => [keyId(r, target.key), r]));
        writer.append(diff.changes.map((c) => ({ op: "after" as const, key: c.key, row: afterById.get(JSON.stringify(c.key)) ?? null })));
        await client.query("commit");
        writer.append([{ op: "committed", at: new Date().toISOString() }]);

        const stillDiffering: Record<string, number> = {};
        for (const c of diff.changes) {
            const now = afterById.get(JSON.stringify(c.key));
            for (const col of input.compare) {
                if (!now || now[col] !== c.backup[col]) stillDiffering[col] = (stillDiffering[col] ?? 0) + 1;
            }
        }
        return { diff, inserted: counts.insert, updated: counts.update, artifact: path.resolve(input.artifactFile), stillDiffering };
    } catch (err) {
        await client.query("rollback").catch(() => undefined);
        if (err instanceof ApplyRefused) throw err;
        throw new ApplyRefused(
            `apply to ${displayTable(target.table)} rolled back, nothing changed: ${describeWriteError(err, target.table)}` +
                (writer ? ` (the before-image ${writer.file} was written but nothing it lists was changed)` : ""),
            { cause: err },
        );
    } finally {
        writer?.close();
    }
}
