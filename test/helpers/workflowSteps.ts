// Runs a workflow's own `run:` scripts as GitHub's runner would (bash -eo pipefail -c, the step's env),
// with `${{ … }}` expressions replaced by local stand-ins: an expression, or a name inside a step's
// `if:`, that the caller gives no value for fails the run, so a changed workflow cannot slip past its test.
//
// Step order follows GitHub's rules ("Expressions" → status check functions, and "Metadata syntax"):
// a step without `if:` runs only while every previous step succeeded (an implicit `success()`); an
// `if:` that names no status function gets `success() &&` in front of it; `always()` and `failure()`
// steps still run after a failure; `steps.<id>.outcome` / `.conclusion` are success, failure or skipped
// (continue-on-error makes a failed step's conclusion success, and the job goes on).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

export interface WorkflowStep {
    uses?: string;
    run?: string;
    env?: Record<string, string>;
    name?: string;
    id?: string;
    if?: string;
    with?: Record<string, unknown>;
    "continue-on-error"?: boolean;
}
export interface WorkflowJob { steps: WorkflowStep[]; if?: string; strategy?: { matrix?: { include?: Record<string, string>[] } } }
export interface Workflow { jobs: Record<string, WorkflowJob> }

export function loadWorkflow(file: string): Workflow {
    return yaml.load(fs.readFileSync(file, "utf8")) as Workflow;
}


// ---- expressions -----------------------------------------------------------------------------
// GitHub's expression language as far as workflows use it in `if:`: literals (null, booleans, numbers,
// 'strings' with '' for a quote), dotted names (`steps.drill.outcome`), ( ), !, < <= > >=, == !=, &&,
// ||, the status functions and contains/startsWith/endsWith. Anything else throws, naming it: a
// workflow using more must extend this, not be run with a guess.

export type ExpressionValue = string | number | boolean | null;

type Token = { kind: "name" | "string" | "number" | "op"; text: string };

function tokenize(expr: string): Token[] {
    const tokens: Token[] = [];
    const re = /\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)|(==|!=|<=|>=|&&|\|\||[()!<>,]))/y;
    let at = 0;
    while (at < expr.length) {
        if (/^\s*$/.test(expr.slice(at))) break;
        re.lastIndex = at;
        const m = re.exec(expr);
        if (!m) throw new Error(`cannot read the expression ${JSON.stringify(expr)} at ${JSON.stringify(expr.slice(at).trim())}`);
        at = re.lastIndex;
        if (m[1] !== undefined) tokens.push({ kind: "string", text: m[1].slice(1, -1).replace(/''/g, "'") });
        else if (m[2] !== undefined) tokens.push({ kind: "number", text: m[2] });
        else if (m[3] !== undefined) tokens.push({ kind: "name", text: m[3] });
        else tokens.push({ kind: "op", text: m[4] });
    }
    return tokens;
}

const STATUS_FUNCTIONS = ["success", "failure", "always", "cancelled"] as const;

/** True when the expression calls a status check function (then GitHub adds no implicit success()). */
export function mentionsStatusFunction(expr: string): boolean {
    const t = tokenize(expr);
    return t.some((x, i) => x.kind === "name" && (STATUS_FUNCTIONS as readonly string[]).includes(x.text.toLowerCase()) && t[i + 1]?.text === "(");
}

export interface ExpressionScope {
    lookup: (name: string) => ExpressionValue;
    status: Record<(typeof STATUS_FUNCTIONS)[number], () => boolean>;
}

function toNumber(v: ExpressionValue): number {
    if (v === null) return 0;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    return v.trim() === "" ? 0 : Number(v);
}

/** GitHub's loose equality: strings compare case-insensitively; mixed types compare as numbers. */
function looseEquals(a: ExpressionValue, b: ExpressionValue): boolean {
    if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
    if (typeof a === typeof b) return a === b;
    return toNumber(a) === toNumber(b);
}

const isTruthy = (v: ExpressionValue) => !(v === false || v === null || v === "" || v === 0 || Number.isNaN(v));
const str = (v: ExpressionValue) => (v === null ? "" : String(v)).toLowerCase();

export function evaluateExpression(expr: string, scope: ExpressionScope): ExpressionValue {
    const tokens = tokenize(expr);
    let i = 0;
    const peek = () => tokens[i]?.text;
    const fail = (what: string): never => {
        throw new Error(`${what} in the expression ${JSON.stringify(expr)}`);
    };
    const expect = (text: string) => {
        if (tokens[i]?.text !== text) fail(`expected ${JSON.stringify(text)} at token ${i + 1}`);
        i++;
    };
    const call = (name: string, args: ExpressionValue[]): ExpressionValue => {
        const fn = name.toLowerCase();
        if ((STATUS_FUNCTIONS as readonly string[]).includes(fn)) {
            if (args.length) fail(`${name}() takes no arguments`);
            return scope.status[fn as (typeof STATUS_FUNCTIONS)[number]]();
        }
        if (!["contains", "startswith", "endswith"].includes(fn)) return fail(`the function ${name}() is not supported here`);
        if (args.length !== 2) fail(`${name}() needs two arguments`);
        const [a, b] = args.map(str);
        return fn === "contains" ? a.includes(b) : fn === "startswith" ? a.startsWith(b) : a.endsWith(b);
    };
    const primary = (): ExpressionValue => {
        const t = tokens[i++];
        if (!t) return fail("unexpected end");
        if (t.kind === "string") return t.text;
        if (t.kind === "number") return Number(t.text);
        if (t.text === "(") {
            const v = or();
            expect(")");
            return v;
        }
        if (t.kind !== "name") return fail(`unexpected ${JSON.stringify(t.text)}`);
        if (peek() === "(") {
            i++;
            const args: ExpressionValue[] = [];
            while (peek() !== ")") {
                args.push(or());
                if (peek() === ",") i++;
                else if (peek() !== ")") fail(`expected "," or ")" after an argument of ${t.text}()`);
            }
            i++;
            return call(t.text, args);
        }
        if (t.text === "true") return true;
        if (t.text === "false") return false;
        if (t.text === "null") return null;
        return scope.lookup(t.text);
    };
    const unary = (): ExpressionValue => {
        if (peek() === "!") {
            i++;
            return !isTruthy(unary());
        }
        return primary();
    };
    const relational = (): ExpressionValue => {
        let left = unary();
        while (["<", "<=", ">", ">="].includes(peek() ?? "")) {
            const op = tokens[i++].text;
            const [a, b] = [toNumber(left), toNumber(unary())];
            left = op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
        }
        return left;
    };
    const equality = (): ExpressionValue => {
        let left = relational();
        while (peek() === "==" || peek() === "!=") {
            const op = tokens[i++].text;
            const eq = looseEquals(left, relational());
            left = op === "==" ? eq : !eq;
        }
        return left;
    };
    // && and || return an operand, as in GitHub (and JavaScript).
    const and = (): ExpressionValue => {
        let left = equality();
        while (peek() === "&&") {
            i++;
            const right = equality();
            left = isTruthy(left) ? right : left;
        }
        return left;
    };
    const or = (): ExpressionValue => {
        let left = and();
        while (peek() === "||") {
            i++;
            const right = and();
            left = isTruthy(left) ? left : right;
        }
        return left;
    };
    const value = or();
    if (i !== tokens.length) fail(`unexpected ${JSON.stringify(tokens[i].text)}`);
    return value;
}

/**
 * `${{ expr }}` replaced: by the context's value for the exact expression text, else by evaluating it
 * with the context's values for the names it uses (`inputs.env || 'prod'` from `inputs.env`). An
 * expression naming anything the context lacks throws naming it.
 */
export function expand(text: string, context: Record<string, string>): string {
    return text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
        if (expr in context) return context[expr];
        let value: ExpressionValue;
        try {
            value = evaluateExpression(expr, { lookup: (name) => {
                if (!(name in context)) throw new Error(`no stand-in for ${name}`);
                return context[name];
            }, status: NO_STATUS });
        } catch (err) {
            throw new Error(`no stand-in for \${{ ${expr} }}: ${(err as Error).message}`);
        }
        return value === null ? "" : String(value);
    });
}

// Status functions belong in `if:` only; GitHub rejects them elsewhere.
const statusOutsideIf = (f: string) => (): boolean => {
    throw new Error(`${f}() is only allowed in if:`);
};
const NO_STATUS: ExpressionScope["status"] = {
    success: statusOutsideIf("success"), failure: statusOutsideIf("failure"), always: statusOutsideIf("always"), cancelled: statusOutsideIf("cancelled"),
};

const bareExpression = (expr: string) => expr.trim().replace(/^\$\{\{\s*([\s\S]+?)\s*\}\}$/, "$1");

export type StepOutcome = "success" | "failure" | "skipped";

/** What a step's `if:` can see: the job's status so far, earlier steps' results, the caller's values. */
export interface ConditionState {
    /** A previous step of the job failed (its conclusion, after continue-on-error). */
    jobFailed: boolean;
    /** Earlier steps with an `id:`. */
    steps: Record<string, { outcome: StepOutcome; conclusion: StepOutcome }>;
    /** Values of the names the expression uses (`github.event_name`, `inputs.env`, …), as strings. */
    context: Record<string, string>;
    /**
     * Whole expressions the caller decides itself (kept for callers that give e.g. a schedule test's
     * value): used as the value of that exact expression, still behind the implicit success().
     */
    conditions?: Record<string, boolean>;
}

/**
 * A step's or job's `if:` (with or without ${{ }}), decided as GitHub decides it. Throws on a name the
 * state has no value for, or on syntax the evaluator does not know.
 */
export function evaluateCondition(expr: string | undefined, state: ConditionState): boolean {
    if (expr === undefined) return !state.jobFailed;
    const bare = bareExpression(expr);
    const status = {
        success: () => !state.jobFailed,
        failure: () => state.jobFailed,
        always: () => true,
        // Nothing cancels a local run.
        cancelled: () => false,
    };
    const lookup = (name: string): ExpressionValue => {
        const step = /^steps\.([A-Za-z_][\w-]*)\.(outcome|conclusion)$/.exec(name);
        if (step) {
            // GitHub: a step that has not run (yet) has no entry; its properties read as ''.
            const s = state.steps[step[1]];
            return s ? s[step[2] as "outcome" | "conclusion"] : "";
        }
        if (name in state.context) return state.context[name];
        throw new Error(`no stand-in for ${name} in the condition ${JSON.stringify(bare)}`);
    };
    const decided = state.conditions && bare in state.conditions ? state.conditions[bare] : undefined;
    const value = decided ?? evaluateExpression(bare, { lookup, status });
    // An `if:` without a status check function runs only while the job is succeeding.
    const implicitSuccess = !mentionsStatusFunction(bare);
    return (!implicitSuccess || !state.jobFailed) && isTruthy(value);
}

/**
 * Kept for callers that decide a condition from a table alone (no job status involved): the value of
 * the exact expression, or a throw naming it.
 */
export function condition(expr: string | undefined, conditions: Record<string, boolean>): boolean {
    if (expr === undefined) return true;
    const bare = bareExpression(expr);
    if (!(bare in conditions)) throw new Error(`no stand-in for the condition ${JSON.stringify(bare)}`);
    return conditions[bare];
}

export interface StepResult {
    step: string;
    /** The step's `id:`, when it has one. */
    id?: string;
    status: number | null;
    stdout: string;
    stderr: string;
    skipped?: boolean;
    outcome?: StepOutcome;
}

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

/**
 * A local stand-in for a `uses:` action that provides something to later steps: it gets the step's
 * `with:` (expressions expanded) and returns the variables it exports for the rest of the job, as the
 * real action does through $GITHUB_ENV (configure-aws-credentials exports AWS_* this way).
 */
export type ActionStandIn = (inputs: Record<string, string>) => Record<string, string>;

export interface JobRunOptions {
    cwd: string;
    context: Record<string, string>;
    /** Whole `if:` expressions the caller decides (see ConditionState.conditions). */
    conditions?: Record<string, boolean>;
    /** Base environment of every step (PATH, HOME, what skipped actions would export). */
    env: Record<string, string>;
    /** `uses:` actions that are no-ops here (by name without @version); any other without a stand-in fails. */
    skippedActions: string[];
    /** `uses:` actions replaced by a local stand-in (by name without @version). */
    actions?: Record<string, ActionStandIn>;
    /** `run:` scripts that install the machine, matched by exact text. */
    machineSetup: string[];
    /** Per-step timeout of `run:` scripts (default 300 s). */
    timeoutMs?: number;
    /** Called with each `run:` step's environment just before it starts (the caller may add to it). */
    beforeStep?: (step: WorkflowStep, env: Record<string, string>) => void;
}

/**
 * Runs one job's steps in order with GitHub's semantics (see the top of this file). Results list the
 * `run:` steps only: skipped ones with `skipped: true` and no status.
 */
export async function runJob(job: WorkflowJob, opts: JobRunOptions): Promise<StepResult[]> {
    const results: StepResult[] = [];
    const state: ConditionState = { jobFailed: false, steps: {}, context: opts.context, conditions: opts.conditions };
    const exported: Record<string, string> = {};
    for (const step of job.steps) {
        const name = step.name ?? step.run ?? step.uses ?? "?";
        const action = step.uses?.split("@")[0];
        if (step.uses && !opts.skippedActions.includes(action!) && !opts.actions?.[action!]) {
            throw new Error(`step uses ${step.uses}, which has no stand-in`);
        }
        if (!step.uses && !step.run) throw new Error(`step ${name} has neither run nor uses`);
        if (step.run && opts.machineSetup.includes(step.run)) continue;
        const record = (outcome: StepOutcome) => {
            const conclusion = outcome === "failure" && step["continue-on-error"] ? "success" : outcome;
            if (step.id) state.steps[step.id] = { outcome, conclusion };
            if (conclusion === "failure") state.jobFailed = true;
        };
        if (!evaluateCondition(step.if, state)) {
            record("skipped");
            if (step.run) results.push({ step: name, id: step.id, status: null, stdout: "", stderr: "", skipped: true, outcome: "skipped" });
            continue;
        }
        if (step.uses) {
            const standIn = opts.actions?.[action!];
            if (standIn) {
                const inputs = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, expand(String(v), opts.context)]));
                Object.assign(exported, standIn(inputs));
            }
            record("success");
            continue;
        }
        const env = { ...opts.env, ...exported };
        for (const [k, v] of Object.entries(step.env ?? {})) env[k] = expand(v, opts.context);
        opts.beforeStep?.(step, env);
        const r = await runScript(expand(step.run!, opts.context), env, opts.cwd, opts.timeoutMs);
        const outcome: StepOutcome = r.status === 0 ? "success" : "failure";
        results.push({ ...r, step: name, id: step.id, outcome });
        record(outcome);
    }
    return results;
}

export const WORKFLOWS_DIR = path.resolve(__dirname, "../../.github/workflows");
