// Scheduled and queued work of the SOURCE must not run in a restored copy. Supabase's Postgres ships
// pg_cron (jobs in cron.job, started by the "pg_cron launcher" background worker once recovery ends)
// and pg_net (HTTP requests queued in net.http_request_queue, sent by the "pg_net worker"): after a
// restore, a copy would run the production jobs and call production webhooks.
//
// Two layers, so nothing runs even for a moment:
//   1. RESTORED_SERVER_GUARDS, given to the restored server from its first start: pg_cron ≥ 1.6 then
//      launches no job at all (cron.launch_active_jobs = off). Older pg_cron drops the unknown setting
//      with a warning; a server without pg_cron keeps it as an unused custom setting.
//   2. disableScheduledJobs(), the first thing done after promotion, in every database: cron.job rows
//      set inactive, the pg_net queue emptied (it is an UNLOGGED table, so recovery has usually emptied
//      it already), and the launcher, the pg_net worker and any job session that started terminated.
import type { ClientBase } from "pg";
import { quoteIdent, withClient } from "../postgres/connection";

export const RESTORED_SERVER_GUARDS: Readonly<Record<string, string>> = { "cron.launch_active_jobs": "off" };

export interface DatabaseJobs {
    database: string;
    /** pg_cron jobs set inactive (cron.job.active = false). */
    cronJobsDeactivated: number;
    /** pg_net requests removed from net.http_request_queue. */
    netRequestsDropped: number;
}

export interface DisabledJobs {
    /** Databases that have cron.job or net.http_request_queue, with what was done there. */
    databases: DatabaseJobs[];
    /** Background workers and job sessions terminated (they restart idle: no job is active). */
    backendsTerminated: number;
}

async function disableIn(client: ClientBase, database: string): Promise<DatabaseJobs | undefined> {
    const has = (await client.query<{ cron: boolean; net: boolean; active: boolean }>(
        "select to_regclass('cron.job') is not null as cron, to_regclass('net.http_request_queue') is not null as net, " +
            "exists (select 1 from pg_attribute where attrelid = to_regclass('cron.job') and attname = 'active' and not attisdropped) as active",
    )).rows[0];
    if (!has.cron && !has.net) return undefined;
    let cronJobsDeactivated = 0;
    let netRequestsDropped = 0;
    if (has.cron) {
        if (has.active) {
            cronJobsDeactivated = (await client.query("update cron.job set active = false where active")).rowCount ?? 0;
        } else {
            // pg_cron before 1.3 has no active flag: the only way to stop a job is to remove it.
            cronJobsDeactivated = (await client.query("delete from cron.job")).rowCount ?? 0;
        }
    }
    if (has.net) netRequestsDropped = (await client.query("delete from net.http_request_queue")).rowCount ?? 0;
    return { database, cronJobsDeactivated, netRequestsDropped };
}

/**
 * Deactivates pg_cron jobs and empties pg_net's queue in every database of the restored cluster at
 * `adminUrl` (a superuser URL), then ends their workers' sessions. Safe on a cluster without either.
 */
export async function disableScheduledJobs(adminUrl: string): Promise<DisabledJobs> {
    return withClient(adminUrl, "restored cluster", async (admin) => {
        const names = (await admin.query<{ datname: string }>("select datname from pg_database where datallowconn and not datistemplate order by datname")).rows.map((r) => r.datname);
        const databases: DatabaseJobs[] = [];
        for (const name of names) {
            const url = new URL(adminUrl);
            url.pathname = `/${encodeURIComponent(name)}`;
            const done = await withClient(url.toString(), `restored database ${quoteIdent(name)}`, (c) => disableIn(c, name));
            if (done) databases.push(done);
        }
        const terminated = (await admin.query<{ n: string }>(
            "select count(pg_terminate_backend(pid)) as n from pg_stat_activity " +
                "where pid <> pg_backend_pid() and (backend_type in ('pg_cron launcher', 'pg_cron', 'pg_net worker') or application_name = 'pg_cron')",
        )).rows[0].n;
        return { databases, backendsTerminated: Number(terminated) };
    });
}

/** One line for reports: what was stopped, or that there was nothing to stop. */
export function describeDisabledJobs(d: DisabledJobs): string {
    if (d.databases.length === 0) return "no pg_cron or pg_net schema in the restored cluster: nothing to disable";
    const parts = d.databases.map((x) => `${x.database}: ${x.cronJobsDeactivated} pg_cron job(s) deactivated, ${x.netRequestsDropped} pg_net request(s) dropped`);
    return `${parts.join("; ")}; ${d.backendsTerminated} worker session(s) ended`;
}
