// A PostgreSQL 15 source with continuous WAL archiving into the S3 test server through pgBackRest:
// the setting-up half of every PITR integration test. The cluster runs with wal_level = logical and
// archive_mode = on; its archiver inherits the repository secrets through the server's environment
// (PGBACKREST_*), exactly as a production service unit would hand them over.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { withClient } from "../../lib/postgres/connection";
import { configureArchiving, serverOf } from "../../lib/pitr/setup";
import { createWorkspace, type PgBackRestContext, type PgBackRestWorkspace } from "../../lib/pitr/runner";
import { secretEnvironment } from "../../lib/pitr/config";
import { parsePitrSettings, type PitrSecrets, type PitrSettings } from "../../lib/pitr/settings";
import type { S3Server } from "./s3Server";

export interface PitrSource {
    cluster: LocalCluster;
    settings: PitrSettings;
    secrets: PitrSecrets;
    ctx: PgBackRestContext;
    workspace: PgBackRestWorkspace;
    stop(): Promise<void>;
}

/** A bucket without Object Lock, for the fault tests that must delete or overwrite repository files. */
export async function createPlainBucket(s3: S3Server, name: string): Promise<void> {
    await s3.s3Client().send(new CreateBucketCommand({ Bucket: name }));
}

/**
 * The S3 server's CA, copied where the postgres OS user can read it: the server keeps its own copy in
 * a root-only directory, and pgBackRest (running as postgres) must verify the certificate with it.
 * The caller removes the returned directory.
 */
export function readableCaCopy(s3: S3Server): { dir: string; caFile: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-pitr-ca-"));
    fs.chmodSync(dir, 0o755);
    const caFile = path.join(dir, "ca.pem");
    fs.copyFileSync(s3.caFile, caFile);
    fs.chmodSync(caFile, 0o644);
    return { dir, caFile };
}

export function pitrSettingsFor(s3: S3Server, caFile: string, bucket: string, env: string, overrides: Record<string, unknown> = {}): PitrSettings {
    return parsePitrSettings({
        env,
        stanza: `${env}-db`,
        // pgBackRest 2.45 matches the endpoint's host against the certificate's DNS names only (not its
        // IP address entries): the test certificate names localhost, which resolves to 127.0.0.1.
        repository: { bucket, endpoint: s3.httpsEndpoint.replace("//127.0.0.1:", "//localhost:"), region: s3.region, uriStyle: "path", caFile },
        retention: { full: 2, diff: 2 },
        processMax: 2,
        ...overrides,
    });
}

/** Starts the source cluster, archiving into `bucket`/pitr/<env>, and creates the stanza. */
export async function startPitrSource(s3: S3Server, bucket: string, env: string): Promise<PitrSource> {
    const ca = readableCaCopy(s3);
    const settings = pitrSettingsFor(s3, ca.caFile, bucket, env);
    const secrets: PitrSecrets = { s3Key: s3.accessKey, s3KeySecret: s3.secretKey, cipherPass: randomBytes(24).toString("base64url") };
    const cluster = await startLocalCluster({
        settings: { wal_level: "logical", archive_mode: "on", full_page_writes: "on", max_wal_senders: 10, max_replication_slots: 10 },
        env: secretEnvironment(settings, secrets),
    }).catch((err: unknown) => {
        fs.rmSync(ca.dir, { recursive: true, force: true });
        throw err;
    });
    let workspace: PgBackRestWorkspace | undefined;
    try {
        workspace = createWorkspace(settings, serverOf(cluster), os.tmpdir(), cluster.runAs);
        const ctx: PgBackRestContext = {
            settings,
            secrets,
            configFile: workspace.configFile,
            runAs: cluster.runAs,
            cwd: workspace.dir,
            env: { PGPASSWORD: cluster.password },
        };
        await withClient(cluster.url(), "source", (c) => configureArchiving(c, settings.stanza, workspace!.configFile));
        const ws = workspace;
        return {
            cluster,
            settings,
            secrets,
            ctx,
            workspace: ws,
            async stop() {
                await cluster.stop();
                ws.remove();
                fs.rmSync(ca.dir, { recursive: true, force: true });
            },
        };
    } catch (err) {
        await cluster.stop();
        workspace?.remove();
        fs.rmSync(ca.dir, { recursive: true, force: true });
        throw err;
    }
}
