// What the repository holds: `pgbackrest info --output=json` (backups, archive min/max) and a listing
// of the archived WAL files (`repo-ls`), parsed into plain objects. The JSON shapes are pgBackRest
// 2.45's; a field we rely on that is missing is an error naming it, not a silently wrong answer.
import { runPgBackRest, type PgBackRestContext } from "./runner";
import { isSegmentName } from "./walNames";

export interface BackupSummary {
    label: string;
    type: "full" | "diff" | "incr";
    startTime: Date;
    stopTime: Date;
    startLsn: string;
    stopLsn: string;
    /** First and last WAL segment the backup needs for consistency. */
    archiveStart: string;
    archiveStop: string;
    /** pgBackRest found page checksum errors while copying. */
    error: boolean;
}

export interface ArchiveRange {
    /** "<pg major>-<db history id>", e.g. "15-1". */
    id: string;
    min: string | null;
    max: string | null;
}

export interface StanzaInfo {
    stanza: string;
    /** pgBackRest's stanza status: 0 ok; anything else comes with its message. */
    status: { code: number; message: string };
    cipher: string;
    backups: BackupSummary[];
    archives: ArchiveRange[];
    oldestBackup?: BackupSummary;
    newestBackup?: BackupSummary;
}

function field<T>(obj: unknown, path: string[], what: string): T {
    let cur: unknown = obj;
    for (const key of path) {
        if (cur === null || typeof cur !== "object" || !(key in cur)) throw new Error(`pgbackrest info: ${what} has no ${path.join(".")}`);
        cur = (cur as Record<string, unknown>)[key];
    }
    return cur as T;
}

/** Parses `info --output=json` for one stanza. */
export function parseInfo(json: string, stanza: string): StanzaInfo {
    let doc: unknown;
    try {
        doc = JSON.parse(json);
    } catch {
        throw new Error("pgbackrest info did not print JSON");
    }
    if (!Array.isArray(doc)) throw new Error("pgbackrest info: expected a JSON array of stanzas");
    const entry = doc.find((s: { name?: string }) => s?.name === stanza);
    if (!entry) throw new Error(`pgbackrest info: stanza ${stanza} is not in the repository`);
    const what = `stanza ${stanza}`;
    const backups: BackupSummary[] = (field<unknown[]>(entry, ["backup"], what) ?? []).map((b, i) => {
        const w = `${what} backup #${i}`;
        return {
            label: field<string>(b, ["label"], w),
            type: field<BackupSummary["type"]>(b, ["type"], w),
            startTime: new Date(field<number>(b, ["timestamp", "start"], w) * 1000),
            stopTime: new Date(field<number>(b, ["timestamp", "stop"], w) * 1000),
            startLsn: field<string>(b, ["lsn", "start"], w),
            stopLsn: field<string>(b, ["lsn", "stop"], w),
            archiveStart: field<string>(b, ["archive", "start"], w),
            archiveStop: field<string>(b, ["archive", "stop"], w),
            error: (b as { error?: boolean }).error === true,
        };
    });
    backups.sort((a, b) => a.stopTime.getTime() - b.stopTime.getTime());
    const archives = (field<unknown[]>(entry, ["archive"], what) ?? []).map((a) => ({
        id: field<string>(a, ["id"], what + " archive"),
        min: (a as { min?: string | null }).min ?? null,
        max: (a as { max?: string | null }).max ?? null,
    }));
    return {
        stanza,
        status: { code: field<number>(entry, ["status", "code"], what), message: field<string>(entry, ["status", "message"], what) },
        cipher: (entry as { cipher?: string }).cipher ?? "none",
        backups,
        archives,
        oldestBackup: backups[0],
        newestBackup: backups[backups.length - 1],
    };
}

export async function info(ctx: PgBackRestContext): Promise<StanzaInfo> {
    const res = await runPgBackRest(ctx, "info", ["--output=json"]);
    return parseInfo(res.stdout, ctx.settings.stanza);
}

export interface ArchivedSegment {
    archiveId: string;
    /** The 24-hex-digit segment name. */
    name: string;
    /** Repository path relative to the stanza's archive directory. */
    path: string;
    bytes: number;
    /** When the repository received it (storage time). */
    time: Date;
}

/**
 * Parses `repo-ls --recurse --output=json archive/<stanza>`: archived segments are stored as
 * <archiveId>/<timeline+log>/<segment>-<sha1>[.gz|.lz4|.zst|...]; .history and .backup files are not segments.
 */
export function parseArchiveListing(json: string): ArchivedSegment[] {
    let doc: Record<string, { type?: string; size?: number; time?: number }>;
    try {
        doc = JSON.parse(json);
    } catch {
        throw new Error("pgbackrest repo-ls did not print JSON");
    }
    const out: ArchivedSegment[] = [];
    for (const [p, entry] of Object.entries(doc)) {
        if (entry?.type !== "file") continue;
        const parts = p.split("/");
        if (parts.length !== 3) continue;
        const name = parts[2].split("-")[0];
        if (!isSegmentName(name) || !/^[0-9A-F]{24}-[0-9a-f]{40}/.test(parts[2])) continue;
        out.push({ archiveId: parts[0], name, path: p, bytes: entry.size ?? 0, time: new Date((entry.time ?? 0) * 1000) });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function listArchive(ctx: PgBackRestContext): Promise<ArchivedSegment[]> {
    const res = await runPgBackRest(ctx, "repo-ls", ["--recurse", "--output=json"], { positional: [`archive/${ctx.settings.stanza}`] });
    return parseArchiveListing(res.stdout);
}
