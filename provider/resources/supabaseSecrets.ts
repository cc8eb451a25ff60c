// Provider side of the resource: a set of secrets on a Supabase project (Edge Function environment).
//
// The API returns SHA-256 digests, never values, so diff reads the digests and compares them with
// the digests of the desired values: a value changed behind our back shows up as an update even
// though our inputs did not change. Only the names this resource manages are written or deleted.
import type * as pulumi from "@pulumi/pulumi";
import { redactError } from "../../lib/redact";
import { DEFAULT_API_BASE_URL } from "../../lib/supabase/client";
import { deleteManagedSecrets, planHasChanges, remoteSecretDigests, planSecrets, syncSecrets, validateSecrets } from "../../lib/supabase/secrets";

interface ProviderInputs {
    ref: string;
    accessToken: string;
    secrets: Record<string, string>;
    apiBaseUrl?: string;
}

interface ProviderOutputs extends ProviderInputs {
    /** Managed names, sorted (not secret: names are not values). */
    names: string[];
}

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const baseUrl = (v: string | undefined) => (v ?? DEFAULT_API_BASE_URL).replace(/\/+$/, "");

function sameEntries(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
    const ka = Object.keys(a ?? {}).sort();
    const kb = Object.keys(b ?? {}).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a?.[k] === b?.[k]);
}

function secretValues(inputs: Partial<ProviderInputs> | undefined): string[] {
    return Object.values(inputs?.secrets ?? {}).filter((v): v is string => typeof v === "string");
}

export const supabaseSecretsProvider: pulumi.dynamic.ResourceProvider<ProviderInputs, ProviderOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (news.ref !== UNKNOWN && !/^[a-z]{20}$/.test(news.ref ?? "")) {
            failures.push({ property: "ref", reason: `a project ref is 20 lowercase letters (got '${news.ref ?? ""}')` });
        }
        if (!news.accessToken) failures.push({ property: "accessToken", reason: "a Supabase personal access token is required" });
        if (news.secrets === null || typeof news.secrets !== "object" || Array.isArray(news.secrets)) {
            failures.push({ property: "secrets", reason: "use an object of name → value" });
        } else {
            for (const reason of validateSecrets(news.secrets)) failures.push({ property: "secrets", reason });
        }
        return { inputs: news, failures };
    },

    async create(inputs) {
        try {
            await syncSecrets(inputs, inputs.secrets, []);
            return { id: `${inputs.ref}/secrets`, outs: { ...inputs, names: Object.keys(inputs.secrets).sort() } };
        } catch (err) {
            throw redactError(err, [inputs.accessToken, ...secretValues(inputs)]);
        }
    },

    async diff(_id, olds, news) {
        const replaces: string[] = [];
        if (news.ref === UNKNOWN || olds.ref !== news.ref) replaces.push("ref");
        if (baseUrl(olds.apiBaseUrl) !== baseUrl(news.apiBaseUrl)) replaces.push("apiBaseUrl");
        if (replaces.length > 0) return { changes: true, replaces };
        const inputsChanged = olds.accessToken !== news.accessToken || !sameEntries(olds.secrets, news.secrets);
        if (Object.values(news.secrets ?? {}).some((v) => v === UNKNOWN)) return { changes: true, replaces: [] };
        try {
            const remote = await remoteSecretDigests({ ...news });
            const drifted = planHasChanges(planSecrets(news.secrets, olds.names ?? Object.keys(olds.secrets ?? {}), remote));
            return { changes: inputsChanged || drifted, replaces: [] };
        } catch (err) {
            throw redactError(err, [news.accessToken, olds.accessToken, ...secretValues(news), ...secretValues(olds)]);
        }
    },

    async update(_id, olds, news) {
        try {
            await syncSecrets(news, news.secrets, olds.names ?? Object.keys(olds.secrets ?? {}));
            return { outs: { ...news, names: Object.keys(news.secrets).sort() } };
        } catch (err) {
            throw redactError(err, [news.accessToken, ...secretValues(news), ...secretValues(olds)]);
        }
    },

    async delete(_id, props) {
        try {
            await deleteManagedSecrets(props, props.names ?? Object.keys(props.secrets ?? {}));
        } catch (err) {
            throw redactError(err, [props.accessToken, ...secretValues(props)]);
        }
    },
};
