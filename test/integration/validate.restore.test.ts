// The validation step end to end: a real dump (fingerprint in the manifest, format 3), a real restore
// into another cluster, then validateRestore. A GRANT that failed on the target (its role does not
// exist there) and was allow-listed used to end in PASS; it must FAIL. Also: an older backup's
// format-2 fingerprint reports the structure checks as not compared; a validation that compares no
// data fails unless allowNoData; an extension the target lacks passes only when allowed.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dumpSource, type DumpResult } from "../../lib/backup/dump";
import { readManifest, writeManifest } from "../../lib/backup/manifest";
import { validateRestore, type ValidateRestoreOptions } from "../../lib/drill/validateRestore";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { restoreBackup } from "../../lib/restore/restore";
import { takeFingerprint } from "../../lib/validate/fingerprint";
import type { CheckResult, Fingerprint, FingerprintOptions, FingerprintV2 } from "../../lib/validate/types";

const SOURCE_SQL = `
create role reporting nologin;
create extension hstore;
create schema empty_schema;
create table public.tasks (id serial primary key, title text not null, done boolean not null default false);
create index tasks_open_idx on public.tasks (title) where not done;
create function public.open_tasks() returns bigint language sql stable as 'select count(*) from public.tasks where not done';
grant select on public.tasks to reporting;
revoke execute on function public.open_tasks() from public;
grant execute on function public.open_tasks() to reporting;
insert into public.tasks (title) select 'task ' || g from generate_series(1, 50) g;
`;

let sourcePg: LocalCluster;
let targetPg: LocalCluster;
let work: string;
let dump: DumpResult;
let drillCounter = 0;

async function createDatabase(pg: LocalCluster, name: string, template?: string): Promise<string> {
    await withClient(pg.url(), "admin", (c) => c.query(`create database ${name}${template ? ` template ${template}` : ""}`));
    return pg.url(name);
}

async function validate(targetUrl: string, extra: Partial<ValidateRestoreOptions> = {}) {
    const drillId = `drill_${++drillCounter}`;
    const step = await validateRestore({ manifestPath: dump.manifestPath, targetUrl, artifactsDir: work, drillId, ...extra });
    const report = fs.readFileSync(path.join(work, `validation_${drillId}.txt`), "utf8");
    return { step, report };
}

/** A copy of the backup's manifest carrying another fingerprint (as an older or differently configured backup would). */
function manifestWith(name: string, fingerprint: unknown, fingerprintOptions?: FingerprintOptions): string {
    const manifest = readManifest(dump.manifestPath);
    const file = path.join(path.dirname(dump.manifestPath), `${name}.manifest.json`);
    writeManifest(file, { ...manifest, fingerprint, fingerprintOptions });
    return file;
}

const failures = (results: CheckResult[]) => results.filter((r) => r.status === "fail").map((r) => `${r.check} ${r.object}`).sort();

beforeAll(async () => {
    [sourcePg, targetPg] = await Promise.all([startLocalCluster(), startLocalCluster()]);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-validate-restore-"));
    await withClient(sourcePg.url(), "source", (c) => c.query(SOURCE_SQL));
    dump = await dumpSource({ sourceUrl: sourcePg.url(), outDir: path.join(work, "backup") });
});
afterAll(async () => {
    await Promise.all([sourcePg?.stop(), targetPg?.stop()]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("a GRANT lost during the restore", () => {
    it("FAILS validation although the restore allow-listed the error", async () => {
        // The target cluster has no role "reporting": both GRANT statements fail there.
        const targetUrl = await createDatabase(targetPg, "lost_grants");
        const restore = await restoreBackup({
            manifestPath: dump.manifestPath,
            targetUrl,
            logPath: path.join(work, "lost_grants.log"),
            allowErrors: ['role "reporting" does not exist'],
        });
        expect(restore.allowedErrors.length).toBeGreaterThanOrEqual(2);
        expect(restore.errors).toEqual([]);

        const { step, report } = await validate(targetUrl);
        expect(step.status).toBe("fail");
        expect(step.dataCompared).toBe(true);
        expect(failures(step.results)).toEqual(["grant function public.open_tasks()", "grant table public.tasks"]);
        expect(report).toMatch(/^Restore validation: FAIL — 2 of \d+ checks failed/);
        expect(report).toContain('FAIL grant table public.tasks: source ["reporting:SELECT"] | target [] — missing on target: reporting:SELECT');
        // pg_restore runs an object's ACL entry (REVOKE ... FROM PUBLIC; GRANT ... TO reporting) as one
        // implicit transaction: the failing GRANT took the REVOKE with it, so everyone may now run the function.
        expect(report).toContain(
            'FAIL grant function public.open_tasks(): source ["reporting:EXECUTE"] | target ["PUBLIC:EXECUTE"] — ' +
                "missing on target: reporting:EXECUTE; extra on target: PUBLIC:EXECUTE",
        );
        // The data itself came through: only the grants are lost.
        expect(step.results.find((r) => r.check === "checksum" && r.object === "public.tasks")?.status).toBe("pass");
    });

    it("PASSES once the role exists on the target and the restore is clean", async () => {
        await withClient(targetPg.url(), "admin", (c) => c.query("create role reporting nologin"));
        const targetUrl = await createDatabase(targetPg, "complete");
        const restore = await restoreBackup({ manifestPath: dump.manifestPath, targetUrl, logPath: path.join(work, "complete.log") });
        expect(restore.allowedErrors).toEqual([]);
        const { step, report } = await validate(targetUrl);
        expect(failures(step.results)).toEqual([]);
        expect(step.status).toBe("pass");
        expect(step.results.filter((r) => r.status === "skip")).toEqual([]);
        for (const [check, object] of [
            ["grant", "table public.tasks"],
            ["index", "public.tasks_open_idx"],
            ["column", "public.tasks.done"],
            ["constraint", "public.tasks.tasks_pkey"],
            ["sequence_value", "public.tasks_id_seq"],
        ]) {
            expect(step.results.find((r) => r.check === check && r.object === object)?.status).toBe("pass");
        }
        expect(report).toMatch(/^Restore validation: PASS — all \d+ checks passed\n/);
    });
});

describe("a backup whose manifest carries a format-2 fingerprint", () => {
    it("still validates, reporting every structure check as not recorded rather than passed", async () => {
        const current = readManifest(dump.manifestPath).fingerprint as Fingerprint;
        const { indexes, constraints, columns, grants, sequences, publications, storageBuckets, ...core } = current;
        void [indexes, constraints, columns, grants, sequences, publications, storageBuckets];
        const older: FingerprintV2 = {
            ...core,
            formatVersion: 2,
            extensions: core.extensions.map(({ name, version, schema }) => ({ name, version, schema })),
        };
        const manifestPath = manifestWith("format2", older, {});
        // The target that lost its grants: a format-2 fingerprint cannot see that, and must not claim it did.
        const { step, report } = await validate(targetPg.url("lost_grants"), { manifestPath });
        expect(step.status).toBe("pass");
        const skipped = step.results.filter((r) => r.status === "skip");
        expect(skipped.map((r) => r.check)).toEqual(["index", "constraint", "column", "grant", "sequence_value", "publication", "storage_bucket"]);
        expect(step.results.filter((r) => r.check === "grant" && r.status !== "skip")).toEqual([]);
        expect(report).toMatch(/^Restore validation: PASS — all \d+ compared checks passed; 7 not compared \(see "Not compared"\)\n/);
        expect(report).toContain(
            "not compared grant all — not recorded in this backup's fingerprint (format 2): grants were not compared; a backup taken by this version records them",
        );
        // What format 2 did record is still compared.
        expect(step.results.find((r) => r.check === "checksum" && r.object === "public.tasks")?.status).toBe("pass");
    });
});

describe("a validation that compares no data", () => {
    async function sourceFingerprint(opts: FingerprintOptions): Promise<Fingerprint> {
        return withClient(sourcePg.url(), "source", (c) => takeFingerprint(c, opts));
    }

    it("FAILS when the fingerprint names no table (tables: []), and says so plainly", async () => {
        const manifestPath = manifestWith("no_tables", await sourceFingerprint({ tables: [] }), { tables: [] });
        const { step, report } = await validate(targetPg.url("complete"), { manifestPath });
        expect(step.status).toBe("fail");
        expect(step.dataCompared).toBe(false);
        expect(failures(step.results)).toEqual(["data tables"]);
        expect(step.note).toBe(
            "NO DATA WAS COMPARED: the fingerprint options name no table (tables: []). " +
                "This fails the validation; set allowNoData to accept a validation without data.",
        );
        expect(report.split("\n").slice(0, 2)).toEqual([
            expect.stringMatching(/^Restore validation: FAIL — 1 of \d+ checks failed/),
            "NO DATA WAS COMPARED: the fingerprint options name no table (tables: []). This fails the validation; set allowNoData to accept a validation without data.",
        ]);
    });

    it("PASSES with allowNoData, the detail saying no data was compared", async () => {
        const manifestPath = manifestWith("no_tables_ok", await sourceFingerprint({ tables: [] }), { tables: [] });
        const { step, report } = await validate(targetPg.url("complete"), { manifestPath, allowNoData: true });
        expect(step.status).toBe("pass");
        expect(step).toMatchObject({ dataCompared: false, allowNoData: true });
        expect(step.results.find((r) => r.check === "data")).toMatchObject({
            status: "pass",
            detail: "no data was compared: the fingerprint options name no table (tables: [])",
        });
        expect(report).toContain("NO DATA WAS COMPARED: the fingerprint options name no table (tables: []). Accepted (allowNoData)");
    });

    it("FAILS when the schemas hold no table", async () => {
        const opts = { schemas: ["empty_schema"] };
        const manifestPath = manifestWith("empty_schema", await sourceFingerprint(opts), opts);
        const { step } = await validate(targetPg.url("complete"), { manifestPath });
        expect(failures(step.results)).toEqual(["data tables"]);
        expect(step.results.find((r) => r.check === "data")?.detail).toBe("no data was compared: the fingerprinted schemas (empty_schema) hold no table");
    });

    it("FAILS without any comparison basis unless allowNoData", async () => {
        const manifestPath = manifestWith("no_fingerprint", undefined);
        const strict = await validate(targetPg.url("complete"), { manifestPath });
        expect(strict.step).toMatchObject({ status: "fail", comparedWith: "none", dataCompared: false });
        expect(failures(strict.step.results)).toEqual([`source_fingerprint ${dump.manifest.id}`]);
        expect(strict.report).toContain("NO DATA WAS COMPARED: there is no source fingerprint to compare with.");

        const accepted = await validate(targetPg.url("complete"), { manifestPath, allowNoData: true });
        expect(accepted.step).toMatchObject({ status: "pass", comparedWith: "none", dataCompared: false, allowNoData: true });
        expect(accepted.step.results.find((r) => r.check === "source_fingerprint")?.detail).toMatch(/No data was compared\.$/);
    });
});

describe("an extension the target could not install", () => {
    it("FAILS unless listed in allowMissingExtensions, then passes with a note", async () => {
        const targetUrl = await createDatabase(targetPg, "no_hstore", "complete");
        await withClient(targetUrl, "no_hstore", (c) => c.query("drop extension hstore"));
        const strict = await validate(targetUrl);
        expect(failures(strict.step.results)).toEqual(["extension hstore"]);

        const allowed = await validate(targetUrl, { allowMissingExtensions: ["hstore"] });
        expect(allowed.step.status).toBe("pass");
        expect(allowed.step.results.find((r) => r.check === "extension" && r.object === "hstore")).toMatchObject({
            status: "pass",
            detail: "allowed missing: not available on the target",
        });
        expect(allowed.report).toContain("pass extension hstore (allowed missing: not available on the target)");
    });
});
