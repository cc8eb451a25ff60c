// Public API of the masking module: rules from config (whole columns and json keys), masking with
// proof (per rule and across the whole database), and the report.
export { applyMasking, type MaskingOptions } from "./apply";
export { BIRTH_DATE_PATTERN, PII_NAME_PATTERNS, looksLikePii } from "./piiGuard";
export {
    columnLabel,
    formatMaskingReport,
    type MaskedColumnResult,
    type MaskingResult,
    type SurvivorLocation,
    type SurvivorScanResult,
} from "./report";
export { parseMaskRules, ruleKey, type MaskRule, type MaskStrategy } from "./rules";
export { MIN_SEARCH_CHARS } from "./survivorScan";
