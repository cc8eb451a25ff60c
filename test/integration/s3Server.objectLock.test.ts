// The S3 test server (Versity Gateway, test/helpers/s3Server.ts) is worth testing against only if it
// really enforces Object Lock: over HTTPS — the only S3 transport pgBackRest 2.45 speaks — it must
// refuse to delete a COMPLIANCE-locked version or to shorten or downgrade its retention, by anyone,
// bypass header or not, while the same principal may delete unlocked versions and extend retention.
// Also pinned here: HTTPS is verified against the server's own CA and nothing else, both endpoints
// share one store, the server listens on loopback only, the project's CLIs reach the HTTPS endpoint
// with NODE_EXTRA_CA_CERTS, and the two places where the gateway's Object Lock differs from AWS.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import {
    CreateBucketCommand,
    DeleteObjectCommand,
    DeleteObjectsCommand,
    GetObjectCommand,
    GetObjectRetentionCommand,
    HeadObjectCommand,
    ListObjectVersionsCommand,
    PutObjectCommand,
    PutObjectRetentionCommand,
    S3Client,
    S3ServiceException,
    type ObjectLockRetentionMode,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetentionRefusedError, S3Store } from "../../lib/vault/s3Store";
import { startS3Server, type S3Server } from "../helpers/s3Server";

const execFileAsync = promisify(execFile);
const DAY = 86_400_000;
const sha = (b: string) => createHash("sha256").update(b).digest("hex");

let server: S3Server;
let tls: S3Client;

beforeAll(async () => {
    server = await startS3Server();
    tls = server.s3Client({ https: true });
});
afterAll(async () => {
    await server?.stop();
});

/** The S3 error a promise rejects with (fails the test if it resolves or throws something else). */
async function s3Error(p: Promise<unknown>): Promise<S3ServiceException> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err, "the request was expected to be refused").toBeInstanceOf(S3ServiceException);
    return err as S3ServiceException;
}

async function putLocked(bucket: string, key: string, body: string, mode?: ObjectLockRetentionMode, until?: Date): Promise<string> {
    const out = await tls.send(new PutObjectCommand({
        Bucket: bucket, Key: key, Body: body, ChecksumAlgorithm: "SHA256",
        ...(mode ? { ObjectLockMode: mode, ObjectLockRetainUntilDate: until } : {}),
    }));
    expect(out.VersionId).toBeTruthy();
    return out.VersionId!;
}

async function bodyOf(client: S3Client, bucket: string, key: string, versionId?: string): Promise<string> {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    return out.Body!.transformToString();
}

describe("the S3 test server's transport", () => {
    it("serves one store over HTTP and HTTPS, the latter verified against the server's own CA only", async () => {
        expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(server.httpsEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const plain = server.s3Client();
        await plain.send(new CreateBucketCommand({ Bucket: "transport" }));
        await plain.send(new PutObjectCommand({ Bucket: "transport", Key: "hello.txt", Body: "written over http" }));
        expect(await bodyOf(tls, "transport", "hello.txt")).toBe("written over http");

        // A client that does not trust the test CA must fail the handshake: verification is on.
        const untrusting = new S3Client({ endpoint: server.httpsEndpoint, region: server.region, forcePathStyle: true, maxAttempts: 1,
            credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey } });
        try {
            const err = await untrusting.send(new GetObjectCommand({ Bucket: "transport", Key: "hello.txt" })).then(() => undefined, (e: unknown) => e as NodeJS.ErrnoException);
            expect(err, "an HTTPS request without the test CA succeeded").toBeDefined();
            expect(`${err!.code} ${err!.message}`).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|certificate/i);
        } finally {
            untrusting.destroy();
        }
    });

    it("listens on loopback only", async () => {
        const ports = [server.endpoint, server.httpsEndpoint].map((u) => Number(new URL(u).port));
        // The kernel's own table of listening sockets (Linux): each port is bound to 127.0.0.1 and nothing else.
        const listening = ["/proc/net/tcp", "/proc/net/tcp6"].flatMap((f) => fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").slice(1) : [])
            .map((l) => l.trim().split(/\s+/)).filter((c) => c[3] === "0A").map((c) => c[1].split(":"));
        for (const port of ports) {
            const addrs = listening.filter(([, p]) => parseInt(p, 16) === port).map(([a]) => a);
            expect(addrs, `listening sockets on port ${port}`).toEqual(["0100007F"]);
        }
        // And from the outside: a connection to any other address of this machine is refused.
        const external = Object.values(os.networkInterfaces()).flat().filter((a) => a && !a.internal && a.family === "IPv4").map((a) => a!.address);
        const connects = (host: string, port: number) => new Promise<boolean>((resolve) => {
            const s = net.connect({ host, port, timeout: 2000 }, () => {
                s.destroy();
                resolve(true);
            });
            s.on("error", () => resolve(false));
            s.on("timeout", () => {
                s.destroy();
                resolve(false);
            });
        });
        for (const port of ports) {
            expect(await connects("127.0.0.1", port)).toBe(true);
            for (const host of external) expect(await connects(host, port), `${host}:${port} accepted a connection`).toBe(false);
        }
    });
});

describe("Object Lock over HTTPS", () => {
    // Object Lock on, but no default retention rule: every lock below is the version's own, so no
    // refusal can come from a bucket default (see the last describe for how the gateway applies those).
    const BUCKET = "lock-proof";
    beforeAll(async () => {
        await tls.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectLockEnabledForBucket: true }));
    });

    it("lets the same principal delete an unlocked version (a refusal below is the lock, not missing rights)", async () => {
        const v = await putLocked(BUCKET, "free.txt", "no lock");
        await tls.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "free.txt", VersionId: v }));
        const versions = await tls.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "free.txt" }));
        expect(versions.Versions ?? []).toEqual([]);
    });

    it("refuses to delete a COMPLIANCE-locked version or to shorten or downgrade its retention, bypass header or not", async () => {
        const key = "db/prod/backup.dump";
        const until = new Date(Math.ceil((Date.now() + DAY) / 1000) * 1000);
        const v = await putLocked(BUCKET, key, "the backup", "COMPLIANCE", until);
        const retention = async () => (await tls.send(new GetObjectRetentionCommand({ Bucket: BUCKET, Key: key, VersionId: v }))).Retention;
        expect(await retention()).toEqual({ Mode: "COMPLIANCE", RetainUntilDate: until });

        for (const bypass of [false, true]) {
            const del = await s3Error(tls.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, VersionId: v, BypassGovernanceRetention: bypass })));
            expect(del.name).toBe("AccessDenied");
            expect(del.$metadata.httpStatusCode).toBe(403);
            expect(del.message).toMatch(/object lock/i);
        }
        // The multi-object delete takes another code path in the server: it must refuse as well.
        const batch = await tls.send(new DeleteObjectsCommand({ Bucket: BUCKET, BypassGovernanceRetention: true, Delete: { Objects: [{ Key: key, VersionId: v }] } }));
        expect(batch.Deleted ?? []).toEqual([]);
        expect(batch.Errors).toEqual([expect.objectContaining({ Key: key, VersionId: v, Code: "AccessDenied" })]);

        const shorter = new Date(until.getTime() - DAY / 2);
        for (const [mode, date, bypass] of [["COMPLIANCE", shorter, false], ["COMPLIANCE", shorter, true], ["GOVERNANCE", until, true]] as const) {
            const err = await s3Error(tls.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: key, VersionId: v, BypassGovernanceRetention: bypass,
                Retention: { Mode: mode, RetainUntilDate: date } })));
            expect(err.name).toBe("AccessDenied");
        }
        expect(await retention()).toEqual({ Mode: "COMPLIANCE", RetainUntilDate: until });

        // The project's own store maps the refusal to RetentionRefusedError.
        const store = new S3Store({ bucket: BUCKET, client: tls });
        await expect(store.delete(key, v)).rejects.toBeInstanceOf(RetentionRefusedError);

        // A plain delete only adds a delete marker; the locked version is untouched and readable.
        await tls.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
        const versions = await tls.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: key }));
        expect(versions.Versions?.map((x) => x.VersionId)).toEqual([v]);
        expect(versions.DeleteMarkers).toHaveLength(1);
        expect(await bodyOf(tls, BUCKET, key, v)).toBe("the backup");

        // What the lock allows: extending it. The refusals above are about weakening, not a blanket no.
        const longer = new Date(until.getTime() + DAY);
        await tls.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: key, VersionId: v, Retention: { Mode: "COMPLIANCE", RetainUntilDate: longer } }));
        expect(await retention()).toEqual({ Mode: "COMPLIANCE", RetainUntilDate: longer });
    });

    it("refuses a GOVERNANCE-locked delete without the bypass header, and lets root bypass it (unlike COMPLIANCE)", async () => {
        const v = await putLocked(BUCKET, "gov.txt", "governed", "GOVERNANCE", new Date(Date.now() + DAY));
        const err = await s3Error(tls.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "gov.txt", VersionId: v })));
        expect(err.name).toBe("AccessDenied");
        await tls.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "gov.txt", VersionId: v, BypassGovernanceRetention: true }));
        expect((await tls.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "gov.txt" }))).Versions ?? []).toEqual([]);
    });
});

describe("where the gateway's Object Lock differs from AWS (tests that rely on these must know)", () => {
    it("a version covered only by the bucket's default rule has no retention of its own, yet cannot be deleted", async () => {
        await server.createLockedBucket("default-only", "COMPLIANCE", 1);
        const v = await putLocked("default-only", "a.txt", "default");
        // AWS stamps the default onto the version; the gateway stores none and answers like this:
        const err = await s3Error(tls.send(new GetObjectRetentionCommand({ Bucket: "default-only", Key: "a.txt", VersionId: v })));
        expect(err.name).toBe("NoSuchObjectLockConfiguration");
        const head = await tls.send(new HeadObjectCommand({ Bucket: "default-only", Key: "a.txt", VersionId: v }));
        expect(head.ObjectLockMode).toBeUndefined();
        expect(head.ObjectLockRetainUntilDate).toBeUndefined();
        // S3Store reports "no retention" for it (an audit would call it unprotected) ...
        expect(await new S3Store({ bucket: "default-only", client: tls }).retention("a.txt", v)).toBeUndefined();
        // ... while the gateway still refuses the delete, on the bucket default's authority.
        const del = await s3Error(tls.send(new DeleteObjectCommand({ Bucket: "default-only", Key: "a.txt", VersionId: v })));
        expect(del.name).toBe("AccessDenied");
    });

    it("a COMPLIANCE bucket default also binds versions uploaded with an explicit GOVERNANCE lock", async () => {
        const v = await putLocked("default-only", "gov.txt", "governed", "GOVERNANCE", new Date(Date.now() + DAY));
        expect((await tls.send(new GetObjectRetentionCommand({ Bucket: "default-only", Key: "gov.txt", VersionId: v }))).Retention?.Mode).toBe("GOVERNANCE");
        // AWS would let root bypass this GOVERNANCE lock; the gateway applies the COMPLIANCE default on top.
        const err = await s3Error(tls.send(new DeleteObjectCommand({ Bucket: "default-only", Key: "gov.txt", VersionId: v, BypassGovernanceRetention: true })));
        expect(err.name).toBe("AccessDenied");
    });
});

describe("the project's CLIs over HTTPS", () => {
    it("reach the HTTPS endpoint when NODE_EXTRA_CA_CERTS names the test CA, and refuse the unknown certificate otherwise", async () => {
        await server.createLockedBucket("cli-https", "COMPLIANCE", 1);
        const store = new S3Store({ bucket: "cli-https", client: tls });
        const taken = new Date();
        const id = `backup_${taken.toISOString().replace(/[-:T]/g, "").slice(0, 14)}`;
        const dir = `db/https/${taken.toISOString().slice(0, 10).replace(/-/g, "/")}`;
        const dump = "dump bytes over tls";
        const put = (key: string, text: string) => store.put(key, Readable.from([Buffer.from(text)]), { sha256: sha(text), bytes: Buffer.byteLength(text), retainUntil: new Date(Date.now() + DAY) });
        await put(`${dir}/${id}.dump`, dump);
        await put(`${dir}/${id}.manifest.json`, JSON.stringify({ manifestVersion: 1, id, format: "custom", root: `${id}.dump`, takenAt: taken.toISOString(),
            files: [{ path: `${id}.dump`, bytes: dump.length, sha256: sha(dump) }] }));

        const tsx = path.resolve(__dirname, "../../node_modules/.bin/tsx");
        const script = path.resolve(__dirname, "../../scripts/freshness.ts");
        const env = { ...process.env, BACKUP_ENV: "https", BACKUP_BUCKET: "cli-https", S3_ENDPOINT: server.httpsEndpoint, AWS_REGION: server.region,
            AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, RPO_SECONDS: "3600", NODE_EXTRA_CA_CERTS: server.caFile };
        const ok = await execFileAsync(tsx, [script], { env });
        expect(ok.stdout).toMatch(/FRESH/);
        const { NODE_EXTRA_CA_CERTS: _ca, ...withoutCa } = env;
        const refused = await execFileAsync(tsx, [script], { env: withoutCa }).then(() => undefined, (e: { code: number; stdout: string; stderr: string }) => e);
        expect(refused, "the CLI trusted a certificate it was never given").toBeDefined();
        expect(refused!.code).toBe(1);
        expect(refused!.stderr + refused!.stdout).toMatch(/certificate|UNABLE_TO_VERIFY/i);
        for (const out of [ok.stdout, ok.stderr, refused!.stdout, refused!.stderr]) expect(out).not.toContain(server.secretKey);
    });
});
