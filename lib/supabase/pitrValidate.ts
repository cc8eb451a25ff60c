// Validating a restored hosted database against a hosted mark. First, before anything else runs on it,
// pg_cron jobs are deactivated and pg_net's pending requests dropped: after a restore they start at
// once and would act on the outside world (or change the data being validated). Then the database is
// fingerprinted exactly as the mark was and compared with it (lib/pitr/markCheck: everything identical
// except sequence positions), and the heartbeat tick written after the mark's quiet range must be gone.
import type { ClientBase } from "pg";
import { connect } from "../postgres/connection";
import { compareWithMark, type MarkComparison } from "../pitr/markCheck";
import { takeFingerprint } from "../validate/fingerprint";
import type { HostedMark } from "./pitrMark";

export interface JobsDisabled {
    /** pg_cron jobs deactivated (jobname or id), or null when pg_cron is not installed. */
    cronJobs: string[] | null;
    /** pg_net requests dropped from its queue, or null when pg_net is not installed. */
    netRequestsDropped: number | null;
    /** What could not be done (e.g. a job owned by another role); the validation still runs. */
    problems: string[];
}

async function hasSchemaTable(client: ClientBase, qualified: string): Promise<boolean> {
    return (await client.query<{ r: string | null }>("select to_regclass($1)::text as r", [qualified])).rows[0].r !== null;
}

/** Deactivates every active pg_cron job and drops pg_net's queued requests on the restored database. */
export async function disableScheduledJobs(client: ClientBase): Promise<JobsDisabled> {
    const out: JobsDisabled = { cronJobs: null, netRequestsDropped: null, problems: [] };
    if (await hasSchemaTable(client, "cron.job")) {
        out.cronJobs = [];
        const jobs = (await client.query<{ jobid: string; jobname: string | null }>("select jobid::text as jobid, jobname from cron.job where active order by jobid")).rows;
        for (const job of jobs) {
            const label = job.jobname ?? `job ${job.jobid}`;
            try {
                // cron.alter_job checks ownership like pg_cron's own UI; Supabase's postgres role owns its jobs.
                await client.query("select cron.alter_job(job_id := $1::bigint, active := false)", [job.jobid]);
                out.cronJobs.push(label);
            } catch (err) {
                out.problems.push(`pg_cron ${label} could not be deactivated: ${(err as Error).message}`);
            }
        }
    }
    if (await hasSchemaTable(client, "net.http_request_queue")) {
        try {
            out.netRequestsDropped = (await client.query("delete from net.http_request_queue")).rowCount ?? 0;
        } catch (err) {
            out.problems.push(`pg_net queue could not be emptied: ${(err as Error).message}`);
        }
    }
    return out;
}

// The checks lib/validate/compare makes per table of data.
const TABLE_DATA_CHECKS = new Set(["table", "row_count", "updated_at", "checksum"]);

export interface MarkValidation {
    status: "PASS" | "FAIL";
    lsn: string;
    markTime: string;
    comparison: MarkComparison;
    /** Tables named by the failed comparisons. */
    differingTables: string[];
    tick?: { id: number; present: boolean };
    jobs: JobsDisabled;
    /** One line per problem, naming the table or section. */
    problems: string[];
}

/** Connects to the restored database, disables its jobs, and compares it with the mark. */
export async function validateAgainstMark(url: string, hosted: HostedMark, label: string): Promise<MarkValidation> {
    const client = await connect(url, label);
    try {
        const jobs = await disableScheduledJobs(client);
        const fingerprint = await takeFingerprint(client, hosted.fingerprintOptions, undefined, hosted.mark.fingerprint);
        const comparison = compareWithMark(hosted.mark, fingerprint);
        const problems = comparison.failures.map((f) => `${f.check} ${f.object}${f.detail ? `: ${f.detail}` : ""}`);
        // A section can differ without a named failure (e.g. a sequence's definition): still say which.
        if (!comparison.failures.length) for (const section of comparison.differingSections) problems.push(`fingerprint section ${section} differs from the mark's`);
        const differingTables = [...new Set(comparison.failures.filter((f) => TABLE_DATA_CHECKS.has(f.check)).map((f) => f.object))];
        let tick: MarkValidation["tick"];
        if (hosted.tick) {
            const present = (await hasSchemaTable(client, hosted.tick.table))
                ? (await client.query(`select 1 from ${hosted.tick.table} where id = $1`, [hosted.tick.id])).rowCount! > 0
                : false;
            tick = { id: hosted.tick.id, present };
            if (present) problems.push(`heartbeat row ${hosted.tick.id} of ${hosted.tick.table}, written after the recovery target, is present: the database was not restored to T`);
        }
        const ok = comparison.ok && !tick?.present;
        return { status: ok ? "PASS" : "FAIL", lsn: hosted.mark.lsn, markTime: hosted.mark.time, comparison, differingTables, tick, jobs, problems };
    } finally {
        await client.end().catch(() => undefined);
    }
}
