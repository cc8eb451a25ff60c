// Applies migrations to the restored target the way `supabase db push` does (supabase/cli
// apps/cli-go/pkg/migration/apply.go, file.go, history.go): the history table is created if missing
// (schema, table, the statements and name columns), then for each migration RESET ALL, its statements
// in ONE transaction together with the history row (version, name, statements), committed before the
// next starts. A failing migration is rolled back whole and named with the statement number; the ones
// before it stay applied and recorded, so a retry continues after them.
//
// Unlike the CLI, a migration with its own transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT …)
// is refused before anything runs: inside our transaction a COMMIT would make the migration half
// applied and its history row a lie.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "libpg-query";
import type { Client } from "pg";
import { pgErrorText } from "../redact";
import { splitStatements, type MigrationFile } from "./migrationsDir";

export interface PreparedMigration extends MigrationFile {
    statements: string[];
}

export class MigrationFailed extends Error {
    constructor(
        message: string,
        readonly migration: MigrationFile,
        readonly applied: string[],
    ) {
        super(message);
    }
}

const CREATE_HISTORY = [
    "set local lock_timeout = '4s'",
    "create schema if not exists supabase_migrations",
    "create table if not exists supabase_migrations.schema_migrations (version text not null primary key)",
    "alter table supabase_migrations.schema_migrations add column if not exists statements text[]",
    "alter table supabase_migrations.schema_migrations add column if not exists name text",
];

/** Reads and splits every file; throws, naming the file, on transaction control. */
export async function prepareMigrations(files: MigrationFile[]): Promise<PreparedMigration[]> {
    const out: PreparedMigration[] = [];
    for (const m of files) {
        const statements = splitStatements(fs.readFileSync(m.file, "utf8"));
        for (const [i, stmt] of statements.entries()) {
            if (await isTransactionControl(stmt)) {
                throw new Error(
                    `migration ${path.basename(m.file)} statement ${i + 1} is transaction control (${stmt.split(/\s+/)[0].toUpperCase()}): ` +
                        `each migration runs in one transaction of its own, so remove BEGIN/COMMIT from the file`,
                );
            }
        }
        out.push({ ...m, statements });
    }
    return out;
}

async function isTransactionControl(stmt: string): Promise<boolean> {
    try {
        const tree = (await parse(stmt)) as { stmts?: { stmt: Record<string, unknown> }[] };
        return (tree.stmts ?? []).some((s) => "TransactionStmt" in s.stmt);
    } catch {
        // Not parseable here (a comment-only token, newer syntax): the server judges it when it runs.
        return false;
    }
}

export async function readTargetHistory(client: Client): Promise<{ version: string; name: string }[] | undefined> {
    const exists = await client.query("select pg_catalog.to_regclass('supabase_migrations.schema_migrations') is not null as ok");
    if (!exists.rows[0].ok) return undefined;
    const cols = await client.query<{ attname: string }>(
        "select attname from pg_catalog.pg_attribute where attrelid = 'supabase_migrations.schema_migrations'::regclass and attnum > 0 and not attisdropped",
    );
    const hasName = cols.rows.some((c) => c.attname === "name");
    const r = await client.query<{ version: string; name: string }>(
        `select version, ${hasName ? "coalesce(name, '')" : "''"} as name from supabase_migrations.schema_migrations order by version`,
    );
    return r.rows;
}

export async function ensureHistoryTable(client: Client): Promise<void> {
    await inTransaction(client, async () => {
        for (const sql of CREATE_HISTORY) await client.query(sql);
    });
}

/**
 * Records migrations as applied without running them (what `supabase migration repair --status
 * applied` writes): for a backup without a history, the migrations it is known to contain.
 */
export async function recordApplied(client: Client, migrations: PreparedMigration[]): Promise<void> {
    await inTransaction(client, async () => {
        for (const m of migrations) {
            await client.query(
                "insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3) " +
                    "on conflict (version) do update set name = excluded.name, statements = excluded.statements",
                [m.version, m.name, m.statements],
            );
        }
    });
}

export async function applyMigrations(client: Client, migrations: PreparedMigration[], progress: (m: string) => void = () => undefined): Promise<string[]> {
    const applied: string[] = [];
    for (const m of migrations) {
        const file = path.basename(m.file);
        progress(`applying migration ${file} (${m.statements.length} statement(s))`);
        // A previous migration's plain SET (search_path, role) must not leak into this one.
        await client.query("reset all");
        let at = 0;
        try {
            await inTransaction(client, async () => {
                for (const [i, stmt] of m.statements.entries()) {
                    at = i + 1;
                    await client.query(stmt);
                }
                at = 0;
                await client.query("insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)", [m.version, m.name, m.statements]);
            });
        } catch (err) {
            const where = at > 0 ? `statement ${at} of ${m.statements.length}` : "recording it in supabase_migrations.schema_migrations";
            throw new MigrationFailed(
                `migration ${file} failed at ${where} and was rolled back (nothing of it is applied): ${pgErrorText(err)}` +
                    (applied.length > 0 ? `; applied and committed before it: ${applied.join(", ")}` : ""),
                m,
                applied,
            );
        }
        applied.push(m.version);
    }
    return applied;
}

async function inTransaction(client: Client, body: () => Promise<void>): Promise<void> {
    await client.query("begin");
    try {
        await body();
        await client.query("commit");
    } catch (err) {
        await client.query("rollback").catch(() => undefined);
        throw err;
    }
}
