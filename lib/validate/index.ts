// Restore validation: fingerprint source and target, compare them, check the target, report.
export { takeFingerprint } from "./fingerprint";
export { compareFingerprints, type CompareOptions } from "./compare";
export { runTargetChecks, type TargetCheckOptions } from "./targetChecks";
export { formatValidationReport, type ReportOptions } from "./format";
export type * from "./types";
export { FINGERPRINT_FORMAT } from "./types";
