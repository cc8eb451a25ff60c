// A local stand-in for the one Azure Resource Manager call the retention audit makes: GET of a blob
// container's immutability policy, answered in the published shape (azure-rest-api-specs,
// Microsoft.Storage 2024-01-01 examples/BlobContainersGetImmutabilityPolicy.json). It serves what a test
// sets per container — a Locked or Unlocked policy, none (200 with 0 days and state "Deleted", as ARM
// answers for a container without a policy), or a 403 AuthorizationFailed — and 404 for containers it
// does not know. Requests without the expected bearer token get 401, as ARM's do. Also: fakeAzCli, an
// `az` that prints a token the way `az account get-access-token` does, for lib/backupJob/azureCliCredential.ts.
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { containerPolicyPath, type ContainerPolicyTarget } from "../../lib/vault/azureAuditArm";

export type FakePolicy =
    | { kind: "policy"; state: "Locked" | "Unlocked"; days: number; allowProtectedAppendWrites?: boolean; allowProtectedAppendWritesAll?: boolean }
    /** No policy on the container. */
    | { kind: "none" }
    /** The caller may not read it. */
    | { kind: "forbidden" };

export interface ArmRequest {
    method: string;
    path: string;
    apiVersion: string | null;
    authorization?: string;
}

export interface FakeAzureArm {
    /** http://127.0.0.1:<port> */
    endpoint: string;
    /** The bearer token it accepts. */
    token: string;
    requests: ArmRequest[];
    setPolicy(target: ContainerPolicyTarget, policy: FakePolicy): void;
    stop(): Promise<void>;
}

const armError = (res: http.ServerResponse, status: number, code: string, message: string) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify({ error: { code, message } }));
};

export async function startFakeAzureArm(opts: { token?: string } = {}): Promise<FakeAzureArm> {
    const token = opts.token ?? "fake-arm-token";
    const policies = new Map<string, FakePolicy>();
    const requests: ArmRequest[] = [];
    // ARM etags look like "8d59f828e64b75c"; each answer gets a new one.
    let etagSeq = 0x8d59f828e64;
    const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        requests.push({ method: req.method ?? "", path: url.pathname, apiVersion: url.searchParams.get("api-version"), authorization: req.headers.authorization });
        if (req.headers.authorization !== `Bearer ${token}`) {
            return armError(res, 401, req.headers.authorization ? "InvalidAuthenticationToken" : "AuthenticationFailed",
                req.headers.authorization ? "The access token is invalid." : "Authentication failed. The 'Authorization' header is missing.");
        }
        if (!url.searchParams.get("api-version")) return armError(res, 400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
        if (req.method !== "GET") return armError(res, 405, "MethodNotAllowed", `The stand-in serves GET only (got ${req.method}).`);
        const policy = policies.get(url.pathname);
        if (!policy) return armError(res, 404, "ResourceNotFound", `The Resource '${url.pathname}' was not found.`);
        if (policy.kind === "forbidden") {
            return armError(res, 403, "AuthorizationFailed", "The client 'auditor' with object id '00000000-0000-0000-0000-000000000001' does not have authorization to perform action "
                + `'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/read' over scope '${url.pathname}' or the scope is invalid.`);
        }
        const properties = policy.kind === "none"
            ? { immutabilityPeriodSinceCreationInDays: 0, state: "Deleted" }
            : {
                immutabilityPeriodSinceCreationInDays: policy.days, state: policy.state,
                allowProtectedAppendWrites: policy.allowProtectedAppendWrites ?? false,
                ...(policy.allowProtectedAppendWritesAll !== undefined ? { allowProtectedAppendWritesAll: policy.allowProtectedAppendWritesAll } : {}),
            };
        const etag = `"${(etagSeq++).toString(16)}"`;
        res.writeHead(200, { "content-type": "application/json; charset=utf-8", etag });
        res.end(JSON.stringify({ id: url.pathname, name: "default", type: "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies", etag, properties }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        token,
        requests,
        setPolicy(target, policy) {
            policies.set(containerPolicyPath(target), policy);
        },
        stop: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
    };
}

/**
 * Writes `<dir>/az`, which answers `az account get-access-token --scope S --output json` with `token`
 * (as az ≥ 2.54 prints it) and appends its arguments to `<dir>/az-calls.log`. Put `dir` first on PATH.
 */
export function fakeAzCli(dir: string, token: string): { dir: string; calls: () => string[] } {
    fs.mkdirSync(dir, { recursive: true });
    const log = path.join(dir, "az-calls.log");
    const expires = Math.floor(Date.now() / 1000) + 3600;
    fs.writeFileSync(path.join(dir, "az"),
        `#!/bin/sh\necho "$@" >> '${log}'\necho '{"accessToken":"${token}","expires_on":${expires},"tokenType":"Bearer"}'\n`, { mode: 0o755 });
    return { dir, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []) };
}
