// recover rows / undo against real PostgreSQL: a Supabase-shaped live database (test/helpers/
// supabaseFixture.ts), a real pg_dump backup of it, and the temporary copy on a throw-away cluster of
// the tool's own. Live is compared through a content fingerprint of the table before and after.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdent, withClient } from "../../lib/postgres/connection";
import { startLocalCluster, type LocalCluster } from "../../lib/postgres/localCluster";
import { runPgTool, uriWithoutPassword } from "../../lib/postgres/tools";
import { readArtifact } from "../../lib/recover/beforeImage";
import { readKeysFile } from "../../lib/recover/keysFile";
import { recoverRows, type RecoverRowsOptions } from "../../lib/recover/rows";
import { recoverUndo } from "../../lib/recover/undo";
import { createSupabaseFixture } from "../helpers/supabaseFixture";

let cluster: LocalCluster;
let liveUrl: string;
let work: string;
let backup: string;
let plainBackup: string;

const TASKS = { schema: "public", name: "tasks" };

/** md5 of every row of the table in key order, under fixed output settings. */
async function fingerprint(table: string, key = "id"): Promise<string> {
    return withClient(liveUrl, "live", async (c) => {
        await c.query("set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set extra_float_digits = 3");
        const r = await c.query<{ h: string }>(`select md5(coalesce(string_agg(t::text, '|' order by ${quoteIdent(key)}), '')) as h from ${table} t`);
        return r.rows[0].h;
    });
}

async function sql(text: string, params: unknown[] = []): Promise<{ rows: Record<string, unknown>[] }> {
    return withClient(liveUrl, "live", (c) => c.query(text, params));
}

function keysCsv(name: string, header: string, values: (string | number)[]): string {
    const file = path.join(work, name);
    fs.writeFileSync(file, [header, ...values.map(String)].join("\n") + "\n");
    return file;
}

function options(extra: Partial<RecoverRowsOptions>): RecoverRowsOptions {
    return {
        backupPath: backup,
        table: TASKS,
        key: ["id"],
        selection: { kind: "where", predicate: "id <= 6" },
        liveUrl,
        apply: false,
        artifactsDir: path.join(work, "artifacts"),
        ...extra,
    };
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "recover-rows-test-"));
    cluster = await startLocalCluster();
    const fixture = await createSupabaseFixture(cluster.url(), "app", { users: 6 });
    liveUrl = fixture.url;
    // A table whose later unique index is not unique in the backup, for the refusal.
    await sql("create table public.notes (id int primary key, code text not null, body text); insert into public.notes select g, 'c' || (g % 3), 'n' || g from generate_series(1, 9) g");
    backup = path.join(work, "app.dump");
    plainBackup = path.join(work, "app.sql");
    for (const [file, format] of [[backup, "-Fc"], [plainBackup, "-Fp"]]) {
        const r = await runPgTool("pg_dump", [format, "-f", file, `--dbname=${uriWithoutPassword(liveUrl)}`], { connection: liveUrl });
        expect(r.exitCode).toBe(0);
    }
});

afterAll(async () => {
    await cluster?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("recover rows (custom-format backup)", () => {
    let original: string;
    let damaged: string;

    it("dry run prints the diff (inserts and per-column updates) and changes nothing", async () => {
        original = await fingerprint("public.tasks");
        await sql("delete from public.tasks where id in (2, 4, 5)");
        await sql("update public.tasks set title = 'wrong title', done = not done where id = 3");
        await sql("update public.tasks set due = date '2031-01-01' where id = 6");
        // Outside the selection: must stay as it is after the apply.
        await sql("update public.tasks set title = 'changed later, keep' where id = 10");
        damaged = await fingerprint("public.tasks");

        const r = await recoverRows(options({}));
        expect(r.diff.changes.filter((c) => c.kind === "insert").map((c) => c.key)).toEqual([["2"], ["4"], ["5"]]);
        const updates = r.diff.changes.filter((c) => c.kind === "update");
        expect(updates.map((c) => [c.key, c.changed])).toEqual([
            [["3"], ["title", "done"]],
            [["6"], ["due"]],
        ]);
        expect(r.diff.identical).toBe(1);
        expect(r.diffText).toContain(`title: "wrong title" → `);
        expect(r.diffText).toContain(`due: "2031-01-01" → `);
        expect(r.summary).toBe("public.tasks on (id): 3 to insert, 2 to update, 1 identical (changed columns: title 1, done 1, due 1)");
        expect(await fingerprint("public.tasks")).toBe(damaged);
        expect(fs.existsSync(path.join(work, "artifacts"))).toBe(false);
    });

    it("--apply restores the deleted and modified rows, leaves others untouched, and audits", async () => {
        const r = await recoverRows(options({ apply: true }));
        expect(r.applied).toMatchObject({ inserted: 3, updated: 2, stillDiffering: {} });
        const restoredSelection = await sql("select count(*)::int as n from public.tasks where id <= 6");
        expect(restoredSelection.rows[0].n).toBe(6);
        // Everything but row 10 (outside the selection) is as in the backup.
        expect((await sql("select title from public.tasks where id = 10")).rows[0].title).toBe("changed later, keep");
        const artifact = readArtifact(r.applied!.artifact!);
        expect(artifact.committed).toBe(true);
        expect(artifact.before.size).toBe(5);
        expect(artifact.before.get(JSON.stringify(["2"]))?.row).toBeNull();
        expect(artifact.before.get(JSON.stringify(["3"]))?.row?.title).toBe("wrong title");
        expect((fs.statSync(r.applied!.artifact!).mode & 0o777).toString(8)).toBe("600");
        const audit = JSON.parse(fs.readFileSync(r.audit!, "utf8"));
        expect(audit).toMatchObject({ action: "recover rows", table: "public.tasks", inserted: 3, updated: 2, outcome: "committed", beforeImage: r.applied!.artifact });
        expect(audit.who).toBeTruthy();
        expect(Object.values(audit.backup.sha256)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
        expect(JSON.stringify(audit)).not.toContain("wrong title");
        // Back to the backup except row 10's later change.
        await sql("update public.tasks set title = $1 where id = 10", [(await withBackupTitle(10))]);
        expect(await fingerprint("public.tasks")).toBe(original);
        await sql("update public.tasks set title = 'changed later, keep' where id = 10");
    });

    it("a second --apply finds everything identical and changes nothing", async () => {
        const before = await fingerprint("public.tasks");
        const r = await recoverRows(options({ apply: true }));
        expect(r.applied).toMatchObject({ inserted: 0, updated: 0 });
        expect(r.applied!.artifact).toBeUndefined();
        expect(r.diff.identical).toBe(6);
        expect(await fingerprint("public.tasks")).toBe(before);
    });

    it("undo is a dry run by default, then puts live back exactly as before the apply", async () => {
        await sql("delete from public.tasks where id in (7, 8)");
        await sql("update public.tasks set title = 'pre-apply' where id = 9");
        const beforeApply = await fingerprint("public.tasks");
        const keys = keysCsv("keys.csv", "id", [7, 8, 9]);
        const applied = await recoverRows(options({ selection: { kind: "keys", keys: readKeysFile(keys) }, apply: true }));
        expect(applied.applied).toMatchObject({ inserted: 2, updated: 1 });
        const afterApply = await fingerprint("public.tasks");
        expect(afterApply).not.toBe(beforeApply);

        const dry = await recoverUndo({ artifactPath: applied.applied!.artifact!, liveUrl, apply: false, artifactsDir: path.join(work, "artifacts") });
        expect(dry.summary).toBe("undo on public.tasks: 2 to delete, 1 to restore, 0 already as before");
        expect(dry.planText).toContain(`title: `);
        expect(await fingerprint("public.tasks")).toBe(afterApply);

        const undone = await recoverUndo({ artifactPath: applied.applied!.artifact!, liveUrl, apply: true, artifactsDir: path.join(work, "artifacts") });
        expect(undone.outcome).toMatchObject({ deleted: 2, restored: 1 });
        expect(await fingerprint("public.tasks")).toBe(beforeApply);
        // Undo again: everything is already as before.
        const again = await recoverUndo({ artifactPath: applied.applied!.artifact!, liveUrl, apply: true, artifactsDir: path.join(work, "artifacts") });
        expect(again.outcome).toMatchObject({ deleted: 0, restored: 0 });
        // The undo's own artifact redoes the apply.
        const redo = await recoverUndo({ artifactPath: undone.outcome!.artifact!, liveUrl, apply: true, artifactsDir: path.join(work, "artifacts") });
        expect(redo.summary).toBe("undo on public.tasks: 0 to delete, 1 to restore, 2 to reinsert, 0 already as before");
        expect(await fingerprint("public.tasks")).toBe(afterApply);
    });

    it("undo refuses, changing nothing, when a row changed since the apply", async () => {
        await sql("delete from public.tasks where id = 11");
        const applied = await recoverRows(options({ selection: { kind: "where", predicate: "id = 11" }, apply: true }));
        await sql("update public.tasks set title = 'edited after the apply' where id = 11");
        const before = await fingerprint("public.tasks");
        await expect(recoverUndo({ artifactPath: applied.applied!.artifact!, liveUrl, apply: true, artifactsDir: path.join(work, "artifacts") })).rejects.toThrow(
            /refusing to undo: 1 row\(s\) of public\.tasks \(key id\) changed since the apply/,
        );
        expect(await fingerprint("public.tasks")).toBe(before);
    });

    it("a foreign-key violation rolls everything back and names the constraint, not the values", async () => {
        // Task rows whose project is gone live: inserting them breaks tasks_project_id_fkey.
        const victim = (await sql("select id, project_id from public.tasks where id = 12")).rows[0];
        await sql("update public.tasks set title = 'fk batch' where id = 1");
        await sql("delete from public.projects where id = $1", [victim.project_id]); // cascades to its tasks
        const before = await fingerprint("public.tasks");
        const audits = () => fs.readdirSync(path.join(work, "artifacts")).filter((f) => f.startsWith("audit-"));
        const earlier = new Set(audits());
        const err = await recoverRows(options({ selection: { kind: "where", predicate: `id = 1 or project_id = ${Number(victim.project_id)}` }, apply: true })).catch((e: Error) => e);
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/rolled back, nothing changed: foreign key constraint "tasks_project_id_fkey" on public\.tasks would break \(SQLSTATE 23503\)/);
        expect((err as Error).message).not.toMatch(/Key \(|fk batch/);
        expect(await fingerprint("public.tasks")).toBe(before);
        expect((await sql("select title from public.tasks where id = 1")).rows[0].title).toBe("fk batch");
        const newest = audits().filter((f) => !earlier.has(f));
        expect(newest).toHaveLength(1);
        expect(JSON.parse(fs.readFileSync(path.join(work, "artifacts", newest[0]), "utf8"))).toMatchObject({ outcome: "rolled back", inserted: 0, updated: 0 });
    });

    it("refuses a key that is not unique in the backup", async () => {
        await sql("delete from public.notes where id > 3; create unique index notes_code on public.notes (code)");
        const before = await fingerprint("public.notes");
        await expect(
            recoverRows(options({ table: { schema: "public", name: "notes" }, key: ["code"], selection: { kind: "where", predicate: "true" }, apply: true })),
        ).rejects.toThrow(/refusing: the key \(code\) is not unique in the backup's public\.notes: 3 selected key value\(s\) occur in more than one row/);
        expect(await fingerprint("public.notes")).toBe(before);
    });

    it("refuses when the columns differ between backup and live, naming them", async () => {
        await sql("alter table public.notes add column extra text; alter table public.notes alter column body type varchar(40)");
        await expect(recoverRows(options({ table: { schema: "public", name: "notes" }, selection: { kind: "where", predicate: "true" } }))).rejects.toThrow(
            /columns of public\.notes differ between the backup and live \(only in live: extra; body: text in the backup, character varying\(40\) in live\)/,
        );
    });

    it("refuses a live table without a unique index on the key", async () => {
        await expect(recoverRows(options({ key: ["title"] }))).rejects.toThrow(/live public\.tasks has no unique constraint or unique index on exactly \(title\).*tasks_pkey \(id\)/);
    });

    it("refuses a --where that carries a second statement, before touching anything", async () => {
        await expect(recoverRows(options({ selection: { kind: "where", predicate: "true); drop table public.tasks; select (1" } }))).rejects.toThrow(
            /--where must be one expression; it makes 3 statements/,
        );
    });

    it("refuses a temporary server that is the live server", async () => {
        await expect(recoverRows(options({ tempAdminUrl: cluster.url() }))).rejects.toThrow(/refusing: LIVE_DB_URL \(.*\) is on the temporary server/);
        const left = await withClient(cluster.url(), "admin", (c) => c.query("select count(*)::int as n from pg_database where datname like 'recover_%'"));
        expect(left.rows[0].n).toBe(0);
    });
});

describe("recover rows (plain SQL backup, restored whole into the temporary database)", () => {
    it("diffs and applies the same way", async () => {
        await sql("delete from public.profiles where username is not null and id = (select id from public.profiles order by id limit 1)");
        const r = await recoverRows(options({ backupPath: plainBackup, table: { schema: "public", name: "profiles" }, selection: { kind: "where", predicate: "true" }, apply: true }));
        expect(r.applied).toMatchObject({ inserted: 1, updated: 0 });
        expect(r.notes.join("\n")).not.toContain(cluster.password);
        expect(r.diff.changes[0].backup.username).toBeTruthy();
    });
});

async function withBackupTitle(id: number): Promise<string> {
    // Read row `id` from a fresh restore of the dump's data for that table (pg_restore -a -t to stdout).
    const r = await runPgTool("pg_restore", ["-a", "-n", "public", "-t", "tasks", "-f", "-", backup], { keep: /^\d+\t/ });
    const line = r.matched.find((l) => l.startsWith(`${id}\t`));
    if (!line) throw new Error(`row ${id} not in the dump`);
    return line.split("\t")[3];
}

