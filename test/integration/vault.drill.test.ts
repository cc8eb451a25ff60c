// Issue 5 end to end: a backup of the demo database lands in the vault (a real S3 server with Object Lock)
// with retention, survives a delete attempt, is fresh, goes stale when the clock passes the RPO, and a
// drill restores both the database and a storage bucket from the vault through the real engine.
import { DeleteObjectCommand, GetObjectRetentionCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackup } from "../../lib/backupJob/run";
import { seedSupabaseLikeDatabase } from "../../lib/demo/seed";
import { runDrill } from "../../lib/drill/run";
import { withClient } from "../../lib/postgres/connection";
import { snapshotStorage } from "../../lib/storage/snapshot";
import { checkFreshness } from "../../lib/vault/freshness";
import { S3Store } from "../../lib/vault/s3Store";
import { startFakeStorageApi, type FakeStorageApi } from "../helpers/fakeStorageApi";
import { startS3Server, type S3Server } from "../helpers/s3Server";
import { databaseChecksum, drillStacks, scratchDatabases, startHarness, type DrillHarness } from "../helpers/drillHarness";
import { drillProgram } from "../../programs/drill";

const BUCKET = "supabase-backups";
let h: DrillHarness;
let server: S3Server;
let storage: FakeStorageApi;
let store: S3Store;
let sourceUrl: string;
let sampleUserId: string;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
    h = await startHarness();
    server = await startS3Server();
    await server.createLockedBucket(BUCKET, "COMPLIANCE", 1);
    // The drill's provider process reads S3 credentials from the environment, as in CI (OIDC role).
    for (const [k, v] of Object.entries({ AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, AWS_REGION: server.region })) {
        saved[k] = process.env[k];
        process.env[k] = v;
    }
    store = new S3Store({ bucket: BUCKET, endpoint: server.endpoint, region: server.region, credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey } });
    await withClient(h.pg.url(), "admin", (c) => c.query("create database app"));
    sourceUrl = h.pg.url("app");
    sampleUserId = (await seedSupabaseLikeDatabase(sourceUrl, { scale: 0.2 })).sampleUserId;
    storage = await startFakeStorageApi();
    storage.createBucket("uploads");
    for (let i = 0; i < 25; i++) storage.putObject("uploads", `invoices/2026/${i}.pdf`, `%PDF-1.4 invoice ${i}`, "application/pdf");
    storage.putObject("uploads", "avatars/a.png", Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), "image/png");
});
afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    await storage?.close();
    await server?.stop();
    await h?.stop();
});

describe("backups in the vault", () => {
    it("land with retention, refuse deletion, are fresh, and go stale past the RPO; a drill restores database and storage from them", async () => {
        const backup = await runBackup({ sourceUrl, env: "staging", store, retentionDays: 1, monthlyArchiveMonths: 1 });
        const dumpKey = backup.primary.uploaded.find((o) => o.key.endsWith(".dump"))!.key;
        expect(dumpKey).toMatch(/^db\/staging\/\d{4}\/\d{2}\/\d{2}\/backup_\d{14}\.dump$/);

        const client = server.s3Client();
        const retention = await client.send(new GetObjectRetentionCommand({ Bucket: BUCKET, Key: dumpKey }));
        expect(retention.Retention?.Mode).toBe("COMPLIANCE");
        const head = await store.head(dumpKey);
        await expect(client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: dumpKey, VersionId: head!.versionId }))).rejects.toMatchObject({ name: "AccessDenied" });
        expect(await store.head(dumpKey)).toBeDefined();

        const fresh = await checkFreshness({ store, env: "staging", rpoSeconds: 3600 });
        expect(fresh.status).toBe("fresh");
        const stale = await checkFreshness({ store, env: "staging", rpoSeconds: 3600, now: () => new Date(Date.now() + 2 * 3600_000) });
        expect(stale.status).toBe("stale");

        const snap = await snapshotStorage({ storageUrl: storage.url, serviceKey: storage.serviceKey, env: "staging", store, now: new Date() });
        expect(snap.listed).toBe(26);

        // The source moves on after the backup: the drill validates against the backup's own fingerprint.
        await withClient(sourceUrl, "source", (c) => c.query("delete from public.notifications where id % 7 = 0"));
        const before = await databaseChecksum(sourceUrl);
        const result = await runDrill({
            program: drillProgram,
            env: "staging",
            backend: h.backend,
            backupDir: h.backupDir,
            secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url(), storageServiceKey: storage.serviceKey },
            settings: {
                vault: { kind: "s3", bucket: BUCKET, endpoint: server.endpoint, region: server.region },
                storage: { storageUrl: storage.url, buckets: ["uploads"] },
                validation: { fingerprint: { rlsProbes: [{ role: "authenticated", claims: { sub: sampleUserId, role: "authenticated" } }] } },
            },
        });
        expect(result.error).toBeUndefined();
        expect(result.status).toBe("PASS");
        expect(result.report.validation?.compared_with).toBe("backup-fingerprint");
        expect(result.report.backup?.mode).toBe("adopt");
        expect(result.report.storage).toEqual([expect.objectContaining({ sourceBucket: "uploads", objects: 26 })]);
        expect(result.report.storage![0].restoredBucket).toMatch(/^restored-uploads-\d{8}$/);
        // The restored bucket was created, filled and verified, then removed with the stack.
        expect(storage.requests.some((r) => /POST .*bucket/.test(r))).toBe(true);
        expect([...storage.buckets.keys()]).toEqual(["uploads"]);
        expect(await scratchDatabases(h.pg.url())).toEqual([]);
        expect(await drillStacks(h.backend)).toEqual([]);
        expect(await databaseChecksum(sourceUrl)).toBe(before);
        expect(JSON.stringify(result.report)).not.toContain(server.secretKey);
    });
});
