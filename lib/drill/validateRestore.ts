// The validation step of a drill: fingerprints the restored target the same way the source was
// fingerprinted, compares, runs the target-only checks (sequences, user assertions), and writes
// validation_<id>.txt / .json. The comparison basis, best first:
//   1. the fingerprint in the backup manifest, taken inside the dump's own snapshot;
//   2. the live source, when the backup has none (an adopted file): changes made to the source since
//      the backup then show up as differences, which the report says;
//   3. nothing to compare with: the step fails, because a PASS must mean the data was checked.
// A validation that compares no table data at all (no basis, `tables: []`, or schemas holding no table)
// says so in the report and fails, unless the caller accepts that with allowNoData.
import * as fs from "node:fs";
import { readManifest } from "../backup/manifest";
import { trioFingerprintOptions } from "../supabase/dumpScope";
import * as os from "node:os";
import { connect, withClient } from "../postgres/connection";
import { redact } from "../redact";
import { compareFingerprints, formatValidationReport, runTargetChecks, takeFingerprint } from "../validate";
import type { CheckResult, FingerprintOptions, SqlAssertion, StoredFingerprint } from "../validate/types";
import { artifactPaths, writeStepResult } from "./artifacts";
import type { ValidationStep } from "./report";

export interface ValidateRestoreOptions {
    manifestPath: string;
    targetUrl: string;
    /** Live source, used only when the manifest carries no fingerprint. */
    sourceUrl?: string;
    assertions?: SqlAssertion[];
    /** Used when fingerprinting a live source (a manifest's fingerprint brings its own options). */
    fingerprintOptions?: FingerprintOptions;
    artifactsDir: string;
    drillId: string;
    /**
     * Extensions the restore was allowed to skip (not available on the target): absent on the target,
     * each passes with a note, and so does everything in the schemas it owns. Otherwise a missing
     * extension fails.
     */
    allowMissingExtensions?: string[];
    /** Accept a validation that compares no table data (it fails otherwise). The report still says so. */
    allowNoData?: boolean;
}

/** Why no table data was compared, or undefined when some was. */
function noDataReason(source: StoredFingerprint | undefined, options: FingerprintOptions): string | undefined {
    if (!source) return "there is no source fingerprint to compare with";
    if (source.tables.length > 0) return undefined;
    if (options.tables !== undefined && options.tables.length === 0) return "the fingerprint options name no table (tables: [])";
    return `the fingerprinted schemas (${source.schemas.join(", ") || "none"}) hold no table`;
}

/** The plain statement at the top of the report and in the step result. */
function noDataStatement(reason: string, allowed: boolean): string {
    return allowed
        ? `NO DATA WAS COMPARED: ${reason}. Accepted (allowNoData): this validation says nothing about the restored rows.`
        : `NO DATA WAS COMPARED: ${reason}. This fails the validation; set allowNoData to accept a validation without data.`;
}

export async function validateRestore(opts: ValidateRestoreOptions): Promise<ValidationStep> {
    const started = new Date();
    const manifest = readManifest(opts.manifestPath);
    let source = manifest.fingerprint as StoredFingerprint | undefined;
    let options = (manifest.fingerprintOptions as FingerprintOptions | undefined) ?? opts.fingerprintOptions ?? {};
    let comparedWith: ValidationStep["comparedWith"] = source ? "backup-fingerprint" : "none";
    let note: string | undefined;
    if (!source && opts.sourceUrl) {
        options = opts.fingerprintOptions ?? {};
        // A trio carries less than the live source has: compare what it carries.
        if (manifest.format === "supabase-trio") options = trioFingerprintOptions(options);
        source = await withClient(opts.sourceUrl, "source database", (c) => takeFingerprint(c, options));
        comparedWith = "live-source";
        note = "The backup carries no snapshot fingerprint: compared with the live source, so changes made since the backup show as differences.";
    }
    if (!source) {
        note = "The backup carries no source fingerprint and no SOURCE_DB_URL was given: the restored data could not be compared with the source.";
    }

    // The target no longer changes: its tables are scanned over several connections (one per CPU, up
    // to 4), which is most of a large validation's time.
    const helpers = await Promise.all(
        Array.from({ length: Math.max(0, Math.min(4, os.cpus().length) - 1) }, () => connect(opts.targetUrl, "restore target")),
    );
    const { target, targetChecks } = await withClient(opts.targetUrl, "restore target", async (c) => ({
        // Each table checksummed the way the source recorded (a format-2 or 3 source: the text form).
        target: await takeFingerprint(c, options, { helpers }, source),
        // The same schemas as the comparison: a platform schema the caller left out is not checked here either.
        targetChecks: await runTargetChecks(c, { assertions: opts.assertions, schemas: options.schemas }),
    })).finally(() => Promise.all(helpers.map((h) => h.end().catch(() => undefined))));
    const results: CheckResult[] = [
        ...(source ? compareFingerprints(source, target, { allowMissingExtensions: opts.allowMissingExtensions }) : []),
        ...targetChecks,
    ];

    const allowNoData = opts.allowNoData === true;
    const reason = noDataReason(source, options);
    const statement = reason === undefined ? undefined : noDataStatement(reason, allowNoData);
    if (reason !== undefined) {
        results.push({
            check: source ? "data" : "source_fingerprint",
            object: source ? "tables" : manifest.id,
            status: allowNoData ? "pass" : "fail",
            detail: source ? `no data was compared: ${reason}` : `${note} No data was compared.`,
        });
    }

    const finished = new Date();
    const step: ValidationStep = {
        // "skip" results (not recorded in an older backup's fingerprint) neither pass nor fail the step.
        status: results.some((r) => r.status === "fail") ? "fail" : "pass",
        comparedWith,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: finished.getTime() - started.getTime(),
        results,
        dataCompared: reason === undefined,
        ...(allowNoData ? { allowNoData } : {}),
        note: [note, statement].filter(Boolean).join(" ") || undefined,
    };
    const secrets = [opts.targetUrl, opts.sourceUrl];
    const paths = artifactPaths(opts.artifactsDir, opts.drillId);
    fs.mkdirSync(opts.artifactsDir, { recursive: true });
    const report = formatValidationReport(results, { notes: statement ? [statement] : [] });
    fs.writeFileSync(paths.validationTxt, redact((note ? `${note}\n\n` : "") + report, secrets));
    writeStepResult(opts.artifactsDir, opts.drillId, "validation", JSON.parse(redact(JSON.stringify(step), secrets)));
    return step;
}
