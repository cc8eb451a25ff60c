// Provider side of the resource: a scratch Supabase project created through the Management API for a
// drill and deleted with it. Thin adapter over lib/supabase/project; each call builds its own API client.
//
// It exposes `connectionString` (the session pooler URL) and `databaseName` ("postgres"), the same
// interface as ScratchDatabase, so a drill can restore into a Supabase project instead; and the
// project's API (`apiUrl`, its anon and service_role keys as secrets) for smoke tests against it.
import type * as pulumi from "@pulumi/pulumi";
import { redactError } from "../../lib/redact";
import {
    DEFAULT_NAME_PREFIX,
    createScratchProject,
    deleteScratchProject,
    validateProjectRequest,
    type ScratchProjectRequest,
} from "../../lib/supabase/project";
import { DEFAULT_API_BASE_URL, SupabaseApi, isApiStatus } from "../../lib/supabase/client";
import { projectApiUrl } from "../../lib/supabase/connectionStrings";

interface ProviderInputs {
    accessToken: string;
    organization: string;
    region: string;
    instanceSize?: string;
    namePrefix?: string;
    apiBaseUrl?: string;
    projectApiUrl?: string;
    readyTimeoutSeconds?: number;
    pollIntervalSeconds?: number;
}

interface ProviderOutputs extends ProviderInputs {
    ref: string;
    name: string;
    apiUrl: string;
    poolerUrl: string;
    directUrl: string;
    connectionString: string;
    databaseName: string;
    dbPassword: string;
    anonKey: string;
    serviceRoleKey: string;
}

// How the engine marks a value not known yet (preview): nothing to validate about it.
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

// Changing any of these means a different project: replace. A new access token is an update.
const REPLACE_ON = ["organization", "region", "instanceSize", "namePrefix", "apiBaseUrl"] as const;

function toRequest(inputs: ProviderInputs): ScratchProjectRequest {
    return {
        accessToken: inputs.accessToken,
        organization: inputs.organization,
        region: inputs.region,
        instanceSize: inputs.instanceSize,
        namePrefix: inputs.namePrefix,
        apiBaseUrl: inputs.apiBaseUrl,
        projectApiUrl: inputs.projectApiUrl,
        readyTimeoutMs: inputs.readyTimeoutSeconds === undefined ? undefined : inputs.readyTimeoutSeconds * 1000,
        pollIntervalMs: inputs.pollIntervalSeconds === undefined ? undefined : inputs.pollIntervalSeconds * 1000,
    };
}

const SECONDS_TO_MS: Record<string, string> = { readyTimeoutMs: "readyTimeoutSeconds", pollIntervalMs: "pollIntervalSeconds" };

function normalized(inputs: Partial<ProviderInputs>, key: (typeof REPLACE_ON)[number]): string | undefined {
    const v = inputs[key];
    if (key === "namePrefix") return v ?? DEFAULT_NAME_PREFIX;
    if (key === "apiBaseUrl") return (v ?? DEFAULT_API_BASE_URL).replace(/\/+$/, "");
    return v;
}

export const supabaseProjectProvider: pulumi.dynamic.ResourceProvider<ProviderInputs, ProviderOutputs> = {
    async check(_olds, news) {
        const failures = validateProjectRequest(toRequest(news))
            .map((p) => ({ property: SECONDS_TO_MS[p.property] ?? p.property, reason: p.reason }))
            .filter((p) => (news as unknown as Record<string, unknown>)[p.property] !== UNKNOWN);
        return { inputs: news, failures };
    },

    async create(inputs) {
        try {
            const project = await createScratchProject(toRequest(inputs));
            const outs: ProviderOutputs = {
                ...inputs,
                ref: project.ref,
                name: project.name,
                apiUrl: project.apiUrl,
                poolerUrl: project.poolerUrl,
                directUrl: project.directUrl,
                connectionString: project.poolerUrl,
                databaseName: "postgres",
                dbPassword: project.dbPassword,
                anonKey: project.anonKey,
                serviceRoleKey: project.serviceRoleKey,
            };
            return { id: project.ref, outs };
        } catch (err) {
            throw redactError(err, [inputs.accessToken]);
        }
    },

    async read(id, props) {
        if (!props) return { id, props };
        try {
            const project = await new SupabaseApi({ accessToken: props.accessToken, apiBaseUrl: props.apiBaseUrl }).getProject(id);
            // An empty id tells the engine the resource is gone.
            return project.status === "REMOVED" ? { id: "", props } : { id, props };
        } catch (err) {
            if (isApiStatus(err, 404)) return { id: "", props };
            throw redactError(err, [props.accessToken, props.dbPassword]);
        }
    },

    async diff(_id, olds, news) {
        const replaces = REPLACE_ON.filter((key) => normalized(olds, key) !== normalized(news, key));
        const changes =
            replaces.length > 0 ||
            olds.accessToken !== news.accessToken ||
            // Where the platform serves the API is not the project: recompute apiUrl in place.
            (olds.projectApiUrl ?? "") !== (news.projectApiUrl ?? "") ||
            olds.readyTimeoutSeconds !== news.readyTimeoutSeconds ||
            olds.pollIntervalSeconds !== news.pollIntervalSeconds;
        // Delete first: a scratch project holds nothing worth keeping, and organizations have a
        // project limit that a side-by-side replacement could hit.
        return { changes, replaces: [...replaces], deleteBeforeReplace: true };
    },

    async update(_id, olds, news) {
        return {
            outs: {
                ...olds,
                accessToken: news.accessToken,
                projectApiUrl: news.projectApiUrl,
                apiUrl: projectApiUrl(olds.ref, news.projectApiUrl),
                readyTimeoutSeconds: news.readyTimeoutSeconds,
                pollIntervalSeconds: news.pollIntervalSeconds,
            },
        };
    },

    async delete(id, props) {
        try {
            await deleteScratchProject({
                accessToken: props.accessToken,
                apiBaseUrl: props.apiBaseUrl,
                ref: props.ref ?? id,
                name: props.name,
                namePrefix: props.namePrefix,
            });
        } catch (err) {
            throw redactError(err, [props.accessToken, props.dbPassword]);
        }
    },
};
