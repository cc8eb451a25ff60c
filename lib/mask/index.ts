// Public API of the masking module: rules from config, masking with proof, and the report line.
export { applyMasking, type MaskingOptions } from "./apply";
export { BIRTH_DATE_PATTERN, PII_NAME_PATTERNS, looksLikePii } from "./piiGuard";
export { formatMaskingReport, type MaskedColumnResult, type MaskingResult } from "./report";
export { parseMaskRules, type MaskRule, type MaskStrategy } from "./rules";
