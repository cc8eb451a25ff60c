// `npm run bench -- --pitr` (issue 11): how much the PITR drill costs over a bare `pgbackrest restore` +
// recovery to the same target, and how much memory it needs, as the database grows. For each size: the
// PITR demo's source (lib/demo/pitr.ts: WAL archiving into a posix pgBackRest repository, seeded to the
// size, full backup, writes, a consistent-point mark, more writes), then
//
//   raw pass 1 → PITR drill to the mark → raw pass 2
//
// and the drill is compared with the MEAN of the two raw passes, for the reason scripts/bench.ts gives
// (the first pass reads the repository cold, later ones warm; the mean cancels most of that drift).
// Every pass recovers the same backup to the same mark, so all three do identical restore and replay
// work. The drill runs without masking: a bare restore does not mask either.
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";
import { demoPitrDrillSettings, preparePitrSource } from "../demo/pitr";
import { scaleForBytes } from "../demo/sizing";
import type { RunDrillOptions } from "../drill/run";
import { info } from "../pitr/info";
import { markTarget } from "../pitr/marks";
import { createWorkspace } from "../pitr/runner";
import { serverOf } from "../pitr/setup";
import { planRestore, type PlannedRestore } from "../pitr/target";
import { runPitrDrillPass } from "./pitrDrillPass";
import { runPitrRawPass } from "./pitrRawPass";
import type { PitrSizeRun } from "./pitrResults";
import { formatSize } from "./size";

export interface PitrBenchContext {
    program: RunDrillOptions["program"];
    /** Scratch space for the drill's artifacts. */
    workDir: string;
    log: (message: string) => void;
    /** Engine output of the drill (already redacted by the caller). */
    onOutput: (text: string) => void;
    /** Secrets found along the way (the cluster's password, the cipher passphrase): the caller redacts them. */
    addSecret: (value: string) => void;
    /** The drill's validation settings besides the mark (e.g. the demo's assertions), given the seeded sample user. */
    validation?: (sampleUserId: string) => NonNullable<RunDrillOptions["settings"]>["validation"];
}

/** The backup and options pgBackRest will use for the mark: read once, before and outside every timing. */
async function planForMark(demo: Awaited<ReturnType<typeof preparePitrSource>>): Promise<PlannedRestore> {
    const workspace = createWorkspace(demo.settings, serverOf(demo.cluster), os.tmpdir(), demo.cluster.runAs);
    try {
        const ctx = { settings: demo.settings, secrets: { cipherPass: demo.cipherPass }, configFile: workspace.configFile, runAs: demo.cluster.runAs, cwd: workspace.dir };
        return planRestore(await info(ctx), markTarget({ lsn: demo.markLsn }));
    } finally {
        workspace.remove();
    }
}

export async function benchPitrSize(bytes: number, ctx: PitrBenchContext): Promise<PitrSizeRun> {
    const scale = scaleForBytes(bytes);
    const loadBefore = os.loadavg();
    ctx.log(`=== ${formatSize(bytes)}: PITR source (load average ${loadBefore[0].toFixed(2)}), seed scale ${scale}`);
    const prepareStarted = Date.now();
    const demo = await preparePitrSource({ scale, log: (m) => ctx.log(`  source: ${m}`) });
    ctx.addSecret(demo.cluster.password);
    ctx.addSecret(demo.cipherPass);
    const dir = fs.mkdtempSync(path.join(ctx.workDir, "pitr-"));
    try {
        const prepareSeconds = (Date.now() - prepareStarted) / 1000;
        const plan = await planForMark(demo);
        const raw = { settings: demo.settings, secrets: { cipherPass: demo.cipherPass }, plan, runAs: demo.cluster.runAs, superuser: demo.cluster.user };
        ctx.log(`target: mark ${demo.markKey}, LSN ${demo.markLsn} (exclusive), backup ${plan.backup.label}`);

        ctx.log("raw pass 1: pgbackrest restore (type=lsn, exclusive, target-action=promote), start, wait until promoted");
        const raw1 = await runPitrRawPass(raw);
        ctx.log(`  restore ${raw1.restoreSeconds.toFixed(1)} s, recovery ${raw1.recoverySeconds.toFixed(1)} s`);

        ctx.log("PITR drill: restore to the mark, validation against it (no masking), report, destroy");
        const drill = await runPitrDrillPass({
            backupDir: path.join(dir, "drill"),
            cipherPass: demo.cipherPass,
            program: ctx.program,
            settings: { ...demoPitrDrillSettings(demo, "mark"), ...(ctx.validation ? { validation: ctx.validation(demo.seeded.sampleUserId) } : {}) },
            onOutput: ctx.onOutput,
        });
        ctx.log(`  drill ${drill.totalSeconds.toFixed(1)} s (PITR step ${drill.pitrSeconds.toFixed(1)} s, validation ${drill.validationSeconds.toFixed(1)} s)`);

        ctx.log("raw pass 2");
        const raw2 = await runPitrRawPass(raw);
        ctx.log(`  restore ${raw2.restoreSeconds.toFixed(1)} s, recovery ${raw2.recoverySeconds.toFixed(1)} s`);

        return {
            requestedBytes: bytes,
            scale,
            databaseBytes: demo.seeded.bytes,
            rows: Object.values(demo.seeded.tables).reduce((a, b) => a + b, 0),
            prepareSeconds,
            markLsn: demo.markLsn,
            backupLabel: plan.backup.label,
            transactions: demo.transactions,
            raw: [raw1, raw2],
            drill,
            loadBefore,
            loadAfter: os.loadavg(),
        };
    } finally {
        ctx.log("stopping the source PostgreSQL, removing the archive and temporary files");
        await demo.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
