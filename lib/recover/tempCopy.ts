// The temporary copy of the backup: a database on a throw-away PostgreSQL cluster of our own (or on a
// throw-away server the caller names), never on the live server. A custom-format archive gives just
// the table (partialRestore.ts); a plain SQL dump, a gzip'd one or a `supabase db dump` trio has no
// table of contents, so it is restored whole by the drill's restore (lib/restore/restore.ts: checksum,
// SQL safety scan, Supabase platform roles) — slower, same result. The copy is dropped, and our own
// cluster stopped and deleted, by drop(), which the caller runs in `finally` (and the cluster's exit
// hook on a crash).
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { adoptBackup } from "../backup/adopt";
import { sha256File } from "../backup/checksum";
import { backupFiles, detectFormat, type BackupFormat } from "../backup/formats";
import { describe, parseConnectionString } from "../postgres/connection";
import { startLocalCluster, type LocalCluster } from "../postgres/localCluster";
import { createScratchDatabase, dropScratchDatabase } from "../postgres/scratchDatabase";
import { identify, sameServer } from "../postgres/sourceGuard";
import { restoreBackup } from "../restore/restore";
import type { TableName } from "./identifiers";
import { restoreTableFromArchive } from "./partialRestore";
import { RefusedError } from "../errors";

export interface TempCopyOptions {
    backupPath: string;
    table: TableName;
    /** The live database: the temporary server must not be its server. */
    liveUrl: string;
    /** An existing throw-away server's superuser URI; default: start a cluster of our own. */
    tempAdminUrl?: string;
    workDir: string;
    onProgress?: (message: string) => void;
}

export interface TempCopy {
    url: string;
    format: BackupFormat;
    /** sha256 of each backup file (path → hex), for the audit record. */
    backupSha256: Record<string, string>;
    notes: string[];
    drop(): Promise<void>;
}

export async function createTempCopy(opts: TempCopyOptions): Promise<TempCopy> {
    const progress = opts.onProgress ?? (() => undefined);
    const format = await detectFormat(opts.backupPath);
    const backupSha256: Record<string, string> = {};
    for (const file of backupFiles(opts.backupPath, format)) {
        progress(`hashing ${path.basename(file)}`);
        backupSha256[path.resolve(file)] = await sha256File(file);
    }

    let cluster: LocalCluster | undefined;
    let adminUrl = opts.tempAdminUrl;
    if (!adminUrl) {
        progress("starting a throw-away PostgreSQL cluster for the temporary copy");
        cluster = await startLocalCluster();
        adminUrl = cluster.url();
    }
    const stopCluster = async () => {
        await cluster?.stop();
    };
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
    const drop = async () => {
        try {
            if (scratch) await dropScratchDatabase(adminUrl!, scratch.name, scratch.ownerToken);
        } finally {
            await stopCluster();
        }
    };
    try {
        const [live, temp] = [await identify(opts.liveUrl, "live database (LIVE_DB_URL)"), await identify(adminUrl, "temporary server")];
        if (sameServer(live, temp)) {
            throw new RefusedError(
                `refusing: LIVE_DB_URL (${describe(live)}) is on the temporary server (${describe(parseConnectionString(adminUrl))}); ` +
                    `the temporary copy must live on a throw-away server`,
                { code: "SOURCE_PROTECTED" },
            );
        }
        scratch = await createScratchDatabase(adminUrl, "recover");
        const logPath = path.join(opts.workDir, "temp-restore.log");
        const notes: string[] = [];
        progress(`restoring ${opts.table.schema}.${opts.table.name} from the ${format} backup into a temporary database`);
        if (format === "custom" || format === "custom-gzip") {
            let archive = opts.backupPath;
            if (format === "custom-gzip") {
                archive = path.join(opts.workDir, "backup.dump");
                await pipeline(fs.createReadStream(opts.backupPath), createGunzip(), fs.createWriteStream(archive));
            }
            const r = await restoreTableFromArchive(archive, opts.table, scratch.connectionString, opts.workDir, logPath);
            if (r.extensionsUnavailable.length > 0) notes.push(`extensions not on the temporary server, left out: ${r.extensionsUnavailable.join(", ")}`);
            if (r.skippedSupport.length > 0) notes.push(`${r.skippedSupport.length} supporting object(s) not needed by the table could not be created (see ${logPath})`);
        } else {
            const adopted = await adoptBackup({ backupPath: opts.backupPath, outDir: path.join(opts.workDir, "manifest") });
            const result = await restoreBackup({
                manifestPath: adopted.manifestPath,
                targetUrl: scratch.connectionString,
                logPath,
                protectedSources: [opts.liveUrl],
                requireScratchMarker: true,
                drillServer: { systemIdentifier: temp.systemIdentifier },
                onProgress: progress,
            });
            notes.push(...result.notes);
        }
        return { url: scratch.connectionString, format, backupSha256, notes, drop };
    } catch (err) {
        await drop().catch(() => undefined);
        throw err;
    }
}
