// Application smoke tests after a restore (runbook 002 "Smoke Test Procedures", runbook 003 smoke report).
export { defaultSupabaseChecks, type SmokeBodyPredicate, type SmokeCheck } from "./checks";
export { parseSmokeChecks } from "./parse";
export { runSmokeChecks, type SmokeCheckResult, type SmokeResult, type SmokeRunOptions } from "./run";
export { formatSmokeReport } from "./format";
export { NO_BASE_URL, needsBaseUrl, smokeChecksFor, smokeEndpoint, type DrillTargetKind, type ProjectKeyRole, type SmokeEndpoint, type SmokeProjectApi } from "./target";
