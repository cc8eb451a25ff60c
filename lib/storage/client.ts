// Supabase Storage through @supabase/storage-js with the service key: the listing walk (paged, into
// folder placeholders) and streamed downloads shared by the snapshot and the restore.
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { StorageClient, type FileObject } from "@supabase/storage-js";
import { ExternalServiceError } from "../errors";

export const LIST_PAGE_SIZE = 1000;

export function storageClient(storageUrl: string, serviceKey: string): StorageClient {
    return new StorageClient(storageUrl.replace(/\/+$/, ""), { apikey: serviceKey, Authorization: `Bearer ${serviceKey}` });
}

/** storage-js returns `{ data, error }`; this turns the error side into a thrown, labelled Error. */
export function unwrap<T>(what: string, result: { data: T | null; error: unknown }): T {
    if (result.error) throw storageFailure(what, result.error);
    return result.data as T;
}

/** A storage-js error as a labelled Error: "what: message (HTTP 400, statusCode 404)". */
export function storageFailure(what: string, error: unknown): ExternalServiceError {
    const e = error as { message?: string; status?: number };
    const meant = storageErrorStatus(error);
    const status = e.status ? ` (HTTP ${e.status}${meant !== undefined && meant !== e.status ? `, statusCode ${meant}` : ""})` : "";
    return new ExternalServiceError("STORAGE_API", `${what}: ${e.message ?? String(error)}${status}`, { cause: error });
}

/**
 * The status Storage meant. Hosted Storage answers every 4xx with HTTP 400 and puts the real code
 * ("404", "403", "409") in the body's statusCode (supabase/storage src/http/error-handler.ts,
 * StorageBackendError.userStatusCode); storage-js keeps that body field as `statusCode`. So a
 * missing bucket and a rejected key both arrive as HTTP 400: only the body tells them apart.
 */
export function storageErrorStatus(error: unknown): number | undefined {
    if (error === null || typeof error !== "object") return undefined;
    const e = error as { status?: unknown; statusCode?: unknown };
    const fromBody = Number(e.statusCode);
    if (Number.isInteger(fromBody) && fromBody >= 100 && fromBody <= 599) return fromBody;
    return typeof e.status === "number" ? e.status : undefined;
}

/** True for "no such bucket / object" in either form (HTTP 404, or HTTP 400 with statusCode 404). */
export function isStorageNotFound(error: unknown): boolean {
    return storageErrorStatus(error) === 404;
}

export interface ListedObject {
    /** Full path inside the bucket. */
    key: string;
    bytes: number;
    contentType: string;
    lastModified: string;
    metadata: Record<string, unknown>;
}

function isFolder(entry: FileObject): boolean {
    // Folders are prefixes, not rows: Storage returns them with no id and no metadata.
    return entry.id === null || entry.metadata === null;
}

/**
 * Every object of a bucket, depth-first. Each folder is paged with limit/offset until a page comes
 * back short; keys already yielded are skipped, because offset paging over a bucket that changes
 * during the walk can return an entry twice.
 */
export async function* listAllObjects(client: StorageClient, bucket: string, pageSize = LIST_PAGE_SIZE): AsyncGenerator<ListedObject> {
    const folders: string[] = [""];
    const seen = new Set<string>();
    while (folders.length > 0) {
        const folder = folders.pop()!;
        const subfolders: string[] = [];
        for (let offset = 0; ; offset += pageSize) {
            const page = unwrap(`list ${bucket}/${folder}`, await client.from(bucket).list(folder, {
                limit: pageSize,
                offset,
                sortBy: { column: "name", order: "asc" },
            }));
            for (const entry of page) {
                const key = folder ? `${folder}/${entry.name}` : entry.name;
                if (isFolder(entry)) {
                    subfolders.push(key);
                    continue;
                }
                if (seen.has(key)) continue;
                seen.add(key);
                const meta = (entry.metadata ?? {}) as Record<string, unknown>;
                yield {
                    key,
                    bytes: Number(meta.size ?? meta.contentLength ?? 0),
                    contentType: typeof meta.mimetype === "string" ? meta.mimetype : "application/octet-stream",
                    lastModified: String(meta.lastModified ?? entry.updated_at ?? ""),
                    metadata: meta,
                };
            }
            if (page.length < pageSize) break;
        }
        // Reversed so the stack visits folders in name order.
        for (const sub of [...new Set(subfolders)].reverse()) folders.push(sub);
    }
}

/** The object's body as a Node stream: storage-js's asStream() hands over the fetch body unbuffered. */
export async function downloadStream(client: StorageClient, bucket: string, key: string): Promise<Readable> {
    const body = unwrap(`download ${bucket}/${key}`, await client.from(bucket).download(key).asStream());
    return Readable.fromWeb(body as unknown as WebReadableStream<Uint8Array>);
}

/**
 * storage-js turns `cacheControl` into `max-age=<value>`: a recorded "max-age=N" goes through that
 * option, anything else ("no-cache", "public, max-age=60") as the header itself, unchanged.
 */
export function cacheControlOptions(metadata: Record<string, unknown>): { cacheControl?: string; headers?: Record<string, string> } {
    const recorded = metadata.cacheControl;
    if (typeof recorded !== "string" || recorded === "") return {};
    const m = /^max-age=(\d+)$/.exec(recorded);
    return m ? { cacheControl: m[1] } : { headers: { "cache-control": recorded } };
}
