// A throw-away S3 server with Object Lock for the vault tests: Versity Gateway (versitygw, Apache-2.0)
// over its posix backend, built or found by scripts/ensure-s3-server.sh. It listens on loopback only,
// with random root credentials and a temp data directory, and is always killed and deleted by stop()
// (and at process exit, should a test forget).
//
// Two gateway processes share one data directory: one speaks plain HTTP (`endpoint`), the other HTTPS
// (`httpsEndpoint`) with a certificate signed by a CA made with openssl for this server alone
// (`caFile`). pgBackRest before 2.58 speaks only HTTPS to S3, and the gateway's TLS flag applies to
// every port of a process, hence two. The gateway is stateless by design: locks, versions and
// retention live in the shared directory (extended attributes, .vgwlocks), so both endpoints see and
// enforce the same state.
//
// Credentials go to the gateway through its environment (ROOT_ACCESS_KEY_ID / ROOT_SECRET_ACCESS_KEY),
// never its arguments: the secret must not show on the process list.
//
// With `{ iam: true }` the gateways share an internal IAM directory (VGW_IAM_DIR) and createUser()
// adds plain, non-admin users, whose grants come from bucket policies (putBucketPolicy): the gateway's
// internal IAM has no identity policies. Root bypasses every policy, so a test that must show what a
// role may and may not do runs as such a user.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import {
    CreateBucketCommand,
    PutBucketPolicyCommand,
    PutObjectLockConfigurationCommand,
    S3Client,
    type ObjectLockRetentionMode,
} from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { freePort } from "../../lib/postgres/localCluster";

const REPO_ROOT = path.resolve(__dirname, "../..");
const REGION = "us-east-1";
const HEALTH_PATH = "/health";
/** Set by test/helpers/globalSetup.ts (or by hand) to the directory holding `versitygw`. */
export const S3_SERVER_BIN_ENV = "SUPABASE_DR_S3_SERVER_BIN";

/** A plain user of the gateway's internal IAM (startS3Server({ iam: true })). */
export interface S3User {
    accessKeyId: string;
    secretAccessKey: string;
}

export interface S3ServerOptions {
    /** Region the gateway signs for (default us-east-1): a client must sign for the same one. */
    region?: string;
    /** Internal IAM, so createUser() works (default false: root only). */
    iam?: boolean;
}

export interface S3Server {
    /** Plain HTTP endpoint, http://127.0.0.1:<port>. */
    endpoint: string;
    /** HTTPS endpoint over the same data, https://127.0.0.1:<port>; its certificate is signed by caFile. */
    httpsEndpoint: string;
    /** PEM file of the CA that signed the HTTPS certificate (NODE_EXTRA_CA_CERTS, repo1-storage-ca-file). */
    caFile: string;
    region: string;
    accessKey: string;
    secretKey: string;
    /** A client with the root credentials, over HTTP, or over HTTPS trusting caFile (and nothing less). */
    s3Client(opts?: { https?: boolean }): S3Client;
    /** A bucket with Object Lock (hence versioning) and a default retention rule. */
    createLockedBucket(name: string, mode?: ObjectLockRetentionMode, days?: number): Promise<void>;
    /** A new plain user (needs { iam: true }); `name` prefixes its random access key id. */
    createUser(name: string): Promise<S3User>;
    /** A client acting as `user` (no retries: a refusal is reported as it came). */
    clientFor(user: S3User, opts?: { https?: boolean }): S3Client;
    /** Replaces the bucket's policy (as root). */
    putBucketPolicy(bucket: string, policy: object): Promise<void>;
    stop(): Promise<void>;
}

let binDir: string | undefined;

/**
 * The directory holding versitygw: $SUPABASE_DR_S3_SERVER_BIN (vitest's global setup sets it after
 * building), otherwise scripts/ensure-s3-server.sh (cached after the first build).
 */
export function ensureS3ServerBinDir(): string {
    if (binDir) return binDir;
    const fromEnv = process.env[S3_SERVER_BIN_ENV];
    if (fromEnv) {
        if (!fs.existsSync(path.join(fromEnv, "versitygw"))) throw new Error(`${S3_SERVER_BIN_ENV}=${fromEnv} holds no 'versitygw' binary`);
        return (binDir = fromEnv);
    }
    const out = execFileSync("bash", [path.join(REPO_ROOT, "scripts/ensure-s3-server.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 20 * 60_000,
    });
    const dir = out.trim().split("\n").pop();
    if (!dir) throw new Error("scripts/ensure-s3-server.sh printed no bin directory");
    return (binDir = dir);
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
});

/** A CA and a server certificate for 127.0.0.1 signed by it, written into dir. */
function makeCertificates(dir: string): { caFile: string; certFile: string; keyFile: string } {
    const f = (n: string) => path.join(dir, n);
    const openssl = (args: string[]) => {
        try {
            execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], cwd: dir });
        } catch (err) {
            const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
            if (e.code === "ENOENT") throw new Error("openssl is not installed: the S3 test server needs it to make its TLS certificate");
            throw new Error(`openssl ${args[0]} failed making the S3 test server's certificate: ${e.stderr?.toString() ?? e.message}`);
        }
    };
    const days = "2"; // a test run never lasts longer; a leaked file is useless soon after
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.pem"),
        "-days", days, "-subj", "/CN=supabase-dr test S3 CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f("server.key"), "-out", f("server.csr"),
        "-subj", "/CN=127.0.0.1"]);
    fs.writeFileSync(f("server.ext"), "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl(["x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", days,
        "-extfile", f("server.ext"), "-out", f("server.pem")]);
    fs.rmSync(f("ca.key")); // nothing else is ever signed with it
    return { caFile: f("ca.pem"), certFile: f("server.pem"), keyFile: f("server.key") };
}

/** GET the unauthenticated health path; true on HTTP 200. */
function healthy(url: string, ca: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
        const get = url.startsWith("https:") ? https.get : http.get;
        const req = get(url + HEALTH_PATH, { ca, timeout: 2000 }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
        });
        req.on("error", () => resolve(false));
        req.on("timeout", () => req.destroy());
    });
}

interface Gateway {
    child: ChildProcess;
    url: string;
    output: () => string;
}

function spawnGateway(bin: string, port: number, dirs: { root: string; versions: string }, env: NodeJS.ProcessEnv, region: string, tls?: { certFile: string; keyFile: string }): Gateway {
    const args = ["--port", `127.0.0.1:${port}`, "--region", region, "--health", HEALTH_PATH, "--quiet",
        ...(tls ? ["--cert", tls.certFile, "--key", tls.keyFile] : []),
        "posix", "--versioning-dir", dirs.versions, dirs.root];
    const child = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    let output = "";
    const collect = (d: Buffer) => {
        output = (output + d.toString()).slice(-8000);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    return { child, url: `${tls ? "https" : "http"}://127.0.0.1:${port}`, output: () => output };
}

async function kill(g: Gateway): Promise<void> {
    const { child } = g;
    if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once("exit", () => r()));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
    }
    live.delete(child);
}

/** Waits until the gateway answers its health path; throws with its output if it exits or hangs. */
async function waitHealthy(g: Gateway, ca: Buffer): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
        if (g.child.exitCode !== null) throw new Error(`versitygw (${g.url}) exited with ${g.child.exitCode}:\n${g.output()}`);
        if (await healthy(g.url, ca)) return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`versitygw did not answer ${g.url}${HEALTH_PATH} within 60s:\n${g.output()}`);
}

/** Starts a gateway on a free port; another process may take the port between probe and bind, so retry. */
async function startGateway(bin: string, dirs: { root: string; versions: string }, env: NodeJS.ProcessEnv, ca: Buffer, region: string, tls?: { certFile: string; keyFile: string }): Promise<Gateway> {
    for (let attempt = 1; ; attempt++) {
        const g = spawnGateway(bin, await freePort(), dirs, env, region, tls);
        try {
            await waitHealthy(g, ca);
            return g;
        } catch (err) {
            await kill(g);
            if (attempt < 3 && /address already in use/i.test(g.output())) continue;
            throw err;
        }
    }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (d: SourceData): Buffer =>
    typeof d === "string" ? Buffer.from(d) : d instanceof ArrayBuffer ? Buffer.from(d) : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
/** SHA-256 and HMAC-SHA-256 in the shape @smithy/signature-v4 expects. */
class Sha256 {
    private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
    constructor(private readonly secret?: SourceData) {
        this.hash = this.fresh();
    }
    private fresh() {
        return this.secret !== undefined ? createHmac("sha256", bytesOf(this.secret)) : createHash("sha256");
    }
    update(data: SourceData): void {
        this.hash.update(bytesOf(data));
    }
    async digest(): Promise<Uint8Array> {
        return new Uint8Array(this.hash.digest());
    }
    reset(): void {
        this.hash = this.fresh();
    }
}

export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
    const bin = path.join(ensureS3ServerBinDir(), "versitygw");
    const region = opts.region ?? REGION;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-s3-"));
    // The versioning directory must lie outside the gateway's root (it refuses otherwise).
    const dirs = { root: path.join(dataDir, "root"), versions: path.join(dataDir, "versions") };
    const tlsDir = path.join(dataDir, "tls");
    const iamDir = path.join(dataDir, "iam");
    for (const d of [dirs.root, dirs.versions, tlsDir, ...(opts.iam ? [iamDir] : [])]) fs.mkdirSync(d, { mode: 0o700 });
    const accessKey = `test${randomBytes(6).toString("hex")}`;
    const secretKey = randomBytes(18).toString("base64url");
    const env: NodeJS.ProcessEnv = { ...process.env, ROOT_ACCESS_KEY_ID: accessKey, ROOT_SECRET_ACCESS_KEY: secretKey };
    // Both gateways read and write the same accounts file. Without { iam: true } the environment is
    // passed on as it is (a caller may set VGW_IAM_DIR itself).
    if (opts.iam) env.VGW_IAM_DIR = iamDir;

    const gateways: Gateway[] = [];
    const clients: S3Client[] = [];
    const stop = async () => {
        for (const c of clients) c.destroy();
        await Promise.all(gateways.map(kill));
        fs.rmSync(dataDir, { recursive: true, force: true });
    };
    let tls: ReturnType<typeof makeCertificates>;
    let ca: Buffer;
    try {
        tls = makeCertificates(tlsDir);
        ca = fs.readFileSync(tls.caFile);
        gateways.push(await startGateway(bin, dirs, env, ca, region));
        gateways.push(await startGateway(bin, dirs, env, ca, region, tls));
    } catch (err) {
        await stop();
        throw err;
    }
    const [plain, secure] = gateways;

    const client = (credentials: S3User, over: { https?: boolean } = {}, extra: { maxAttempts?: number } = {}) => {
        const c = new S3Client({
            endpoint: over.https ? secure.url : plain.url,
            region,
            forcePathStyle: true,
            credentials,
            // Trust exactly this server's CA; verification stays on.
            ...(over.https ? { requestHandler: { httpsAgent: new https.Agent({ ca }) } } : {}),
            ...extra,
        });
        clients.push(c);
        return c;
    };
    const s3Client = (over: { https?: boolean } = {}) => client({ accessKeyId: accessKey, secretAccessKey: secretKey }, over);
    const admin = s3Client();

    /** The gateway's admin API (PATCH /create-user, SigV4-signed by root). */
    const createUser = async (name: string): Promise<S3User> => {
        if (!opts.iam) throw new Error(`createUser(${JSON.stringify(name)}): the S3 test server was started without { iam: true }`);
        const user = { accessKeyId: `${name}${randomBytes(4).toString("hex")}`, secretAccessKey: randomBytes(18).toString("base64url") };
        const url = new URL(plain.url);
        const body = `<Account><Access>${user.accessKeyId}</Access><Secret>${user.secretAccessKey}</Secret><Role>user</Role></Account>`;
        const signer = new SignatureV4({ credentials: { accessKeyId: accessKey, secretAccessKey: secretKey }, region, service: "s3", sha256: Sha256 });
        const signed = await signer.sign({
            method: "PATCH", protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: "/create-user", query: {},
            headers: { host: url.host, "x-amz-content-sha256": createHash("sha256").update(body).digest("hex") }, body,
        });
        const res = await fetch(`${plain.url}/create-user`, { method: "PATCH", headers: signed.headers, body });
        // The answer never carries the secret; the user's name is enough to find the problem.
        if (res.status !== 201) throw new Error(`creating the gateway user ${user.accessKeyId} failed: HTTP ${res.status} ${await res.text()}`);
        return user;
    };
    return {
        endpoint: plain.url,
        httpsEndpoint: secure.url,
        caFile: tls.caFile,
        region,
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
        createUser,
        clientFor: (user, over) => client(user, over, { maxAttempts: 1 }),
        async putBucketPolicy(bucket, policy) {
            await admin.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
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
