// Masks PII in a restored staging copy, in place, in one transaction, and proves it worked.
//
// Order inside the transaction: check rules against the catalog, run the PII drift guard (both
// throw before anything is written), lock the tables, fingerprint the originals, one UPDATE per
// table, count survivors per rule, then scan every text and json column of the database for any
// original value (survivorScan.ts), commit. Any error rolls everything back: the copy is never
// half-masked.
//
// A result with status "fail" (survivors, in the masked columns or anywhere else) is still
// committed: rolling back would leave the copy fully unmasked, which is worse. The caller must
// treat "fail" as a failed drill.
import type { Client } from "pg";
import { parseConnectionString, quoteIdent, withClient } from "../postgres/connection";
import { pgErrorText, redactError } from "../redact";
import { groupByTable, resolveRules, tableLabel, tableSql, type MaskedTable, type ResolvedRule } from "./catalog";
import { columnRef, maskExpression, SqlParams } from "./expressions";
import { hasValue, jsonColumnAssignment } from "./jsonPath";
import { findUnmaskedPii, type PiiGuardResult } from "./piiGuard";
import type { MaskedColumnResult, MaskingResult } from "./report";
import { parseMaskRules, ruleKey, type MaskRule } from "./rules";
import { assertScratchDatabase } from "../postgres/scratchDatabase";
import { assertTargetIsNotSource } from "../postgres/sourceGuard";
import { emptyScan, scanForSurvivors, type SurvivorScanResult } from "./survivorScan";
import { countSurvivors, createOriginalsTable, indexOriginals, originalCounts, recordOriginals } from "./verify";

export interface MaskingOptions {
    /** Secret for the hash strategy; required when any rule uses it. Never logged. */
    salt?: string;
    /** The database the backup came from: masking refuses to run when the target is the same database. */
    sourceUrl?: string;
    /** "schema.table.column" entries that look like PII but may stay as they are. */
    allowUnmasked?: string[];
    /** Refuse a target without a supabase-dr scratch marker (drills on scratch databases). */
    requireScratchMarker?: boolean;
}

// A staging copy is ours, but a forgotten session holding a lock must fail the run, not hang it.
const LOCK_TIMEOUT = "60s";
const MIN_SALT_LENGTH = 8;

function checkSalt(rules: MaskRule[], salt: string | undefined): void {
    const hashed = rules.filter((r) => r.rule.strategy === "hash").map(ruleKey);
    if (hashed.length === 0) return;
    if (!salt) throw new Error(`masking rules ${hashed.join(", ")} use the hash strategy, which needs a salt (opts.salt)`);
    if (salt.length < MIN_SALT_LENGTH) {
        throw new Error(`the masking salt must be at least ${MIN_SALT_LENGTH} characters (short salts make hashes guessable)`);
    }
}

function parseAllowList(entries: string[]): Set<string> {
    return new Set(
        entries.map((entry) => {
            const parts = entry.split(".");
            if (parts.length === 3 && parts.every((p) => p.length > 0)) return entry;
            if (parts.length === 2 && parts.every((p) => p.length > 0)) return `public.${entry}`;
            throw new Error(`allowUnmasked entry "${entry}" must be "schema.table.column"`);
        }),
    );
}

async function requireSha256(client: Client): Promise<void> {
    const r = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    if (Number(r.rows[0].v) < 110000) throw new Error("masking needs PostgreSQL 11 or later (it uses sha256())");
}

function guardError(guard: PiiGuardResult): Error {
    const generated = Object.entries(guard.generatedFrom).map(([key, expr]) => `${key} = ${expr}`);
    const generatedHint =
        generated.length === 0
            ? ""
            : ` Generated columns cannot have rules, they follow what they are generated from: ` +
              `${generated.join("; ")}; mask that column or json key.`;
    return new Error(
        `${guard.unmasked.length} column(s) look like PII but have no masking rule: ${guard.unmasked.join(", ")}. ` +
            `Add a rule, or list them in allowUnmasked ("schema.table.column") if they hold no personal data.` +
            `${generatedHint} Nothing was masked.`,
    );
}

/** SET clauses: one per whole-column rule, one per json column for all of its path rules. */
function assignments(t: MaskedTable, params: SqlParams, salt: string | undefined): string[] {
    const sets: string[] = [];
    const pathRules = new Map<string, ResolvedRule[]>();
    for (const r of t.rules) {
        if (r.path) {
            pathRules.set(r.column, [...(pathRules.get(r.column) ?? []), r]);
        } else {
            sets.push(`${quoteIdent(r.column)} = ${maskExpression(r.rule, columnRef("t", r.column), columnRef("t", r.idColumn), params, salt)}`);
        }
    }
    for (const [column, rules] of pathRules) {
        sets.push(jsonColumnAssignment("t", column, rules[0].json ?? "jsonb", rules, params, salt));
    }
    return sets;
}

async function updateTable(client: Client, t: MaskedTable, salt: string | undefined): Promise<void> {
    const params = new SqlParams();
    const sets = assignments(t, params, salt);
    // Rows with nothing to mask (every masked column null, no masked json key present) are skipped:
    // fewer writes and trigger calls, and their json documents stay byte for byte as they were.
    const where = t.rules.map((r) => hasValue("t", r, params)).join(" OR ");
    try {
        await client.query(`UPDATE ${tableSql(t)} AS t SET ${sets.join(", ")} WHERE ${where}`, params.values);
    } catch (err) {
        // err.message only: pg's DETAIL can quote whole rows, i.e. original PII.
        const reason = pgErrorText(err); // a server error can quote the row it failed on
        throw new Error(`masking ${tableLabel(t)} failed: ${reason} (rolled back, nothing was masked)`);
    }
}

function columnResult(r: ResolvedRule, rowsMasked: number, survivors: number): MaskedColumnResult {
    const out: MaskedColumnResult = {
        table: tableLabel(r),
        column: r.column,
        strategy: r.rule.strategy,
        rowsMasked,
        survivors,
        status: survivors === 0 ? "pass" : "fail",
    };
    if (r.path) out.path = r.path;
    return out;
}

async function maskInTransaction(
    client: Client,
    rules: MaskRule[],
    salt: string | undefined,
    allow: Set<string>,
): Promise<Omit<MaskingResult, "durationMs">> {
    await requireSha256(client);
    await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    // Row level security must never silently narrow what is masked or proven: with row_security off
    // a statement that RLS would filter fails instead (the survivor scan skips and lists such tables).
    await client.query("SET LOCAL row_security = off");
    const resolved = await resolveRules(client, rules);
    const guard = await findUnmaskedPii(client, resolved, allow);
    if (guard.unmasked.length > 0) throw guardError(guard);

    const tables = groupByTable(resolved);
    const columns: MaskedColumnResult[] = [];
    let survivorScan: SurvivorScanResult = emptyScan();
    if (tables.length > 0) {
        // Nobody may change rows between fingerprinting and updating; reads stay allowed.
        await client.query(`LOCK TABLE ${tables.map(tableSql).join(", ")} IN EXCLUSIVE MODE`);
        await createOriginalsTable(client);
        for (const t of tables) await recordOriginals(client, t);
        await indexOriginals(client);
        const counts = await originalCounts(client);
        for (const t of tables) await updateTable(client, t, salt);
        for (const t of tables) {
            const survivors = await countSurvivors(client, t);
            for (const r of t.rules) columns.push(columnResult(r, counts.get(r.no) ?? 0, survivors.get(r.no) ?? 0));
        }
        survivorScan = await scanForSurvivors(client);
    }
    return {
        status: columns.every((c) => c.status === "pass") && survivorScan.status === "pass" ? "pass" : "fail",
        columns,
        survivorScan,
        unmaskedPii: [],
        allowedUnmasked: guard.allowed,
    };
}

/**
 * Masks the rules' columns and json keys in the target database (a restored copy, never the source)
 * and returns the proof: per rule, and for every original value across every text and json column
 * of the database. Throws, with nothing changed, when a rule does not fit the schema, a PII-looking
 * column has no rule, the target equals sourceUrl, or any statement fails.
 */
export async function applyMasking(targetUrl: string, rules: MaskRule[], opts: MaskingOptions = {}): Promise<MaskingResult> {
    const started = Date.now();
    const secrets = [opts.salt];
    try {
        secrets.push(parseConnectionString(targetUrl, "masking target").password);
        // Re-validate: callers may build rules in code rather than through parseMaskRules.
        const checked = parseMaskRules(rules);
        checkSalt(checked, opts.salt);
        const allow = parseAllowList(opts.allowUnmasked ?? []);
        // Connects to both: catches aliases of the source (another hostname, same server and database).
        if (opts.sourceUrl !== undefined) await assertTargetIsNotSource(targetUrl, [opts.sourceUrl], "mask");
        if (opts.requireScratchMarker) await assertScratchDatabase(targetUrl, "mask");
        return await withClient(targetUrl, "masking target", async (client) => {
            await client.query("BEGIN");
            try {
                const result = await maskInTransaction(client, checked, opts.salt, allow);
                await client.query("COMMIT");
                return { ...result, durationMs: Date.now() - started };
            } catch (err) {
                await client.query("ROLLBACK").catch(() => undefined);
                throw err;
            }
        });
    } catch (err) {
        throw redactError(err, secrets);
    }
}
