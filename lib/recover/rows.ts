// Path A of runbook 001 as one command: restore the table from a backup into a temporary copy, select
// the rows (--keys or --where), diff them against live on the key, and with apply upsert them in one
// transaction after keeping the before-image. Everything that can refuse runs before live is written:
// the predicate, the key's unique index on live, the column comparison, the key's uniqueness in the
// backup. The temporary copy is dropped at the end, also on error.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { connect, describe, parseConnectionString } from "../postgres/connection";
import { applyRows, ApplyRefused, type ApplyOutcome } from "./apply";
import { artifactName, writeAudit } from "./audit";
import { selectBackupRows, type Selection } from "./backupRows";
import { computeDiff, formatDiff, summarizeDiff, type RowDiff } from "./diff";
import { displayTable, type TableName } from "./identifiers";
import type { WriteTarget } from "./liveWrite";
import { validatePredicate } from "./predicate";
import { fetchRowsByKey, keyValues, pinOutputSettings } from "./rowText";
import { assertColumns, assertConflictTarget, assertSameShape, readTableShape } from "./tableShape";
import { createTempCopy } from "./tempCopy";
import { UsageError } from "../errors";
import { fetchVaultBackup, type VaultBackup } from "./vaultBackup";
import type { BlobStore } from "../vault/blobStore";

export interface RecoverRowsOptions {
    /** A local backup file or directory; or, instead, `vault`. */
    backupPath?: string;
    /** The backup from the vault (BACKUP_BUCKET): the newest of `env`, or the one `key` names; verified before use. */
    vault?: { store: BlobStore; env: string; key?: string };
    table: TableName;
    key: string[];
    selection: Selection;
    /** Columns compared and restored on rows that exist live; default every non-generated column. */
    columns?: string[];
    liveUrl: string;
    apply: boolean;
    artifactsDir: string;
    /** A throw-away server for the temporary copy; default: a cluster of our own. */
    tempAdminUrl?: string;
    lockTimeoutMs?: number;
    onProgress?: (message: string) => void;
}

export interface RecoverRowsResult {
    diff: RowDiff;
    /** The diff with values (data): for the terminal or the diff file only. */
    diffText: string;
    /** Counts and column names: safe for logs. */
    summary: string;
    keysNotInBackup: number;
    applied?: ApplyOutcome;
    audit?: string;
    notes: string[];
    /** The vault backup used (keys and verified sha256), when --backup vault. */
    vault?: VaultBackup["vault"];
}

export async function recoverRows(opts: RecoverRowsOptions): Promise<RecoverRowsResult> {
    const progress = opts.onProgress ?? (() => undefined);
    const liveInfo = parseConnectionString(opts.liveUrl, "LIVE_DB_URL");
    const liveName = describe(liveInfo);
    if (opts.key.length === 0) throw new UsageError("--key names no column");
    if (opts.selection.kind === "where") await validatePredicate(opts.selection.predicate);
    if (!opts.backupPath === !opts.vault) throw new Error("give the backup as a local path or from the vault, exactly one of them");

    const live = await connect(opts.liveUrl, "live database (LIVE_DB_URL)");
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-recover-"));
    let temp: Awaited<ReturnType<typeof createTempCopy>> | undefined;
    let tempClient: Awaited<ReturnType<typeof connect>> | undefined;
    let fromVault: VaultBackup | undefined;
    try {
        await pinOutputSettings(live);
        const liveShape = await readTableShape(live, opts.table);
        if (!liveShape) throw new UsageError(`live has no table ${displayTable(opts.table)} (at ${liveName})`);
        assertColumns(liveShape, opts.key, "--key");
        if (opts.columns) assertColumns(liveShape, opts.columns, "--columns");
        await assertConflictTarget(live, opts.table, opts.key);

        let backupPath = opts.backupPath!;
        if (opts.vault) {
            fromVault = await fetchVaultBackup(opts.vault.store, opts.vault.env, { key: opts.vault.key }, path.join(workDir, "vault"), progress);
            backupPath = fromVault.backupPath;
            progress(`backup ${fromVault.vault.manifestKey} from ${fromVault.vault.location}: every file matches its manifest's sha256`);
        }
        temp = await createTempCopy({
            backupPath,
            table: opts.table,
            liveUrl: opts.liveUrl,
            tempAdminUrl: opts.tempAdminUrl,
            workDir,
            onProgress: progress,
        });
        tempClient = await connect(temp.url, "temporary copy");
        await pinOutputSettings(tempClient);
        const backupShape = await readTableShape(tempClient, opts.table);
        if (!backupShape) throw new UsageError(`the backup has no table ${displayTable(opts.table)}`);
        assertSameShape(backupShape, liveShape);

        const writable = liveShape.columns.filter((c) => !c.generated);
        const names = writable.map((c) => c.name);
        const keyColumns = opts.key.map((k) => writable.find((c) => c.name === k)!);
        const compare = (opts.columns ?? names).filter((c) => !opts.key.includes(c));
        progress("selecting the rows in the temporary copy");
        const selected = await selectBackupRows(tempClient, opts.table, names, keyColumns, opts.selection);
        progress(`${selected.rows.length} row(s) selected in the backup; comparing with live`);
        const liveRows = await fetchRowsByKey(live, opts.table, names, keyColumns, selected.rows.map((r) => keyValues(r, opts.key)));
        const diff = computeDiff(opts.table, opts.key, compare, selected.rows, liveRows);
        const result: RecoverRowsResult = {
            diff,
            diffText: formatDiff(diff),
            summary: summarizeDiff(diff),
            keysNotInBackup: selected.keysNotInBackup,
            notes: temp.notes,
            vault: fromVault?.vault,
        };
        if (!opts.apply) return result;

        const target: WriteTarget = { table: opts.table, columns: writable, key: opts.key };
        const artifactFile = path.join(opts.artifactsDir, artifactName(`before-${opts.table.schema}.${opts.table.name}`, "jsonl"));
        progress(`applying to live ${liveName} in one transaction`);
        // From the vault, the files are named by their vault keys (the local copies are deleted at the end).
        const backupSha256 = fromVault ? fromVault.vault.files : temp.backupSha256;
        const backup = fromVault
            ? { path: `${fromVault.vault.location}/${fromVault.vault.manifestKey}`, sha256: backupSha256, vault: fromVault.vault }
            : { path: path.resolve(backupPath), sha256: backupSha256 };
        try {
            const applied = await applyRows(live, {
                target,
                keyColumns,
                compare,
                backupRows: selected.rows,
                artifactFile,
                live: liveName,
                backupSha256,
                lockTimeoutMs: opts.lockTimeoutMs ?? 10_000,
            });
            result.applied = applied;
            result.summary = summarizeDiff(applied.diff);
            result.audit = writeAudit(opts.artifactsDir, {
                action: "recover rows",
                live: liveName,
                table: displayTable(opts.table),
                inserted: applied.inserted,
                updated: applied.updated,
                beforeImage: applied.artifact ?? "none: every selected row was already identical, nothing changed",
                backup,
                outcome: "committed",
            });
            return result;
        } catch (err) {
            if (err instanceof ApplyRefused) {
                const wrote = fs.existsSync(artifactFile);
                writeAudit(opts.artifactsDir, {
                    action: "recover rows",
                    live: liveName,
                    table: displayTable(opts.table),
                    inserted: 0,
                    updated: 0,
                    beforeImage: wrote ? path.resolve(artifactFile) : "none",
                    backup,
                    outcome: "rolled back",
                    error: err.message,
                });
            }
            throw err;
        }
    } finally {
        await tempClient?.end().catch(() => undefined);
        await live.end().catch(() => undefined);
        try {
            await temp?.drop();
        } finally {
            fs.rmSync(workDir, { recursive: true, force: true });
        }
    }
}
