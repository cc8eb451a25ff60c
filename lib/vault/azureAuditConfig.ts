// Inputs of the retention audit's Azure section, from the environment the quarterly workflow sets and
// the stack file. The section runs only when the archive is configured the way the nightly mirror finds
// it (AZURE_STORAGE_ACCOUNT + AZURE_CONTAINER, or AZURE_STORAGE_CONNECTION_STRING + AZURE_CONTAINER:
// mirrorSettingsFromEnv); without those variables the audit is exactly the S3 audit it always was.
// The container policy is read through ARM, which needs AZURE_SUBSCRIPTION_ID and AZURE_RESOURCE_GROUP;
// without them the section still inventories the blobs but cannot pass (the policy is unknown).
import * as path from "node:path";
import { mirrorSettingsFromEnv, positiveInt, type MirrorSettings } from "../backupJob/config";
import { UsageError } from "../errors";
import { readStackFile, stackFilePath, VAULT_SECTIONS } from "../infra/stackFile";
import type { ContainerPolicyTarget } from "./azureAuditArm";
import { ARM_ENDPOINT } from "./azureAuditArm";
import type { AzureExpectation } from "./azureAudit";

type Env = Record<string, string | undefined>;

export interface AzureAuditSettings {
    mirror: MirrorSettings;
    account: string;
    container: string;
    /** Undefined: AZURE_SUBSCRIPTION_ID / AZURE_RESOURCE_GROUP not set, the policy cannot be read. */
    arm?: { target: ContainerPolicyTarget; endpoint: string };
    expected: AzureExpectation;
}

/** The account name: from the URL the mirror uses, or AccountName= of the connection string. */
export function archiveAccountName(m: MirrorSettings): string {
    if (m.kind === "azure-cli") return new URL(m.accountUrl).hostname.split(".")[0];
    const name = /(?:^|;)\s*AccountName=([^;]+)/i.exec(m.connectionString)?.[1]?.trim();
    if (!name) throw new UsageError("AZURE_STORAGE_CONNECTION_STRING has no AccountName=: the audit needs the account's name to read its container policy from ARM");
    return name;
}

const RESOURCE_GROUP = /^[-\w.()]{1,90}$/;

function armSettings(env: Env, account: string, container: string): AzureAuditSettings["arm"] {
    const subscriptionId = env.AZURE_SUBSCRIPTION_ID;
    const resourceGroup = env.AZURE_RESOURCE_GROUP;
    if (!subscriptionId && !resourceGroup) return undefined;
    if (!subscriptionId) throw new UsageError("AZURE_RESOURCE_GROUP is set but AZURE_SUBSCRIPTION_ID is not (the subscription of the archive's storage account)");
    if (!resourceGroup) throw new UsageError("AZURE_SUBSCRIPTION_ID is set but AZURE_RESOURCE_GROUP is not (the resource group of the archive's storage account)");
    if (!/^[\w-]{1,64}$/.test(subscriptionId)) throw new UsageError(`AZURE_SUBSCRIPTION_ID must be a subscription id such as 00000000-0000-0000-0000-000000000000 (got ${JSON.stringify(subscriptionId)})`);
    if (!RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith(".")) {
        throw new UsageError(`AZURE_RESOURCE_GROUP must be 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.' (got ${JSON.stringify(resourceGroup)})`);
    }
    const endpoint = env.AZURE_ARM_ENDPOINT || ARM_ENDPOINT;
    let url: URL;
    try {
        url = new URL(endpoint);
    } catch {
        throw new UsageError(`AZURE_ARM_ENDPOINT must be an http(s) URL such as ${ARM_ENDPOINT} (got ${JSON.stringify(endpoint)})`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new UsageError(`AZURE_ARM_ENDPOINT must be an http(s) URL (got ${JSON.stringify(endpoint)})`);
    return { target: { subscriptionId, resourceGroup, account, container }, endpoint: endpoint.replace(/\/+$/, "") };
}

/**
 * What the archive must be. AZURE_IMMUTABILITY_DAYS and AZURE_MONTHLY_ARCHIVE_MONTHS, when set, win
 * over Pulumi.<env>.yaml's supabase-dr:azure immutabilityDays and monthlyArchiveMonths (parsed as
 * `pulumi up` parses them, defaults included); with neither it is an error, as for the S3 vault.
 * Locked is required on prod and wherever the stack sets lockImmutabilityPolicy: true — there is no
 * variable to relax that (see lib/vault/azureAudit.ts for why).
 */
export function azureExpectation(env: Env, auditEnv: string, repoRoot: string): AzureExpectation {
    const azure = readStackFile(repoRoot, auditEnv, VAULT_SECTIONS)?.azure;
    const file = path.basename(stackFilePath(repoRoot, auditEnv));
    const fromEnv: string[] = [];
    const fromFile: string[] = [];
    const missing: string[] = [];
    const pick = (variable: string, field: string, stackValue: number | undefined): number | undefined => {
        if (env[variable]) {
            fromEnv.push(variable);
            return positiveInt(env, variable, 0);
        }
        if (stackValue !== undefined) fromFile.push(field);
        else missing.push(variable);
        return stackValue;
    };
    const days = pick("AZURE_IMMUTABILITY_DAYS", "immutabilityDays", azure?.immutabilityDays);
    const monthlyMonths = pick("AZURE_MONTHLY_ARCHIVE_MONTHS", "monthlyArchiveMonths", azure?.monthlyArchiveMonths);
    if (days === undefined || monthlyMonths === undefined) {
        throw new UsageError(`the Azure archive's expected retention is unknown: ${file} has no supabase-dr:azure, and ${missing.join(", ")} not set`);
    }
    const stackLock = azure?.lockImmutabilityPolicy === true;
    if (azure) fromFile.push("lockImmutabilityPolicy");
    const prod = auditEnv === "prod";
    const lockReason = stackLock ? `${file} sets lockImmutabilityPolicy: true` : prod ? "the prod environment's archive must be immutable"
        : `${azure ? `${file} leaves lockImmutabilityPolicy off` : "no stack setting asks for a lock"} outside prod`;
    const source = [fromEnv.join(", "), fromFile.length ? `${file} (supabase-dr:azure ${fromFile.join(", ")})` : ""].filter(Boolean).join("; ");
    return { days, monthlyMonths, requireLocked: stackLock || prod, lockReason, source };
}

/** Undefined when the archive is not configured: the audit then has no Azure section. */
export function azureAuditSettingsFromEnv(env: Env, auditEnv: string, repoRoot: string): AzureAuditSettings | undefined {
    // A connection string alone names no archive (shells and runners often carry one for Azurite).
    if (!env.AZURE_CONTAINER && !env.AZURE_STORAGE_ACCOUNT) return undefined;
    const mirror = mirrorSettingsFromEnv(env);
    if (!mirror) return undefined;
    const account = archiveAccountName(mirror);
    return { mirror, account, container: mirror.container, arm: armSettings(env, account, mirror.container), expected: azureExpectation(env, auditEnv, repoRoot) };
}
