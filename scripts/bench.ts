// `npm run bench` (issue 3): how much a full drill costs over a bare pg_dump + pg_restore, and how much
// memory it needs, as the database grows. For each size: a throw-away PostgreSQL, a Supabase-shaped
// database seeded to that size, then
//
//   raw pass 1 → drill → raw pass 2      (raw = pg_dump -Fc, then pg_restore -j N into a fresh database)
//
// and the drill is compared with the MEAN of the two raw passes. Why this order: the first pass of
// anything may read the source cold (whatever of it is not in the OS page cache or shared_buffers
// comes from disk), later passes find it warm. One raw pass on each side of the drill gives the
// baseline both a colder and a warmer run; their mean cancels most of that drift (and some of the
// noise other work on the machine adds), and the two passes side by side show how big it was. A CHECKPOINT before every pass starts each one
// with no dirty buffers left by the previous one, and the raw restore database is dropped before
// the drill runs, so the disk holds the same data for both.
//
// The drill is the real thing (dump-now mode through the Pulumi engine, restore with the same -j,
// validation with the demo's RLS probes and assertion) WITHOUT masking: a bare dump + restore does not
// mask either, so masking would not be compared like for like.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sha256File } from "../lib/backup/checksum";
import { scaleForBytes, seedSupabaseLikeDatabase } from "../lib/demo/seed";
import type { DrillSettings } from "../lib/drill/config";
import { withClient } from "../lib/postgres/connection";
import { startLocalCluster } from "../lib/postgres/localCluster";
import { runCli } from "../lib/cli/run";
import { redact } from "../lib/redact";
import { takeFingerprint } from "../lib/validate";
import { BENCH_USAGE, parseBenchArgs, type BenchArgs } from "../lib/bench/args";
import { runDrillPass } from "../lib/bench/drillPass";
import { formatFlatness, formatResults, sizeLabel } from "../lib/bench/format";
import { benchPitrSize } from "../lib/bench/pitrBench";
import { formatPitrResults, pitrSizeLabel } from "../lib/bench/pitrFormat";
import { evaluatePitrSize, PITR_TARGETS, type PitrSizeRun } from "../lib/bench/pitrResults";
import { runRawPass } from "../lib/bench/rawPass";
import { evaluateSize, flatnessChecks, missedTargets, TARGETS, type SizeRun } from "../lib/bench/results";
import { formatSize } from "../lib/bench/size";
import { drillProgram } from "../programs/drill";
import { demoSettings } from "./demo";

// Server settings for a bulk load, the same for every pass: room for index builds, and no forced
// checkpoints in the middle of a 1 GB restore. (localCluster already turns fsync off.)
const CLUSTER_SETTINGS = {
    shared_buffers: "256MB",
    maintenance_work_mem: "256MB",
    max_wal_size: "4GB",
    checkpoint_timeout: "30min",
};

const RAW_DATABASE = "bench_raw";
const secrets = new Set<string>();
const started = Date.now();

function log(msg: string): void {
    const t = ((Date.now() - started) / 1000).toFixed(0).padStart(5);
    process.stdout.write(redact(`[bench ${t}s] ${msg}\n`, secrets));
}

/** The demo's drill settings, minus masking, with the benchmark's restore jobs. */
function benchSettings(sampleUserId: string, jobs: number): Partial<DrillSettings> {
    const { validation, targets } = demoSettings(sampleUserId);
    return { validation, targets, restore: { jobs } };
}

async function checkpoint(adminUrl: string): Promise<void> {
    await withClient(adminUrl, "benchmark server", (c) => c.query("checkpoint"));
}

async function benchOneSize(bytes: number, jobs: number, workDir: string): Promise<SizeRun> {
    const scale = scaleForBytes(bytes);
    const loadBefore = os.loadavg();
    log(`=== ${formatSize(bytes)}: starting a throw-away PostgreSQL (load average ${loadBefore[0].toFixed(2)})`);
    const pg = await startLocalCluster({ settings: CLUSTER_SETTINGS });
    secrets.add(pg.password);
    const dir = fs.mkdtempSync(path.join(workDir, "size-"));
    try {
        const adminUrl = pg.url("postgres");
        const sourceUrl = pg.url("app");
        await withClient(adminUrl, "benchmark server", (c) => c.query("create database app"));
        log(`seeding database app at scale ${scale}`);
        const seedStarted = Date.now();
        const seeded = await seedSupabaseLikeDatabase(sourceUrl, { scale, onProgress: (m) => log(`  seed: ${m}`) });
        const seedSeconds = (Date.now() - seedStarted) / 1000;
        const rows = Object.values(seeded.tables).reduce((a, b) => a + b, 0);
        const settings = benchSettings(seeded.sampleUserId, jobs);
        const dumpPath = path.join(dir, "raw.dump");
        const raw = { sourceUrl, adminUrl, database: RAW_DATABASE, dumpPath, jobs, logFile: path.join(dir, "raw.log") };

        await checkpoint(adminUrl);
        log(`raw pass 1: pg_dump -Fc, pg_restore -j ${jobs} --no-owner`);
        const raw1 = await runRawPass(raw);
        log(`  dump ${raw1.dumpSeconds.toFixed(1)} s, restore ${raw1.restoreSeconds.toFixed(1)} s`);

        await checkpoint(adminUrl);
        log("drill: dump now, scratch database, restore, validation (no masking), report, destroy");
        const drill = await runDrillPass({
            sourceUrl,
            targetAdminUrl: adminUrl,
            backupDir: path.join(dir, "drill"),
            settings,
            program: drillProgram,
            onOutput: (t) => process.stdout.write(redact(t, secrets)),
        });
        log(`  drill ${drill.totalSeconds.toFixed(1)} s (restore ${drill.restoreSeconds.toFixed(1)} s, validation ${drill.validationSeconds.toFixed(1)} s)`);

        await checkpoint(adminUrl);
        log("raw pass 2");
        const raw2 = await runRawPass(raw);
        log(`  dump ${raw2.dumpSeconds.toFixed(1)} s, restore ${raw2.restoreSeconds.toFixed(1)} s`);

        // Alone, outside every timing: how long the drill's extra work takes by itself.
        log("diagnostics: source fingerprint alone, sha256 of the dump alone");
        let t = Date.now();
        await withClient(sourceUrl, "source database", (c) => takeFingerprint(c, settings.validation?.fingerprint ?? {}));
        const sourceFingerprintSeconds = (Date.now() - t) / 1000;
        t = Date.now();
        await sha256File(dumpPath);
        const sha256Seconds = (Date.now() - t) / 1000;

        return {
            requestedBytes: bytes,
            scale,
            databaseBytes: seeded.bytes,
            rows,
            seedSeconds,
            raw: [raw1, raw2],
            drill,
            diagnostics: { sourceFingerprintSeconds, sha256Seconds },
            loadBefore,
            loadAfter: os.loadavg(),
        };
    } finally {
        log("stopping PostgreSQL and removing temporary files");
        await pg.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Warns when other work shared the machine: the timings are then noisy. */
function loadNote(loads: number[]): string {
    const maxLoad = Math.max(...loads);
    if (maxLoad <= os.cpus().length / 2) return "";
    return `Note: the 1-minute load average reached ${maxLoad.toFixed(2)} on ${os.cpus().length} CPUs: other work shared the machine, timings are noisy.\n`;
}

/** `--pitr` (issue 11): the PITR drill against a bare pgbackrest restore + recovery to the same mark. */
async function mainPitr(args: BenchArgs): Promise<number> {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-bench-"));
    const removeWorkDir = () => fs.rmSync(workDir, { recursive: true, force: true });
    process.once("exit", removeWorkDir);
    log(`PITR benchmark; sizes ${args.sizes.map(formatSize).join(", ")}; ${os.cpus().length} CPUs, ${formatSize(os.totalmem())} RAM`);
    const runs: PitrSizeRun[] = [];
    try {
        for (const bytes of args.sizes) {
            runs.push(
                await benchPitrSize(bytes, {
                    program: drillProgram,
                    workDir,
                    log,
                    onOutput: (t) => process.stdout.write(redact(t, secrets)),
                    addSecret: (v) => secrets.add(v),
                    // The demo's assertion as well as the mark's exact fingerprint, like `npm run demo -- --pitr`.
                    validation: (userId) => ({ assertions: demoSettings(userId).validation?.assertions }),
                }),
            );
        }
    } finally {
        removeWorkDir();
    }
    const evaluations = runs.map(evaluatePitrSize);
    const flatness = flatnessChecks(runs);
    const missed = missedTargets(runs, evaluations, flatness, pitrSizeLabel);
    process.stdout.write(
        [
            "",
            "Benchmark: PITR drill vs bare pgbackrest restore + recovery to the same mark (type=lsn, exclusive, target-action=promote; drill without masking)",
            "",
            formatPitrResults(runs, evaluations),
            "",
            formatFlatness(flatness),
            "",
            missed.length === 0 ? "All targets met." : `Targets missed:\n${missed.map((m) => `- ${m}`).join("\n")}`,
            "",
        ].join("\n") + loadNote(runs.flatMap((r) => [r.loadBefore[0], r.loadAfter[0]])),
    );
    if (args.out) {
        const json = {
            generatedAt: new Date().toISOString(),
            host: { cpus: os.cpus().length, totalMemBytes: os.totalmem(), node: process.version },
            settings: { mode: "pitr", masking: false, target: "consistent-point mark (type=lsn, exclusive)", rawPasses: "mean of one pass before and one after the drill" },
            targets: { ...PITR_TARGETS, flatGrowthShare: TARGETS.flatGrowthShare, flatGrowthMb: TARGETS.flatGrowthMb },
            runs: runs.map((r, i) => ({ ...r, evaluation: evaluations[i] })),
            flatness,
            missedTargets: missed,
        };
        fs.writeFileSync(args.out, redact(JSON.stringify(json, null, 2) + "\n", secrets));
        log(`results written to ${args.out}`);
    }
    return 0; // a missed target is a measurement, not an error
}

async function main(args: BenchArgs): Promise<number> {
    if (args.pitr) return mainPitr(args);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-bench-"));
    // Interrupted runs (Ctrl-C) exit through localCluster's signal handler: still remove our files.
    const removeWorkDir = () => fs.rmSync(workDir, { recursive: true, force: true });
    process.once("exit", removeWorkDir);
    log(`sizes ${args.sizes.map(formatSize).join(", ")}; pg_restore -j ${args.jobs}; ${os.cpus().length} CPUs, ${formatSize(os.totalmem())} RAM`);
    const runs: SizeRun[] = [];
    try {
        for (const bytes of args.sizes) runs.push(await benchOneSize(bytes, args.jobs, workDir));
    } finally {
        removeWorkDir();
    }

    const evaluations = runs.map(evaluateSize);
    const flatness = flatnessChecks(runs);
    const missed = missedTargets(runs, evaluations, flatness, sizeLabel);
    process.stdout.write(
        [
            "",
            `Benchmark: full drill vs bare pg_dump -Fc + pg_restore -j ${args.jobs} (drill without masking, like for like)`,
            "",
            formatResults(runs, evaluations, args.jobs),
            "",
            formatFlatness(flatness),
            "",
            missed.length === 0 ? "All targets met." : `Targets missed:\n${missed.map((m) => `- ${m}`).join("\n")}`,
            "",
        ].join("\n"),
    );
    process.stdout.write(loadNote(runs.flatMap((r) => [r.loadBefore[0], r.loadAfter[0]])));
    if (args.out) {
        const json = {
            generatedAt: new Date().toISOString(),
            host: { cpus: os.cpus().length, totalMemBytes: os.totalmem(), node: process.version },
            settings: { jobs: args.jobs, masking: false, cluster: CLUSTER_SETTINGS, rawPasses: "mean of one pass before and one after the drill" },
            targets: TARGETS,
            runs: runs.map((r, i) => ({ ...r, evaluation: evaluations[i] })),
            flatness,
            missedTargets: missed,
        };
        fs.writeFileSync(args.out, redact(JSON.stringify(json, null, 2) + "\n", secrets));
        log(`results written to ${args.out}`);
    }
    return 0; // a missed target is a measurement, not an error
}

if (require.main === module) {
    runCli(
        "bench",
        () => {
            const args = parseBenchArgs(process.argv.slice(2));
            if (args !== "help") return main(args);
            process.stdout.write(BENCH_USAGE + "\n");
            return 0;
        },
        { secrets: () => secrets, usage: BENCH_USAGE },
    );
}
