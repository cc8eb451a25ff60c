// What a failed engine run says, fit for a report: the errors our resources threw, without the
// Automation API's wrapping and the engine's generic lines, redacted.
import { redact } from "../redact";
import type { DrillSecrets } from "./config";

/** Every secret value of a drill, for redaction. */
export function secretValues(s: DrillSecrets): string[] {
    return [
        s.sourceDbUrl, s.targetDbUrl, s.supabaseAccessToken, s.apiBearerToken, s.maskingSalt, s.storageServiceKey,
        s.pitrS3Key, s.pitrS3KeySecret, s.pitrS3Token, s.pitrCipherPass,
    ].filter((v): v is string => !!v);
}

/**
 * The engine's diagnostics (the errors our resources threw), without the Automation API's wrapping
 * and the engine's generic lines, redacted.
 */
export function explain(err: unknown, secrets: string[]): string {
    const e = err as { commandResult?: { stdout?: string; stderr?: string }; message?: string };
    const text = e.commandResult ? `${e.commandResult.stdout ?? ""}\n${e.commandResult.stderr ?? ""}` : String(e.message ?? err);
    const start = text.indexOf("Diagnostics:");
    const end = text.indexOf("\nResources:", start);
    const diagnostics = start >= 0 ? text.slice(start + "Diagnostics:".length, end > start ? end : undefined) : text;
    const lines = diagnostics
        .split("\n")
        .filter((l) => l.trim() && !/^\s*(pulumi:pulumi:Stack|pulumi-nodejs:dynamic|supabase-dr:)/.test(l))
        .filter((l) => !/error: update failed|error: destroy failed|^\s*[+-~]\s+\d+ (created|errored|deleted)/.test(l))
        .map((l) => l.replace(/^\s{4}/, ""))
        .slice(0, 60)
        .join("\n");
    return redact((lines || text).trim(), secrets).slice(0, 8000);
}
