// Settings of hosted Supabase PITR checks and drills as one strict zod schema: which project is
// production (never restored by a drill), which projects a drill may restore in place, the PITR window
// and RPO the freshness check holds the project to, and the drill's timeouts. Unknown keys are errors
// (lib/config/errors names the path and suggests the nearest key), so a misspelled "drillableProjects"
// can never silently leave the list empty or, worse, unguarded.
import * as fs from "node:fs";
import * as yaml from "js-yaml";
import { z } from "zod";
import { parseConfig } from "../config/errors";

/** A project ref as the Management API's OpenAPI spec defines it: 20 lowercase letters. */
export const PROJECT_REF = /^[a-z]{20}$/;

/** The PITR add-on's variants (pitr_7, pitr_14, pitr_28). */
export const PITR_WINDOW_DAYS = [7, 14, 28] as const;

const projectRef = (description: string) =>
    z.string({ error: "expected a project ref (20 lowercase letters)" }).regex(PROJECT_REF, { error: "expected a project ref (20 lowercase letters)" }).describe(description);

const wholeNumber = (min: number, max: number, description: string) => {
    const error = `expected a whole number from ${min} to ${max}`;
    return z.number({ error }).int({ error }).min(min, { error }).max(max, { error }).describe(description);
};

const nameList = (description: string) =>
    z.array(z.string().min(1, { error: "expected a non-empty string" }), { error: "expected a list of strings" }).optional().describe(description);

export const hostedPitrSettingsSchema = z
    .strictObject({
        prodProjectRef: projectRef("The production project: never restored in place by a drill, whatever else is configured"),
        drillableProjects: z.array(projectRef("A staging project a drill may restore in place"), { error: "expected a list of project refs" }).default([]),
        windowDays: z
            .union(PITR_WINDOW_DAYS.map((d) => z.literal(d)), { error: "expected 7, 14 or 28 (the PITR add-on's windows)" })
            .describe("PITR window the add-on should give (7, 14 or 28 days)"),
        rpoSeconds: wholeNumber(1, 86_400, "RPO target: WAL-G pushes WAL at least every 120 s").default(120),
        rpoMarginSeconds: wholeNumber(0, 3_600, "Slack on top of the RPO before the check fails (upload and API delay)").default(60),
        windowToleranceHours: z
            .number({ error: "expected a number of hours from 0 to 48" })
            .min(0, { error: "expected a number of hours from 0 to 48" })
            .max(48, { error: "expected a number of hours from 0 to 48" })
            .default(6)
            .describe("How much shorter than windowDays the window may be (base backups are daily, expiry is not to the second)"),
        drill: z
            .strictObject({
                readyTimeoutMinutes: wholeNumber(1, 24 * 60, "How long a restore may take until the project is healthy again").default(60),
                restoreStartTimeoutMinutes: wholeNumber(1, 120, "How long until the project must show that the restore started").default(10),
                windowWaitMinutes: wholeNumber(0, 60, "How long to wait for the PITR window to cover a just-recorded mark").default(10),
                pollIntervalSeconds: wholeNumber(1, 300, "Status poll interval").default(10),
                markAttempts: wholeNumber(1, 50, "Marks tried until one falls in a quiet moment (no transaction in between)").default(5),
                scratchDeleteWithinMinutes: wholeNumber(1, 24 * 60, "Runbook 000: delete the hand-restored scratch project within this time").default(60),
                fingerprint: z
                    .strictObject({
                        schemas: nameList("Schemas to fingerprint (default: every non-system schema)"),
                        tables: nameList("schema.table critical tables to checksum (default: every table)"),
                        excludeSchemas: nameList("Schemas left out (cron and net always are: the drill disables jobs there first)"),
                        excludeTables: nameList("schema.table tables whose data is left out"),
                    })
                    .default({}),
            })
            .default({
                readyTimeoutMinutes: 60,
                restoreStartTimeoutMinutes: 10,
                windowWaitMinutes: 10,
                pollIntervalSeconds: 10,
                markAttempts: 5,
                scratchDeleteWithinMinutes: 60,
                fingerprint: {},
            }),
    })
    .superRefine((s, ctx) => {
        s.drillableProjects.forEach((ref, i) => {
            if (ref === s.prodProjectRef) {
                ctx.addIssue({ code: "custom", path: ["drillableProjects", i], message: `${ref} is the production project (prodProjectRef): it can never be drillable` });
            }
        });
    });

export type HostedPitrSettingsInput = z.input<typeof hostedPitrSettingsSchema>;
export type HostedPitrSettings = z.output<typeof hostedPitrSettingsSchema>;

export const SETTINGS_ROOT = "supabase-pitr";

export function parseHostedPitrSettings(value: unknown, root = SETTINGS_ROOT): HostedPitrSettings {
    return parseConfig(hostedPitrSettingsSchema, value, root);
}

/** Reads a YAML (or JSON, a subset of YAML) settings file; errors name the file and the property path. */
export function loadHostedPitrSettings(file: string): HostedPitrSettings {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new Error(`cannot read settings file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let doc: unknown;
    try {
        doc = yaml.load(text);
    } catch (err) {
        throw new Error(`settings file ${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
    }
    return parseHostedPitrSettings(doc, `${file}`);
}

/** Fingerprint options of marks and validation: the configured ones, plus cron and net always left out. */
export function drillFingerprintOptions(settings: HostedPitrSettings): {
    schemas?: string[];
    tables?: string[];
    excludeSchemas: string[];
    excludeTables?: string[];
} {
    const f = settings.drill.fingerprint;
    // The drill disables pg_cron jobs and empties pg_net's queue on the restored database before
    // validating (their jobs start at once after a restore); those schemas therefore differ by design.
    const excludeSchemas = [...new Set([...(f.excludeSchemas ?? []), "cron", "net"])];
    return {
        ...(f.schemas ? { schemas: f.schemas } : {}),
        ...(f.tables ? { tables: f.tables } : {}),
        excludeSchemas,
        ...(f.excludeTables ? { excludeTables: f.excludeTables } : {}),
    };
}
