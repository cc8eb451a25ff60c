// Project secrets (Edge Function env) managed by name. The API never returns values, only their
// SHA-256 digests, so drift is found by hashing the desired values and comparing digests.
// Only names this resource manages are ever written or deleted; other secrets (the built-in
// SUPABASE_* ones, or ones set by hand) are left alone.
import { createHash } from "node:crypto";
import { SupabaseApi, isApiStatus } from "./client";
import type { LifecycleDeps } from "./project";

export interface SecretsPlan {
    /** Missing remotely or with a different digest: to POST. */
    upsert: string[];
    /** Managed before, no longer desired, still present remotely: to DELETE. */
    remove: string[];
    unchanged: string[];
}

/** Lowercase hex SHA-256 of the UTF-8 value, as the API reports it. */
export function secretDigest(value: string): string {
    return createHash("sha256").update(value, "utf8").digest("hex");
}

/** Problems with the desired secrets, each naming the secret. */
export function validateSecrets(secrets: Record<string, string>): string[] {
    const problems: string[] = [];
    for (const [name, value] of Object.entries(secrets)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,255}$/.test(name)) problems.push(`secret name '${name}' must be letters, digits and _ (not starting with a digit, max 256)`);
        if (/^SUPABASE_/i.test(name)) problems.push(`secret name '${name}' must not start with SUPABASE_ (reserved by the platform)`);
        if (typeof value !== "string") problems.push(`secret '${name}' must be a string`);
        else if (value.length > 24_576) problems.push(`secret '${name}' is longer than 24576 characters`);
    }
    return problems;
}

/** What to change so the project holds exactly `desired` among the names we manage. */
export function planSecrets(desired: Record<string, string>, managedBefore: string[], remoteDigests: Map<string, string>): SecretsPlan {
    const plan: SecretsPlan = { upsert: [], remove: [], unchanged: [] };
    for (const name of Object.keys(desired).sort()) {
        const remote = remoteDigests.get(name);
        if (remote !== undefined && remote.toLowerCase() === secretDigest(desired[name])) plan.unchanged.push(name);
        else plan.upsert.push(name);
    }
    for (const name of [...new Set(managedBefore)].sort()) {
        if (!(name in desired) && remoteDigests.has(name)) plan.remove.push(name);
    }
    return plan;
}

export function planHasChanges(plan: SecretsPlan): boolean {
    return plan.upsert.length > 0 || plan.remove.length > 0;
}

export interface SecretsTarget {
    accessToken: string;
    apiBaseUrl?: string;
    ref: string;
}

function apiFor(target: SecretsTarget, deps: LifecycleDeps, values: string[] = []): SupabaseApi {
    return new SupabaseApi({ ...deps, accessToken: target.accessToken, apiBaseUrl: target.apiBaseUrl, secrets: values });
}

/** name → digest as the API reports them. */
export async function remoteSecretDigests(target: SecretsTarget, deps: LifecycleDeps = {}): Promise<Map<string, string>> {
    const list = await apiFor(target, deps).listSecrets(target.ref);
    return new Map(list.map((s) => [s.name, s.value]));
}

/** Reads the remote digests, then POSTs what differs and DELETEs what is no longer desired. */
export async function syncSecrets(
    target: SecretsTarget,
    desired: Record<string, string>,
    managedBefore: string[],
    deps: LifecycleDeps = {},
): Promise<SecretsPlan> {
    const api = apiFor(target, deps, Object.values(desired));
    const remote = new Map((await api.listSecrets(target.ref)).map((s) => [s.name, s.value]));
    const plan = planSecrets(desired, managedBefore, remote);
    if (plan.upsert.length > 0) await api.createSecrets(target.ref, plan.upsert.map((name) => ({ name, value: desired[name] })));
    if (plan.remove.length > 0) await api.deleteSecrets(target.ref, plan.remove);
    return plan;
}

/** Deletes the managed names. A project that no longer exists has no secrets left to delete. */
export async function deleteManagedSecrets(target: SecretsTarget, names: string[], deps: LifecycleDeps = {}): Promise<void> {
    if (names.length === 0) return;
    try {
        await apiFor(target, deps).deleteSecrets(target.ref, [...new Set(names)].sort());
    } catch (err) {
        if (isApiStatus(err, 404)) return;
        throw err;
    }
}
