// The validation step of a point-in-time recovery drill. The live source cannot be the basis: it has
// moved on since T. So:
//   - to a consistent point (a mark): the restored database must reproduce the fingerprint taken in
//     the mark's exported snapshot, exactly (lib/pitr/markCheck.ts; sequence positions are reported
//     only, they are not part of a snapshot). A FAIL names the tables and sections that differ.
//   - to a time T (or an LSN / restore point, judged at the last replayed commit time): heartbeat
//     ordering (lib/pitr/heartbeat.ts): every marker acknowledged by T present, none written after T.
//     The markers' record is the heartbeat log kept in the source, an append-only history: the only
//     thing read there.
// The operator's assertions and the sequence checks run on the restored database in both cases.
import * as fs from "node:fs";
import * as os from "node:os";
import { checkHeartbeatOrdering, HEARTBEAT_TABLE, readHeartbeatLog } from "../pitr/heartbeat";
import { compareWithMark } from "../pitr/markCheck";
import { openMarkStore, resolveMark } from "../pitr/markStore";
import type { PitrSecrets, PitrSettings } from "../pitr/settings";
import { connect, withClient } from "../postgres/connection";
import { redact } from "../redact";
import { compareFingerprints, formatValidationReport, runTargetChecks, takeFingerprint } from "../validate";
import { withIsolatedReads } from "../validate/session";
import type { CheckResult, SqlAssertion } from "../validate/types";
import type { VaultSettings } from "../vault/openVault";
import { artifactPaths, writeStepResult } from "./artifacts";
import type { ValidationStep } from "./report";

// Markers this long before and after T are read from the log: plenty for a writer beating every second.
const LOG_WINDOW_MS = 15 * 60_000;

export type PitrValidationBasis =
    | { kind: "mark"; markKey: string; archive: PitrSettings; secrets: PitrSecrets; marks?: VaultSettings; changedTables?: string[] }
    | { kind: "heartbeat"; sourceUrl: string; targetTime: string; note?: string };

export interface ValidatePitrOptions {
    targetUrl: string;
    basis: PitrValidationBasis;
    assertions?: SqlAssertion[];
    artifactsDir: string;
    drillId: string;
}

async function markResults(targetUrl: string, basis: Extract<PitrValidationBasis, { kind: "mark" }>): Promise<{ results: CheckResult[]; note: string; dataCompared: boolean }> {
    const { key, mark } = await resolveMark(openMarkStore(basis.archive, basis.secrets, basis.marks), basis.archive, basis.markKey);
    const helpers = await Promise.all(Array.from({ length: Math.max(0, Math.min(4, os.cpus().length) - 1) }, () => connect(targetUrl, "restored database")));
    // Fingerprinted as the mark was (default options), each table checksummed by the mark's method.
    const restored = await withClient(targetUrl, "restored database", (c) => takeFingerprint(c, {}, { helpers }, mark.fingerprint)).finally(() =>
        Promise.all(helpers.map((h) => h.end().catch(() => undefined))),
    );
    // Two kinds of table cannot match the mark, for known reasons, and are reported instead of compared:
    // UNLOGGED tables (their rows are never in WAL: every physical restore brings them back empty, e.g.
    // pg_net's queue) and tables the drill changed on purpose before anything else ran (pg_cron jobs).
    const unlogged = await withClient(targetUrl, "restored database", async (c) =>
        (await c.query<{ t: string }>("select n.nspname || '.' || c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relpersistence = 'u' and c.relkind in ('r', 'p')")).rows.map((r) => r.t),
    );
    const notCompared = new Map<string, string>([
        ...unlogged.map((t) => [t, "an UNLOGGED table: its rows are not in WAL, so every physical restore brings it back empty"] as [string, string]),
        ...(basis.changedTables ?? []).map((t) => [t, "changed by the drill on purpose before anything else ran (the source's scheduled work disabled)"] as [string, string]),
    ]);
    const withoutThem = <T extends { tables: { table: string }[] }>(f: T): T => ({ ...f, tables: f.tables.filter((t) => !notCompared.has(t.table)) });
    const expected = { ...mark, fingerprint: withoutThem(mark.fingerprint) };
    const actual = withoutThem(restored);
    const verdict = compareWithMark(expected, actual);
    const results: CheckResult[] = compareFingerprints(expected.fingerprint, actual).map((r) =>
        r.check === "sequence_value" && r.status === "fail"
            ? { ...r, status: "skip", detail: "sequence positions are not part of a consistent point (not transactional): reported, not judged" }
            : r,
    );
    for (const t of mark.fingerprint.tables.filter((x) => notCompared.has(x.table))) {
        results.push({ check: "table_data", object: t.table, status: "skip", detail: `not compared with the mark: ${notCompared.get(t.table)}` });
    }
    // Each differing section fails by name too: a difference no object-level check explains still shows.
    for (const section of verdict.differingSections) {
        results.push({ check: "mark_section", object: section, status: "fail", detail: `the restored database's ${section} differ from the mark's fingerprint` });
    }
    const differing = [...new Set(verdict.failures.filter((f) => f.object).map((f) => f.object))];
    const note = verdict.ok
        ? `Compared with consistent point ${key} (LSN ${mark.lsn}, taken ${mark.time}): identical.`
        : `Compared with consistent point ${key} (LSN ${mark.lsn}): DIFFERS${differing.length ? ` in ${differing.join(", ")}` : ""}${verdict.differingSections.length ? ` (sections: ${verdict.differingSections.join(", ")})` : ""}.`;
    return { results, note, dataCompared: mark.fingerprint.tables.length > 0 };
}

async function heartbeatResults(targetUrl: string, basis: Extract<PitrValidationBasis, { kind: "heartbeat" }>): Promise<{ results: CheckResult[]; note: string; dataCompared: boolean }> {
    const t = new Date(basis.targetTime);
    // The source is only read, in a READ ONLY transaction rolled back afterwards (as every validation read).
    const markers = await withClient(basis.sourceUrl, "source (heartbeat log)", (c) =>
        withIsolatedReads(c, () => readHeartbeatLog(c, { from: new Date(t.getTime() - LOG_WINDOW_MS), to: new Date(t.getTime() + LOG_WINDOW_MS) })),
    );
    const ordering = await withClient(targetUrl, "restored database", async (c) => {
        const exists = (await c.query<{ t: string | null }>(`select to_regclass('${HEARTBEAT_TABLE}')::text as t`)).rows[0].t;
        if (!exists) return undefined;
        return checkHeartbeatOrdering(c, markers, t);
    });
    const at = `T = ${t.toISOString()}`;
    if (!ordering) {
        return {
            results: [{ check: "heartbeat", object: HEARTBEAT_TABLE, status: "fail", detail: `the restored database has no ${HEARTBEAT_TABLE}: was the heartbeat job running before the base backup?` }],
            note: `Heartbeat ordering at ${at}: no heartbeat table in the restore.`,
            dataCompared: false,
        };
    }
    const ids = (list: number[]) => `${list.slice(0, 10).join(", ")}${list.length > 10 ? `, … (${list.length})` : ""}`;
    const results: CheckResult[] = [
        ordering.judgedBefore === 0
            ? { check: "heartbeat_before_target", object: HEARTBEAT_TABLE, status: "fail", detail: `no marker acknowledged by ${at} in the log: nothing to judge (is the heartbeat job running?)` }
            : ordering.missing.length > 0
              ? { check: "heartbeat_before_target", object: HEARTBEAT_TABLE, status: "fail", source: ordering.judgedBefore, target: ordering.judgedBefore - ordering.missing.length, detail: `marker(s) acknowledged by ${at} missing from the restore: ids ${ids(ordering.missing)}` }
              : { check: "heartbeat_before_target", object: HEARTBEAT_TABLE, status: "pass", source: ordering.judgedBefore, target: ordering.judgedBefore, detail: `all ${ordering.judgedBefore} marker(s) acknowledged by ${at} present` },
        ordering.judgedAfter === 0
            ? { check: "heartbeat_after_target", object: HEARTBEAT_TABLE, status: "fail", detail: `no marker written after ${at} in the log yet: nothing proves the recovery stopped at T (run the drill later)` }
            : ordering.unexpected.length > 0
              ? { check: "heartbeat_after_target", object: HEARTBEAT_TABLE, status: "fail", source: 0, target: ordering.unexpected.length, detail: `marker(s) written after ${at} present in the restore: ids ${ids(ordering.unexpected)}` }
              : { check: "heartbeat_after_target", object: HEARTBEAT_TABLE, status: "pass", source: 0, target: 0, detail: `none of ${ordering.judgedAfter} marker(s) written after ${at} present` },
    ];
    const note = `Heartbeat ordering at ${at}${basis.note ? ` (${basis.note})` : ""}: ${ordering.ok ? "every marker acknowledged by T present, none written after T" : "VIOLATED"}.`;
    return { results, note, dataCompared: true };
}

export async function validatePitrRestore(opts: ValidatePitrOptions): Promise<ValidationStep> {
    const started = new Date();
    const basis = opts.basis.kind === "mark" ? await markResults(opts.targetUrl, opts.basis) : await heartbeatResults(opts.targetUrl, opts.basis);
    const targetChecks = await withClient(opts.targetUrl, "restored database", (c) => runTargetChecks(c, { assertions: opts.assertions }));
    const results = [...basis.results, ...targetChecks];
    const finished = new Date();
    const step: ValidationStep = {
        status: results.some((r) => r.status === "fail") ? "fail" : "pass",
        comparedWith: opts.basis.kind === "mark" ? "consistent-point" : "heartbeat-log",
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: finished.getTime() - started.getTime(),
        results,
        dataCompared: basis.dataCompared,
        note: basis.note,
    };
    const secrets = [opts.targetUrl, opts.basis.kind === "heartbeat" ? opts.basis.sourceUrl : undefined];
    const paths = artifactPaths(opts.artifactsDir, opts.drillId);
    fs.mkdirSync(opts.artifactsDir, { recursive: true });
    fs.writeFileSync(paths.validationTxt, redact(`${basis.note}\n\n${formatValidationReport(results, { title: "Point-in-time restore validation" })}`, secrets));
    writeStepResult(opts.artifactsDir, opts.drillId, "validation", JSON.parse(redact(JSON.stringify(step), secrets)));
    return step;
}
