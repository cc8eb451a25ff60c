// Path B of runbook 001 as one command: restore the latest good backup into a NEW, empty database,
// report the backup's last applied migration, apply the outstanding migrations of a Supabase
// migrations directory up to a chosen version (each in its own transaction, recorded in
// supabase_migrations.schema_migrations as the CLI records it), verify extensions, RLS, policies and
// functions against the backup's catalogue, and print the environment switch — never switching.
//
// Everything that can refuse runs before the first write: the backup's checksums, the target's
// identity (not live, not the backup's source) and emptiness, the migration plan (history against the
// directory, --to), transaction control inside a migration. A target this command restored before
// from the same backup (its marker) is resumed: a retry after a failed migration continues there.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Client } from "pg";
import { adoptBackup } from "../backup/adopt";
import { detectFormat, type BackupFormat } from "../backup/formats";
import type { BackupManifest } from "../backup/manifest";
import { connect, describe, parseConnectionString } from "../postgres/connection";
import { identityFromEndpoint, type DatabaseIdentity } from "../postgres/sourceGuard";
import { pgErrorText } from "../redact";
import { sqlExtensions } from "../restore/extensions";
import { restoreBackup } from "../restore/restore";
import { readToc, tocExtensions } from "../restore/tocList";
import type { BlobStore } from "../vault/blobStore";
import { artifactName, writeAuditFile } from "./audit";
import { readBackupHistory, type BackupHistory } from "./backupHistory";
import { catalogueCounts, compareCatalogue, existingTables, formatChecks, readCatalogue, type Catalogue, type CatalogueCheck } from "./catalogue";
import { environmentSwitch } from "./envSwitch";
import { applyMigrations, ensureHistoryTable, MigrationFailed, prepareMigrations, readTargetHistory, recordApplied, type PreparedMigration } from "./migrationApply";
import { planMigrations, type AppliedMigration } from "./migrationPlan";
import { compareVersions, listMigrations } from "./migrationsDir";
import { assertNotLiveOrSource, identifyTarget, nonEmptyReasons, readMarker, writeMarker, type GuardSources } from "./targetGuard";
import { fetchVaultBackup, type VaultBackup } from "./vaultBackup";

export interface RecoverSchemaOptions {
    /** A local backup (custom, SQL, SQL.gz, or a `supabase db dump` directory); or, instead, `vault`. */
    backupPath?: string;
    vault?: { store: BlobStore; env: string; key?: string };
    migrationsDir: string;
    /** Apply up to and including this version; default all outstanding. */
    to?: string;
    /** For a backup without a migration history (a trio): the last migration it contains. */
    baseline?: string;
    /** The NEW, empty database. */
    targetUrl: string;
    /** Live: only read, to refuse it as a target. */
    liveUrl?: string;
    apply: boolean;
    artifactsDir: string;
    onProgress?: (message: string) => void;
}

export interface RecoverSchemaResult {
    /** The plan and, after --apply, the checks (names only, no data). */
    planText: string;
    summary: string;
    /** Where the applied history came from. */
    historyFrom: "backup" | "baseline" | "target";
    lastApplied?: AppliedMigration;
    /** Migration files to apply (dry run) or applied (--apply). */
    pending: string[];
    notApplied: string[];
    resumed: boolean;
    applied?: string[];
    checks?: CatalogueCheck[];
    /** True when every check passed (after --apply). */
    verified?: boolean;
    envSwitch: string;
    audit?: string;
    notes: string[];
}

/** One sha256 naming the backup: its file's, or (several files) the sha256 of their sorted hashes. */
function backupDigest(manifest: BackupManifest): string {
    if (manifest.files.length === 1) return manifest.files[0].sha256;
    return createHash("sha256").update(manifest.files.map((f) => f.sha256).sort().join("\n")).digest("hex");
}

async function backupExtensions(backupPath: string, format: BackupFormat): Promise<string[] | undefined> {
    if (format === "custom") return tocExtensions(await readToc(backupPath));
    if (format === "plain") return sqlExtensions(backupPath);
    if (format === "supabase-trio") return sqlExtensions(path.join(backupPath, "schema.sql"));
    return undefined; // compressed: the restored catalogue is the reference
}

async function tocCounts(backupPath: string, format: BackupFormat): Promise<string | undefined> {
    if (format !== "custom") return undefined;
    const toc = await readToc(backupPath);
    const n = (t: string) => toc.filter((e) => e.type === t).length;
    return `${n("EXTENSION")} extension(s), ${n("ROW SECURITY")} table(s) with RLS, ${n("POLICY")} polic(ies), ${n("FUNCTION")} function(s)`;
}

async function liveIdentity(liveUrl: string): Promise<GuardSources["live"]> {
    const info = parseConnectionString(liveUrl, "LIVE_DB_URL");
    try {
        const c = await connect(liveUrl, "live database (LIVE_DB_URL)");
        try {
            return await identifyTarget(c, info.host, info.port);
        } finally {
            await c.end().catch(() => undefined);
        }
    } catch {
        // Live may be down in an incident: its endpoint still guards.
        return { host: info.host, port: info.port, database: info.database };
    }
}

/** A Supabase project's database (it has the platform's auth.users): fresh, since it passed the emptiness check. */
async function isSupabaseProject(client: Client): Promise<boolean> {
    const r = await client.query<{ ok: boolean }>("select pg_catalog.to_regclass('auth.users') is not null as ok");
    return r.rows[0].ok;
}

function sameHistory(a: AppliedMigration[], b: AppliedMigration[]): boolean {
    const v = (x: AppliedMigration[]) => x.map((m) => m.version).sort(compareVersions).join(",");
    return v(a) === v(b);
}

export async function recoverSchema(opts: RecoverSchemaOptions): Promise<RecoverSchemaResult> {
    const progress = opts.onProgress ?? (() => undefined);
    if (!opts.backupPath === !opts.vault) throw new Error("give the backup as a local path or from the vault, exactly one of them");
    const targetInfo = parseConnectionString(opts.targetUrl, "TARGET_DB_URL");
    const listing = listMigrations(opts.migrationsDir);
    const notes = listing.skipped.map((s) => `migrations directory: skipped ${s}`);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "supabase-dr-recover-schema-"));
    const target = await connect(opts.targetUrl, "target database (TARGET_DB_URL)");
    try {
        let backupPath = opts.backupPath ? path.resolve(opts.backupPath) : "";
        let fromVault: VaultBackup | undefined;
        if (opts.vault) {
            fromVault = await fetchVaultBackup(opts.vault.store, opts.vault.env, { key: opts.vault.key }, path.join(workDir, "vault"), progress);
            backupPath = fromVault.backupPath;
        }
        const format = await detectFormat(backupPath);
        // Checksums: the backup's files against a .sha256 or manifest beside them (the vault's were
        // checked while they downloaded); the manifest written here is what the restore verifies again.
        const adopted = await adoptBackup({ backupPath, outDir: path.join(workDir, "manifest"), onProgress: progress });
        const digest = backupDigest(adopted.manifest);
        const backupRecord = fromVault
            ? { path: `${fromVault.vault.location}/${fromVault.vault.manifestKey}`, sha256: fromVault.vault.files, vault: fromVault.vault }
            : { path: backupPath, sha256: Object.fromEntries(adopted.manifest.files.map((f) => [path.basename(f.path), f.sha256])) };

        const targetId = await identifyTarget(target, targetInfo.host, targetInfo.port);
        const source = adopted.manifest.source;
        const backupSource: DatabaseIdentity | undefined = source ? identityFromEndpoint(source.endpoint, source.systemIdentifier) : undefined;
        assertNotLiveOrSource(targetId, { live: opts.liveUrl ? await liveIdentity(opts.liveUrl) : undefined, backupSource });

        const marker = await readMarker(target);
        if (marker && marker.backupSha256 !== digest) {
            throw new Error(
                `refusing: ${describe(targetId)} was restored by an earlier run from another backup (sha256 ${marker.backupSha256}); ` +
                    `use a new, empty database for this backup`,
            );
        }
        const resumed = !!marker;
        if (!resumed) {
            const reasons = await nonEmptyReasons(target);
            if (reasons.length > 0) {
                throw new Error(`refusing to restore into ${describe(targetId)}: it is not empty (${reasons.join(", ")}). TARGET_DB_URL must name a new, empty database`);
            }
        }

        // The history the plan starts from.
        let applied: AppliedMigration[];
        let historyFrom: RecoverSchemaResult["historyFrom"];
        let backupHistory: BackupHistory | undefined;
        let toRecord: PreparedMigration[] = [];
        if (resumed) {
            applied = (await readTargetHistory(target)) ?? [];
            historyFrom = "target";
            notes.push(`resuming: ${describe(targetId)} was restored from this backup at ${marker!.restoredAt}; its own migration history is the plan's start`);
        } else {
            backupHistory = await readBackupHistory(backupPath, format, workDir);
            if (backupHistory.present) {
                if (opts.baseline !== undefined) {
                    throw new Error(`--baseline is only for a backup without a migration history; this one has its own (${backupHistory.applied.length} migration(s))`);
                }
                applied = backupHistory.applied;
                historyFrom = "backup";
            } else {
                if (opts.baseline === undefined) {
                    throw new Error(
                        `the backup's migration history is unknown: ${backupHistory.why}. Give --baseline <version>, the last migration the backup contains ` +
                            `(the versions up to it are then recorded as applied, as 'supabase migration repair --status applied' records them)`,
                    );
                }
                const baseline = opts.baseline;
                if (!listing.migrations.some((m) => m.version === baseline)) throw new Error(`--baseline ${baseline} is not a version in the migrations directory`);
                const contained = listing.migrations.filter((m) => compareVersions(m.version, baseline) <= 0);
                applied = contained.map((m) => ({ version: m.version, name: m.name }));
                toRecord = await prepareMigrations(contained);
                historyFrom = "baseline";
            }
        }
        const plan = planMigrations(applied, listing.migrations, opts.to);
        const pending = await prepareMigrations(plan.pending);
        const extensions = await backupExtensions(backupPath, format);
        const counts = await tocCounts(backupPath, format);

        const lines: string[] = [];
        lines.push(`backup: ${backupRecord.path} (${format}, sha256 ${digest})${fromVault ? " — every file matched its manifest" : ""}`);
        lines.push(`target: ${describe(targetId)}${resumed ? " (restored earlier from this backup: resuming)" : " (empty)"}`);
        const last = plan.lastApplied;
        const fromText = { backup: "in the backup", baseline: "by --baseline", target: "on the target" }[historyFrom];
        lines.push(`last applied migration ${fromText}: ${last ? `${last.version}${last.name ? ` ${last.name}` : ""}` : "none"}`);
        if (toRecord.length > 0) lines.push(`recorded as applied without running (--baseline): ${toRecord.map((m) => m.version).join(", ")}`);
        lines.push(pending.length > 0 ? `migrations to apply, in order, each in its own transaction:` : "migrations to apply: none");
        for (const m of pending) lines.push(`  ${path.basename(m.file)} (${m.statements.length} statement(s))`);
        if (plan.notApplied.length > 0) lines.push(`left for later (after --to ${opts.to}): ${plan.notApplied.map((m) => path.basename(m.file)).join(", ")}`);
        lines.push(
            `checks after the migrations, against the backup's catalogue${counts ? ` (${counts})` : " (read from the target right after the restore)"}: ` +
                `extensions${extensions ? ` (${extensions.join(", ") || "none"})` : ""}, row level security still enabled, policies and functions present, migration history`,
        );
        const envSwitch = environmentSwitch(opts.targetUrl, opts.liveUrl);
        const result: RecoverSchemaResult = {
            planText: lines.join("\n"),
            summary: `${pending.length} migration(s) to apply after ${last ? last.version : "an empty history"}${resumed ? " (resuming)" : ""}`,
            historyFrom,
            lastApplied: last,
            pending: pending.map((m) => path.basename(m.file)),
            notApplied: plan.notApplied.map((m) => path.basename(m.file)),
            resumed,
            envSwitch,
            notes,
        };
        if (!opts.apply) return result;

        fs.mkdirSync(opts.artifactsDir, { recursive: true });
        const audit = (record: Record<string, unknown>) => {
            const full = {
                action: "recover schema",
                target: describe(targetId),
                backup: backupRecord,
                lastAppliedInBackup: last?.version ?? null,
                historyFrom,
                ...record,
            };
            return writeAuditFile(opts.artifactsDir, full);
        };

        try {
            let baseline: Catalogue;
            let restoreLog: string | undefined;
            let baselineFile: string;
            if (!resumed) {
                restoreLog = path.resolve(opts.artifactsDir, artifactName("schema-restore", "log"));
                // A new Supabase project has its platform (auth, storage, roles) already: the restore
                // must not make one, as it does for a plain database. Roles stay refused on live's server.
                const supabaseProject = await isSupabaseProject(target);
                progress(`restoring the backup into ${describe(targetId)}${supabaseProject ? " (a Supabase project: its platform schemas are kept)" : ""}`);
                const restored = await restoreBackup({
                    manifestPath: adopted.manifestPath,
                    targetUrl: opts.targetUrl,
                    logPath: restoreLog,
                    protectedSources: opts.liveUrl ? [opts.liveUrl] : [],
                    ...(supabaseProject ? { drillServer: { supabaseProject: true } } : {}),
                    onProgress: progress,
                });
                notes.push(...restored.notes);
                if (restored.extensionsSkipped.length > 0) notes.push(`extensions this server lacks, left out of the restore: ${restored.extensionsSkipped.join(", ")}`);
                baseline = await readCatalogue(target);
                baselineFile = path.resolve(opts.artifactsDir, artifactName("schema-baseline", "json"));
                fs.writeFileSync(baselineFile, JSON.stringify(baseline, null, 2) + "\n", { mode: 0o600 });
                try {
                    await writeMarker(target, { backupSha256: digest, restoredAt: new Date().toISOString(), baseline: baselineFile });
                } catch (err) {
                    notes.push(`the target could not be marked as restored by this command (${pgErrorText(err)}): a retry after a failed migration will refuse it as not empty`);
                }
                const restoredHistory = (await readTargetHistory(target)) ?? [];
                if (backupHistory?.present && !sameHistory(restoredHistory, applied)) {
                    throw new Error("after the restore the target's supabase_migrations.schema_migrations differs from the history read from the backup: stopping before any migration");
                }
                if (toRecord.length > 0) {
                    await ensureHistoryTable(target);
                    await recordApplied(target, toRecord);
                }
            } else {
                baselineFile = marker!.baseline;
                if (!fs.existsSync(baselineFile)) {
                    throw new Error(`the backup's catalogue recorded by the earlier run (${baselineFile}) is gone: restore into a new, empty database instead`);
                }
                baseline = JSON.parse(fs.readFileSync(baselineFile, "utf8")) as Catalogue;
            }

            let done: string[] = [];
            if (pending.length > 0) {
                await ensureHistoryTable(target);
                try {
                    done = await applyMigrations(target, pending, progress);
                } catch (err) {
                    if (err instanceof MigrationFailed) {
                        result.audit = audit({
                            restored: !resumed,
                            restoreLog,
                            baselineCatalogue: baselineFile,
                            migrationsApplied: err.applied,
                            failedMigration: path.basename(err.migration.file),
                            outcome: "failed",
                            error: err.message,
                        });
                        err.message += `. Fix the migration and run the same command again: it resumes on ${describe(targetId)} (audit record ${result.audit})`;
                    }
                    throw err;
                }
            }

            progress("verifying the target against the backup's catalogue");
            const now = await readCatalogue(target);
            const checks = compareCatalogue(baseline, now, await existingTables(target, Object.keys(baseline.rls)), extensions);
            const historyNow = new Set(((await readTargetHistory(target)) ?? []).map((m) => m.version));
            const expectedVersions = [...applied.map((m) => m.version), ...done];
            const missing = expectedVersions.filter((v) => !historyNow.has(v));
            checks.push({
                name: "migration history",
                ok: missing.length === 0,
                problems: missing.map((v) => `version ${v} is not recorded in supabase_migrations.schema_migrations`),
                notes: [],
                checked: expectedVersions.length,
            });
            const verified = checks.every((c) => c.ok);
            result.applied = done;
            result.checks = checks;
            result.verified = verified;
            result.planText += `\napplied: ${done.length > 0 ? done.join(", ") : "none"}\nverify (${catalogueCounts(baseline)} in the backup): ${verified ? "PASS" : "FAIL"}\n${formatChecks(checks)}`;
            result.summary = `${done.length} migration(s) applied; verify ${verified ? "PASS" : "FAIL"}`;
            result.audit = audit({
                restored: !resumed,
                restoreLog,
                baselineCatalogue: baselineFile,
                migrationsApplied: done,
                leftForLater: result.notApplied,
                verify: verified ? "PASS" : "FAIL",
                problems: checks.flatMap((c) => c.problems),
                outcome: "committed",
            });
        } catch (err) {
            // Every apply leaves a record, also one that failed before or during the restore.
            result.audit ??= audit({ outcome: "failed", error: err instanceof Error ? err.message : String(err) });
            throw err;
        }
        return result;
    } finally {
        await target.end().catch(() => undefined);
        fs.rmSync(workDir, { recursive: true, force: true });
    }
}
