// Provider side of the resource: HTTP smoke checks against the restored environment: a scratch Supabase project's
// own API with its key, or TARGET_API_URL. Any 5xx or timeout fails the drill, and so does smoke that
// could not run at all (no API to check); results go to smoke_<id>.txt/.json. The bearer token and
// the project key are secrets and are redacted from every result.
import * as fs from "node:fs";
import type * as pulumi from "@pulumi/pulumi";
import { artifactPaths, writeStepResult } from "../../lib/drill/artifacts";
import { redactError } from "../../lib/redact";
import { parseSmokeChecks } from "../../lib/smoke";
import { formatSmokeReport } from "../../lib/smoke/format";
import { runSmokeChecks } from "../../lib/smoke/run";
import { NO_BASE_URL, needsBaseUrl } from "../../lib/smoke/target";
import { replaceOnAnyChange } from "./oneShot";

interface Inputs {
    baseUrl?: string;
    bearerToken?: string;
    apiKey?: string;
    checks: unknown;
    retries?: number;
    artifactsDir: string;
    drillId: string;
    after: string;
}

interface Outputs extends Inputs {
    status: string;
    passed: number;
    total: number;
}

export const smokeTestProvider: pulumi.dynamic.ResourceProvider<Inputs, Outputs> = {
    async check(_olds, news) {
        let checks;
        try {
            checks = parseSmokeChecks(news.checks);
        } catch (err) {
            return { inputs: news, failures: [{ property: "checks", reason: (err as Error).message }] };
        }
        // Known before anything runs (an unknown base URL, e.g. a project's not created yet, is a string).
        if (needsBaseUrl(checks) && (news.baseUrl === undefined || news.baseUrl.trim() === "")) {
            return { inputs: news, failures: [{ property: "baseUrl", reason: NO_BASE_URL }] };
        }
        return { inputs: news };
    },

    async create(inputs) {
        const secrets = [inputs.bearerToken, inputs.apiKey];
        let result;
        try {
            result = await runSmokeChecks(inputs.baseUrl, parseSmokeChecks(inputs.checks), {
                bearerToken: inputs.bearerToken,
                apiKey: inputs.apiKey,
                retries: inputs.retries,
            });
        } catch (err) {
            throw redactError(err, secrets);
        }
        const paths = artifactPaths(inputs.artifactsDir, inputs.drillId);
        fs.writeFileSync(paths.smokeTxt, formatSmokeReport(result, secrets));
        writeStepResult(inputs.artifactsDir, inputs.drillId, "smoke", result);
        // Configured smoke that did not run proves nothing about the restored environment.
        if (result.status === "skipped") throw new Error(`smoke tests could not run: ${NO_BASE_URL}`);
        if (result.status === "fail") {
            const failed = result.checks.filter((c) => c.outcome === "FAIL").map((c) => `  FAIL ${c.name}: ${c.reason}`);
            throw new Error(`smoke tests failed (${result.passed}/${result.total} passed):\n${failed.join("\n")}`);
        }
        return { id: `smoke_${inputs.drillId}`, outs: { ...inputs, status: result.status, passed: result.passed, total: result.total } };
    },

    async diff(_id, olds, news) {
        return replaceOnAnyChange({ ...olds }, { ...news });
    },
};
