// Entra ID tokens for the Azure archive from the Azure CLI session the workflow's azure/login step
// opened (OIDC federated credential: no stored key; the archive account allows no shared keys).
// The CLI is asked once per scope and the token kept until shortly before it expires. The backup job
// asks right at its start: with a federated login the CLI can only mint new tokens while GitHub's
// short-lived OIDC assertion is still valid, so a token fetched after an hour-long dump could fail.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { EnvironmentError, ToolMissingError } from "../errors";

const execFileAsync = promisify(execFile);
const EARLY_REFRESH_MS = 5 * 60_000;

/** `az account get-access-token` output: expires_on (epoch seconds, az ≥ 2.54) or expiresOn (local time). */
export function parseCliToken(stdout: string): AccessToken {
    let out: { accessToken?: unknown; expires_on?: unknown; expiresOn?: unknown };
    try {
        out = JSON.parse(stdout) as typeof out;
    } catch {
        throw new Error("az account get-access-token did not print JSON");
    }
    if (typeof out.accessToken !== "string" || out.accessToken === "") throw new Error("az account get-access-token printed no accessToken");
    const epoch = Number(out.expires_on);
    const expiresOnTimestamp = Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : new Date(String(out.expiresOn)).getTime();
    if (!Number.isFinite(expiresOnTimestamp)) throw new Error("az account get-access-token printed no expiry");
    return { token: out.accessToken, expiresOnTimestamp };
}

export class AzureCliCredential implements TokenCredential {
    private readonly cache = new Map<string, AccessToken>();

    constructor(private readonly az = "az") {}

    async getToken(scopes: string | string[]): Promise<AccessToken> {
        const scope = Array.isArray(scopes) ? scopes[0] : scopes;
        const cached = this.cache.get(scope);
        if (cached && cached.expiresOnTimestamp - EARLY_REFRESH_MS > Date.now()) return cached;
        let stdout: string;
        try {
            ({ stdout } = await execFileAsync(this.az, ["account", "get-access-token", "--scope", scope, "--output", "json"], { timeout: 60_000 }));
        } catch (err) {
            const e = err as { code?: string; stderr?: string; message: string };
            if (e.code === "ENOENT") throw new ToolMissingError("az", `no Azure token for ${scope}: the Azure CLI (az) is not installed or not on PATH`, { cause: err });
            const why = (e.stderr || e.message).trim().split("\n").pop();
            throw new EnvironmentError("PRECONDITION", `no Azure token for ${scope} (is the azure/login step before this one?): ${why}`, { cause: err });
        }
        const token = parseCliToken(stdout);
        this.cache.set(scope, token);
        return token;
    }
}

/** The scope of Azure Storage's data plane. */
export const STORAGE_SCOPE = "https://storage.azure.com/.default";
