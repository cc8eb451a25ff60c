// Faults of the WAL archive, on real parts. They need repository files deleted or overwritten, which
// Object Lock forbids, so they run against a second, UNLOCKED bucket of the same S3 test server
// (same pgBackRest S3 code path over HTTPS, same encryption). Also: secrets never appear in any
// process's command line while pgBackRest and the archiver run.
import * as fs from "node:fs";
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { secretValues } from "../../lib/pitr/config";
import { archiveHealth } from "../../lib/pitr/health";
import { listArchive } from "../../lib/pitr/info";
import { waitForArchived } from "../../lib/pitr/restorePoint";
import { backup, stanzaCreate, verify } from "../../lib/pitr/setup";
import { createPlainBucket, startPitrSource, type PitrSource } from "../helpers/pitrCluster";
import { startS3Server, type S3Server } from "../helpers/s3Server";

const BUCKET = "pitr-faults";

let s3: S3Server;
let src: PitrSource;
const seenCommandLines = new Set<string>();

/** Every process's command line, NUL separators shown as spaces. */
function sampleCommandLines(): void {
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
            const text = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
            if (text) seenCommandLines.add(text);
        } catch {
            // the process ended between listing and reading
        }
    }
}

async function keysUnder(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
        const page = await s3.s3Client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
        token = page.NextContinuationToken;
    } while (token);
    return out;
}

beforeAll(async () => {
    s3 = await startS3Server();
    await createPlainBucket(s3, BUCKET);
    src = await startPitrSource(s3, BUCKET, "faults");
    // Sample the process list every 10 ms while the stanza is created, backed up and WAL is archived.
    const sampler = setInterval(sampleCommandLines, 10);
    try {
        await stanzaCreate(src.ctx);
        await withClient(src.cluster.url(), "source", (c) => c.query("create table t as select g from generate_series(1, 50000) g"));
        await backup(src.ctx, "full");
        await withClient(src.cluster.url(), "source", async (c) => {
            // Several archived segments after the backup, so one can go missing in the middle.
            for (let i = 0; i < 4; i++) {
                await c.query("insert into t select g from generate_series(1, 1000) g");
                await c.query("select pg_switch_wal()");
            }
            const lsn = (await c.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0].lsn;
            await waitForArchived(c, lsn);
        });
        await backup(src.ctx, "diff");
    } finally {
        clearInterval(sampler);
    }
}, 180_000);

afterAll(async () => {
    await src?.stop();
    await s3?.stop();
});

describe("secrets stay out of command lines", () => {
    it("no process showed an S3 key, the S3 secret, the cipher passphrase or the server password", () => {
        const pgbackrestLines = [...seenCommandLines].filter((l) => l.includes("pgbackrest"));
        expect(pgbackrestLines.length).toBeGreaterThan(0); // the sampler did see pgBackRest running
        expect(pgbackrestLines.some((l) => l.includes("archive-push"))).toBe(true);
        for (const secret of [...secretValues(src.secrets), src.cluster.password]) {
            for (const line of seenCommandLines) expect(line.includes(secret)).toBe(false);
        }
    });

    it("the generated config file holds no secret", () => {
        const text = fs.readFileSync(src.workspace.configFile, "utf8");
        expect(text).toContain(`[${src.settings.stanza}]`);
        for (const secret of secretValues(src.secrets)) expect(text.includes(secret)).toBe(false);
    });
});

describe("faults", () => {
    it("verify passes on the intact repository", async () => {
        const result = await verify(src.ctx);
        expect(result.problems).toEqual([]);
        expect(result.ok).toBe(true);
    });

    it("a missing WAL segment: health FAILs naming the segment", async () => {
        const before = await archiveHealth(src.ctx);
        expect(before.gaps).toEqual([]);
        const segments = await listArchive(src.ctx);
        expect(segments.length).toBeGreaterThan(4);
        const victim = segments[Math.floor(segments.length / 2)];
        const [key] = (await keysUnder(`pitr/faults/archive/${src.settings.stanza}/${victim.path.split("/").slice(0, 2).join("/")}/`)).filter((k) => k.includes(`/${victim.name}-`));
        expect(key).toBeTruthy();
        await s3.s3Client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));

        const health = await archiveHealth(src.ctx);
        expect(health.status).toBe("FAIL");
        expect(health.gaps).toHaveLength(1);
        expect(health.gaps[0].firstMissing).toBe(victim.name);
        expect(health.reasons.join("\n")).toContain(`WAL segment ${victim.name} is missing`);
    });

    it("a corrupt repository file: verify fails", async () => {
        const files = (await keysUnder(`pitr/faults/backup/${src.settings.stanza}/`)).filter((k) => /\/pg_data\/base\/\d+\/\d+\.gz$/.test(k));
        expect(files.length).toBeGreaterThan(0);
        const body = Buffer.alloc(4096, 0x5a);
        await s3.s3Client().send(new PutObjectCommand({ Bucket: BUCKET, Key: files[0], Body: body }));
        const result = await verify(src.ctx);
        expect(result.ok).toBe(false);
        expect(result.problems.length).toBeGreaterThan(0);
    });
});
