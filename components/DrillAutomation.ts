// The GitHub side of the drills and backups (runbook 003 "CI Automation"): a repository environment
// holding the Actions secrets and variables the workflows in .github/workflows read.
//
// Secrets are environment secrets, not repository secrets: GitHub releases them only to jobs that name
// the environment and pass its protection rules, so a pull-request branch cannot read prod's database
// URL. A protected environment admits only the deployment branch (main); with required reviewers, every
// job naming it waits for an approval — including scheduled ones, which is why an environment used by
// unattended jobs (nightly backup, weekly drill) can opt out of reviewers with requireReviewers: false
// and keep the branch restriction.
import * as pulumi from "@pulumi/pulumi";
import * as github from "@pulumi/github";

export interface DrillAutomationArgs {
    /** Repository name; the owner comes from the github provider's configuration. */
    repository: string;
    /** GitHub environment name, e.g. "prod" / "staging". */
    environment: string;
    /** Actions secrets by name (SOURCE_DB_URL, TARGET_DB_URL, …). Values are always sent as Pulumi secrets. */
    secrets: Record<string, pulumi.Input<string>>;
    /** Actions variables by name (AWS_BACKUP_WRITER_ROLE_ARN, BACKUP_BUCKET, …): not secret. */
    variables?: Record<string, pulumi.Input<string>>;
    /** Only the deployment branch may use the environment, and (see requireReviewers) reviewers approve. Default: environment === "prod". */
    protectedEnvironment?: boolean;
    /** Required reviewers of a protected environment: user and team ids (GitHub allows 6 in all). */
    reviewers?: { users?: number[]; teams?: number[] };
    /** Whether a protected environment needs a reviewer's approval. Default: protectedEnvironment. */
    requireReviewers?: boolean;
    /** The only branch that may use a protected environment. Default "main". */
    deploymentBranch?: string;
}

const MAX_REVIEWERS = 6;

function fail(message: string): never {
    throw new Error(`DrillAutomation ${message}`);
}

/** GitHub's rules for secret and variable names, kept upper-case so names cannot differ only by case. */
export function checkActionsName(name: string, what: "secrets" | "variables"): void {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) {
        fail(`${what} name ${JSON.stringify(name)} must be upper-case letters, digits and '_', not starting with a digit`);
    }
    if (name.startsWith("GITHUB_")) fail(`${what} name ${JSON.stringify(name)} must not start with GITHUB_ (reserved by GitHub)`);
}

function checkIds(ids: unknown, what: string): number[] {
    if (ids === undefined) return [];
    if (!Array.isArray(ids) || ids.some((id) => !Number.isInteger(id) || id <= 0)) {
        fail(`reviewers.${what} must be a list of numeric GitHub ${what === "users" ? "user" : "team"} ids (got ${JSON.stringify(ids)})`);
    }
    return ids as number[];
}

export class DrillAutomation extends pulumi.ComponentResource {
    public readonly environmentName: pulumi.Output<string>;
    /** Names only: values never leave the secrets. */
    public readonly secretNames: pulumi.Output<string[]>;
    public readonly variableNames: pulumi.Output<string[]>;

    constructor(name: string, args: DrillAutomationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("supabase-dr:github:DrillAutomation", name, {}, opts);

        if (!/^[A-Za-z0-9._-]{1,100}$/.test(args.repository ?? "")) {
            fail(`repository must be a repository name without the owner, e.g. "supabase-dr" (got ${JSON.stringify(args.repository)})`);
        }
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(args.environment ?? "")) {
            fail(`environment must be a GitHub environment name such as "prod" (got ${JSON.stringify(args.environment)})`);
        }
        const secretNames = Object.keys(args.secrets ?? {}).sort();
        if (secretNames.length === 0) {
            // An environment without secrets cannot run a drill or a backup: almost surely a missing
            // `pulumi config set --secret`, better caught at preview than at 04:00 on Sunday.
            fail("secrets must hold at least one secret (SOURCE_DB_URL, TARGET_DB_URL, …): set them with `pulumi config set --secret`");
        }
        const variables = args.variables ?? {};
        const variableNames = Object.keys(variables).sort();
        for (const n of secretNames) checkActionsName(n, "secrets");
        for (const n of variableNames) checkActionsName(n, "variables");
        const both = secretNames.filter((n) => variableNames.includes(n));
        if (both.length > 0) fail(`secrets and variables must not share names (${both.join(", ")}): a workflow would read one or the other`);
        for (const n of secretNames) {
            const v = args.secrets[n];
            if (v === undefined || v === null || v === "") fail(`secrets.${n} must not be empty`);
        }

        const isProtected = args.protectedEnvironment ?? args.environment === "prod";
        const branch = args.deploymentBranch ?? "main";
        if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.includes("..")) {
            fail(`deploymentBranch must be a branch name such as "main" (got ${JSON.stringify(branch)})`);
        }
        const users = checkIds(args.reviewers?.users, "users");
        const teams = checkIds(args.reviewers?.teams, "teams");
        if (users.length + teams.length > MAX_REVIEWERS) fail(`reviewers may name at most ${MAX_REVIEWERS} users and teams in all (got ${users.length + teams.length})`);
        const requireReviewers = isProtected && (args.requireReviewers ?? true);
        if (requireReviewers && users.length + teams.length === 0) {
            fail(`reviewers must name at least one user or team id for the protected environment "${args.environment}" ` +
                "(or set requireReviewers: false for an environment used by unattended jobs: main-only without approvals)");
        }

        const environment = new github.RepositoryEnvironment(`${name}-environment`, {
            repository: args.repository,
            environment: args.environment,
            ...(requireReviewers ? { reviewers: [{ users, teams }], preventSelfReview: true } : {}),
            ...(isProtected ? {
                canAdminsBypass: false,
                // Custom policies (not "protected branches"): exactly the named branch, even if other
                // branches get protection rules later.
                deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
            } : {}),
        }, { parent: this });

        if (isProtected) {
            new github.RepositoryEnvironmentDeploymentPolicy(`${name}-branch-${branch.replace(/[^A-Za-z0-9-]/g, "-")}`, {
                repository: args.repository,
                environment: environment.environment,
                branchPattern: branch,
            }, { parent: this });
        }

        for (const secretName of secretNames) {
            new github.ActionsEnvironmentSecret(`${name}-secret-${secretName.toLowerCase()}`, {
                repository: args.repository,
                environment: environment.environment,
                secretName,
                value: pulumi.secret(args.secrets[secretName]),
            }, { parent: this });
        }
        for (const variableName of variableNames) {
            new github.ActionsEnvironmentVariable(`${name}-variable-${variableName.toLowerCase()}`, {
                repository: args.repository,
                environment: environment.environment,
                variableName,
                value: variables[variableName],
            }, { parent: this });
        }

        this.environmentName = environment.environment;
        this.secretNames = pulumi.output(secretNames);
        this.variableNames = pulumi.output(variableNames);
        this.registerOutputs({
            environmentName: this.environmentName,
            secretNames: this.secretNames,
            variableNames: this.variableNames,
        });
    }
}
