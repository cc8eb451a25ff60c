// The Supabase CLI's migration history table, filled with the statements that built the demo
// schema: restores must carry it over, or `supabase db push` would re-run every migration.
import { FUNCTIONS_SQL, TRIGGERS_SQL, VIEWS_SQL } from "./programmability";
import { GRANTS_SQL, POLICY_STATEMENTS } from "./security";
import { PUBLIC_TABLES } from "./tables";

export const MIGRATIONS_TABLE_SQL = `
create schema if not exists supabase_migrations;
create table supabase_migrations.schema_migrations (
    version text not null primary key,
    name text,
    statements text[]
);
`;

export interface DemoMigration {
    version: string;
    name: string;
    statements: string[];
}

function tableStatements(version: string): string[] {
    return PUBLIC_TABLES.filter((t) => t.migration === version).flatMap((t) => [t.create.trim(), t.constraints.trim()]);
}

export const DEMO_MIGRATIONS: readonly DemoMigration[] = [
    { version: "20240101000000", name: "create_profiles", statements: tableStatements("20240101000000") },
    { version: "20240108000000", name: "create_tasks", statements: tableStatements("20240108000000") },
    { version: "20240115000000", name: "create_documents_and_notifications", statements: tableStatements("20240115000000") },
    { version: "20240201000000", name: "create_lms", statements: tableStatements("20240201000000") },
    { version: "20240215000000", name: "functions_and_triggers", statements: [FUNCTIONS_SQL.trim(), TRIGGERS_SQL.trim()] },
    { version: "20240301000000", name: "row_level_security", statements: [...POLICY_STATEMENTS, GRANTS_SQL.trim()] },
    { version: "20240315000000", name: "course_progress_summary", statements: [VIEWS_SQL.trim()] },
];
