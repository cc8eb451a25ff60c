// `recover undo <artifact>`: puts back what an apply changed, from its before-image. Per row, live is
// compared with the artifact under a row lock:
//   - as before the apply       → nothing to do (never applied, rolled back, or undone already);
//   - as the apply left it       → put back: a row the apply inserted is deleted, an updated one restored;
//   - anything else              → someone changed it since: refuse the whole undo, change nothing.
// Dry run by default. The undo keeps its own before-image (made: "undo"), so it can be undone in turn.
import * as path from "node:path";
import type { Client } from "pg";
import { RefusedError, type ErrorOptions } from "../errors";
import { sha256File } from "../backup/checksum";
import { connect, describe, parseConnectionString } from "../postgres/connection";
import { artifactName, writeAudit } from "./audit";
import { ArtifactWriter, readArtifact, type Artifact, type ArtifactHeader } from "./beforeImage";
import { displayTable } from "./identifiers";
import { checkConstraintsNow, deleteRows, describeWriteError, upsertRows, type WriteTarget } from "./liveWrite";
import { fetchRowsByKey, keyId, pinOutputSettings, type RowText } from "./rowText";
import type { ColumnInfo } from "./tableShape";

export interface UndoStep {
    /** delete: the row did not exist before; restore: it existed and was changed; reinsert: it existed and was deleted. */
    kind: "delete" | "restore" | "reinsert";
    key: (string | null)[];
    current: RowText | null;
    before: RowText | null;
}

export interface UndoPlan {
    artifact: Artifact;
    steps: UndoStep[];
    alreadyAsBefore: number;
    /** Rows changed since the apply: the undo refuses when there is any. */
    drifted: number;
}

function sameRow(a: RowText | null | undefined, b: RowText | null | undefined, columns: string[]): boolean {
    if (!a || !b) return !a && !b;
    return columns.every((c) => (a[c] ?? null) === (b[c] ?? null));
}

function targetOf(header: ArtifactHeader): { target: WriteTarget; keyColumns: ColumnInfo[] } {
    const columns: ColumnInfo[] = header.columns.map((name) => ({
        name,
        type: header.types[name],
        generated: false,
        identity: header.identity[name] ?? "",
    }));
    return { target: { table: header.table, columns, key: header.key }, keyColumns: header.key.map((k) => columns.find((c) => c.name === k)!) };
}

/** Reads live (locking the rows when lock is set) and decides, per row of the artifact, what undo does. */
export async function planUndo(client: Client, artifact: Artifact, lock: boolean): Promise<UndoPlan> {
    const { header } = artifact;
    const { target, keyColumns } = targetOf(header);
    const entries = [...artifact.before.values()];
    const current = await fetchRowsByKey(client, header.table, header.columns, keyColumns, entries.map((e) => e.key), { lock });
    const byId = new Map(current.map((r) => [keyId(r, target.key), r]));
    const plan: UndoPlan = { artifact, steps: [], alreadyAsBefore: 0, drifted: 0 };
    for (const e of entries) {
        const id = JSON.stringify(e.key);
        const now = byId.get(id) ?? null;
        if (sameRow(now, e.row, header.columns)) {
            plan.alreadyAsBefore++;
            continue;
        }
        const after = artifact.after.get(id);
        if (!artifact.after.has(id) || !sameRow(now, after, header.columns)) {
            plan.drifted++;
            continue;
        }
        plan.steps.push({ kind: !e.row ? "delete" : now ? "restore" : "reinsert", key: e.key, current: now, before: e.row });
    }
    return plan;
}

export function formatUndoPlan(plan: UndoPlan): string {
    const { header } = plan.artifact;
    const show = (v: string | null | undefined) => (v === null || v === undefined ? "NULL" : JSON.stringify(v));
    const keyText = (k: (string | null)[]) => `(${header.key.join(", ")})=(${k.map(show).join(", ")})`;
    const lines = [`# ${summarizeUndo(plan)}`];
    for (const s of plan.steps) {
        if (s.kind === "delete") lines.push(`- delete ${keyText(s.key)} (it did not exist before)`);
        else if (s.kind === "reinsert") {
            lines.push(`+ reinsert ${keyText(s.key)}`);
            for (const c of header.columns) if (!header.key.includes(c)) lines.push(`    ${c}: ${show(s.before![c])}`);
        } else {
            lines.push(`~ restore ${keyText(s.key)}`);
            for (const c of header.columns) if (s.current![c] !== s.before![c]) lines.push(`    ${c}: ${show(s.current![c])} → ${show(s.before![c])}`);
        }
    }
    return lines.join("\n") + "\n";
}

export function summarizeUndo(plan: UndoPlan): string {
    const n = (kind: UndoStep["kind"]) => plan.steps.filter((s) => s.kind === kind).length;
    return (
        `undo on ${displayTable(plan.artifact.header.table)}: ${n("delete")} to delete, ${n("restore")} to restore, ` +
        (n("reinsert") > 0 ? `${n("reinsert")} to reinsert, ` : "") +
        `${plan.alreadyAsBefore} already as before` + (plan.drifted > 0 ? `, ${plan.drifted} changed since the apply` : "")
    );
}

export interface UndoOutcome {
    plan: UndoPlan;
    deleted: number;
    restored: number;
    artifact?: string;
}

/** The undo was rolled back, nothing changed (code UNDO_REFUSED, exit 3). */
export class UndoRefused extends RefusedError {
    constructor(message: string, options: ErrorOptions = {}) {
        super(message, { ...options, code: "UNDO_REFUSED" });
    }
}

/** Applies the undo in one transaction; refuses (changing nothing) when any row drifted. */
export async function applyUndo(client: Client, artifactPath: string, artifactFile: string, lockTimeoutMs: number): Promise<UndoOutcome> {
    const artifact = readArtifact(artifactPath);
    const { header } = artifact;
    const { target, keyColumns } = targetOf(header);
    await client.query("begin isolation level read committed");
    let writer: ArtifactWriter | undefined;
    try {
        await client.query("select pg_catalog.set_config('lock_timeout', $1, true)", [`${lockTimeoutMs}ms`]);
        const plan = await planUndo(client, artifact, true);
        if (plan.drifted > 0) {
            throw new UndoRefused(
                `refusing to undo: ${plan.drifted} row(s) of ${displayTable(header.table)} (key ${header.key.join(", ")}) changed since the apply; ` +
                    `nothing was changed. Compare them with the artifact by hand.`,
            );
        }
        if (plan.steps.length === 0) {
            await client.query("rollback");
            return { plan, deleted: 0, restored: 0 };
        }
        writer = ArtifactWriter.create(artifactFile, { ...header, made: "undo", createdAt: new Date().toISOString() });
        writer.append(plan.steps.map((s) => ({ op: "before" as const, key: s.key, row: s.current })));
        const deletes = plan.steps.filter((s) => s.kind === "delete");
        const restores = plan.steps.filter((s) => s.kind !== "delete");
        const deleted = await deleteRows(client, target, keyColumns, deletes.map((s) => s.key));
        const written = await upsertRows(client, target, restores.map((s) => s.before!), header.columns);
        const asPlanned = restores.every((s) => written.get(JSON.stringify(s.key)) === (s.kind === "reinsert"));
        if (deleted !== deletes.length || written.size !== restores.length || !asPlanned) {
            throw new UndoRefused(`undo of ${displayTable(header.table)} touched other rows than planned; rolled back, nothing changed`);
        }
        await checkConstraintsNow(client);
        const after = await fetchRowsByKey(client, header.table, header.columns, keyColumns, plan.steps.map((s) => s.key));
        const afterById = new Map(after.map((r) => [keyId(r, header.key), r]));
        writer.append(plan.steps.map((s) => ({ op: "after" as const, key: s.key, row: afterById.get(JSON.stringify(s.key)) ?? null })));
        await client.query("commit");
        writer.append([{ op: "committed", at: new Date().toISOString() }]);
        return { plan, deleted, restored: restores.length, artifact: path.resolve(artifactFile) };
    } catch (err) {
        await client.query("rollback").catch(() => undefined);
        if (err instanceof UndoRefused) throw err;
        throw new UndoRefused(`undo of ${displayTable(header.table)} rolled back, nothing changed: ${describeWriteError(err, header.table)}`, { cause: err });
    } finally {
        writer?.close();
    }
}

export interface RecoverUndoOptions {
    artifactPath: string;
    liveUrl: string;
    apply: boolean;
    artifactsDir: string;
    lockTimeoutMs?: number;
}

export interface RecoverUndoResult {
    /** With values (data): for the terminal only. */
    planText: string;
    summary: string;
    outcome?: UndoOutcome;
    audit?: string;
}

/** Dry run (the plan) or apply; refuses an artifact made against another database than LIVE_DB_URL's. */
export async function recoverUndo(opts: RecoverUndoOptions): Promise<RecoverUndoResult> {
    const artifact = readArtifact(opts.artifactPath);
    const liveName = describe(parseConnectionString(opts.liveUrl, "LIVE_DB_URL"));
    if (artifact.header.live !== liveName) {
        throw new RefusedError(
            `refusing: ${opts.artifactPath} was made against ${artifact.header.live}, but LIVE_DB_URL points at ${liveName}`,
        );
    }
    const client = await connect(opts.liveUrl, "live database (LIVE_DB_URL)");
    try {
        await pinOutputSettings(client);
        if (!opts.apply) {
            await client.query("begin read only");
            try {
                const plan = await planUndo(client, artifact, false);
                return { planText: formatUndoPlan(plan), summary: summarizeUndo(plan) };
            } finally {
                await client.query("rollback").catch(() => undefined);
            }
        }
        const { table } = artifact.header;
        const file = path.join(opts.artifactsDir, artifactName(`before-undo-${table.schema}.${table.name}`, "jsonl"));
        try {
            const outcome = await applyUndo(client, opts.artifactPath, file, opts.lockTimeoutMs ?? 10_000);
            const audit = writeAudit(opts.artifactsDir, {
                action: "recover undo",
                live: liveName,
                table: displayTable(table),
                deleted: outcome.deleted,
                updated: outcome.restored,
                beforeImage: outcome.artifact ?? "none: every row was already as before, nothing changed",
                // The undo's source is the artifact: its checksum identifies exactly what was put back.
                backup: { path: path.resolve(opts.artifactPath), sha256: { [path.resolve(opts.artifactPath)]: await sha256File(opts.artifactPath) } },
                outcome: "committed",
            });
            return { planText: formatUndoPlan(outcome.plan), summary: summarizeUndo(outcome.plan), outcome, audit };
        } catch (err) {
            writeAudit(opts.artifactsDir, {
                action: "recover undo",
                live: liveName,
                table: displayTable(table),
                deleted: 0,
                updated: 0,
                beforeImage: path.resolve(opts.artifactPath),
                outcome: "rolled back",
                error: (err as Error).message,
            });
            throw err;
        }
    } finally {
        await client.end().catch(() => undefined);
    }
}
