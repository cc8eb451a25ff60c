// Reading a storage before-image back for `recover storage-undo`: index.json validated field by field
// (both formats: the first one, without `written` and `added`, stays readable), and each kept file
// checked against the sha256 and size the index recorded. A file is read through one open descriptor
// that is hashed first and uploaded second, so what is uploaded is what was checked even if the path
// is replaced meanwhile. The index comes from disk and may have been edited: a file name must be
// objects/<sha256>, never a path elsewhere on this machine.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { propertyPath } from "../config/errors";
import { CheckFailedError, UsageError } from "../errors";
import { BEFORE_IMAGE_FORMAT, BEFORE_IMAGE_INDEX, BEFORE_IMAGE_KIND, type BeforeImageEntry, type BeforeImageIndex } from "./storageBeforeImage";

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, { error: "expected 64 lowercase hex digits" });

const stateShape = {
    sha256: SHA256,
    bytes: z.number().int().nonnegative(),
    contentType: z.string().min(1),
    cacheControl: z.string().optional(),
};

const written = z.strictObject(stateShape);

const entry = z.strictObject({
    key: z.string().min(1),
    file: z.string().regex(/^objects\/[0-9a-f]{64}$/, { error: "expected objects/<sha256> (a file inside the before-image)" }),
    ...stateShape,
    lastModified: z.string(),
    written: written.nullable().optional(),
});

const indexSchema = z
    .strictObject({
        kind: z.literal(BEFORE_IMAGE_KIND),
        format: z.literal(BEFORE_IMAGE_FORMAT).optional(),
        made: z.enum(["recover storage", "recover storage-undo"]).optional(),
        undoes: z.string().optional(),
        bucket: z.string().min(1),
        storage: z.string().min(1),
        takenAt: z.string(),
        objects: z.array(entry),
        added: z.array(z.strictObject({ key: z.string().min(1), written })).optional(),
    })
    .superRefine((index, ctx) => {
        if (index.format === BEFORE_IMAGE_FORMAT) {
            index.objects.forEach((o, i) => {
                if (o.written === undefined) ctx.addIssue({ code: "custom", path: ["objects", i, "written"], message: `format ${BEFORE_IMAGE_FORMAT} records what was written (null for a removal)` });
            });
            if (index.added === undefined) ctx.addIssue({ code: "custom", path: ["added"], message: `format ${BEFORE_IMAGE_FORMAT} lists the objects the write added` });
        }
        index.objects.forEach((o, i) => {
            if (o.file !== `objects/${o.sha256}`) ctx.addIssue({ code: "custom", path: ["objects", i, "file"], message: "is not named by the entry's sha256" });
        });
        const seen = new Set<string>();
        [...index.objects, ...(index.added ?? [])].forEach((o) => {
            if (seen.has(o.key)) ctx.addIssue({ code: "custom", path: ["objects"], message: `key ${JSON.stringify(o.key)} is listed twice` });
            seen.add(o.key);
        });
    });

export interface LoadedBeforeImage {
    /** Absolute path of the directory. */
    dir: string;
    index: BeforeImageIndex;
    /** sha256 of index.json's bytes: the audit record names exactly the index that was undone. */
    indexSha256: string;
    /** The index records what the write put there (format 2). */
    recordsWrites: boolean;
}

/** The before-image directory (or its index.json) given on the command line, read and validated. */
export function loadBeforeImage(given: string): LoadedBeforeImage {
    const resolved = path.resolve(given);
    const dir = path.basename(resolved) === BEFORE_IMAGE_INDEX && fs.statSync(resolved, { throwIfNoEntry: false })?.isFile() ? path.dirname(resolved) : resolved;
    const file = path.join(dir, BEFORE_IMAGE_INDEX);
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${given} is not a directory: give a before-image directory (recover-artifacts/before-storage-<bucket>-…)`);
    if (!fs.existsSync(file)) throw new UsageError(`${dir} has no ${BEFORE_IMAGE_INDEX}: it is not a storage before-image (or its restore failed before writing one)`);
    const bytes = fs.readFileSync(file);
    let raw: unknown;
    try {
        raw = JSON.parse(bytes.toString("utf8"));
    } catch (err) {
        throw new UsageError(`${file} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    const parsed = indexSchema.safeParse(raw);
    if (!parsed.success) {
        const issues = parsed.error.issues.slice(0, 10).map((i) => `  ${propertyPath(BEFORE_IMAGE_INDEX, i.path)}: ${i.message}`);
        throw new UsageError(`${file} is not a valid storage before-image index:\n${issues.join("\n")}`);
    }
    const index = parsed.data as BeforeImageIndex;
    return { dir, index, indexSha256: createHash("sha256").update(bytes).digest("hex"), recordsWrites: index.format === BEFORE_IMAGE_FORMAT };
}

/** Why a kept file cannot be uploaded (missing, or not the content the index recorded), or undefined. */
export async function checkKeptFile(dir: string, entry: BeforeImageEntry): Promise<string | undefined> {
    let handle: fs.promises.FileHandle;
    try {
        handle = await fs.promises.open(path.join(dir, entry.file), "r");
    } catch (err) {
        return `before-image file ${entry.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
    try {
        return await mismatch(handle, entry);
    } finally {
        await handle.close();
    }
}

/** Hashes the whole file through the handle (positioned reads: the handle stays usable). */
async function mismatch(handle: fs.promises.FileHandle, entry: BeforeImageEntry): Promise<string | undefined> {
    const hash = createHash("sha256");
    const buffer = Buffer.alloc(1 << 20);
    let bytes = 0;
    for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, bytes);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        bytes += bytesRead;
    }
    const sha256 = hash.digest("hex");
    if (sha256 === entry.sha256 && bytes === entry.bytes) return undefined;
    return `before-image file ${entry.file} holds ${bytes} bytes with sha256 ${sha256}, the index says ${entry.bytes} bytes with sha256 ${entry.sha256}`;
}

/**
 * Opens a kept file, checks it, and hands a stream of exactly the checked bytes (same open file) to
 * `use` (the upload); throws, before `use` runs, when the file is not what the index recorded.
 */
export async function withCheckedFile<T>(dir: string, entry: BeforeImageEntry, use: (body: fs.ReadStream) => Promise<T>): Promise<T> {
    const handle = await fs.promises.open(path.join(dir, entry.file), "r");
    let body: fs.ReadStream | undefined;
    try {
        const problem = await mismatch(handle, entry);
        if (problem) throw new DamagedBeforeImageError(entry.key, problem);
        // The stream owns the handle from here and closes it when it ends or is destroyed.
        body = handle.createReadStream({ start: 0, highWaterMark: 1 << 20 });
        return await use(body);
    } finally {
        if (body) body.destroy();
        else await handle.close();
    }
}

/** A kept file that is not what the index recorded: never uploaded (CHECK_FAILED, exit 1). */
export class DamagedBeforeImageError extends CheckFailedError {
    constructor(
        readonly key: string,
        readonly problem: string,
    ) {
        super(`${key}: ${problem}: not uploaded`);
    }
}
