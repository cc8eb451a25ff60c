// The infrastructure stack file (Pulumi.<env>.yaml at the repository root) read by the scheduled
// commands that run from a checkout of the same repository: the nightly backup and the retention
// audit take the vault's lock mode and retention from it, so a job never falls back to a default the
// stack does not declare (staging's 3-day GOVERNANCE vault was written with 7-day COMPLIANCE locks).
// Parsed with the same strict schema as `pulumi up` (lib/infra/config.ts), defaults included.
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { ConfigError, isConfigError } from "../config/errors";
import { UsageError } from "../errors";
import { parseInfraConfig, type InfraConfig } from "./config";

const NAMESPACE_PREFIX = "supabase-dr:";

export function stackFilePath(repoRoot: string, env: string): string {
    return path.join(repoRoot, `Pulumi.${env}.yaml`);
}

/** The sections the scheduled jobs read: the vault's and the archive's settings (and the environment's name). */
export const VAULT_SECTIONS = ["aws", "azure"] as const;

/**
 * The stack's validated configuration, or undefined when the repository has no stack file for `env`.
 * A stack file that does not validate is an error naming the file and every problem. With `sections`,
 * only those (and `environment`) are read and judged: a nightly backup must not miss a night over a
 * typo in the drill's settings, which `pulumi preview` reports on the pull request anyway.
 */
export function readStackFile(repoRoot: string, env: string, sections?: readonly string[]): InfraConfig | undefined {
    const file = stackFilePath(repoRoot, env);
    if (!fs.existsSync(file)) return undefined;
    let doc: unknown;
    try {
        doc = yaml.load(fs.readFileSync(file, "utf8"));
    } catch (err) {
        const mark = (err as { mark?: { line?: number; column?: number } }).mark;
        const where = mark?.line !== undefined ? ` at line ${mark.line + 1}, column ${(mark.column ?? 0) + 1}` : "";
        throw new UsageError(`${path.basename(file)} is not readable YAML${where}: ${(err as Error).name}`, { cause: err });
    }
    const config = (doc as { config?: unknown } | null)?.config;
    if (config === null || typeof config !== "object" || Array.isArray(config)) throw new UsageError(`${path.basename(file)} has no config: section`);
    // Secret values are { secure: … } objects here: only their names are checked.
    const values = Object.fromEntries(Object.entries(config as Record<string, unknown>)
        .filter(([k]) => k.startsWith(NAMESPACE_PREFIX))
        .map(([k, v]) => [k.slice(NAMESPACE_PREFIX.length), v] as const)
        .filter(([k]) => !sections || k === "environment" || sections.includes(k)));
    try {
        return parseInfraConfig(values);
    } catch (err) {
        if (isConfigError(err)) throw new ConfigError((err as ConfigError).issues, { context: `invalid ${path.basename(file)}`, cause: err });
        throw err;
    }
}
