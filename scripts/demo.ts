// The embedded default: `npm run demo`. No cloud account needed. Starts a throw-away PostgreSQL, seeds a
// Supabase-shaped database (auth.users, RLS on auth.uid(), pgcrypto/uuid-ossp, runbook 003's tables,
// >100k rows), runs a full restore drill through the real Pulumi engine on a local file backend —
// dump in one snapshot, scratch database, restore, validation (incl. RLS behaviour as anon and as an
// authenticated user), masking for a staging copy, report — prints the summary, and cleans up.
// Artifacts stay in ./drill-artifacts (or $BACKUP_DIR).
//
// `npm run demo -- --pitr [--pitr-target mark|time]`: the point-in-time recovery drill instead
// (lib/demo/pitr.ts): WAL archive, base backup, writes, a consistent-point mark, then the PITR drill to
// the mark (exact fingerprint) or to a time T (heartbeat ordering), through the same engine.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { demoPitrDrillSettings, preparePitrSource, type DemoPitrTarget } from "../lib/demo/pitr";
import { seedSupabaseLikeDatabase } from "../lib/demo/seed";
import type { DrillSettings } from "../lib/drill/config";
import { runCli } from "../lib/cli/run";
import { runDrill } from "../lib/drill/run";
import { withClient } from "../lib/postgres/connection";
import { startLocalCluster } from "../lib/postgres/localCluster";
import { localBackend } from "../lib/pulumi/engine";
import { drillProgram } from "../programs/drill";

const log = (msg: string) => process.stdout.write(`[demo] ${msg}\n`);

/** Drill settings a Supabase team would write for this schema (runbooks 001–003). */
export function demoSettings(sampleUserId: string): Partial<DrillSettings> {
    return {
        validation: {
            fingerprint: {
                rlsProbes: [
                    { role: "anon" },
                    { role: "authenticated", claims: { sub: sampleUserId, role: "authenticated" } },
                ],
            },
            assertions: [
                {
                    name: "invalid_progress",
                    sql: "select count(*) from public.lms_subsection_progress where progress_percent < 0 or progress_percent > 100",
                    expected: 0,
                },
            ],
        },
        masking: {
            rules: {
                "auth.users.email": "email",
                "auth.users.phone": "phone",
                "public.profiles.email": "email",
                "public.profiles.phone": "phone",
                "public.profiles.full_name": "name",
                // The sign-up trigger copies the name from the user's metadata: mask it there too (the
                // whole-database survivor scan finds it otherwise).
                "auth.users.raw_user_meta_data.full_name": "name",
            },
        },
        targets: { rtoSeconds: 2 * 3600, rpoSeconds: 24 * 3600 },
    };
}

/** The PITR demo: source with a WAL archive, then the PITR drill through the engine; everything removed after. */
async function pitrDemo(scale: number, target: DemoPitrTarget, backupDir: string): Promise<number> {
    const demo = await preparePitrSource({ scale, log });
    const backend = localBackend();
    try {
        const base = demoSettings(demo.seeded.sampleUserId);
        log(`running the PITR drill to ${target === "mark" ? `mark ${demo.markKey}` : `T = ${demo.targetTime.toISOString()}`} through the Pulumi engine`);
        const result = await runDrill({
            program: drillProgram,
            env: "demo",
            backend,
            backupDir,
            // The mark carries its own basis; a time target reads the heartbeat log from the source.
            secrets: { pitrCipherPass: demo.cipherPass, ...(target === "time" ? { sourceDbUrl: demo.cluster.url("app") } : {}) },
            settings: { ...demoPitrDrillSettings(demo, target), validation: { assertions: base.validation?.assertions }, masking: base.masking },
            onOutput: (t) => process.stdout.write(t),
        });
        process.stdout.write(`\n${fs.readFileSync(result.summaryPath, "utf8")}\n`);
        if (result.error) process.stderr.write(`${result.error}\n`);
        const p = result.report.pitr;
        const t = target === "mark" ? `mark ${demo.markKey} (LSN ${demo.markLsn})` : `T = ${demo.targetTime.toISOString()}`;
        const reached = p?.completed ? `reached LSN ${p.reached_lsn}, last commit ${p.reached_last_commit_time ?? "none"}` : "target not reached";
        log(`PITR drill ${result.status}: ${t}; ${reached}; validation ${result.report.validation?.compared_with ?? "not run"}: ${result.report.validation?.status ?? "—"}`);
        log(`stack ${result.stackName} destroyed and removed; artifacts: ${result.artifactsDir}`);
        return result.status === "PASS" ? 0 : 1;
    } finally {
        log("stopping the source PostgreSQL, removing the archive and the temporary backend");
        await demo.stop();
        backend.cleanup();
    }
}

async function main(): Promise<number> {
    const { values } = parseArgs({ options: { pitr: { type: "boolean" }, "pitr-target": { type: "string" } }, strict: true });
    const scale = Number(process.env.DEMO_SCALE ?? "1");
    const backupDir = path.resolve(process.env.BACKUP_DIR ?? "drill-artifacts");
    const pitrTarget = values["pitr-target"] ?? "mark";
    if (pitrTarget !== "mark" && pitrTarget !== "time") throw new Error(`--pitr-target must be mark or time (got ${JSON.stringify(pitrTarget)})`);
    if (values["pitr-target"] !== undefined && !values.pitr) throw new Error("--pitr-target needs --pitr");
    if (values.pitr) return pitrDemo(scale, pitrTarget, backupDir);
    log("starting a throw-away PostgreSQL");
    const pg = await startLocalCluster();
    const backend = localBackend();
    try {
        await withClient(pg.url(), "demo server", (c) => c.query("create database app"));
        log(`seeding a Supabase-shaped database (scale ${scale})`);
        const seeded = await seedSupabaseLikeDatabase(pg.url("app"), { scale, onProgress: (m) => log(`  ${m}`) });
        const rows = Object.values(seeded.tables).reduce((a, b) => a + b, 0);
        log(`seeded ${rows.toLocaleString("en")} rows in ${Object.keys(seeded.tables).length} tables, ${(seeded.bytes / 2 ** 20).toFixed(1)} MiB`);

        log("running the drill through the Pulumi engine (local file backend)");
        const result = await runDrill({
            program: drillProgram,
            env: "demo",
            backend,
            backupDir,
            // No target: the drill restores into its own throw-away cluster, as `npm run drill` does by default.
            secrets: { sourceDbUrl: pg.url("app") },
            settings: demoSettings(seeded.sampleUserId),
            onOutput: (t) => process.stdout.write(t),
        });
        process.stdout.write(`\n${fs.readFileSync(result.summaryPath, "utf8")}\n`);
        if (result.error) process.stderr.write(`${result.error}\n`);
        log(`drill ${result.status}; stack ${result.stackName} destroyed and removed`);
        log(`artifacts: ${result.artifactsDir}`);
        for (const f of fs.readdirSync(result.artifactsDir).sort()) log(`  ${f}`);
        return result.status === "PASS" ? 0 : 1;
    } finally {
        log("stopping PostgreSQL and removing the temporary backend");
        await pg.stop();
        backend.cleanup();
    }
}

if (require.main === module) runCli("demo", main);
