// Dumps the source now (pg_dump -Fc) and fingerprints it in the SAME snapshot.
//
// A production source keeps changing while a drill runs, so a fingerprint taken after the dump never
// matches a restore of it. We open a REPEATABLE READ transaction, export its snapshot, hand the
// snapshot to pg_dump (--snapshot) and fingerprint the source inside that transaction, all while the
// transaction stays open. The fingerprint goes into the manifest: any later restore of this backup is
// validated against it, even when the source is unreachable.
import * as fs from "node:fs";
import * as path from "node:path";
import { findPgTool, toolMajorVersion, toolVersionText } from "../postgres/binaries";
import { connect, describe, parseConnectionString, withClient } from "../postgres/connection";
import { systemIdentifier as sourceSystemIdentifier } from "../postgres/sourceGuard";
import { runPgTool, uriWithoutPassword } from "../postgres/tools";
import { pgErrorText } from "../redact";
import { takeFingerprint, type FingerprintOptions } from "../validate/fingerprint";
import { formatSha256File, sha256File } from "./checksum";
import { manifestPathFor, relativeEntryPath, timestampId, writeManifest, type BackupManifest } from "./manifest";
import { EnvironmentError } from "../errors";

export interface DumpOptions {
    sourceUrl: string;
    /** Directory receiving backup_<id>.dump, .sha256, .manifest.json and .log. */
    outDir: string;
    /** Default: timestamp of now. */
    id?: string;
    fingerprint?: FingerprintOptions | false;
    onProgress?: (message: string) => void;
}

export interface DumpResult {
    manifest: BackupManifest;
    manifestPath: string;
    dumpPath: string;
    durationMs: number;
}

/** pg_dump must be at least the server's major version: it refuses newer servers. */
export function checkDumpVersion(pgDumpMajor: number, serverVersionNum: number): void {
    const serverMajor = Math.floor(serverVersionNum / 10000);
    if (pgDumpMajor < serverMajor) {
        throw new EnvironmentError(
            "PRECONDITION",
            `pg_dump ${pgDumpMajor} cannot dump a PostgreSQL ${serverMajor} server: install the PostgreSQL ${serverMajor} ` +
                `client tools (e.g. apt-get install postgresql-client-${serverMajor}) and put them on PATH`,
        );
    }
}

/** Cancels the query a backend is running (from a second connection); best effort. */
async function cancelBackend(url: string, pid: number | undefined): Promise<void> {
    if (!pid) return;
    await withClient(url, "source database", (c) => c.query("select pg_cancel_backend($1)", [pid])).catch(() => undefined);
}

export async function dumpSource(opts: DumpOptions): Promise<DumpResult> {
    const started = Date.now();
    const info = parseConnectionString(opts.sourceUrl, "SOURCE_DB_URL");
    const id = opts.id ?? `backup_${timestampId()}`;
    fs.mkdirSync(opts.outDir, { recursive: true });
    const dumpPath = path.join(opts.outDir, `${id}.dump`);
    const logPath = path.join(opts.outDir, `${id}.log`);
    const progress = opts.onProgress ?? (() => undefined);
    const pgDump = findPgTool("pg_dump");

    const client = await connect(opts.sourceUrl, "source database");
    try {
        const meta = await client.query<{ num: string; version: string; bytes: string }>(
            "select current_setting('server_version_num') as num, current_setting('server_version') as version, " +
                "pg_database_size(current_database())::text as bytes",
        );
        const serverVersionNum = Number(meta.rows[0].num);
        checkDumpVersion(toolMajorVersion(pgDump), serverVersionNum);
        // Checked, not caught: a refused call would be an ERROR line in production's server log.
        const systemIdentifier = await sourceSystemIdentifier(client);

        const backendPid = (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0].pid;
        await client.query("begin isolation level repeatable read read only");
        const snapshot = (await client.query<{ s: string }>("select pg_export_snapshot() as s")).rows[0].s;
        const takenAt = new Date(
            (await client.query<{ now: Date }>("select transaction_timestamp() as now")).rows[0].now,
        ).toISOString();
        progress(`dumping ${describe(info)} (snapshot ${snapshot})`);

        // Both run while the exporting transaction is open; the fingerprint sees exactly the dump's data.
        // Whichever fails first is the error reported; a failed dump cancels the fingerprint, so a
        // broken drill does not go on scanning every table of production.
        let firstFailure: "dump" | "fingerprint" | undefined;
        const dump = runPgTool("pg_dump", ["-Fc", "-v", `--snapshot=${snapshot}`, "-f", dumpPath, `--dbname=${uriWithoutPassword(opts.sourceUrl)}`], {
            connection: opts.sourceUrl,
            logFile: logPath,
            keep: /error|fatal/i,
            onLine: (line) => {
                const m = /dumping contents of table "([^"]+)"/.exec(line);
                if (m) progress(`pg_dump: ${m[1]}`);
            },
        }).then(async (r) => {
            if (r.exitCode !== 0) {
                firstFailure ??= "dump";
                await cancelBackend(opts.sourceUrl, backendPid);
            }
            return r;
        });
        const fingerprint = (opts.fingerprint === false ? Promise.resolve(undefined) : takeFingerprint(client, opts.fingerprint ?? {})).catch(
            (err) => {
                firstFailure ??= "fingerprint";
                throw err;
            },
        );
        const [dumpResult, fp] = await Promise.allSettled([dump, fingerprint]);
        await client.query("commit").catch(() => undefined);
        if (dumpResult.status === "rejected") throw dumpResult.reason;
        if (fp.status === "rejected" && firstFailure === "fingerprint") {
            throw new Error(`fingerprinting ${describe(info)} in the dump's snapshot failed: ${pgErrorText(fp.reason)}`);
        }
        if (dumpResult.value.exitCode !== 0) {
            // The tool's lines are redacted already; their DETAIL/CONTEXT lines name the table that failed.
            const tail = dumpResult.value.matched
                .slice(-5)
                .flatMap((line) => [line, ...(dumpResult.value.matchedContext[dumpResult.value.matched.indexOf(line)] ?? [])])
                .join("\n");
            throw new Error(`pg_dump of ${describe(info)} failed (exit ${dumpResult.value.exitCode}):\n${tail}\nfull log: ${logPath}`);
        }
        if (fp.status === "rejected") throw fp.reason;

        const bytes = fs.statSync(dumpPath).size;
        const sha256 = await sha256File(dumpPath);
        const manifestPath = manifestPathFor(opts.outDir, id);
        fs.writeFileSync(path.join(opts.outDir, `${id}.sha256`), formatSha256File([{ name: path.basename(dumpPath), sha256 }]));
        const manifest: BackupManifest = {
            manifestVersion: 1,
            id,
            format: "custom",
            root: relativeEntryPath(manifestPath, dumpPath),
            files: [{ path: relativeEntryPath(manifestPath, dumpPath), bytes, sha256 }],
            takenAt,
            takenAtSource: "snapshot",
            source: {
                endpoint: describe(info),
                serverVersion: meta.rows[0].version,
                systemIdentifier,
                databaseBytes: Number(meta.rows[0].bytes),
            },
            tools: { pg_dump: toolVersionText(pgDump), node: process.version },
            fingerprint: fp.value,
            fingerprintOptions: opts.fingerprint === false ? undefined : (opts.fingerprint ?? {}),
        };
        writeManifest(manifestPath, manifest);
        progress(`dump done: ${bytes} bytes, sha256 ${sha256.slice(0, 12)}…`);
        return { manifest, manifestPath, dumpPath, durationMs: Date.now() - started };
    } catch (err) {
        await client.query("rollback").catch(() => undefined);
        // A server error's message can quote a row value (e.g. a failing cast in a fingerprint query).
        throw new Error(pgErrorText(err, [info.password]));
    } finally {
        await client.end().catch(() => undefined);
    }
}
