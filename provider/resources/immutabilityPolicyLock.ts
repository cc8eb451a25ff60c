// Provider side of the resource: locks an Azure container's time-based immutability policy through
// ARM's lockImmutabilityPolicy action. azure-native creates the policy Unlocked and has no resource or
// function for the lock (a POST action on the policy), so ArchiveVault adds this resource when
// `lockImmutabilityPolicy` is on; the token is one of the azure-native provider's own identity
// (authorization.getClientToken). Locking is irreversible: see components/ArchiveVault.ts.
import type * as pulumi from "@pulumi/pulumi";

/** The ARM API version of the lock action (the version azure-native 3.x uses for the policy). */
export const LOCK_API_VERSION = "2024-01-01";
const ARM_ENDPOINT = "https://management.azure.com";
interface LockInputs {
    /** ARM id of the container's immutability policy (…/immutabilityPolicies/default). */
    policyId: string;
    /** ARM bearer token of the azure-native provider's identity. A secret; short-lived. */
    token: string;
    armEndpoint?: string;
}

interface LockOutputs {
    policyId: string;
    state: string;
    lockedAt: string;
    armEndpoint?: string;
}

interface ArmPolicy {
    etag?: string;
    properties?: { state?: string; immutabilityPeriodSinceCreationInDays?: number };
}

const POLICY_ID = /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[a-z0-9]{3,24}\/blobServices\/default\/containers\/[a-z0-9-]{3,63}\/immutabilityPolicies\/default$/i;

async function armRequest(method: "GET" | "POST", inputs: LockInputs, suffix: string, etag?: string): Promise<ArmPolicy> {
    const url = `${inputs.armEndpoint ?? ARM_ENDPOINT}${inputs.policyId}${suffix}?api-version=${LOCK_API_VERSION}`;
    const headers: Record<string, string> = { Authorization: `Bearer ${inputs.token}`, Accept: "application/json" };
    if (etag !== undefined) headers["If-Match"] = etag;
    const res = await fetch(url, { method, headers, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    if (!res.ok) {
        let detail = text.slice(0, 300);
        try {
            const err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
            if (err) detail = `${err.code ?? "error"}: ${err.message ?? ""}`;
        } catch {
            // not JSON: keep the raw excerpt
        }
        const hint = res.status === 412 ? " (the policy changed while locking; run `pulumi refresh`, then `pulumi up` again)"
            : res.status === 401 || res.status === 403 ? " (the azure-native provider's identity needs Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/lock/action)"
                : "";
        throw new Error(`${method} ${inputs.policyId}${suffix} failed: HTTP ${res.status} ${detail}${hint}`.split(inputs.token).join("[redacted]"));
    }
    return JSON.parse(text) as ArmPolicy;
}

/**
 * Locks the policy (If-Match with the etag just read, so a concurrent change is refused rather than
 * locked blindly). Idempotent: a policy already Locked (say, by hand) is adopted. Deleting this resource
 * does nothing in Azure — a lock cannot be undone.
 */
export const immutabilityPolicyLockProvider: pulumi.dynamic.ResourceProvider<LockInputs, LockOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (typeof news.policyId !== "string" || !POLICY_ID.test(news.policyId)) {
            failures.push({ property: "policyId", reason: "must be the ARM id of a container's immutabilityPolicies/default" });
        }
        if (typeof news.token !== "string" || news.token === "") {
            failures.push({ property: "token", reason: "an ARM bearer token is required (authorization.getClientToken)" });
        }
        return { inputs: news, failures };
    },

    async create(inputs) {
        const current = await armRequest("GET", inputs, "");
        let state = current.properties?.state;
        if (state !== "Locked") {
            if (!current.etag) throw new Error(`GET ${inputs.policyId} returned no etag: cannot lock safely`);
            const lockedPolicy = await armRequest("POST", inputs, "/lock", current.etag);
            state = lockedPolicy.properties?.state;
            if (state !== "Locked") throw new Error(`locking ${inputs.policyId} returned state ${JSON.stringify(state)}, not Locked`);
        }
        return {
            id: inputs.policyId,
            // The token is not kept in the outputs: it is short-lived and needed only here.
            outs: { policyId: inputs.policyId, state, lockedAt: new Date().toISOString(), armEndpoint: inputs.armEndpoint },
        };
    },

    async diff(_id, olds, news) {
        // A new token on every run is not a change; a different policy (the container was replaced) is.
        const replaces = olds.policyId !== news.policyId ? ["policyId"] : [];
        return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
    },

    async delete() {
        // Nothing to do: Azure has no unlock. The policy stays Locked until its container is deleted,
        // which Azure allows only once every blob has expired.
    },
};

