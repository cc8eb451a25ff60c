// StorageRestore through the real Pulumi engine: up restores and verifies a bucket from a vault on a
// local directory (visible to the provider process), destroy empties and deletes it — only a bucket
// whose ownership marker proves the token kept (encrypted) in the state.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageRestore } from "../../sdk/storageRestore";
import { OWNER_MARKER_KEY } from "../../lib/storage/restore";
import { snapshotStorage } from "../../lib/storage/snapshot";
import { inlineStack, localBackend, type LocalBackend } from "../../lib/pulumi/engine";
import { DirBlobStore } from "../../lib/vault/dirStore";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";

let api: FakeStorageApi;
let backend: LocalBackend;
let vaultDir: string;
const MANIFEST = "storage/drill/uploads/2026/04/01/manifest.json";

beforeAll(async () => {
    api = await startFakeStorageApi();
    backend = localBackend();
    vaultDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-vault-"));
    api.createBucket("uploads");
    api.putObject("uploads", "docs/a.pdf", Buffer.from("%PDF a"), "application/pdf");
    api.putObject("uploads", "docs/deep/b.png", Buffer.alloc(70_000, 7), "image/png");
    await snapshotStorage({ storageUrl: api.url, serviceKey: api.serviceKey, env: "drill", store: new DirBlobStore(vaultDir), now: new Date("2026-04-01T01:00:00Z") });
});

/** What the backend holds on disk: exportStack() would decrypt the secrets. */
function stateOnDisk(): string {
    const root = backend.url.slice("file://".length);
    return fs.readdirSync(root, { recursive: true, encoding: "utf8" })
        .map((f) => path.join(root, f))
        .filter((f) => f.endsWith(".json") && fs.statSync(f).isFile())
        .map((f) => fs.readFileSync(f, "utf8"))
        .join("\n");
}

function restoreStack(stackName: string, targetBucket: string) {
    return inlineStack(backend, {
        projectName: "supabase-dr-test",
        stackName,
        program: async () => {
            const r = new StorageRestore("uploads", {
                storageUrl: api.url,
                serviceKey: api.serviceKey,
                vault: { kind: "dir", path: vaultDir },
                manifestKey: MANIFEST,
                targetBucket,
            });
            return { bucket: r.restoredBucket, objects: r.objectCount, bytes: r.bytes };
        },
    });
}

function contents(bucket: string): Record<string, string> {
    return Object.fromEntries([...api.buckets.get(bucket)!.objects].map(([k, o]) => [k, o.data.toString("base64")]));
}
afterAll(async () => {
    await api?.close();
    backend?.cleanup();
    if (vaultDir) fs.rmSync(vaultDir, { recursive: true, force: true });
});

describe("StorageRestore through the engine", () => {
    it("restores a bucket on up and removes it on destroy", async () => {
        const stack = await restoreStack("storage-restore", "restored-uploads-20260401");
        const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
        expect(up.outputs.bucket.value).toBe("restored-uploads-20260401");
        expect(up.outputs.objects.value).toBe(2);
        expect(up.outputs.bytes.value).toBe(6 + 70_000);
        const restored = api.buckets.get("restored-uploads-20260401")!;
        expect(restored.objects.get("docs/deep/b.png")!.data.equals(Buffer.alloc(70_000, 7))).toBe(true);
        expect(restored.objects.get("docs/deep/b.png")!.contentType).toBe("image/png");
        expect(restored.objects.has(OWNER_MARKER_KEY)).toBe(true);

        const onDisk = stateOnDisk();
        expect(onDisk).toContain("restored-uploads-20260401");
        expect(onDisk).not.toContain(api.serviceKey);
        expect(onDisk).not.toContain(vaultDir);
        // The owner token is a secret of the state (exportStack() shows it decrypted): encrypted on
        // disk, and not in the bucket's marker either, which holds only a proof of it.
        const deployment = (await stack.exportStack()).deployment as { resources: { type: string; outputs?: Record<string, unknown> }[] };
        const resource = deployment.resources.find((r) => r.type === "supabase-dr:index:StorageRestore")!;
        const ownerToken = JSON.parse((resource.outputs!.ownerToken as { plaintext: string }).plaintext) as string;
        expect(ownerToken).toMatch(/^[0-9a-f]{64}$/);
        expect(onDisk).not.toContain(ownerToken);
        expect(restored.objects.get(OWNER_MARKER_KEY)!.data.toString()).not.toContain(ownerToken);

        await stack.destroy({ onOutput: (s) => process.stdout.write(s) });
        expect(api.buckets.has("restored-uploads-20260401")).toBe(false);
        expect(api.buckets.get("uploads")!.objects.size).toBe(2);
        await stack.workspace.removeStack("storage-restore");
    });

    it("refuses a same-day bucket somebody else created: up fails, destroy leaves it alone", async () => {
        // A real path-C restore made by hand the same day.
        api.createBucket("restored-uploads-20260402");
        api.putObject("restored-uploads-20260402", "docs/a.pdf", "%PDF a, restored by hand", "application/pdf");
        const before = contents("restored-uploads-20260402");

        const stack = await restoreStack("storage-restore-foreign", "restored-uploads-20260402");
        const err = await stack.up().catch((e: Error) => e);
        expect(String(err)).toContain("refusing to restore into bucket restored-uploads-20260402: it has no supabase-dr ownership marker");
        expect(String(err)).not.toContain(api.serviceKey);
        await stack.destroy();
        expect(contents("restored-uploads-20260402")).toEqual(before);
        await stack.workspace.removeStack("storage-restore-foreign");
    });

    it("destroy refuses when the bucket of that name is no longer the one it created", async () => {
        const stack = await restoreStack("storage-restore-replaced", "restored-uploads-20260403");
        await stack.up();
        // Somebody deleted the drill's bucket and made their own of the same name.
        api.buckets.delete("restored-uploads-20260403");
        api.createBucket("restored-uploads-20260403");
        api.putObject("restored-uploads-20260403", "theirs.txt", "keep me", "text/plain");

        const err = await stack.destroy().catch((e: Error) => e);
        expect(String(err)).toContain("refusing to empty or delete bucket restored-uploads-20260403: it has no supabase-dr ownership marker");
        expect(contents("restored-uploads-20260403")).toEqual({ "theirs.txt": Buffer.from("keep me").toString("base64") });
        await stack.workspace.removeStack("storage-restore-replaced", { force: true });
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
