// A thin wrapper over supabase-management-js: every call goes through the retry policy, failures
// become redacted SupabaseApiErrors, and time (sleeps, "now") is injectable so tests run fast.
//
// The library fits as is: it throws SupabaseManagementAPIError carrying the status, the parsed body
// and the response Headers, which is all the policy needs (429 reset headers included), and each
// method accepts a RequestInit, through which we pass a per-request timeout signal.
import {
    SupabaseManagementAPI,
    SupabaseManagementAPIError,
    type ApiKeyResponse,
    type OrganizationProjectsResponse,
    type SecretResponse,
    type SupavisorConfigResponse,
    type V1BackupsResponse,
    type V1CreateProjectBody,
    type V1GetServicesHealthParams,
    type V1ProjectResponse,
    type V1ProjectWithDatabaseResponse,
    type V1ServiceHealthResponse,
} from "supabase-management-js";
import { ExternalServiceError, UsageError, type ErrorOptions } from "../errors";
import { redactError } from "../redact";
import { DEFAULT_RETRY_POLICY, apiFailureMessage, apiMessageOf, decideRetry, type AttemptFailure, type RetryPolicy } from "./retryPolicy";

export const DEFAULT_API_BASE_URL = "https://api.supabase.com";

/** Time as the client sees it: replaced by a virtual clock in tests. */
export interface Clock {
    now(): number;
    sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface RetryEvent {
    operation: string;
    attempt: number;
    delayMs: number;
    reason: string;
}

export interface SupabaseApiOptions {
    accessToken: string;
    /** Default https://api.supabase.com (a local fake in tests). */
    apiBaseUrl?: string;
    retry?: Partial<RetryPolicy>;
    clock?: Clock;
    random?: () => number;
    /** Abort one HTTP request after this long (then it counts as a transient failure). Default 30 s. */
    requestTimeoutMs?: number;
    /** More values to keep out of error messages (the database password). */
    secrets?: string[];
    onRetry?: (event: RetryEvent) => void;
}

/** A failed Management API call (code SUPABASE_API, exit 5); the message is already redacted. */
export class SupabaseApiError extends ExternalServiceError {
    constructor(
        message: string,
        readonly operation: string,
        readonly status: number | undefined,
        readonly attempts: number,
        options: ErrorOptions = {},
    ) {
        super("SUPABASE_API", message, options);
        this.name = "SupabaseApiError";
    }
}

export function isApiStatus(err: unknown, status: number): boolean {
    return err instanceof SupabaseApiError && err.status === status;
}

/** What create needs back (a project adopted after a lost response has no more than this). */
export type CreatedProject = Pick<V1ProjectResponse, "ref" | "name" | "status">;

interface CallOptions<T> {
    /**
     * Runs before retrying after a failure that may have had effects (5xx, no response): a POST
     * that timed out may still have created the project. Returning a value ends the call with it.
     */
    recover?: (failure: AttemptFailure) => Promise<T | undefined>;
    /** Overrides the policy's maxAttempts for this call. */
    maxAttempts?: number;
    /**
     * Sending the request twice could do its work twice (POST /v1/projects: two projects). It is sent
     * again only after a failure that proves it was not acted on (429, no connection made); after any
     * other (5xx, timeout, reset) only `recover` is run, until it answers (see settleUnsent).
     */
    notIdempotent?: boolean;
}

// Connection errors raised before a request could reach the server: such a request did nothing.
const NEVER_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

/** Whether a failed request may still have been acted on: an answer from the server's back end, or a lost one. */
function mayHaveTakenEffect(failure: AttemptFailure, cause: string | undefined): boolean {
    if (failure.network) return !NEVER_SENT.has(cause ?? "");
    return failure.status !== undefined && failure.status >= 500;
}

export class SupabaseApi {
    readonly management: SupabaseManagementAPI;
    readonly policy: RetryPolicy;
    readonly clock: Clock;
    private readonly secrets: string[];

    constructor(private readonly opts: SupabaseApiOptions) {
        if (!opts.accessToken) throw new UsageError("Supabase accessToken is required (a personal access token, sbp_…)");
        const baseUrl = (opts.apiBaseUrl ?? DEFAULT_API_BASE_URL).replace(/\/+$/, "");
        this.management = new SupabaseManagementAPI({ accessToken: opts.accessToken, baseUrl });
        this.policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
        this.clock = opts.clock ?? systemClock;
        this.secrets = [opts.accessToken, ...(opts.secrets ?? [])];
    }

    /** Registers another value to redact from every later error (e.g. a generated password). */
    addSecret(value: string): void {
        this.secrets.push(value);
    }

    /** Runs one library call under the retry policy. */
    async call<T>(operation: string, fn: (init: RequestInit) => Promise<{ data: T }>, options: CallOptions<T> = {}): Promise<T> {
        for (let attempt = 1; ; attempt++) {
            let failure: AttemptFailure;
            let apiMessage: string | undefined;
            let cause: string | undefined;
            try {
                const init: RequestInit = { signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000) };
                return (await fn(init)).data;
            } catch (err) {
                if (err instanceof SupabaseManagementAPIError) {
                    failure = { status: err.status, headers: err.headers };
                    apiMessage = apiMessageOf(err.data);
                } else if (isNetworkFailure(err)) {
                    failure = { network: true };
                    cause = networkCause(err);
                } else {
                    throw new SupabaseApiError(
                        apiFailureMessage(operation, { cause: (err as Error)?.message ?? String(err) }, this.secrets),
                        operation,
                        undefined,
                        attempt,
                        // Redacted too: the CLI does not know this client's secrets (a generated password).
                        { cause: redactError(err, this.secrets) },
                    );
                }
            }
            const policy = options.maxAttempts ? { ...this.policy, maxAttempts: options.maxAttempts } : this.policy;
            if (options.notIdempotent && mayHaveTakenEffect(failure, cause)) {
                return this.settleUnsent(operation, { ...failure, detail: apiMessage ?? cause }, attempt, policy, options.recover);
            }
            const decision = decideRetry(failure, attempt, policy, this.clock.now(), this.opts.random);
            if (!decision.retry) {
                const detail = [apiMessage ?? cause, failure.status === 429 || attempt > 1 ? decision.reason : undefined]
                    .filter(Boolean)
                    .join("; ");
                throw new SupabaseApiError(
                    apiFailureMessage(operation, { status: failure.status, apiMessage: detail || undefined }, this.secrets, attempt),
                    operation,
                    failure.status,
                    attempt,
                );
            }
            this.opts.onRetry?.({ operation, attempt, delayMs: decision.delayMs, reason: decision.reason });
            await this.clock.sleep(decision.delayMs);
            // A notIdempotent call gets here only when its request did nothing: there is nothing to find.
            if (options.recover && !options.notIdempotent && failure.status !== 429) {
                // A recovery check that fails itself proves nothing either way: retry as planned.
                const recovered = await options.recover(failure).catch(() => undefined);
                if (recovered !== undefined) return recovered;
            }
        }
    }

    /**
     * After a failure of a notIdempotent call that may have taken effect: the request is never sent
     * again, since a second create could make a second project. `recover` looks for its effect, again
     * with the policy's backoff while the look-up itself fails transiently: what it finds is the
     * call's result. When it finds nothing, or cannot look, the call fails saying so; what to do next
     * (look again later, by name) is the caller's to say.
     */
    private async settleUnsent<T>(
        operation: string,
        sent: AttemptFailure & { detail?: string },
        attempts: number,
        policy: RetryPolicy,
        recover: CallOptions<T>["recover"],
    ): Promise<T> {
        const unsent = (why: string, cause?: unknown) =>
            new SupabaseApiError(
                apiFailureMessage(operation, { status: sent.status, apiMessage: [sent.detail, `not sent again, as it may have taken effect: ${why}`].filter(Boolean).join("; ") }, this.secrets, attempts),
                operation,
                sent.status,
                attempts,
                cause === undefined ? {} : { cause },
            );
        if (!recover) throw unsent("nothing checks whether it did");
        let failure: AttemptFailure = sent;
        let checkError: SupabaseApiError | undefined;
        for (let check = 1; ; check++) {
            // The checks have the policy's attempts of their own: a request that failed on its last
            // allowed attempt (after 429s, say) must still be looked for, or it is reported as lost.
            const decision = decideRetry(failure, check, policy, this.clock.now(), this.opts.random);
            if (!decision.retry) {
                throw unsent(checkError ? `checking for it failed ${check - 1} time(s), last: ${checkError.message}` : decision.reason, checkError);
            }
            this.opts.onRetry?.({ operation: `${operation} (checking whether it took effect)`, attempt: check, delayMs: decision.delayMs, reason: decision.reason });
            await this.clock.sleep(decision.delayMs);
            let found: T | undefined;
            try {
                found = await recover(sent);
            } catch (err) {
                // Anything but a failed API call (the check found two candidates, say) is the answer.
                if (!(err instanceof SupabaseApiError)) throw err;
                checkError = err;
                failure = err.status === undefined ? { network: true } : { status: err.status };
                continue;
            }
            if (found !== undefined) return found;
            throw unsent("the check after it found no sign of it (it may still appear)");
        }
    }

    // The calls the scratch-project lifecycle uses, typed on the library's published shapes.

    /**
     * POST /v1/projects, never sent twice after a failure that may have created the project (see
     * CallOptions.notIdempotent): `recover` finds the project by its unique name instead.
     */
    createProject(body: V1CreateProjectBody, recover?: CallOptions<CreatedProject>["recover"]): Promise<CreatedProject> {
        return this.call<CreatedProject>("createAProject", (init) => this.management.createAProject(body, init), { recover, notIdempotent: true });
    }

    /** Projects of an organization whose name contains `search` (one page of up to 100). */
    searchProjects(organizationSlug: string, search: string, maxAttempts?: number): Promise<OrganizationProjectsResponse> {
        return this.call(
            "getAllProjectsForOrganization",
            (init) => this.management.getAllProjectsForOrganization(organizationSlug, { search, limit: 100 }, init),
            { maxAttempts },
        );
    }

    getProject(ref: string): Promise<V1ProjectWithDatabaseResponse> {
        return this.call("getProject", (init) => this.management.getProject(ref, init));
    }

    deleteProject(ref: string): Promise<unknown> {
        return this.call("deleteAProject", (init) => this.management.deleteAProject(ref, init));
    }

    servicesHealth(ref: string, services: V1GetServicesHealthParams["services"]): Promise<V1ServiceHealthResponse[]> {
        return this.call("getServicesHealth", (init) => this.management.getServicesHealth(ref, { services }, init));
    }

    apiKeys(ref: string): Promise<ApiKeyResponse[]> {
        // reveal=true: newer secret keys come back masked without it.
        return this.call("getProjectApiKeys", (init) => this.management.getProjectApiKeys(ref, { reveal: true }, init));
    }

    poolerConfig(ref: string): Promise<SupavisorConfigResponse[]> {
        return this.call("getPoolerConfig", (init) => this.management.getPoolerConfig(ref, init));
    }

    listSecrets(ref: string): Promise<SecretResponse[]> {
        return this.call("listAllSecrets", (init) => this.management.listAllSecrets(ref, init));
    }

    createSecrets(ref: string, secrets: { name: string; value: string }[]): Promise<unknown> {
        return this.call("bulkCreateSecrets", (init) => this.management.bulkCreateSecrets(ref, secrets, init));
    }

    deleteSecrets(ref: string, names: string[]): Promise<unknown> {
        return this.call("bulkDeleteSecrets", (init) => this.management.bulkDeleteSecrets(ref, names, init));
    }

    // Backups and point-in-time recovery (GET /v1/projects/{ref}/database/backups, POST …/restore-pitr).

    listBackups(ref: string): Promise<V1BackupsResponse> {
        return this.call("listAllBackups", (init) => this.management.listAllBackups(ref, init));
    }

    /**
     * Starts an in-place PITR of the project to `recoveryTimeTargetUnix` (whole seconds). Answers 201
     * without a body, hence the `true`. A 5xx or lost response may still have started the restore, so
     * the request is never sent again after one (CallOptions.notIdempotent): `recover` (the caller
     * checks the project's status) finds the restore, or the call fails saying it was not re-sent.
     */
    restorePitr(ref: string, recoveryTimeTargetUnix: number, recover?: CallOptions<true>["recover"]): Promise<true> {
        return this.call<true>(
            "restorePitrBackup",
            async (init) => {
                await this.management.restorePitrBackup(ref, { recovery_time_target_unix: recoveryTimeTargetUnix }, init);
                return { data: true };
            },
            { recover, notIdempotent: true },
        );
    }
}

// fetch rejects with TypeError("fetch failed") for refused/reset connections and DNS errors, and
// with a TimeoutError/AbortError DOMException when our per-request signal fires.
function isNetworkFailure(err: unknown): boolean {
    if (!(err instanceof Error)) return false;
    if (err.name === "TimeoutError" || err.name === "AbortError") return true;
    return err instanceof TypeError && /fetch failed|network|socket|ECONN|ENOTFOUND|EAI_AGAIN/i.test(`${err.message} ${networkCause(err)}`);
}

function networkCause(err: unknown): string {
    if (!(err instanceof Error)) return String(err);
    if (err.name === "TimeoutError") return "request timed out";
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? err.message;
}
