// Real Supabase material through the real engine: a database shaped like a Supabase project (platform
// roles and schemas, auth and storage tables, an application with RLS, a trigger on auth.users, storage
// policies, a custom login role, migration history) is dumped the way users dump it, and drilled:
//   - the `supabase db dump` trio (the CLI's own flags and filters), the same database dumped now, and a
//     plain `pg_dump -Fc` of it all PASS on the drill's own throw-away cluster;
//   - a trio with one auth.users row removed and one application row changed FAILs naming both tables;
//   - roles.sql is never applied to the source's server (a live role's setting changed after the dump
//     stays changed), and is refused on a server whose identity cannot be told from the source's;
//   - after every drill the source cluster's roles (pg_authid, memberships) and data are byte-identical,
//     and no scratch database, stack or cluster is left behind.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runDrill, type RunDrillOptions } from "../../lib/drill/run";
import { findPgTool } from "../../lib/postgres/binaries";
import { withClient } from "../../lib/postgres/connection";
import { uriWithoutPassword } from "../../lib/postgres/tools";
import { databaseChecksum, drillStacks, scratchDatabases, startHarness, type DrillHarness } from "../helpers/drillHarness";
import { supabaseDbDumpTrio, type CliTrio } from "../helpers/supabaseCliDump";
import { createSupabaseFixture } from "../helpers/supabaseFixture";
import { drillProgram } from "../../programs/drill";

let h: DrillHarness;
let sourceUrl: string;
let trio: CliTrio;
let work: string;
let clusterTmp: string;
let rolesBefore: string;
let dataBefore: string;
const savedTmp = process.env.TMPDIR;

/** Every role of the source's cluster as pg_authid has it (attributes, password hash, settings) and its memberships. */
async function clusterRoles(adminUrl: string): Promise<string> {
    return withClient(adminUrl, "source admin", async (c) => {
        const roles = await c.query(
            `select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
                    rolconnlimit, rolpassword, rolvaliduntil::text from pg_authid order by rolname`,
        );
        const members = await c.query(
            `select r.rolname as role, m.rolname as member, g.rolname as grantor, a.admin_option
             from pg_auth_members a join pg_authid r on r.oid = a.roleid join pg_authid m on m.oid = a.member
             left join pg_authid g on g.oid = a.grantor order by 1, 2`,
        );
        const settings = await c.query(`select s.setdatabase, r.rolname, s.setconfig from pg_db_role_setting s left join pg_authid r on r.oid = s.setrole order by 1, 2`);
        return JSON.stringify({ roles: roles.rows, members: members.rows, settings: settings.rows });
    });
}

beforeAll(async () => {
    h = await startHarness();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-trio-"));
    fs.chmodSync(work, 0o755); // the clusters' unprivileged user must reach the temp dirs below it
    const fixture = await createSupabaseFixture(h.pg.url(), "app");
    sourceUrl = fixture.url;
    trio = await supabaseDbDumpTrio(sourceUrl, path.join(work, "trio"));
    rolesBefore = await clusterRoles(h.pg.url());
    dataBefore = await databaseChecksum(sourceUrl);
});
afterAll(async () => {
    process.env.TMPDIR = savedTmp;
    await h?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});
// The drill's own cluster lives in the provider's temp dir: a dir of this test's, to prove it is removed.
beforeEach(() => {
    clusterTmp = fs.mkdtempSync(path.join(work, "tmp-"));
    fs.chmodSync(clusterTmp, 0o755);
    process.env.TMPDIR = clusterTmp;
});

async function drill(extra: Partial<RunDrillOptions> & { secrets: RunDrillOptions["secrets"] }) {
    let output = "";
    const result = await runDrill({ program: drillProgram, env: "test", backend: h.backend, backupDir: h.backupDir, onOutput: (t) => (output += t), ...extra });
    return { result, output };
}

async function expectSourceUntouched(): Promise<void> {
    expect(await clusterRoles(h.pg.url())).toBe(rolesBefore);
    expect(await databaseChecksum(sourceUrl)).toBe(dataBefore);
    expect(await scratchDatabases(h.pg.url())).toEqual([]);
    expect(await drillStacks(h.backend)).toEqual([]);
    // The drill's own cluster is stopped and deleted on destroy.
    expect(fs.readdirSync(clusterTmp).filter((d) => d.startsWith("supabase-dr-pg-"))).toEqual([]);
}

function failedChecks(result: Awaited<ReturnType<typeof runDrill>>): string[] {
    return (result.report.validation?.checks ?? []).filter((c) => c.status === "fail").map((c) => `${c.check} ${c.object}`);
}

describe("drills of real Supabase material on the drill's own cluster", () => {
    it("PASSes on the `supabase db dump` trio", async () => {
        const { result, output } = await drill({ secrets: { sourceDbUrl: sourceUrl }, settings: { backupPath: trio.dir } });
        expect(result.error, output.slice(-3000)).toBeUndefined();
        expect(failedChecks(result)).toEqual([]);
        expect(result.status).toBe("PASS");
        const log = fs.readFileSync(path.join(result.artifactsDir, fs.readdirSync(result.artifactsDir).find((f) => f.startsWith("restore_") && f.endsWith(".log"))!), "utf8");
        expect(log).toMatch(/drill's own throw-away cluster/);
        expect(log).toMatch(/taken from the source's own catalog/);
        // The data the trio carries was compared, auth and storage included.
        const compared = (result.report.validation?.checks ?? []).filter((c) => c.check === "checksum").map((c) => c.object);
        expect(compared).toEqual(expect.arrayContaining(["auth.users", "auth.identities", "storage.objects", "storage.buckets", "public.profiles"]));
        await expectSourceUntouched();
    });

    it("PASSes on the same database dumped now", async () => {
        const { result, output } = await drill({ secrets: { sourceDbUrl: sourceUrl } });
        expect(result.error, output.slice(-3000)).toBeUndefined();
        expect(failedChecks(result)).toEqual([]);
        expect(result.status).toBe("PASS");
        await expectSourceUntouched();
    });

    it("PASSes on a plain pg_dump -Fc of it", async () => {
        const file = path.join(work, "app.dump");
        execFileSync(findPgTool("pg_dump"), ["-Fc", "-f", file, `--dbname=${uriWithoutPassword(sourceUrl)}`], {
            env: { ...process.env, PGPASSWORD: h.pg.password },
        });
        const { result, output } = await drill({ secrets: { sourceDbUrl: sourceUrl }, settings: { backupPath: file } });
        expect(result.error, output.slice(-3000)).toBeUndefined();
        expect(failedChecks(result)).toEqual([]);
        expect(result.status).toBe("PASS");
        await expectSourceUntouched();
    });

    it("FAILs naming both tables when the trio lost an auth.users row and changed an application row", async () => {
        const damaged = path.join(work, "damaged");
        fs.cpSync(trio.dir, damaged, { recursive: true });
        const data = fs.readFileSync(path.join(damaged, "data.sql"), "utf8").split("\n");
        const usersAt = data.findIndex((l) => l.startsWith('COPY "auth"."users"'));
        expect(usersAt).toBeGreaterThan(0);
        data.splice(usersAt + 1, 1); // the first auth.users row
        const profilesAt = data.findIndex((l) => l.startsWith('COPY "public"."profiles"'));
        expect(profilesAt).toBeGreaterThan(0);
        const fields = data[profilesAt + 2].split("\t");
        const columns = /\(([^)]*)\)/.exec(data[profilesAt])![1].split(", ");
        const name = columns.indexOf('"full_name"');
        expect(name).toBeGreaterThanOrEqual(0);
        fields[name] = `${fields[name]} (changed)`;
        data[profilesAt + 2] = fields.join("\t");
        fs.writeFileSync(path.join(damaged, "data.sql"), data.join("\n"));

        const { result } = await drill({ secrets: { sourceDbUrl: sourceUrl }, settings: { backupPath: damaged } });
        expect(result.status).toBe("FAIL");
        const failed = failedChecks(result);
        expect(failed.some((f) => /auth\.users/.test(f))).toBe(true);
        expect(failed.some((f) => /public\.profiles/.test(f))).toBe(true);
        await expectSourceUntouched();
    });
});

describe("roles.sql and the source's server", () => {
    it("never applies roles.sql to the source's server: a role changed after the dump stays changed", async () => {
        // The live role moves on after the dump; restoring roles.sql there would put it back.
        await withClient(h.pg.url(), "admin", (c) => c.query(`alter role reporting_reader set statement_timeout = '41s'`));
        rolesBefore = await clusterRoles(h.pg.url());
        const { result, output } = await drill({ secrets: { sourceDbUrl: sourceUrl, targetDbUrl: h.pg.url() }, settings: { backupPath: trio.dir } });
        expect(result.error, output.slice(-3000)).toBeUndefined();
        const log = fs.readFileSync(path.join(result.artifactsDir, fs.readdirSync(result.artifactsDir).find((f) => f.startsWith("restore_") && f.endsWith(".log"))!), "utf8");
        expect(log).toMatch(/is the source's server: its roles exist already and are never rewritten/);
        expect(await clusterRoles(h.pg.url())).toContain("statement_timeout=41s");
        await expectSourceUntouched();
    });

    it("refuses roles.sql on a server it did not create when the source's identity is unknown", async () => {
        const { result } = await drill({ secrets: { targetDbUrl: h.pg.url() }, settings: { backupPath: trio.dir } });
        expect(result.status).toBe("FAIL");
        expect(result.error ?? "").toMatch(/refusing to apply roles\.sql: roles are cluster-wide/);
        expect(result.error ?? "").toMatch(/leave TARGET_DB_URL unset/);
        await expectSourceUntouched();
    });
});
