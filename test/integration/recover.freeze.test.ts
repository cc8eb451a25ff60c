// freeze / unfreeze against real PostgreSQL with Supabase's roles (test/helpers/supabaseFixture.ts):
// a write through PostgREST's login role (authenticator, then SET ROLE authenticated) works before the
// freeze, fails after it, works again after unfreeze, and pg_db_role_setting ends exactly as it began.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { freeze, unfreeze } from "../../lib/recover/freeze";
import { createSupabaseFixture } from "../helpers/supabaseFixture";

let cluster: LocalCluster;
let liveUrl: string;
let work: string;
const AUTHENTICATOR_PASSWORD = "authenticator-test-pw";

async function settings(): Promise<string> {
    return withClient(cluster.url(), "admin", async (c) => {
        const r = await c.query<{ s: string }>(
            `select coalesce(string_agg(format('%s/%s=%s', coalesce(d.datname, '*'), r.rolname, s.setconfig::text), ';' order by 1), '') as s
               from pg_db_role_setting s join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase`,
        );
        return r.rows[0].s;
    });
}

/** A write as PostgREST does it for a signed-in user: log in as authenticator, switch to authenticated. */
async function writeAsAuthenticated(): Promise<string> {
    const url = new URL(liveUrl);
    url.username = "authenticator";
    url.password = AUTHENTICATOR_PASSWORD;
    return withClient(url.toString(), "as authenticator", async (c) => {
        await c.query("set role authenticated");
        try {
            await c.query("insert into public.freeze_probe values (1)");
            return "written";
        } catch (err) {
            return (err as { code?: string }).code ?? "error";
        }
    });
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-freeze-test-"));
    cluster = await startLocalCluster();
    liveUrl = (await createSupabaseFixture(cluster.url(), "app", { users: 2 })).url;
    await withClient(liveUrl, "live", async (c) => {
        await c.query(`alter role authenticator password '${AUTHENTICATOR_PASSWORD}'`);
        await c.query("create table public.freeze_probe (x int); grant insert on public.freeze_probe to authenticated");
        // A setting that must come back exactly: anon already had one for this database.
        await c.query("alter role anon in database app set default_transaction_read_only = off");
        await c.query("create role app_login login password 'app-login-pw'; grant all on database app to app_login");
    });
});

afterAll(async () => {
    await cluster?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("recover freeze / unfreeze", () => {
    it("dry run prints the statements and changes nothing", async () => {
        const before = await settings();
        const printed: string[] = [];
        const r = await freeze({ liveUrl, roles: ["anon", "authenticated", "service_role", "authenticator"], apply: false, artifactsDir: work, print: (t) => printed.push(t) });
        expect(r.statements).toContain('ALTER ROLE "authenticated" IN DATABASE "app" SET default_transaction_read_only = on;');
        expect(printed.join("\n")).toMatch(/dry run[\s\S]*ALTER ROLE "anon"[\s\S]*anon: previous default_transaction_read_only off/);
        expect(await settings()).toBe(before);
        expect(await writeAsAuthenticated()).toBe("written");
    });

    it("freeze makes the application roles read-only; unfreeze restores exactly the previous settings", async () => {
        const before = await settings();
        const printed: string[] = [];
        const frozen = await freeze({ liveUrl, roles: ["anon", "authenticated", "service_role", "authenticator"], apply: true, artifactsDir: work, print: (t) => printed.push(t) });
        expect(printed[0]).toMatch(/^applying on /);
        expect(await writeAsAuthenticated()).toBe("25006"); // read_only_sql_transaction
        const artifact = JSON.parse(fs.readFileSync(frozen.artifact!, "utf8"));
        expect(artifact.roles).toEqual([
            { role: "anon", previous: "off" },
            { role: "authenticated", previous: null },
            { role: "service_role", previous: null },
            { role: "authenticator", previous: null },
        ]);
        expect(JSON.parse(fs.readFileSync(frozen.audit!, "utf8"))).toMatchObject({ action: "recover freeze", outcome: "committed", beforeImage: frozen.artifact });

        const dry = await unfreeze({ liveUrl, artifactPath: frozen.artifact!, apply: false, artifactsDir: work, print: () => undefined });
        expect(dry.statements).toContain('ALTER ROLE "authenticated" IN DATABASE "app" RESET default_transaction_read_only;');
        expect(await writeAsAuthenticated()).toBe("25006");
        await unfreeze({ liveUrl, artifactPath: frozen.artifact!, apply: true, artifactsDir: work, print: () => undefined });
        expect(await settings()).toBe(before);
        expect(await writeAsAuthenticated()).toBe("written");
    });

    it("unfreeze refuses, changing nothing, when a role's setting changed since the freeze", async () => {
        const frozen = await freeze({ liveUrl, roles: ["anon", "authenticated"], apply: true, artifactsDir: work, print: () => undefined });
        await withClient(liveUrl, "live", (c) => c.query("alter role authenticated in database app reset default_transaction_read_only"));
        const during = await settings();
        await expect(unfreeze({ liveUrl, artifactPath: frozen.artifact!, apply: true, artifactsDir: work, print: () => undefined })).rejects.toThrow(
            /refusing to unfreeze: the default_transaction_read_only setting of authenticated is no longer the freeze's/,
        );
        expect(await settings()).toBe(during);
        await withClient(liveUrl, "live", (c) => c.query("alter role anon in database app set default_transaction_read_only = off"));
    });

    it("refuses a superuser, a missing role, and the role LIVE_DB_URL logs in as", async () => {
        const before = await settings();
        const opts = { liveUrl, apply: true, artifactsDir: work, print: () => undefined };
        await expect(freeze({ ...opts, roles: ["anon", "supabase_admin"] })).rejects.toThrow(/refusing: supabase_admin is a superuser/);
        await expect(freeze({ ...opts, roles: ["no_such_role"] })).rejects.toThrow(/refusing: no role no_such_role on live/);
        const asApp = new URL(liveUrl);
        asApp.username = "app_login";
        asApp.password = "app-login-pw";
        await expect(freeze({ ...opts, liveUrl: asApp.toString(), roles: ["app_login"] })).rejects.toThrow(/refusing: LIVE_DB_URL logs in as app_login/);
        expect(await settings()).toBe(before);
    });
});
