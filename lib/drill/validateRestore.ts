// The validation step of a drill: fingerprints the restored target the same way the source was
// fingerprinted, compares, runs the target-only checks (sequences, user assertions), and writes
// validation_<id>.txt / .json. The comparison basis, best first:
//   1. the fingerprint in the backup manifest, taken inside the dump's own snapshot;
//   2. the live source, when the backup has none (an adopted file): changes made to the source since
//      the backup then show up as differences, which the report says;
//   3. nothing to compare with: the step fails, because a PASS must mean the data was checked.
import * as fs from "node:fs";
import { readManifest } from "../backup/manifest";
import * as os from "node:os";
import { connect, withClient } from "../postgres/connection";
import { redact } from "../redact";
import { compareFingerprints, formatValidationReport, runTargetChecks, takeFingerprint } from "../validate";
import type { Fingerprint, FingerprintOptions, SqlAssertion } from "../validate/types";
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
}

export async function validateRestore(opts: ValidateRestoreOptions): Promise<ValidationStep> {
    const started = new Date();
    const manifest = readManifest(opts.manifestPath);
    let source: Fingerprint | undefined = manifest.fingerprint as Fingerprint | undefined;
    let options = (manifest.fingerprintOptions as FingerprintOptions | undefined) ?? opts.fingerprintOptions ?? {};
    let comparedWith: ValidationStep["comparedWith"] = source ? "backup-fingerprint" : "none";
    let note: string | undefined;
    if (!source && opts.sourceUrl) {
        options = opts.fingerprintOptions ?? {};
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
        target: await takeFingerprint(c, options, { helpers }),
        targetChecks: await runTargetChecks(c, { assertions: opts.assertions }),
    })).finally(() => Promise.all(helpers.map((h) => h.end().catch(() => undefined))));
    const results = [...(source ? compareFingerprints(source, target) : []), ...targetChecks];
    if (!source) results.push({ check: "source_fingerprint", object: manifest.id, status: "fail", detail: note });

    const finished = new Date();
    const step: ValidationStep = {
        status: results.every((r) => r.status === "pass") ? "pass" : "fail",
        comparedWith,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: finished.getTime() - started.getTime(),
        results,
        note,
    };
    const secrets = [opts.targetUrl, opts.sourceUrl];
    const paths = artifactPaths(opts.artifactsDir, opts.drillId);
    fs.mkdirSync(opts.artifactsDir, { recursive: true });
    fs.writeFileSync(paths.validationTxt, redact((note ? `${note}\n\n` : "") + formatValidationReport(results), secrets));
    writeStepResult(opts.artifactsDir, opts.drillId, "validation", JSON.parse(redact(JSON.stringify(step), secrets)));
    return step;
}
