// Runs one drill as an ephemeral stack through the Automation API:
//   clean up leftovers of interrupted drills → create drill-<env>-<yyyymmddHHMMss> (claimed, never
//   shared) → set its config (values through stdin, never on a command line) → up (progress streamed)
//   → report → ALWAYS destroy and remove the stack (artifacts are kept) — unless --keep, which leaves
//   the stack (and its scratch target) for forensics (runbook 001).
import { displayTable, parseTableName } from "../recover/identifiers";
import { redact } from "../redact";
import { setStackConfig, type ConfigEntry, type LocalBackend } from "../pulumi/engine";
import { CONFIG_NAMESPACE, DEFAULT_NEXT_DRILL_DAYS, DEFAULT_TARGETS, type DrillSecrets, type DrillSettings } from "./config";
import { explain, secretValues } from "./diagnostics";
import { cleanupLeftovers, createDrillStack, destroyAndRemove, keepStack, unclaim, type LeftoverCleanup, type StackProgram } from "./lifecycle";
import { releaseClaim } from "./stackLocks";
import { writeDrillReport, type DrillReport } from "./report";

export { explain } from "./diagnostics";
export { cleanupLeftovers, cleanupStack, PROJECT, type LeftoverCleanup } from "./lifecycle";

export interface RunDrillOptions {
    env: string;
    /** The drill stack's program: programs/drill.ts's drillProgram (lib/ does not import the components). */
    program: StackProgram;
    backend: LocalBackend;
    /** BACKUP_DIR: artifacts go to <backupDir>/drill_<env>_<id>/ (a directory no other drill has). */
    backupDir: string;
    secrets: DrillSecrets;
    /** Non-secret settings from the environment's stack config and flags (validation, masking, smoke, targets, ...). */
    settings?: Partial<Omit<DrillSettings, "env" | "id" | "artifactsDir" | "startedAt">>;
    keep?: boolean;
    onOutput?: (text: string) => void;
    now?: Date;
}

export interface RunDrillResult {
    status: "PASS" | "FAIL";
    stackName: string;
    artifactsDir: string;
    report: DrillReport;
    summaryPath: string;
    jsonPath: string;
    /** Redacted reason when the stack failed or could not be cleaned up. */
    error?: string;
    kept: boolean;
    leftovers: LeftoverCleanup;
}

export async function runDrill(opts: RunDrillOptions): Promise<RunDrillResult> {
    const started = opts.now ?? new Date();
    const secrets = secretValues(opts.secrets);
    const out = opts.onOutput ?? (() => undefined);

    const cleanup = await cleanupLeftovers(opts.backend, { onOutput: out });
    // Engine messages about other stacks may quote connection strings: masked like everything we report.
    const leftovers: LeftoverCleanup = {
        ...cleanup,
        failed: cleanup.failed.map((f) => ({ ...f, reason: redact(f.reason, secrets) })),
        ...(cleanup.listError ? { listError: redact(cleanup.listError, secrets) } : {}),
    };
    const { stack, id, stackName, artifactsDir, claim } = await createDrillStack(opts.backend, opts.env, opts.backupDir, started, opts.program);
    const settings: DrillSettings = {
        ...opts.settings,
        env: opts.env,
        id,
        artifactsDir,
        startedAt: started.toISOString(),
    };
    const meta = {
        id,
        env: opts.env,
        stack: stackName,
        artifactsDir,
        startedAt: settings.startedAt,
        targets: { ...DEFAULT_TARGETS, ...(settings.targets ?? {}) },
        nextDrillDays: settings.nextDrillDays ?? DEFAULT_NEXT_DRILL_DAYS,
        maskingConfigured: !!settings.masking,
        smokeConfigured: !!settings.smoke,
        storageBuckets: settings.storage?.buckets,
        pitrTarget: settings.pitr?.target,
        rehearsedTables: settings.rehearseRecover?.map((r) => displayTable(parseTableName(r.table))),
    };

    out(`drill ${stackName}: artifacts in ${artifactsDir}\n`);
    let error: string | undefined;
    try {
        // Smoke checks may carry header values (an apikey): then the whole settings object is secret.
        const headers = JSON.stringify(settings.smoke?.checks ?? []).includes('"headers"');
        const config: Record<string, ConfigEntry> = {
            [`${CONFIG_NAMESPACE}:drill`]: { value: JSON.stringify(settings), secret: headers },
        };
        for (const [key, value] of Object.entries(opts.secrets)) {
            if (value) config[`${CONFIG_NAMESPACE}:${key}`] = { value, secret: true };
        }
        out(`configuring ${stackName}\n`);
        await setStackConfig(stack, config);
        await stack.up({ onOutput: (t) => out(redact(t, secrets)) });
    } catch (err) {
        error = explain(err, secrets);
    }

    // The Report resource wrote the report when every step ran; otherwise write it from what exists.
    let { report, summaryPath, jsonPath } = writeDrillReport({ ...meta, error }, secrets);
    let kept = false;
    if (opts.keep) {
        await keepStack(stack, claim);
        kept = true;
        out(`--keep: stack ${stackName} and its scratch target are kept for forensics; remove them with: npm run drill -- --cleanup ${stackName}\n`);
    } else {
        try {
            await destroyAndRemove(stack, opts.backend, (t) => out(redact(t, secrets)));
            // The stack and its tags are gone.
            releaseClaim(claim);
        } catch (err) {
            // Unclaimed, the stack is a leftover the next drill run (of any process) cleans up.
            await unclaim(stack, claim);
            const reason = `cleanup of ${stackName} failed; the next drill run retries it: ${explain(err, secrets)}`;
            error = error ? `${error}\n${reason}` : reason;
            ({ report, summaryPath, jsonPath } = writeDrillReport({ ...meta, error }, secrets));
        }
    }
    return { status: report.status, stackName, artifactsDir, report, summaryPath, jsonPath, error, kept, leftovers };
}
