// Restore validation: fingerprint source and target, compare them, check the target, report.
export { takeFingerprint } from "./fingerprint";
export { compareFingerprints } from "./compare";
export { runTargetChecks, type TargetCheckOptions } from "./targetChecks";
export { formatValidationReport, type ReportOptions } from "./format";
export type * from "./types";
