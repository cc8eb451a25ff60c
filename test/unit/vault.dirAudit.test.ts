// The retention audit of a directory vault (BACKUP_BUCKET=file:///dir) reads every object and its
// recorded retention, and FAILs: no Object Lock, and no delete proof attempted — even with the proof
// switched off it is FAIL, never SKIPPED, and nothing is deleted.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { auditRetention, formatAuditReport } from "../../lib/vault/audit";
import { DirAuditSource } from "../../lib/vault/dirAudit";
import { DirBlobStore } from "../../lib/vault/dirStore";

const NOW = new Date("2026-11-22T12:00:00Z");
const root = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-dir-audit-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function put(store: DirBlobStore, key: string, body: string, retainUntil?: Date): Promise<void> {
    const data = Buffer.from(body);
    await store.put(key, Readable.from([data]), { sha256: createHash("sha256").update(data).digest("hex"), bytes: data.length, retainUntil });
}

describe("retention audit of a directory vault", () => {
    it("lists every object with its recorded retention and FAILs on the missing lock and the impossible proof", async () => {
        const store = new DirBlobStore(root, () => new Date(NOW.getTime() - 2 * 86_400_000));
        await put(store, "db/prod/2026/11/20/backup_1/manifest.json", "{}", new Date(NOW.getTime() + 5 * 86_400_000));
        await put(store, "storage/prod/avatars/2026/11/20/manifest.json", "{}");
        await put(store, "db/staging/2026/11/20/backup_2/manifest.json", "{}"); // another environment: not audited

        for (const prove of [true, false]) {
            const r = await auditRetention({ source: new DirAuditSource(store), env: "prod", expected: { mode: "COMPLIANCE", days: 7, monthlyMonths: 12 }, now: () => NOW, proveImmutability: prove });
            expect(r.result).toBe("FAIL");
            expect(r.bucketLock.status).toBe("FAIL");
            expect(r.total.objects).toBe(2);
            expect(r.byState.locked.objects).toBe(1);
            expect(r.byState.none.objects).toBe(1);
            expect(r.byAge["1-7d"].objects).toBe(2);
            expect(r.unprotected).toEqual(["storage/prod/avatars/2026/11/20/manifest.json (version null)"]);
            const text = formatAuditReport(r);
            expect(text).toMatch(/Object Lock is not enabled/);
            if (prove) {
                expect(r.immutability.status).toBe("FAIL");
                expect(text).toMatch(/no delete of db\/prod\/2026\/11\/20\/backup_1\/manifest\.json \(version null\) was attempted: file:\/\/.* is a directory/);
            }
        }
        // Nothing was deleted.
        expect(await store.head("db/prod/2026/11/20/backup_1/manifest.json")).toBeDefined();
        expect(await store.head("storage/prod/avatars/2026/11/20/manifest.json")).toBeDefined();
    });
});
