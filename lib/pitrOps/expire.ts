// `npm run pitr -- expire`: pgBackRest's expire on a repository under Object Lock, and what it could
// not delete. pgBackRest 2.45 deletes with plain DELETEs; on a locked, versioned bucket each one only
// puts a delete marker on top, and the locked version stays (noncurrent) until its retention lapses —
// then the vault's noncurrent-version lifecycle rule removes it. So expire keeps the repository
// consistent (backup.info and the archive say what pgBackRest still has), and this report lists
// what is still stored: per key, the version behind the marker and its retain-until date. When the
// store refuses a DELETE instead (IAM, or a store that locks plain deletes), pgBackRest stops with an
// error; the report says so, and the repository is checked with `info` either way.
import { info } from "../pitr/info";
import { runPgBackRest, type PgBackRestContext } from "../pitr/runner";
import { currentVersions, defaultRetentionDays, listVersions, repositoryClient, repositoryPrefix, retainUntil, s3RepositoryOf, type ObjectVersion } from "./s3Versions";

export interface KeptVersion {
    key: string;
    versionId: string;
    bytes: number;
    /** Until when Object Lock keeps it; undefined when the bucket has no lock. */
    retainUntil?: string;
}

export interface ExpireReport {
    /** Backups in the repository's backup.info before expire and not after (oldest first). */
    expiredBackups: string[];
    /** pgBackRest's archive lines ("remove archive …", "no archive to remove"). */
    archive: string[];
    /** Keys that were current before and are not after. */
    retired: number;
    /** Of those, versions still stored behind a delete marker (what expire could not delete). */
    kept: KeptVersion[];
    /** Of those, gone for good (a bucket without versioning). */
    deleted: string[];
    /** pgBackRest's error when it stopped (a refused DELETE, …). */
    refused?: string;
    /** `pgbackrest info` after expire: the repository's stanza status. */
    stanzaStatus: { code: number; message: string };
    backupsLeft: string[];
}

/**
 * Labels and archive lines from expire's console output at log level info. The labels include
 * leftover backup directories pgBackRest cleans up that backup.info no longer lists (the report's
 * expiredBackups comes from backup.info instead: see expireWithReport).
 */
export function parseExpireOutput(output: string): { expiredBackups: string[]; archive: string[] } {
    const expiredBackups: string[] = [];
    const archive: string[] = [];
    for (const line of output.split("\n")) {
        const m = /remove expired backup (?:set:? )?([0-9]{8}-[0-9]{6}F(?:_[0-9]{8}-[0-9]{6}[DI])?(?:, [0-9]{8}-[0-9]{6}F(?:_[0-9]{8}-[0-9]{6}[DI])?)*)/.exec(line);
        if (m) expiredBackups.push(...m[1].split(", "));
        const a = /(remove archive.*|no archive to remove.*)$/.exec(line);
        if (a) archive.push(a[1].trim());
    }
    return { expiredBackups, archive };
}

export async function expireWithReport(ctx: PgBackRestContext, now = new Date()): Promise<ExpireReport> {
    const repo = s3RepositoryOf(ctx.settings);
    const client = repositoryClient(ctx.settings, ctx.secrets);
    const prefix = repositoryPrefix(ctx.settings);
    try {
        // Which backups expire retired, from backup.info before and after — not from pgBackRest's
        // "remove expired backup" lines, which also name directories it finds without a backup.info
        // entry (an S3-compatible store that still lists a "directory" whose keys are all behind
        // delete markers shows the same retired backups again on every run).
        const backupsBefore = (await info(ctx)).backups.map((b) => b.label);
        const before = currentVersions(await listVersions(client, repo.bucket, prefix));
        let output = "";
        let refused: string | undefined;
        try {
            const res = await runPgBackRest(ctx, "expire", ["--log-level-console=info"]);
            output = res.stdout + res.stderr;
        } catch (err) {
            refused = (err as Error).message;
            output = (err as { output?: string }).output ?? "";
        }
        const afterAll = await listVersions(client, repo.bucket, prefix);
        const after = currentVersions(afterAll);
        const byVersion = new Map<string, ObjectVersion>(afterAll.map((v) => [`${v.key}\u0000${v.versionId}`, v]));
        const days = await defaultRetentionDays(client, repo.bucket);
        const kept: KeptVersion[] = [];
        const deleted: string[] = [];
        let retired = 0;
        for (const [key, v] of before) {
            if (after.get(key)?.versionId === v.versionId) continue;
            if (after.has(key)) continue; // overwritten (backup.info): the new version is current
            retired++;
            const still = byVersion.get(`${key}\u0000${v.versionId}`);
            if (!still) {
                deleted.push(key);
                continue;
            }
            const until = await retainUntil(client, repo.bucket, still, days);
            kept.push({ key, versionId: v.versionId, bytes: v.bytes, ...(until && until > now ? { retainUntil: until.toISOString() } : {}) });
        }
        const stanza = await info(ctx);
        const left = new Set(stanza.backups.map((b) => b.label));
        return {
            expiredBackups: backupsBefore.filter((label) => !left.has(label)),
            archive: parseExpireOutput(output).archive,
            retired,
            kept,
            deleted,
            ...(refused ? { refused } : {}),
            stanzaStatus: stanza.status,
            backupsLeft: stanza.backups.map((b) => b.label),
        };
    } finally {
        client.destroy();
    }
}

/** The people's summary of an expire. */
export function formatExpire(r: ExpireReport, noncurrentDays?: number): string {
    const lines: string[] = [];
    lines.push(r.refused
        ? `expire: STOPPED — pgBackRest could not finish: ${r.refused.split("\n")[0]}`
        : `expire: ${r.expiredBackups.length ? `expired backup(s) ${r.expiredBackups.join(", ")}` : "no backup beyond retention"}; ${r.archive.join("; ") || "archive unchanged"}`);
    const locked = r.kept.filter((k) => k.retainUntil);
    if (r.retired > 0) {
        const bytes = r.kept.reduce((n, k) => n + k.bytes, 0);
        lines.push(`  ${r.retired} file(s) retired from the repository; ${r.kept.length} version(s) (${bytes} bytes) are still stored behind delete markers, ${r.deleted.length} deleted outright`);
    }
    if (locked.length) {
        const last = locked.map((k) => k.retainUntil!).sort().at(-1)!;
        lines.push(`  not deleted: ${locked.length} version(s) under Object Lock until ${last} at the latest (e.g. ${locked[0].key});`
            + ` the vault's lifecycle removes them ${noncurrentDays !== undefined ? `${noncurrentDays} day(s) after they became noncurrent, ` : ""}never before their lock lapses`);
    }
    lines.push(`  repository after expire: stanza status ${r.stanzaStatus.code} (${r.stanzaStatus.message}); backups ${r.backupsLeft.join(", ") || "none"}`);
    return lines.join("\n");
}
