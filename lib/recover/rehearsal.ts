// A rehearsal of runbook 001's path A on the drill's scratch copy, so the incident path is practised
// on the drill's schedule:
//   1. guard: the copy is not the source (endpoint and server identity, also the backup's recorded
//      source), and carries the scratch marker when the drill made it;
//   2. record the table's state (row count + checksum, lib/validate's table scan), damage a sample
//      (rehearsalDamage.ts) and record the damaged state;
//   3. recoverRows dry run: it must list exactly the deleted rows as missing and the changed ones with
//      the changed columns; then apply (one transaction): it must insert and update exactly those and
//      bring the table back to its recorded state;
//   4. undo from the apply's before-image: the table must be back in the damaged state; then undo that
//      undo (a re-apply from the undo's own before-image): back to the recorded state, so the copy ends
//      intact for the smoke tests.
// The recorded state is the copy's after validation, which proved it equal to the source's fingerprint:
// "back to the recorded state" is "back to the source's". Everything path A writes (before-images
// and audit records hold row values) goes to a private directory removed at the end; the result has
// counts, column names, durations and key hashes only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Client } from "pg";
import { sha256File } from "../backup/checksum";
import { readManifest, resolveFile } from "../backup/manifest";
import { connect } from "../postgres/connection";
import { assertScratchDatabase } from "../postgres/scratchDatabase";
import { assertNotSource, assertTargetIsNotSource, identityFromEndpoint } from "../postgres/sourceGuard";
import { scanTable } from "../validate/tableScan";
import { displayTable, type TableName } from "./identifiers";
import { chooseSamples, damage, primaryKeyOf, type TableKey } from "./rehearsalDamage";
import { columnCounts, judgeDryRun, stateDifference, type ExpectedChanges, type TableState } from "./rehearsalJudge";
import { fetchRowsByKey, keyId, pinOutputSettings } from "./rowText";
import { recoverRows } from "./rows";
import { readTableShape, type TableShape } from "./tableShape";
import { recoverUndo } from "./undo";

export const DEFAULT_REHEARSAL_SAMPLE = 20;

export interface RehearsalOptions {
    /** The drill's scratch copy (restored and validated). */
    targetUrl: string;
    /** The drill's source: the copy must not be it. */
    sourceUrl?: string;
    /** The drill's backup manifest: the backup path A recovers from (its files' sha256 are checked). */
    manifestPath: string;
    table: TableName;
    /** Rows deleted, and rows changed: up to this many each. */
    sample?: number;
    requireScratchMarker?: boolean;
    /** A throw-away server for path A's temporary copy; default a cluster of its own. */
    tempAdminUrl?: string;
    onProgress?: (message: string) => void;
}

export type RehearsalPhase = "damage" | "dryRun" | "apply" | "undo" | "reapply";

export interface RehearsalResult {
    table: string;
    status: "pass" | "fail";
    key: string[];
    sampleRequested: number;
    deleted: number;
    changed: number;
    changedColumn?: string;
    rowCount: number;
    dryRun?: { missing: number; different: number; identical: number; changedColumns: Record<string, number> };
    applied?: { inserted: number; updated: number };
    undo?: { deleted: number; restored: number };
    reapplied?: { deleted: number; restored: number };
    durationsMs: Partial<Record<RehearsalPhase, number>> & { total: number };
    /** What differed, with counts and key hashes: empty on pass. */
    failures: string[];
    notes: string[];
    startedAt: string;
    finishedAt: string;
}

async function tableState(client: Client, table: TableName, key: TableKey): Promise<TableState> {
    const scan = await scanTable(client, { schema: table.schema, name: table.name, partitioned: key.partitioned, hasUpdatedAt: false }, false);
    return { rowCount: scan.rowCount, checksum: scan.checksum };
}

/**
 * The backup file (or trio directory) of the manifest. Its files must still have the manifest's
 * sha256: path A recovers from the very backup the drill restored and validated.
 */
async function backupOf(manifestPath: string): Promise<{ path: string; source?: { endpoint: string; systemIdentifier?: string } }> {
    const m = readManifest(manifestPath);
    for (const f of m.files) {
        const file = resolveFile(manifestPath, f);
        if (!fs.existsSync(file)) throw new Error(`the drill's backup file ${file} is gone`);
        if ((await sha256File(file)) !== f.sha256) throw new Error(`the drill's backup file ${file} no longer matches its manifest's sha256`);
    }
    const backupPath = m.format === "supabase-trio" ? path.resolve(path.dirname(manifestPath), m.root) : resolveFile(manifestPath, m.files[0]);
    return { path: backupPath, source: m.source };
}

export async function rehearseRecover(opts: RehearsalOptions): Promise<RehearsalResult> {
    const progress = opts.onProgress ?? (() => undefined);
    const label = displayTable(opts.table);
    const sample = opts.sample ?? DEFAULT_REHEARSAL_SAMPLE;
    const started = Date.now();
    const durationsMs: RehearsalResult["durationsMs"] = { total: 0 };
    const timed = async <T>(phase: RehearsalPhase, fn: () => Promise<T>): Promise<T> => {
        const t = Date.now();
        try {
            return await fn();
        } finally {
            durationsMs[phase] = Date.now() - t;
        }
    };

    // Never the source: by endpoint and server identity, the live source and the backup's recorded one.
    const action = `rehearse a recovery of ${label} on`;
    const target = await assertTargetIsNotSource(opts.targetUrl, opts.sourceUrl ? [opts.sourceUrl] : [], action);
    const backup = await backupOf(opts.manifestPath);
    if (backup.source) assertNotSource(target, [identityFromEndpoint(backup.source.endpoint, backup.source.systemIdentifier)], action);
    if (opts.requireScratchMarker) await assertScratchDatabase(opts.targetUrl, action);

    const result: RehearsalResult = {
        table: label,
        status: "fail",
        key: [],
        sampleRequested: sample,
        deleted: 0,
        changed: 0,
        rowCount: 0,
        durationsMs,
        failures: [],
        notes: [],
        startedAt: new Date(started).toISOString(),
        finishedAt: "",
    };
    // Before-images and audit records hold row values: private, and removed at the end.
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-rehearsal-"));
    const client = await connect(opts.targetUrl, "scratch copy");
    try {
        await pinOutputSettings(client);
        const shape: TableShape | undefined = await readTableShape(client, opts.table);
        if (!shape) throw new Error(`the scratch copy has no table ${label}`);
        const key = await primaryKeyOf(client, shape);
        const keyNames = key.columns.map((c) => c.name);
        result.key = keyNames;
        const intact = await tableState(client, opts.table, key);
        result.rowCount = intact.rowCount;

        // Damage, remembering which columns it changed per row (a trigger may change more than ours).
        const samples = await chooseSamples(client, shape, key, sample);
        result.deleted = samples.deleteKeys.length;
        result.changed = samples.changeKeys.length;
        result.changedColumn = samples.changeColumn?.name;
        if (result.deleted + result.changed === 0) throw new Error(`${label} has no row the rehearsal can delete or change (empty, or every row is referenced by a foreign key)`);
        if (!samples.changeColumn) result.notes.push("no column can be changed without touching a constraint or index: deletions only");
        else if (result.changed === 0) result.notes.push(`no row left with a value in ${samples.changeColumn.name} to change: deletions only`);
        if (result.deleted === 0) result.notes.push("every row is referenced by a foreign key: changes only");
        const names = shape.columns.filter((c) => !c.generated).map((c) => c.name);
        const beforeChange = await fetchRowsByKey(client, opts.table, names, key.columns, samples.changeKeys);
        await timed("damage", () => damage(client, shape, key, samples));
        const afterChange = new Map((await fetchRowsByKey(client, opts.table, names, key.columns, samples.changeKeys)).map((r) => [keyId(r, keyNames), r]));
        const expectedChanges: ExpectedChanges = new Map(
            beforeChange.map((b) => {
                const id = keyId(b, keyNames);
                const a = afterChange.get(id);
                return [id, names.filter((c) => !keyNames.includes(c) && a?.[c] !== b[c])];
            }),
        );
        const damaged = await tableState(client, opts.table, key);
        progress(`${label}: ${result.deleted} row(s) deleted, ${result.changed} changed in ${result.changedColumn ?? "no column"} on the scratch copy`);

        const common = {
            backupPath: backup.path,
            table: opts.table,
            key: keyNames,
            selection: { kind: "keys" as const, keys: { columns: keyNames, rows: [...samples.deleteKeys, ...samples.changeKeys] } },
            liveUrl: opts.targetUrl,
            artifactsDir: workDir,
            tempAdminUrl: opts.tempAdminUrl,
            onProgress: progress,
        };
        const dry = await timed("dryRun", () => recoverRows({ ...common, apply: false }));
        result.notes.push(...dry.notes);
        const inserts = dry.diff.changes.filter((c) => c.kind === "insert").length;
        result.dryRun = { missing: inserts, different: dry.diff.changes.length - inserts, identical: dry.diff.identical, changedColumns: columnCounts(dry.diff) };
        for (const p of judgeDryRun(dry.diff, { deleted: samples.deleteKeys, changed: expectedChanges }, dry.keysNotInBackup)) result.failures.push(`dry run: ${p}`);

        const applied = await timed("apply", () => recoverRows({ ...common, apply: true }));
        const outcome = applied.applied!;
        result.applied = { inserted: outcome.inserted, updated: outcome.updated };
        if (outcome.inserted !== result.deleted) result.failures.push(`apply: inserted ${outcome.inserted} row(s), ${result.deleted} were deleted`);
        if (outcome.updated !== result.changed) result.failures.push(`apply: updated ${outcome.updated} row(s), ${result.changed} were changed`);
        const still = Object.entries(outcome.stillDiffering);
        if (still.length > 0) {
            result.failures.push(`apply: rows still differ from the backup after it (a trigger on the table rewrote them?): ${still.map(([c, n]) => `${c} ${n}`).join(", ")}`);
        }
        const afterApply = await tableState(client, opts.table, key);
        const applyDiff = stateDifference(intact, afterApply);
        if (applyDiff) result.failures.push(`apply: the table is not back to its validated state: ${applyDiff}`);
        if (!outcome.artifact) throw new Error(`the apply changed nothing, so there is no before-image to undo (${result.failures.join("; ")})`);

        const undone = await timed("undo", () => recoverUndo({ artifactPath: outcome.artifact!, liveUrl: opts.targetUrl, apply: true, artifactsDir: workDir }));
        result.undo = { deleted: undone.outcome?.deleted ?? 0, restored: undone.outcome?.restored ?? 0 };
        const afterUndo = await tableState(client, opts.table, key);
        const undoDiff = stateDifference(damaged, afterUndo);
        if (undoDiff) result.failures.push(`undo: the table is not back to its damaged state: ${undoDiff}`);
        if (!undone.outcome?.artifact) throw new Error(`the undo changed nothing, so there is nothing to re-apply (${result.failures.join("; ")})`);

        const redone = await timed("reapply", () => recoverUndo({ artifactPath: undone.outcome!.artifact!, liveUrl: opts.targetUrl, apply: true, artifactsDir: workDir }));
        result.reapplied = { deleted: redone.outcome?.deleted ?? 0, restored: redone.outcome?.restored ?? 0 };
        const final = await tableState(client, opts.table, key);
        const finalDiff = stateDifference(intact, final);
        if (finalDiff) result.failures.push(`re-apply: the table is not back to its validated state: ${finalDiff}`);
    } catch (err) {
        result.failures.push((err as Error).message);
    } finally {
        await client.end().catch(() => undefined);
        fs.rmSync(workDir, { recursive: true, force: true });
    }
    result.status = result.failures.length === 0 ? "pass" : "fail";
    result.finishedAt = new Date().toISOString();
    durationsMs.total = Date.now() - started;
    return result;
}
