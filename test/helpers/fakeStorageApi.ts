// A local stand-in for Supabase Storage (`<SUPABASE_URL>/storage/v1`) that answers the requests
// @supabase/storage-js 2.x makes, with the same paths, methods, bodies and response shapes (read from
// node_modules/@supabase/storage-js/dist/index.cjs). Objects live in memory: it is a test server.
// Only the service key is accepted, as `Authorization: Bearer` and `apikey`, like a project whose RLS
// lets nobody else see every bucket.
// Errors are answered as hosted Storage answers them (supabase/storage src/http/error-handler.ts):
// every 4xx goes out as HTTP 400 with the real code in the body's statusCode ("404" for a missing
// bucket or object, "403" for a rejected key, "409" for a duplicate); 500 stays 500. Injected
// faults keep their own status: they stand for the gateway or an outage, not for Storage.
// Signed URLs as Storage issues them: POST /object/sign/{bucket}/{path} {expiresIn} answers
// {signedURL: "/object/sign/{bucket}/{path}?token=…"}, and a GET of that URL needs no key, only the
// token (valid for that object until it expires). Uploads keep the Cache-Control they were sent
// (storage-js sends `max-age=<cacheControl>` as a header, or `cacheControl` in a form).
import { createHash, randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeObject {
    id: string;
    data: Buffer;
    contentType: string;
    cacheControl: string;
    createdAt: Date;
    updatedAt: Date;
    userMetadata?: Record<string, unknown>;
}

export interface FakeBucket {
    id: string;
    public: boolean;
    createdAt: Date;
    objects: Map<string, FakeObject>;
}

export interface FakeFault {
    /** Matches `${METHOD} ${path}` (path below /storage/v1, without the query string). */
    match: RegExp;
    status: number;
    /** How many matching requests fail; default 1. */
    times?: number;
}

export interface FakeStorageApi {
    /** `http://127.0.0.1:<port>/storage/v1`: what StorageClient takes as its URL. */
    url: string;
    serviceKey: string;
    buckets: Map<string, FakeBucket>;
    /** Seeds an object without going through HTTP (cacheControl default `max-age=3600`, Storage's). */
    putObject(bucket: string, path: string, data: Buffer | string, contentType?: string, cacheControl?: string): FakeObject;
    createBucket(id: string, isPublic?: boolean): FakeBucket;
    addFault(fault: FakeFault): void;
    /** Every request seen, as `${METHOD} ${path}`. */
    requests: string[];
    /** Every object-removal request that succeeded, in order: the bucket and the keys asked for. */
    removals: { bucket: string; keys: string[] }[];
    /** Every signed URL issued: the object it opens and until when. */
    signedUrls: { bucket: string; key: string; expiresAt: Date }[];
    close(): Promise<void>;
}

class HttpError extends Error {
    /** `exact`: sent with this HTTP status as is (faults); otherwise rendered like Storage does. */
    constructor(readonly status: number, readonly code: string, message: string, readonly exact = false) {
        super(message);
    }
}

/** Storage's StorageBackendError.userStatusCode: 500 stays, everything else is HTTP 400. */
function wireStatus(e: HttpError): number {
    if (e.exact) return e.status;
    return e.status === 500 ? 500 : 400;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

function etagOf(data: Buffer): string {
    return `"${createHash("md5").update(data).digest("hex")}"`;
}

function objectMetadata(o: FakeObject): Record<string, unknown> {
    return {
        eTag: etagOf(o.data),
        size: o.data.length,
        mimetype: o.contentType,
        cacheControl: o.cacheControl,
        lastModified: o.updatedAt.toISOString(),
        contentLength: o.data.length,
        httpStatusCode: 200,
    };
}

function bucketJson(b: FakeBucket): Record<string, unknown> {
    return {
        id: b.id,
        name: b.id,
        owner: "",
        public: b.public,
        created_at: b.createdAt.toISOString(),
        updated_at: b.createdAt.toISOString(),
        file_size_limit: null,
        allowed_mime_types: null,
    };
}

/** One page of `list`: the direct children of a folder, files with metadata and folders as placeholders. */
function listFolder(bucket: FakeBucket, body: Record<string, unknown>): unknown[] {
    const rawPrefix = typeof body.prefix === "string" ? body.prefix : "";
    const folder = rawPrefix.replace(/^\/+|\/+$/g, "");
    const base = folder ? `${folder}/` : "";
    const limit = typeof body.limit === "number" ? body.limit : 100;
    const offset = typeof body.offset === "number" ? body.offset : 0;
    const search = typeof body.search === "string" ? body.search : "";
    const sortBy = (body.sortBy ?? {}) as { column?: string; order?: string };
    const entries = new Map<string, unknown>();
    for (const [path, o] of bucket.objects) {
        if (!path.startsWith(base)) continue;
        const rest = path.slice(base.length);
        const slash = rest.indexOf("/");
        const name = slash === -1 ? rest : rest.slice(0, slash);
        if (search && !name.startsWith(search)) continue;
        if (slash !== -1) {
            if (!entries.has(name)) {
                entries.set(name, { name, id: null, updated_at: null, created_at: null, last_accessed_at: null, metadata: null });
            }
            continue;
        }
        entries.set(name, {
            name,
            id: o.id,
            updated_at: o.updatedAt.toISOString(),
            created_at: o.createdAt.toISOString(),
            last_accessed_at: o.updatedAt.toISOString(),
            metadata: objectMetadata(o),
        });
    }
    const sorted = [...entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (sortBy.order === "desc") sorted.reverse();
    return sorted.slice(offset, offset + limit).map(([, v]) => v);
}

export async function startFakeStorageApi(opts: { serviceKey?: string } = {}): Promise<FakeStorageApi> {
    const serviceKey = opts.serviceKey ?? `service-${randomUUID()}`;
    const buckets = new Map<string, FakeBucket>();
    const faults: Required<FakeFault>[] = [];
    const requests: string[] = [];
    const removals: { bucket: string; keys: string[] }[] = [];
    const signedUrls: { bucket: string; key: string; expiresAt: Date }[] = [];
    const signTokens = new Map<string, { bucket: string; key: string; expiresAt: Date }>();

    function createBucket(id: string, isPublic = false): FakeBucket {
        if (buckets.has(id)) throw new HttpError(409, "BucketAlreadyExists", "The resource already exists");
        const b: FakeBucket = { id, public: isPublic, createdAt: new Date(), objects: new Map() };
        buckets.set(id, b);
        return b;
    }

    function bucketOf(id: string): FakeBucket {
        const b = buckets.get(id);
        if (!b) throw new HttpError(404, "NoSuchBucket", "Bucket not found");
        return b;
    }

    function putObject(bucket: string, path: string, data: Buffer | string, contentType = "application/octet-stream", cacheControl = "max-age=3600"): FakeObject {
        const b = bucketOf(bucket);
        const now = new Date();
        const existing = b.objects.get(path);
        const o: FakeObject = {
            id: existing?.id ?? randomUUID(),
            data: Buffer.isBuffer(data) ? data : Buffer.from(data),
            contentType,
            cacheControl,
            createdAt: existing?.createdAt ?? now,
            updatedAt: now,
        };
        b.objects.set(path, o);
        return o;
    }

    function authorized(req: http.IncomingMessage): boolean {
        return req.headers.authorization === `Bearer ${serviceKey}` && req.headers.apikey === serviceKey;
    }

    async function upload(req: http.IncomingMessage, res: http.ServerResponse, bucketId: string, path: string): Promise<void> {
        const b = bucketOf(bucketId);
        const exists = b.objects.has(path);
        if (req.method === "POST" && exists && req.headers["x-upsert"] !== "true") {
            throw new HttpError(409, "ResourceAlreadyExists", "The resource already exists");
        }
        if (req.method === "PUT" && !exists) throw new HttpError(404, "NoSuchKey", "Object not found");
        const raw = await readBody(req);
        let data = raw;
        let contentType = String(req.headers["content-type"] ?? "application/octet-stream");
        let cacheControl = typeof req.headers["cache-control"] === "string" ? req.headers["cache-control"] : "max-age=3600";
        if (contentType.startsWith("multipart/form-data")) {
            // storage-js sends Blob bodies as FormData with the file under the empty field name.
            const form = await new Response(raw, { headers: { "content-type": contentType } }).formData();
            const file = form.get("");
            if (!file || typeof file === "string") throw new HttpError(400, "InvalidRequest", "no file in form");
            data = Buffer.from(await file.arrayBuffer());
            contentType = file.type || "application/octet-stream";
            const formCache = form.get("cacheControl");
            if (typeof formCache === "string" && formCache !== "") cacheControl = `max-age=${formCache}`;
        }
        const o = putObject(bucketId, path, data, contentType, cacheControl);
        sendJson(res, 200, { Id: o.id, Key: `${bucketId}/${path}` });
    }

    function sendObject(res: http.ServerResponse, o: FakeObject, method: string): void {
        res.writeHead(200, {
            "content-type": o.contentType,
            "content-length": o.data.length,
            "cache-control": o.cacheControl,
            etag: etagOf(o.data),
            "last-modified": o.updatedAt.toUTCString(),
        });
        res.end(method === "HEAD" ? undefined : o.data);
    }

    /** GET of a signed URL: no key, only the token, which must be for this object and unexpired. */
    function serveSigned(res: http.ServerResponse, method: string, bucketId: string, key: string, token: string | null): void {
        const grant = token === null ? undefined : signTokens.get(token);
        if (!grant || grant.bucket !== bucketId || grant.key !== key) throw new HttpError(400, "InvalidSignature", "invalid signature");
        if (grant.expiresAt.getTime() < Date.now()) throw new HttpError(400, "InvalidJWT", "jwt expired");
        const o = bucketOf(bucketId).objects.get(key);
        if (!o) throw new HttpError(404, "NoSuchKey", "Object not found");
        sendObject(res, o, method);
    }

    async function route(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
        const method = req.method ?? "GET";
        let m: RegExpExecArray | null;
        // Before the object routes below, which would take "sign" for a bucket name.
        if ((m = /^\/object\/sign\/([^/]+)\/(.+)$/.exec(path)) && method === "POST") {
            const bucketId = decodeURIComponent(m[1]);
            const key = decodeURIComponent(m[2]);
            const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as { expiresIn?: unknown };
            const expiresIn = Number(body.expiresIn);
            if (!Number.isFinite(expiresIn) || expiresIn < 1) throw new HttpError(400, "InvalidRequest", "expiresIn must be a positive number");
            if (!bucketOf(bucketId).objects.has(key)) throw new HttpError(404, "NoSuchKey", "Object not found");
            const token = randomUUID();
            const expiresAt = new Date(Date.now() + expiresIn * 1000);
            signTokens.set(token, { bucket: bucketId, key, expiresAt });
            signedUrls.push({ bucket: bucketId, key, expiresAt });
            // Storage answers the path decoded (src/storage/object.ts signObjectUrl: decodeURI); storage-js encodeURI's the result.
            return sendJson(res, 200, { signedURL: `/object/sign/${bucketId}/${key}?token=${token}` });
        }
        if (path === "/bucket" && method === "GET") {
            return sendJson(res, 200, [...buckets.values()].map(bucketJson));
        }
        if (path === "/bucket" && method === "POST") {
            const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as { id?: string; name?: string; public?: boolean };
            const id = body.id ?? body.name;
            if (!id) throw new HttpError(400, "InvalidRequest", "bucket name required");
            createBucket(id, body.public === true);
            return sendJson(res, 200, { name: id });
        }
        if ((m = /^\/bucket\/([^/]+)\/empty$/.exec(path)) && method === "POST") {
            bucketOf(decodeURIComponent(m[1])).objects.clear();
            return sendJson(res, 200, { message: "Successfully emptied" });
        }
        if ((m = /^\/bucket\/([^/]+)$/.exec(path))) {
            const id = decodeURIComponent(m[1]);
            const b = bucketOf(id);
            if (method === "GET") return sendJson(res, 200, bucketJson(b));
            if (method === "DELETE") {
                if (b.objects.size > 0) throw new HttpError(409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
                buckets.delete(id);
                return sendJson(res, 200, { message: "Successfully deleted" });
            }
        }
        if ((m = /^\/object\/list\/([^/]+)$/.exec(path)) && method === "POST") {
            const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as Record<string, unknown>;
            return sendJson(res, 200, listFolder(bucketOf(decodeURIComponent(m[1])), body));
        }
        if ((m = /^\/object\/(?:authenticated\/)?([^/]+)\/(.+)$/.exec(path)) && (method === "GET" || method === "HEAD")) {
            const o = bucketOf(decodeURIComponent(m[1])).objects.get(decodeURIComponent(m[2]));
            if (!o) throw new HttpError(404, "NoSuchKey", "Object not found");
            return sendObject(res, o, method);
        }
        if ((m = /^\/object\/([^/]+)\/(.+)$/.exec(path)) && (method === "POST" || method === "PUT")) {
            return upload(req, res, decodeURIComponent(m[1]), decodeURIComponent(m[2]));
        }
        if ((m = /^\/object\/([^/]+)$/.exec(path)) && method === "DELETE") {
            const b = bucketOf(decodeURIComponent(m[1]));
            const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as { prefixes?: string[] };
            const removed: unknown[] = [];
            removals.push({ bucket: b.id, keys: [...(body.prefixes ?? [])] });
            for (const p of body.prefixes ?? []) {
                const o = b.objects.get(p);
                if (!o) continue;
                b.objects.delete(p);
                removed.push({ name: p, bucket_id: b.id, id: o.id, metadata: objectMetadata(o) });
            }
            return sendJson(res, 200, removed);
        }
        throw new HttpError(404, "not_found", `no route for ${method} ${path}`);
    }

    const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        const path = url.pathname.replace(/^\/storage\/v1/, "");
        const signature = `${req.method} ${path}`;
        requests.push(signature);
        const handle = async (): Promise<void> => {
            if (!url.pathname.startsWith("/storage/v1/")) throw new HttpError(404, "not_found", "not a storage path");
            const signed = /^\/object\/sign\/([^/]+)\/(.+)$/.exec(path);
            const signedGet = signed !== null && (req.method === "GET" || req.method === "HEAD");
            // A signed URL is opened without the key: the token in its query is the authorization.
            if (!signedGet && !authorized(req)) throw new HttpError(403, "AccessDenied", "invalid signature");
            const fault = faults.find((f) => f.times > 0 && f.match.test(signature));
            if (fault) {
                fault.times--;
                await readBody(req);
                throw new HttpError(fault.status, "InternalError", "injected fault", true);
            }
            if (signedGet) return serveSigned(res, req.method!, decodeURIComponent(signed[1]), decodeURIComponent(signed[2]), url.searchParams.get("token"));
            await route(req, res, path);
        };
        handle().catch((err: unknown) => {
            // Storage answers errors as {statusCode, code, error, message}; storage-js reads `message`
            // and keeps statusCode.
            const e = err instanceof HttpError ? err : new HttpError(500, "InternalError", String(err));
            if (!res.headersSent) sendJson(res, wireStatus(e), { statusCode: String(e.status), code: e.code, error: e.code, message: e.message });
            else res.destroy();
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;

    return {
        url: `http://127.0.0.1:${port}/storage/v1`,
        serviceKey,
        buckets,
        requests,
        removals,
        signedUrls,
        putObject,
        createBucket,
        addFault(fault) {
            faults.push({ times: 1, ...fault });
        },
        close() {
            server.closeAllConnections();
            return new Promise((resolve) => server.close(() => resolve()));
        },
    };
}
