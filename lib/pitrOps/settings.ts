// What `npm run pitr` runs with: the archive's PitrSettings (lib/pitr/settings.ts) plus the server
// section of the stack config (lib/infra/pitrConfig.ts), from a settings file (YAML or JSON) or the
// PITR_SETTINGS environment variable (JSON; the GitHub variable the stack writes). One strict schema:
// unknown keys are rejected and every problem is named with its path. Secrets are never settings:
// they come from environment variables only (secretsFromEnv).
import * as fs from "node:fs";
import * as yaml from "js-yaml";
import { parseConfig } from "../config/errors";
import { UsageError } from "../errors";
import { pitrServerSchema, type PitrServerSettings } from "../infra/pitrConfig";
import { pitrSettingsSchema, type PitrSecrets, type PitrSettings } from "../pitr/settings";

export const opsSettingsSchema = pitrSettingsSchema.extend({ server: pitrServerSchema });

export type OpsSettings = PitrSettings & { server: PitrServerSettings };

export const SETTINGS_ENV = "PITR_SETTINGS";

/** Validates an already-parsed settings object; `root` names where it came from in errors. */
export function parseOpsSettings(value: unknown, root: string): OpsSettings {
    return parseConfig(opsSettingsSchema, value, root) as OpsSettings;
}

/** From `--settings <file>` when given, else from $PITR_SETTINGS; throws naming the source. */
export function loadOpsSettings(file: string | undefined, env: NodeJS.ProcessEnv): OpsSettings {
    if (file) {
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (err) {
            throw new UsageError(`cannot read the settings file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        let doc: unknown;
        try {
            doc = yaml.load(text);
        } catch (err) {
            throw new UsageError(`settings file ${file} is not YAML or JSON: ${(err as Error).message.split("\n")[0]}`);
        }
        return parseOpsSettings(doc, file);
    }
    const text = env[SETTINGS_ENV];
    if (!text) throw new UsageError(`no settings: pass --settings <file> or set ${SETTINGS_ENV} (the JSON the stack writes to the GitHub variable of that name)`);
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch {
        throw new UsageError(`${SETTINGS_ENV} is not JSON`);
    }
    return parseOpsSettings(doc, SETTINGS_ENV);
}

/**
 * Secrets from the environment only: the cipher passphrase from PITR_CIPHER_PASS, S3 credentials
 * from the AWS variables configure-aws-credentials exports (used when repository.keyType is shared).
 */
export function secretsFromEnv(env: NodeJS.ProcessEnv): PitrSecrets {
    const pick = (name: string) => (env[name] ? env[name] : undefined);
    return {
        cipherPass: pick("PITR_CIPHER_PASS"),
        s3Key: pick("AWS_ACCESS_KEY_ID"),
        s3KeySecret: pick("AWS_SECRET_ACCESS_KEY"),
        s3Token: pick("AWS_SESSION_TOKEN"),
    };
}

/** The names of the variables a command needs for these settings, for --help and error messages. */
export function secretVariableNames(settings: PitrSettings): string[] {
    const names: string[] = [];
    if (settings.repository.type === "s3" && settings.repository.keyType === "shared") names.push("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN (temporary keys)");
    if (settings.cipher !== "none") names.push("PITR_CIPHER_PASS");
    return names;
}
