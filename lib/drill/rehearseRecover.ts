// The drill's recovery rehearsals (issue 12, "Rehearsal"): `--rehearse-recover rows:<schema.table>`
// or drill.rehearseRecover in the settings runs runbook 001's path A against the drill's scratch copy
// after validation (lib/recover/rehearsal.ts). This module holds what the drill needs around it: the
// flag's parser, the settings' schema part, and one result file per table for the report.
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { displayTable, parseTableName } from "../recover/identifiers";
import type { RehearsalResult } from "../recover/rehearsal";

export const REHEARSAL_PATHS = ["rows"] as const;
export const MAX_REHEARSAL_SAMPLE = 10_000;

export interface RehearseRecoverSetting {
    path: (typeof REHEARSAL_PATHS)[number];
    /** schema.table, as lib/recover parses --table. */
    table: string;
    sample?: number;
}

/** `rows:<schema.table>` → a setting; errors name the flag and what is wrong. */
export function parseRehearseRecoverFlag(value: string): RehearseRecoverSetting {
    const colon = value.indexOf(":");
    if (colon < 0) throw new Error(`--rehearse-recover '${value}' must be <path>:<schema.table>, e.g. rows:public.orders`);
    const kind = value.slice(0, colon);
    const table = value.slice(colon + 1);
    if (!(REHEARSAL_PATHS as readonly string[]).includes(kind)) {
        throw new Error(`--rehearse-recover '${value}': path '${kind}' cannot be rehearsed; only ${REHEARSAL_PATHS.join(", ")} (runbook 001 path A)`);
    }
    return { path: "rows", table: canonicalTable(table, "--rehearse-recover") };
}

/** "orders" → "public.orders"; throws with the option's name on a malformed name. */
function canonicalTable(text: string, option: string): string {
    try {
        const t = parseTableName(text);
        return displayTable(t);
    } catch (err) {
        throw new Error((err as Error).message.replace(/^--table/, option));
    }
}

/** drill.rehearseRecover: strict entries; a table named twice is an error. */
export const rehearseRecoverSchema = z
    .array(
        z.strictObject({
            path: z.enum(REHEARSAL_PATHS, { error: `expected one of: ${REHEARSAL_PATHS.join(", ")} (runbook 001 path A)` }).describe("Which recovery path to rehearse: rows (runbook 001 path A)."),
            table: z
                .string({ error: "expected schema.table" })
                .superRefine((v, ctx) => {
                    try {
                        canonicalTable(v, "table");
                    } catch (err) {
                        ctx.addIssue({ code: "custom", message: (err as Error).message });
                    }
                })
                .describe("The table (schema.table) whose rows are deleted and changed on the scratch copy, then recovered from the backup. It needs a primary key."),
            sample: z
                .number({ error: `expected a whole number from 1 to ${MAX_REHEARSAL_SAMPLE}` })
                .int({ error: `expected a whole number from 1 to ${MAX_REHEARSAL_SAMPLE}` })
                .min(1, { error: `expected a whole number from 1 to ${MAX_REHEARSAL_SAMPLE}` })
                .max(MAX_REHEARSAL_SAMPLE, { error: `expected a whole number from 1 to ${MAX_REHEARSAL_SAMPLE}` })
                .describe("Rows deleted, and rows changed: up to this many each (default 20).")
                .optional(),
        }),
        { error: "expected a list of {path: rows, table: schema.table, sample?}" },
    )
    .superRefine(
        (list, ctx) => {
            // Runs even when an entry has its own error (so a duplicate is reported with it): read defensively.
            if (!Array.isArray(list)) return;
            const seen = new Map<string, number>();
            list.forEach((entry: unknown, i) => {
                const table = entry !== null && typeof entry === "object" ? (entry as { table?: unknown }).table : undefined;
                if (typeof table !== "string") return;
                let name: string;
                try {
                    name = canonicalTable(table, "table");
                } catch {
                    return;
                }
                const first = seen.get(name);
                if (first !== undefined) ctx.addIssue({ code: "custom", path: [i, "table"], message: `${name} is already rehearsed by entry ${first}` });
                else seen.set(name, i);
            });
        },
        { when: () => true },
    )
    .describe("Recovery rehearsals on the scratch copy after validation (before masking): each deletes and changes a sample of the table's rows, recovers them from the backup with path A (dry run, apply, undo, re-apply) and checks the table is back. --rehearse-recover rows:<schema.table> adds one.");

/** Adds the flags' rehearsals to the settings' (a table already there keeps its settings entry). */
export function mergeRehearsals(settings: RehearseRecoverSetting[] | undefined, flags: RehearseRecoverSetting[]): RehearseRecoverSetting[] | undefined {
    if (!settings && flags.length === 0) return undefined;
    const out = [...(settings ?? [])];
    for (const f of flags) if (!out.some((s) => canonicalTable(s.table, "table") === f.table)) out.push(f);
    return out;
}

/** One rehearsal's result as the report reads it. */
export type RehearsalStep = RehearsalResult;

function stepFile(dir: string, id: string, table: string): string {
    // The table name goes into a file name: anything but letters, digits, dot, dash and _ is encoded.
    const safe = table.replace(/[^A-Za-z0-9._-]/g, (ch) => `%${ch.codePointAt(0)!.toString(16)}`);
    return path.join(dir, `rehearse_${safe}_${id}.json`);
}

export function writeRehearsalStep(dir: string, id: string, step: RehearsalStep): void {
    fs.mkdirSync(dir, { recursive: true });
    const file = stepFile(dir, id, step.table);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(step, null, 2) + "\n");
    fs.renameSync(`${file}.tmp`, file);
}

export function readRehearsalSteps(dir: string, id: string): RehearsalStep[] {
    if (!fs.existsSync(dir)) return [];
    return fs
        .readdirSync(dir)
        .filter((f) => f.startsWith("rehearse_") && f.endsWith(`_${id}.json`))
        .sort()
        .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as RehearsalStep);
}

/** A rehearsal's one-line summary: counts, column, durations; never a value. */
export function describeRehearsal(s: RehearsalStep): string {
    const secs = (ms: number | undefined) => (ms === undefined ? "—" : `${Math.round(ms / 100) / 10}s`);
    const d = s.durationsMs;
    return (
        `${s.table}: ${s.status.toUpperCase()} — ${s.deleted} deleted, ${s.changed} changed${s.changedColumn ? ` (${s.changedColumn})` : ""} of ${s.rowCount} row(s); ` +
        `dry run ${secs(d.dryRun)}, apply ${secs(d.apply)}, undo ${secs(d.undo)}, re-apply ${secs(d.reapply)}, total ${secs(d.total)}`
    );
}
