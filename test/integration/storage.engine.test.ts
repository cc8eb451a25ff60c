// StorageRestore through the real Pulumi engine: up restores and verifies a bucket from a vault on a
// local directory (visible to the provider process), destroy empties and deletes it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageRestore } from "../../dynamic/storageRestore";
import { snapshotStorage } from "../../lib/storage/snapshot";
import { inlineStack, localBackend, type LocalBackend } from "../../lib/pulumi/engine";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";

let api: FakeStorageApi;
let backend: LocalBackend;
let vaultDir: string;

beforeAll(async () => {
    api = await startFakeStorageApi();
    backend = localBackend();
    vaultDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-vault-"));
});
afterAll(async () => {
    await api?.close();
    backend?.cleanup();
    if (vaultDir) fs.rmSync(vaultDir, { recursive: true, force: true });
});

describe("StorageRestore through the engine", () => {
    it("restores a bucket on up and removes it on destroy", async () => {
        api.createBucket("uploads");
        api.putObject("uploads", "docs/a.pdf", Buffer.from("%PDF a"), "application/pdf");
        api.putObject("uploads", "docs/deep/b.png", Buffer.alloc(70_000, 7), "image/png");
        const store = new DirBlobStore(vaultDir);
        await snapshotStorage({ storageUrl: api.url, serviceKey: api.serviceKey, env: "drill", store, now: new Date("2026-04-01T01:00:00Z") });

        const stack = await inlineStack(backend, {
            projectName: "supabase-dr-test",
            stackName: "storage-restore",
            program: async () => {
                const r = new StorageRestore("uploads", {
                    storageUrl: api.url,
                    serviceKey: api.serviceKey,
                    vault: { kind: "dir", path: vaultDir },
                    manifestKey: "storage/drill/uploads/2026/04/01/manifest.json",
                    targetBucket: "restored-uploads-20260401",
                });
                return { bucket: r.restoredBucket, objects: r.objectCount, bytes: r.bytes };
            },
        });
        const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
        expect(up.outputs.bucket.value).toBe("restored-uploads-20260401");
        expect(up.outputs.objects.value).toBe(2);
        expect(up.outputs.bytes.value).toBe(6 + 70_000);
        const restored = api.buckets.get("restored-uploads-20260401")!;
        expect(restored.objects.get("docs/deep/b.png")!.data.equals(Buffer.alloc(70_000, 7))).toBe(true);
        expect(restored.objects.get("docs/deep/b.png")!.contentType).toBe("image/png");

        // exportStack() decrypts secrets, so read what is actually on disk in the backend.
        const stateFiles = fs.readdirSync(backend.url.slice("file://".length), { recursive: true, encoding: "utf8" })
            .map((f) => path.join(backend.url.slice("file://".length), f))
            .filter((f) => f.endsWith(".json") && fs.statSync(f).isFile());
        const onDisk = stateFiles.map((f) => fs.readFileSync(f, "utf8")).join("\n");
        expect(onDisk).toContain("restored-uploads-20260401");
        expect(onDisk).not.toContain(api.serviceKey);
        expect(onDisk).not.toContain(vaultDir);

        await stack.destroy({ onOutput: (s) => process.stdout.write(s) });
        expect(api.buckets.has("restored-uploads-20260401")).toBe(false);
        expect(api.buckets.get("uploads")!.objects.size).toBe(2);
        await stack.workspace.removeStack("storage-restore");
    });

    it("fails the up with a readable error when the manifest is missing", async () => {
        const stack = await inlineStack(backend, {
            projectName: "supabase-dr-test",
            stackName: "storage-restore-missing",
            program: async () => {
                new StorageRestore("missing", {
                    storageUrl: api.url,
                    serviceKey: api.serviceKey,
                    vault: { kind: "dir", path: vaultDir },
                    manifestKey: "storage/drill/nope/2026/04/01/manifest.json",
                });
            },
        });
        const err = await stack.up().catch((e: Error) => e);
        expect(String(err)).toMatch(/no such object .*storage\/drill\/nope\/2026\/04\/01\/manifest\.json/);
        expect(String(err)).not.toContain(api.serviceKey);
        await stack.destroy();
        await stack.workspace.removeStack("storage-restore-missing");
    });
});
