// Command line of `npm run bench`.
import { UsageError } from "../errors";
import { parseSizeList } from "./size";

export interface BenchArgs {
    /** Database sizes to benchmark, in bytes, in the order given. */
    sizes: number[];
    /** pg_restore -j, for the raw restore and the drill's restore alike. */
    jobs: number;
    /** Also write the results here as JSON. */
    out?: string;
    /** The PITR benchmark instead: raw `pgbackrest restore` + recovery vs the PITR drill (issue 11). */
    pitr: boolean;
}

export const BENCH_USAGE = `usage: npm run bench -- [--size 1GB] [--jobs 2] [--out results.json]
       npm run bench -- --pitr [--size 1GB] [--out results.json]
  --size   database size(s) to seed, comma-separated (binary units: 200MB, 1GB, 1.5GiB); default 1GB
  --jobs   pg_restore -j for both the raw restore and the drill's restore; default 2
  --pitr   benchmark the point-in-time recovery drill against a bare \`pgbackrest restore\` + recovery
           to the same consistent-point mark (pgBackRest's process-max applies to both, not --jobs)
  --out    also write the results as JSON to this file`;

export const DEFAULT_SIZE = "1GB";
export const DEFAULT_JOBS = 2;

/** Parses argv (without node and the script); "help" for --help. Throws on anything it does not know. */
export function parseBenchArgs(argv: string[]): BenchArgs | "help" {
    const values: Record<string, string> = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--help" || arg === "-h") return "help";
        if (arg === "--pitr") {
            values.pitr = "true";
            continue;
        }
        const m = /^--(size|jobs|out)(?:=(.*))?$/.exec(arg);
        if (!m) throw new UsageError(`unknown argument '${arg}'`);
        const value = m[2] ?? argv[++i];
        if (value === undefined || value === "") throw new UsageError(`--${m[1]} needs a value`);
        values[m[1]] = value;
    }
    const jobs = Number(values.jobs ?? DEFAULT_JOBS);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs must be a whole number from 1 to 64 (got ${values.jobs})`);
    // A PITR restore has no pg_restore: a --jobs the run would silently ignore is refused instead.
    if (values.pitr && values.jobs !== undefined) throw new UsageError(`--jobs sets pg_restore -j, which a PITR restore does not run: leave it out with --pitr`);
    return { sizes: parseSizeList(values.size ?? DEFAULT_SIZE), jobs, out: values.out, pitr: values.pitr === "true" };
}
