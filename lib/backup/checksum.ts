// sha256 of backup files, streamed (memory stays flat whatever the dump size), and `.sha256` files
// in the format `sha256sum -c` reads, so operators can verify by hand (runbook 001).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

export async function sha256File(file: string): Promise<string> {
    const hash = createHash("sha256");
    await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), hash);
    return hash.digest("hex");
}

export interface ChecksumEntry {
    /** Path relative to the .sha256 file's directory. */
    name: string;
    sha256: string;
}

export function formatSha256File(entries: ChecksumEntry[]): string {
    return entries.map((e) => `${e.sha256}  ${e.name}\n`).join("");
}

export function parseSha256File(text: string, file = ".sha256 file"): ChecksumEntry[] {
    const entries: ChecksumEntry[] = [];
    for (const [i, line] of text.split(/\r?\n/).entries()) {
        if (!line.trim()) continue;
        const m = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line.trim());
        if (!m) throw new Error(`${file}, line ${i + 1}: expected '<64 hex digits>  <file name>'`);
        entries.push({ sha256: m[1].toLowerCase(), name: m[2] });
    }
    return entries;
}

export interface ChecksumMismatch {
    name: string;
    expected: string;
    actual: string | "missing";
}

/** Re-hashes every file listed and returns the mismatches (empty: all good). */
export async function verifyChecksums(dir: string, entries: ChecksumEntry[]): Promise<ChecksumMismatch[]> {
    const mismatches: ChecksumMismatch[] = [];
    for (const e of entries) {
        const file = path.resolve(dir, e.name);
        if (!fs.existsSync(file)) {
            mismatches.push({ name: e.name, expected: e.sha256, actual: "missing" });
            continue;
        }
        const actual = await sha256File(file);
        if (actual !== e.sha256) mismatches.push({ name: e.name, expected: e.sha256, actual });
    }
    return mismatches;
}

export interface Sha256Tap {
    /** Pass-through stream that hashes and counts what flows through it. */
    stream: Transform;
    /** Hex digest; call once the stream has ended. */
    digest(): string;
    bytes(): number;
}

/** Hashes a stream on its way somewhere else: one pass, no buffering. */
export function sha256Tap(): Sha256Tap {
    const hash = createHash("sha256");
    let bytes = 0;
    const stream = new Transform({
        transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            bytes += chunk.length;
            done(null, chunk);
        },
    });
    return { stream, digest: () => hash.digest("hex"), bytes: () => bytes };
}
