// Azurite's blob service for the Azure mirror tests: a throw-away instance on a free local port with
// its data in a temp dir, stopped (and the dir removed) by stop().
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

// Azurite's well-known development account (public, documented by Microsoft; not a secret).
const ACCOUNT = "devstoreaccount1";
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Azurite {
    connectionString: string;
    port: number;
    stop(): Promise<void>;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`azurite-blob exited with code ${child.exitCode}`);
        const open = await new Promise<boolean>((resolve) => {
            const sock = net.connect(port, "127.0.0.1");
            sock.once("connect", () => {
                sock.destroy();
                resolve(true);
            });
            sock.once("error", () => resolve(false));
        });
        if (open) return;
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`azurite-blob did not listen on ${port} within ${timeoutMs} ms`);
}

export async function startAzurite(): Promise<Azurite> {
    const bin = path.resolve(__dirname, "..", "..", "node_modules", ".bin", "azurite-blob");
    const location = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-azurite-"));
    const port = await freePort();
    const child = spawn(bin, [
        "--blobHost", "127.0.0.1", "--blobPort", String(port), "--location", location,
        "--silent", "--skipApiVersionCheck", "--loose",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
        await waitForPort(port, child, 30_000);
    } catch (err) {
        child.kill();
        fs.rmSync(location, { recursive: true, force: true });
        throw new Error(`${(err as Error).message}\n${stderr}`);
    }
    return {
        port,
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
        async stop() {
            if (child.exitCode === null) {
                const exited = new Promise((r) => child.once("exit", r));
                child.kill("SIGTERM");
                await exited;
            }
            fs.rmSync(location, { recursive: true, force: true });
        },
    };
}
