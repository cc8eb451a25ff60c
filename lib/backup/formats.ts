// Recognizes the backup formats people actually have: pg_dump custom format, plain SQL, gzip'd plain
// SQL (dump.sql.gz, runbook 001), gzip'd custom format, and the `supabase db dump` trio
// (roles.sql, schema.sql, data.sql). Detection reads content, not file names.
import * as fs from "node:fs";
import * as path from "node:path";
import { createGunzip } from "node:zlib";
import { UsageError } from "../errors";

export type BackupFormat = "custom" | "custom-gzip" | "plain" | "plain-gzip" | "supabase-trio";

export const TRIO_FILES = ["roles.sql", "schema.sql", "data.sql"] as const;

function readHead(file: string, bytes: number): Buffer {
    const fd = fs.openSync(file, "r");
    try {
        const buf = Buffer.alloc(bytes);
        const n = fs.readSync(fd, buf, 0, bytes, 0);
        return buf.subarray(0, n);
    } finally {
        fs.closeSync(fd);
    }
}

async function gunzipHead(file: string, bytes: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let total = 0;
        const input = fs.createReadStream(file);
        const gunzip = createGunzip();
        const finish = () => {
            input.destroy();
            gunzip.destroy();
            resolve(Buffer.concat(chunks).subarray(0, bytes));
        };
        gunzip.on("data", (c: Buffer) => {
            chunks.push(c);
            total += c.length;
            if (total >= bytes) finish();
        });
        gunzip.on("end", finish);
        gunzip.on("error", (err) => reject(new Error(`${path.basename(file)} is not a readable gzip file: ${err.message}`)));
        input.on("error", reject);
        input.pipe(gunzip);
    });
}

function looksLikeText(head: Buffer): boolean {
    return head.length > 0 && !head.includes(0);
}

/** The format of a backup file or directory; throws a readable error for anything else. */
export async function detectFormat(p: string): Promise<BackupFormat> {
    if (!fs.existsSync(p)) throw new UsageError(`backup not found: ${p}`);
    if (fs.statSync(p).isDirectory()) {
        const missing = ["schema.sql", "data.sql"].filter((f) => !fs.existsSync(path.join(p, f)));
        if (missing.length > 0) {
            throw new UsageError(
                `backup directory ${p} is not a 'supabase db dump' set: missing ${missing.join(", ")} (expected roles.sql, schema.sql, data.sql)`,
            );
        }
        return "supabase-trio";
    }
    const head = readHead(p, 4096);
    if (head.length === 0) throw new UsageError(`backup file ${p} is empty`);
    if (head.subarray(0, 5).toString("latin1") === "PGDMP") return "custom";
    if (head[0] === 0x1f && head[1] === 0x8b) {
        const inner = await gunzipHead(p, 4096);
        if (inner.subarray(0, 5).toString("latin1") === "PGDMP") return "custom-gzip";
        if (looksLikeText(inner)) return "plain-gzip";
        throw new UsageError(`backup file ${p} is gzip'd but holds neither SQL text nor a pg_dump custom-format archive`);
    }
    if (looksLikeText(head)) return "plain";
    throw new UsageError(`backup file ${p} is not a recognized backup (pg_dump custom format, SQL, SQL.gz or a supabase db dump directory)`);
}

/** The files that make up a backup, in restore order. */
export function backupFiles(p: string, format: BackupFormat): string[] {
    if (format !== "supabase-trio") return [p];
    return TRIO_FILES.map((f) => path.join(p, f)).filter((f) => fs.existsSync(f));
}
