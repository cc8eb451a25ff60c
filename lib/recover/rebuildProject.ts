// The NEW project of `recover rebuild` (runbook 001 path D): created through the Management API with a
// generated database password, or found again after an earlier run of the same rebuild (its ref in
// the state file, or — when the create's answer was lost — its unique name), then waited for until it
// and its services are healthy. Nothing here ever deletes or changes a project: a failed rebuild
// leaves the new project for the retry, and the old project is only ever read.
import * as fs from "node:fs";
import type { V1CreateProjectBody } from "supabase-management-js";
import { RefusedError, withMessageSuffix } from "../errors";
import type { SupabaseApi } from "../supabase/client";
import { poolerUrl, projectApiUrl } from "../supabase/connectionStrings";
import { DEFAULT_POLL_INTERVAL_MS, DEFAULT_READY_TIMEOUT_MS, generateDbPassword, pickKeys, waitUntilReady, type HealthService } from "../supabase/project";
import { keepDbPassword, readDbPassword, writeRebuildState, type RebuildState } from "./rebuildState";

const SMART_REGION_GROUPS = ["americas", "emea", "apac"];
// Storage too: the rebuild uploads every bucket into it right after.
export const REBUILD_HEALTH_SERVICES: HealthService[] = ["db", "rest", "auth", "storage"];

export interface NewProject {
    ref: string;
    name: string;
    region: string;
    /** Session-mode pooler URL (IPv4), with the password: never printed. */
    dbUrl: string;
    /** The direct database host (db.<ref>.supabase.co). */
    dbHost: string;
    apiUrl: string;
    storageUrl: string;
    serviceRoleKey: string;
    /** Names of the project's API keys (anon, service_role, …), never their values. */
    keyNames: string[];
    dbPassword: string;
    /** True when this run created it; false when an earlier run did. */
    createdNow: boolean;
}

export interface ProjectStepOptions {
    /** Template of the projects' API URL ({ref}); default https://{ref}.supabase.co. */
    projectApiUrl?: string;
    /** The old project's ref: the new one must never be it. */
    oldRef?: string;
    readyTimeoutMs?: number;
    pollIntervalMs?: number;
    onProgress?: (message: string) => void;
}

function regionSelection(region: string): Pick<V1CreateProjectBody, "region_selection"> {
    const selection = SMART_REGION_GROUPS.includes(region) ? { type: "smartGroup", code: region } : { type: "specific", code: region };
    return { region_selection: selection as V1CreateProjectBody["region_selection"] };
}

/** The ref of the organization's one project of that name; never picks one of several. */
async function findByName(api: SupabaseApi, organization: string, name: string, maxAttempts?: number): Promise<string | undefined> {
    const found = (await api.searchProjects(organization, name, maxAttempts)).projects.filter((p) => p.name === name);
    if (found.length > 1) {
        throw new RefusedError(
            `refusing: organization '${organization}' has ${found.length} projects named '${name}' (${found.map((p) => p.ref).join(", ")}): ` +
                "name the one to use as the state file's ref, or start over with another --project-name and --artifacts directory",
        );
    }
    return found[0]?.ref;
}

/** Creates the project (or finds the one an earlier run created) and waits until it serves. */
export async function createOrResumeProject(api: SupabaseApi, artifactsDir: string, state: RebuildState, opts: ProjectStepOptions = {}): Promise<NewProject> {
    const progress = opts.onProgress ?? (() => undefined);
    let createdNow = false;
    if (!fs.existsSync(state.dbPasswordFile)) {
        if (state.createRequested || state.ref) readDbPassword(state.dbPasswordFile); // throws, naming the file
        keepDbPassword(state.dbPasswordFile, generateDbPassword());
    }
    const dbPassword = readDbPassword(state.dbPasswordFile);
    api.addSecret(dbPassword);

    if (!state.ref) {
        const existing = await findByName(api, state.organization, state.projectName);
        if (existing && state.createRequested) {
            // An earlier run sent the create and never learnt its ref (the answer was lost, or the run
            // stopped): the name was free before that create, so the project of that name is ours.
            state.ref = existing;
            writeRebuildState(artifactsDir, state);
            progress(`found project ${existing} ('${state.projectName}') created by an earlier run`);
        } else if (existing) {
            throw new RefusedError(
                `refusing: organization '${state.organization}' already has a project named '${state.projectName}' (${existing}) that this rebuild did not create; give another --project-name`,
            );
        } else {
            state.ref = await createProject(api, artifactsDir, state, dbPassword, progress);
            createdNow = true;
        }
    }
    const ref = state.ref;
    if (opts.oldRef && ref === opts.oldRef) throw new RefusedError(`refusing: the state file names the OLD project ${ref} as the new one`);
    const project = await api.getProject(ref);
    if (project.name !== state.projectName) {
        throw new RefusedError(`refusing: project ${ref} is named '${project.name}', this rebuild created '${state.projectName}' (${artifactsDir}/rebuild-state.json): it is not ours`);
    }
    progress(`waiting for project ${ref} and its services (${REBUILD_HEALTH_SERVICES.join(", ")}) to be healthy`);
    const ready = await waitUntilReady(api, ref, {
        timeoutMs: opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
        pollIntervalMs: opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
        services: REBUILD_HEALTH_SERVICES,
    });
    const [keys, pooler] = await Promise.all([api.apiKeys(ref), api.poolerConfig(ref)]);
    const { serviceRoleKey } = pickKeys(ref, keys);
    api.addSecret(serviceRoleKey);
    const apiUrl = projectApiUrl(ref, opts.projectApiUrl);
    return {
        ref,
        name: state.projectName,
        region: ready.region,
        dbUrl: poolerUrl(ref, dbPassword, pooler, "session"),
        dbHost: ready.database?.host ?? `db.${ref}.supabase.co`,
        apiUrl,
        storageUrl: `${apiUrl}/storage/v1`,
        serviceRoleKey,
        keyNames: keys.map((k) => k.name).sort(),
        dbPassword,
        createdNow,
    };
}

/**
 * Sends the create once, the state file saying so first: a retry after a lost answer then looks the
 * project up by name. The client never sends it twice; after a failure that may have created the
 * project it looks for it here (one look-up per try: the client's loop does the waiting).
 */
async function createProject(api: SupabaseApi, artifactsDir: string, state: RebuildState, dbPassword: string, progress: (message: string) => void): Promise<string> {
    state.createRequested = true;
    writeRebuildState(artifactsDir, state);
    progress(`creating project '${state.projectName}' in organization '${state.organization}' (${state.region})`);
    const body: V1CreateProjectBody = { name: state.projectName, organization_slug: state.organization, db_pass: dbPassword, ...regionSelection(state.region) };
    const created = await api
        .createProject(body, async () => {
            const ref = await findByName(api, state.organization, state.projectName, 1);
            return ref ? { ref, name: state.projectName, status: "COMING_UP" } : undefined;
        })
        .catch((err: unknown) => {
            throw withMessageSuffix(err, ` (creating project '${state.projectName}' in organization '${state.organization}')`);
        });
    state.ref = created.ref;
    writeRebuildState(artifactsDir, state);
    return created.ref;
}
