// Database sizes on the benchmark's command line ("200MB", "1GB", "1.5GiB", "200MB,1GB").
//
// Units are binary, as in postgresql.conf and pg_size_pretty: 1 GB = 1 GiB = 2^30 bytes. Reading
// "GB" as 10^9 would make `--size 1GB` seed a database pg_size_pretty prints as 954 MB.
import { UsageError } from "../errors";

const UNITS: Record<string, number> = {
    b: 1,
    k: 2 ** 10,
    kb: 2 ** 10,
    kib: 2 ** 10,
    m: 2 ** 20,
    mb: 2 ** 20,
    mib: 2 ** 20,
    g: 2 ** 30,
    gb: 2 ** 30,
    gib: 2 ** 30,
    t: 2 ** 40,
    tb: 2 ** 40,
    tib: 2 ** 40,
};

/** Bytes of one size such as "200MB", "1.5GiB" or "1073741824" (plain bytes). */
export function parseSize(text: string): number {
    const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
    const unit = m ? UNITS[(m[2] || "b").toLowerCase()] : undefined;
    if (!m || unit === undefined) {
        throw new UsageError(`size '${text}' is not understood: use a number and a unit, e.g. 200MB, 1GB, 1.5GiB`);
    }
    const bytes = Math.round(Number(m[1]) * unit);
    if (bytes <= 0) throw new UsageError(`size '${text}' must be greater than zero`);
    return bytes;
}

/** Several sizes, comma-separated; benchmarked in the order given. */
export function parseSizeList(text: string): number[] {
    const parts = text.split(",").map((s) => s.trim());
    if (parts.some((p) => p === "")) throw new UsageError(`size list '${text}' has an empty entry`);
    return parts.map(parseSize);
}

/** "200 MB", "1 GB", "1.5 GB" (binary units, like pg_size_pretty). */
export function formatSize(bytes: number): string {
    const units: [string, number][] = [["TB", 2 ** 40], ["GB", 2 ** 30], ["MB", 2 ** 20], ["kB", 2 ** 10]];
    for (const [name, size] of units) {
        if (bytes >= size) return `${Number((bytes / size).toFixed(bytes / size >= 100 ? 0 : 2))} ${name}`;
    }
    return `${bytes} B`;
}
