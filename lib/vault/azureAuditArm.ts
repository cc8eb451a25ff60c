// The retention audit's one Azure Resource Manager read: the container's time-based immutability policy
// (GET …/blobServices/default/containers/{container}/immutabilityPolicies/default, the
// BlobContainers_GetImmutabilityPolicy operation). The data plane only says *whether* a container has a
// policy (x-ms-has-immutability-policy); its length and whether it is Locked — the two facts the audit
// judges — are ARM's alone.
//
// Published shape (azure-rest-api-specs, examples/BlobContainersGetImmutabilityPolicy.json, 2024-01-01):
//   { "id": "…/immutabilityPolicies/default", "name": "default", "etag": "\"8d59f828e64b75c\"",
//     "type": "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies",
//     "properties": { "immutabilityPeriodSinceCreationInDays": 5, "state": "Unlocked",
//                     "allowProtectedAppendWrites": true } }
// A container without a policy still answers 200, with 0 days and state "Deleted" (what
// pulumi-azure-native records as the resource's default state, pulumi/pulumi-azure-native#2154; a
// deleted unlocked policy also reads as 0 days): that is read as "missing", as is a 404.
/** The API version the audit reads with (the one the lock resource uses, provider/resources/immutabilityPolicyLock.ts). */
export const IMMUTABILITY_POLICY_API_VERSION = "2024-01-01";
export const ARM_ENDPOINT = "https://management.azure.com";
/** Entra ID scope of Azure Resource Manager. */
export const ARM_SCOPE = "https://management.azure.com/.default";

export interface ContainerPolicyTarget {
    subscriptionId: string;
    resourceGroup: string;
    account: string;
    container: string;
}

export type ContainerPolicyRead =
    | {
        outcome: "found";
        /** Locked or Unlocked (any other value is reported as it came). */
        state: string;
        days: number;
        allowProtectedAppendWrites: boolean;
        allowProtectedAppendWritesAll: boolean;
        etag?: string;
    }
    /** No policy on the container (404, or 0 days / state "Deleted"). */
    | { outcome: "missing"; detail: string }
    /** ARM refused or failed: nothing is known about the policy. */
    | { outcome: "error"; httpStatus?: number; code?: string; message: string }
    /** The audit was not given what it needs to ask ARM (subscription, resource group). */
    | { outcome: "not-read"; message: string };

export function containerPolicyPath(t: ContainerPolicyTarget): string {
    const seg = encodeURIComponent;
    return `/subscriptions/${seg(t.subscriptionId)}/resourceGroups/${seg(t.resourceGroup)}/providers/Microsoft.Storage/storageAccounts/${seg(t.account)}`
        + `/blobServices/default/containers/${seg(t.container)}/immutabilityPolicies/default`;
}

interface ArmPolicyBody {
    etag?: unknown;
    properties?: {
        immutabilityPeriodSinceCreationInDays?: unknown;
        state?: unknown;
        allowProtectedAppendWrites?: unknown;
        allowProtectedAppendWritesAll?: unknown;
    };
}

/** ARM's `{ error: { code, message } }`, or an excerpt of whatever else came back. */
function armError(text: string): { code?: string; message: string } {
    try {
        const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
        if (e) return { code: typeof e.code === "string" ? e.code : undefined, message: typeof e.message === "string" ? e.message : "" };
    } catch {
        // not JSON: keep an excerpt
    }
    return { message: text.slice(0, 300) };
}

/** Reads a 200 body; a body without the fields ARM documents is an error, never a guess. */
export function parsePolicyBody(text: string): ContainerPolicyRead {
    let body: ArmPolicyBody;
    try {
        body = JSON.parse(text) as ArmPolicyBody;
    } catch {
        return { outcome: "error", httpStatus: 200, message: "ARM answered 200 with a body that is not JSON" };
    }
    const p = body?.properties;
    const days = p?.immutabilityPeriodSinceCreationInDays;
    const state = p?.state;
    if (typeof days !== "number" || !Number.isFinite(days)) {
        return { outcome: "error", httpStatus: 200, message: "ARM answered 200 without properties.immutabilityPeriodSinceCreationInDays" };
    }
    if (state !== undefined && typeof state !== "string") return { outcome: "error", httpStatus: 200, message: "ARM answered 200 with a properties.state that is not a string" };
    if (days === 0 || state === "Deleted") return { outcome: "missing", detail: `ARM reports ${days} day(s)${state ? `, state ${state}` : ""}: no policy is in force` };
    if (state === undefined) return { outcome: "error", httpStatus: 200, message: "ARM answered 200 without properties.state" };
    return {
        outcome: "found", state, days,
        allowProtectedAppendWrites: p?.allowProtectedAppendWrites === true,
        allowProtectedAppendWritesAll: p?.allowProtectedAppendWritesAll === true,
        etag: typeof body.etag === "string" ? body.etag : undefined,
    };
}

export interface ReadPolicyOptions {
    target: ContainerPolicyTarget;
    /** Default https://management.azure.com (tests: a local stand-in). */
    endpoint?: string;
    /** A bearer token for ARM_SCOPE (lib/backupJob/azureCliCredential.ts in production). */
    token: () => Promise<string>;
    timeoutMs?: number;
}

/** GET of the container's policy. Never throws: every failure is an "error" read naming its cause. */
export async function readContainerPolicy(opts: ReadPolicyOptions): Promise<ContainerPolicyRead> {
    const endpoint = (opts.endpoint ?? ARM_ENDPOINT).replace(/\/+$/, "");
    const url = `${endpoint}${containerPolicyPath(opts.target)}?api-version=${IMMUTABILITY_POLICY_API_VERSION}`;
    let token: string;
    try {
        token = await opts.token();
    } catch (err) {
        return { outcome: "error", message: `no ARM token: ${(err as Error)?.message ?? String(err)}` };
    }
    // The token must never reach a message, whatever the server echoes. (Entra tokens are long JWTs;
    // a stand-in's few characters would shred every message and protect nothing.)
    const scrub = (s: string) => (token.length >= 8 ? s.split(token).join("[redacted]") : s);
    let res: Response;
    let text: string;
    try {
        res = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: "application/json" }, signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000) });
        text = await res.text();
    } catch (err) {
        // fetch's own message is only "fetch failed": the reason (ECONNREFUSED, a TLS error) is its cause's.
        const c = (err as { cause?: { code?: string; message?: string } })?.cause;
        const cause = c?.code ?? c?.message;
        return { outcome: "error", message: scrub(`GET ${endpoint}${containerPolicyPath(opts.target)} got no answer: ${(err as Error)?.message ?? String(err)}${cause ? ` (${cause})` : ""}`) };
    }
    if (res.status === 200) return parsePolicyBody(text);
    const e = armError(scrub(text));
    if (res.status === 404 && e.code !== "ResourceGroupNotFound" && e.code !== "SubscriptionNotFound") {
        // A 404 naming the policy (or an ARM that has none to show) — but also a missing account or
        // container: the message says which, and either way no policy protects the archive's blobs.
        return { outcome: "missing", detail: `ARM answered 404${e.code ? ` ${e.code}` : ""}${e.message ? `: ${e.message}` : ""}` };
    }
    return { outcome: "error", httpStatus: res.status, code: e.code, message: e.message };
}
