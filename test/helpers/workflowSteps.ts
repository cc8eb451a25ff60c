// Runs a workflow's own `run:` scripts as GitHub's runner would (bash -eo pipefail -c, the step's env),
// with `${{ … }}` expressions replaced by local stand-ins: an expression, or a step `if:`, that the
// caller gives no value for fails the run, so a changed workflow cannot slip past its test.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

export interface WorkflowStep { uses?: string; run?: string; env?: Record<string, string>; name?: string; if?: string; with?: Record<string, unknown> }
export interface WorkflowJob { steps: WorkflowStep[]; if?: string; strategy?: { matrix?: { include?: Record<string, string>[] } } }
export interface Workflow { jobs: Record<string, WorkflowJob> }

export function loadWorkflow(file: string): Workflow {
    return yaml.load(fs.readFileSync(file, "utf8")) as Workflow;
}

/** `${{ expr }}` replaced from the context; an unknown expression throws naming it. */
export function expand(text: string, context: Record<string, string>): string {
    return text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
        if (!(expr in context)) throw new Error(`no stand-in for \${{ ${expr} }}`);
        return context[expr];
    });
}

/** A step's or job's `if:` (with or without ${{ }}), decided by the caller's table. */
export function condition(expr: string | undefined, conditions: Record<string, boolean>): boolean {
    if (expr === undefined) return true;
    const bare = expr.trim().replace(/^\$\{\{\s*(.+?)\s*\}\}$/, "$1");
    if (!(bare in conditions)) throw new Error(`no stand-in for the condition ${JSON.stringify(bare)}`);
    return conditions[bare];
}

export interface StepResult { step: string; status: number | null; stdout: string; stderr: string; skipped?: boolean }

export function runScript(script: string, env: Record<string, string>, cwd: string, timeoutMs = 300_000): Promise<StepResult> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
        child.on("error", reject);
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ step: script, status, stdout, stderr });
        });
    });
}

export interface JobRunOptions {
    cwd: string;
    context: Record<string, string>;
    conditions: Record<string, boolean>;
    /** Base environment of every step (PATH, HOME, what skipped actions would export). */
    env: Record<string, string>;
    /** `uses:` actions that are stand-ins here (by name without @version); any other fails. */
    skippedActions: string[];
    /** `run:` scripts that install the machine, matched by exact text. */
    machineSetup: string[];
}

/**
 * Runs one job's steps in order: a failed step stops the job like on GitHub, except for the steps
 * whose `if:` still holds after a failure (always(), !cancelled()).
 */
export async function runJob(job: WorkflowJob, opts: JobRunOptions): Promise<StepResult[]> {
    const results: StepResult[] = [];
    let failed = false;
    const afterFailure = new Set(["always()", "!cancelled()"]);
    for (const step of job.steps) {
        const name = step.name ?? step.run ?? step.uses ?? "?";
        if (step.uses) {
            if (!opts.skippedActions.includes(step.uses.split("@")[0])) throw new Error(`step uses ${step.uses}, which has no stand-in`);
            continue;
        }
        if (!step.run) throw new Error(`step ${name} has neither run nor uses`);
        if (opts.machineSetup.includes(step.run)) continue;
        const bare = step.if?.trim().replace(/^\$\{\{\s*(.+?)\s*\}\}$/, "$1");
        const runs = failed ? bare !== undefined && afterFailure.has(bare) : condition(step.if, opts.conditions);
        if (!runs) {
            results.push({ step: name, status: null, stdout: "", stderr: "", skipped: true });
            continue;
        }
        const env = { ...opts.env };
        for (const [k, v] of Object.entries(step.env ?? {})) env[k] = expand(v, opts.context);
        const r = await runScript(expand(step.run, opts.context), env, opts.cwd);
        results.push({ ...r, step: name });
        if (r.status !== 0) failed = true;
    }
    return results;
}

export const WORKFLOWS_DIR = path.resolve(__dirname, "../../.github/workflows");
