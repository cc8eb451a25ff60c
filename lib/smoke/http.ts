// One HTTP exchange with a hard deadline that covers the body too, and a capped body read so a
// huge report endpoint cannot grow memory.

export const MAX_BODY_BYTES = 1024 * 1024;

export interface TimedRequest {
    method: string;
    url: string;
    headers: Record<string, string>;
    body?: string;
    timeoutMs: number;
}

export interface TimedResponse {
    /** Absent when no response arrived (timeout, refused connection, DNS...). */
    status?: number;
    latencyMs: number;
    body: string;
    /** The body was longer than MAX_BODY_BYTES; `body` holds its start. */
    truncated: boolean;
    /** Why no complete response arrived; unredacted. */
    error?: string;
}

export async function timedRequest(request: TimedRequest): Promise<TimedResponse> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
    }, request.timeoutMs);
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    let status: number | undefined;
    try {
        const response = await fetch(request.url, {
            method: request.method,
            headers: request.headers,
            body: request.body,
            signal: controller.signal,
            // Redirects are answers to check (e.g. 302 to a login page), and following one could carry
            // the bearer token to another host.
            redirect: "manual",
        });
        status = response.status;
        const { text, truncated } = await readCapped(response, MAX_BODY_BYTES);
        return { status, latencyMs: elapsed(), body: text, truncated };
    } catch (err) {
        const error = timedOut ? `timed out after ${request.timeoutMs} ms` : `request failed: ${describeFetchError(err)}`;
        return { status, latencyMs: elapsed(), body: "", truncated: false, error };
    } finally {
        clearTimeout(timer);
    }
}

async function readCapped(response: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
    if (!response.body) return { text: "", truncated: false };
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        size += value.byteLength;
        if (size > maxBytes) {
            await reader.cancel();
            // A multi-byte character cut at the cap decodes to U+FFFD: harmless for an excerpt.
            return { text: Buffer.concat(chunks).subarray(0, maxBytes).toString("utf8"), truncated: true };
        }
    }
    return { text: Buffer.concat(chunks).toString("utf8"), truncated: false };
}

/** undici hides the useful part ("ECONNREFUSED 127.0.0.1:4000") in err.cause. */
function describeFetchError(err: unknown): string {
    if (!(err instanceof Error)) return String(err);
    const cause = err.cause;
    if (cause instanceof Error) {
        const code = (cause as NodeJS.ErrnoException).code;
        return code && !cause.message.includes(code) ? `${err.message} (${code}: ${cause.message})` : `${err.message} (${cause.message})`;
    }
    return err.message;
}
