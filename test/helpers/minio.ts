// A throw-away MinIO server (S3 with Object Lock) for the vault tests: built or found by
// scripts/ensure-minio.sh, started on free loopback ports with random root credentials and a temp data
// directory, and always killed and deleted by stop() (and at process exit, should a test forget).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import {
    CreateBucketCommand,
    PutObjectLockConfigurationCommand,
    S3Client,
    type ObjectLockRetentionMode,
} from "@aws-sdk/client-s3";
import { freePort } from "../../lib/postgres/localCluster";

const REPO_ROOT = path.resolve(__dirname, "../..");
const REGION = "us-east-1";

export interface MinioServer {
    endpoint: string;
    region: string;
    accessKey: string;
    secretKey: string;
    s3Client(): S3Client;
    /** A bucket with Object Lock (hence versioning) and a default retention rule. */
    createLockedBucket(name: string, mode?: ObjectLockRetentionMode, days?: number): Promise<void>;
    stop(): Promise<void>;
}

let binDir: string | undefined;

function minioBinary(): string {
    binDir ??= execFileSync("bash", [path.join(REPO_ROOT, "scripts/ensure-minio.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 15 * 60_000,
    }).trim().split("\n").pop();
    if (!binDir) throw new Error("scripts/ensure-minio.sh printed no bin directory");
    return path.join(binDir, "minio");
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
});

async function waitLive(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`minio exited with ${child.exitCode}:\n${output()}`);
        try {
            const res = await fetch(`${endpoint}/minio/health/live`);
            if (res.ok) return;
        } catch {
            // not listening yet
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`minio did not become live at ${endpoint} within 60s:\n${output()}`);
}

export async function startMinio(): Promise<MinioServer> {
    const bin = minioBinary();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-minio-"));
    const [port, consolePort] = [await freePort(), await freePort()];
    const accessKey = `test${randomBytes(6).toString("hex")}`;
    const secretKey = randomBytes(18).toString("base64url");
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn(bin, ["server", dataDir, "--address", `127.0.0.1:${port}`, "--console-address", `127.0.0.1:${consolePort}`, "--quiet"], {
        env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: "off", MINIO_UPDATE: "off" },
        stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(child);
    let output = "";
    const collect = (d: Buffer) => {
        output = (output + d.toString()).slice(-8000);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);

    const clients: S3Client[] = [];
    const stop = async () => {
        for (const c of clients) c.destroy();
        if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise<void>((r) => child.once("exit", () => r()));
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
            await exited;
            clearTimeout(timer);
        }
        live.delete(child);
        fs.rmSync(dataDir, { recursive: true, force: true });
    };
    try {
        await waitLive(endpoint, child, () => output);
    } catch (err) {
        await stop();
        throw err;
    }

    const s3Client = () => {
        const c = new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } });
        clients.push(c);
        return c;
    };
    const admin = s3Client();
    return {
        endpoint,
        region: REGION,
        accessKey,
        secretKey,
        s3Client,
        async createLockedBucket(name, mode = "COMPLIANCE", days = 1) {
            await admin.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: true }));
            await admin.send(new PutObjectLockConfigurationCommand({
                Bucket: name,
                ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: mode, Days: days } } },
            }));
        },
        stop,
    };
}

/** A generated body of `bytes` bytes, produced chunk by chunk on demand (never held in memory). */
export function generatedStream(bytes: number, seed = 0, chunk = 1 << 20): Readable {
    const block = Buffer.alloc(chunk);
    for (let i = 0; i < chunk; i++) block[i] = (i * 31 + seed) & 0xff;
    let sent = 0;
    return new Readable({
        highWaterMark: chunk,
        read() {
            if (sent >= bytes) {
                this.push(null);
                return;
            }
            const n = Math.min(chunk, bytes - sent);
            sent += n;
            this.push(n === chunk ? block : block.subarray(0, n));
        },
    });
}

/** sha256 of generatedStream(bytes, seed), computed the same streaming way. */
export async function generatedSha256(bytes: number, seed = 0): Promise<string> {
    const hash = createHash("sha256");
    for await (const c of generatedStream(bytes, seed)) hash.update(c as Buffer);
    return hash.digest("hex");
}
