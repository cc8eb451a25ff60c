// Artifact names of one drill (runbook 003), all in one directory and stamped with the drill's id,
// plus the machine-readable result each step leaves for the report.
import * as fs from "node:fs";
import * as path from "node:path";

export type StepName = "backup" | "restore" | "pitr" | "validation" | "masking" | "smoke";

export function artifactPaths(dir: string, id: string) {
    return {
        dir,
        backupId: `backup_${id}`,
        restoreLog: path.join(dir, `restore_${id}.log`),
        validationTxt: path.join(dir, `validation_${id}.txt`),
        maskingTxt: path.join(dir, `masking_${id}.txt`),
        smokeTxt: path.join(dir, `smoke_${id}.txt`),
        summaryMd: path.join(dir, `drill_summary_${id}.md`),
        drillJson: path.join(dir, `drill_${id}.json`),
        /** One testsuite per step, one testcase per check: for CI test reporters. */
        junitXml: path.join(dir, `drill_${id}.junit.xml`),
        /** node_exporter textfile-collector format: copy (atomically) into the collector's directory. */
        prometheus: path.join(dir, `drill_${id}.prom`),
        step: (step: StepName) => path.join(dir, `${step}_${id}.json`),
    };
}

export function writeStepResult(dir: string, id: string, step: StepName, result: unknown): void {
    fs.mkdirSync(dir, { recursive: true });
    const file = artifactPaths(dir, id).step(step);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(result, null, 2) + "\n");
    fs.renameSync(`${file}.tmp`, file);
}

export function readStepResult<T>(dir: string, id: string, step: StepName): T | undefined {
    const file = artifactPaths(dir, id).step(step);
    if (!fs.existsSync(file)) return undefined;
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

/** A storage bucket restored and verified by a drill (one file per bucket). */
export interface StorageStep {
    sourceBucket: string;
    restoredBucket: string;
    manifestKey: string;
    objects: number;
    bytes: number;
    verifiedAt: string;
}

export function writeStorageStep(dir: string, id: string, step: StorageStep): void {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `storage_${step.sourceBucket}_${id}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(step, null, 2) + "\n");
    fs.renameSync(`${file}.tmp`, file);
}

export function readStorageSteps(dir: string, id: string): StorageStep[] {
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir)
        .filter((f) => f.startsWith("storage_") && f.endsWith(`_${id}.json`))
        .sort()
        .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as StorageStep);
}
