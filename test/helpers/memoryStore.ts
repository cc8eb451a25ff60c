// An in-memory BlobStore for fast tests. Behaves like the vault where it matters to callers: the
// declared sha256 is checked against the bytes (as S3 checks an Object Lock put's checksum), and an
// object under retention can be neither overwritten nor deleted.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { assertCopySource, type BlobStore, type PutOptions, type StoredObject } from "../../lib/vault/blobStore";

interface Entry {
    data: Buffer;
    info: StoredObject;
}

export class MemoryStore implements BlobStore {
    readonly location = "memory://vault";
    readonly objects = new Map<string, Entry>();
    /** Count of successful puts, so tests can prove what was (not) uploaded. */
    puts = 0;
    /** Count of successful server-side copies. */
    copies = 0;

    constructor(private readonly clock: () => Date = () => new Date()) {}

    private assertUnlocked(key: string, action: string): void {
        const existing = this.objects.get(key);
        const until = existing?.info.retainUntil;
        if (until && until.getTime() > this.clock().getTime()) {
            throw new Error(`${action} refused: ${key} is retained until ${until.toISOString()}`);
        }
    }

    async put(key: string, body: Readable, opts: PutOptions): Promise<StoredObject> {
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
        const data = Buffer.concat(chunks);
        const sha256 = createHash("sha256").update(data).digest("hex");
        if (sha256 !== opts.sha256) throw new Error(`checksum mismatch for ${key}: declared ${opts.sha256}, got ${sha256}`);
        if (data.length !== opts.bytes) throw new Error(`size mismatch for ${key}: declared ${opts.bytes}, got ${data.length}`);
        this.assertUnlocked(key, "overwrite");
        const info: StoredObject = {
            key,
            bytes: data.length,
            lastModified: this.clock(),
            sha256,
            retainUntil: opts.retainUntil,
            retentionMode: opts.retainUntil ? "COMPLIANCE" : undefined,
            contentType: opts.contentType,
            metadata: opts.metadata,
        };
        this.objects.set(key, { data, info });
        this.puts++;
        return { ...info };
    }

    async copy(from: string, to: string, opts: PutOptions): Promise<StoredObject> {
        assertCopySource(this.location, from, await this.head(from), opts);
        const stored = await this.put(to, Readable.from([this.objects.get(from)!.data]), opts);
        this.puts--;
        this.copies++;
        return stored;
    }

    async get(key: string): Promise<Readable> {
        const entry = this.objects.get(key);
        if (!entry) throw new Error(`no such object: ${key}`);
        return Readable.from([entry.data]);
    }

    async head(key: string): Promise<StoredObject | undefined> {
        const entry = this.objects.get(key);
        return entry ? { ...entry.info } : undefined;
    }

    async *list(prefix: string): AsyncIterable<StoredObject> {
        for (const key of [...this.objects.keys()].sort()) {
            if (key.startsWith(prefix)) yield { ...this.objects.get(key)!.info };
        }
    }

    async delete(key: string): Promise<void> {
        this.assertUnlocked(key, "delete");
        this.objects.delete(key);
    }
}
