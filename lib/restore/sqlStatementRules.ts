// Which SQL statements a backup may run, decided on PostgreSQL's own parse tree (libpg-query, the
// server's grammar compiled to WebAssembly) by node type, never by text: `drop /* x */ database`,
// a statement split over lines or written in lower case is still a DropdbStmt.
// Refused everywhere: statements about databases, the server's configuration, shared libraries,
// server-side files and programs, tablespaces. Refused outside the roles file: role changes, which are
// cluster-wide and would rewrite the source's roles when the target shares its server.
// A statement the parser rejects is refused too: what we cannot read, we do not run.
import { parse } from "libpg-query";
import { isLexerSafeEncoding } from "./psqlMetaRules";
import { MAX_STATEMENT_CHARS, type PsqlStatement } from "./psqlLexer";
import { statementExcerpt } from "./sqlExcerpt";
import { isLiteralInsert } from "./sqlLiteralInsert";

export interface StatementFinding {
    line: number;
    reason: string;
    excerpt: string;
}

export interface StatementVerdict {
    findings: StatementFinding[];
    /** COPY … FROM STDIN statements: psql reads that many data blocks after the statement's line. */
    copyFromStdin: number;
    /** The value the statement gives standard_conforming_strings, which psql lexes the next lines with. */
    standardConformingStrings?: boolean;
}

export interface StatementContext {
    /** The file is the roles file (roles.sql of a `supabase db dump` trio): role statements are its job. */
    allowRoleStatements: boolean;
    standardConformingStrings: boolean;
}

// libpg-query returns plain JSON: { NodeType: { field: … } }.
type Json = Record<string, unknown>;

const DATABASE_LEVEL = "changes a database as a whole, not objects inside the target database";
const ALWAYS_REFUSED = new Map<string, string>([
    ["CreatedbStmt", "CREATE DATABASE creates another database"],
    ["DropdbStmt", "DROP DATABASE drops a whole database"],
    ["AlterDatabaseStmt", `ALTER DATABASE ${DATABASE_LEVEL}`],
    ["AlterDatabaseSetStmt", `ALTER DATABASE … SET ${DATABASE_LEVEL}`],
    ["AlterDatabaseRefreshCollStmt", `ALTER DATABASE … REFRESH COLLATION VERSION ${DATABASE_LEVEL}`],
    ["AlterSystemStmt", "ALTER SYSTEM rewrites the server's configuration"],
    ["LoadStmt", "LOAD loads a shared library into the server"],
    ["CreateTableSpaceStmt", "CREATE TABLESPACE creates a cluster-wide tablespace in the server's file system"],
    ["DropTableSpaceStmt", "DROP TABLESPACE drops a cluster-wide tablespace"],
    ["AlterTableSpaceOptionsStmt", "ALTER TABLESPACE changes a cluster-wide tablespace"],
]);

const ROLE_STATEMENTS = new Map<string, (node: Json) => string>([
    ["CreateRoleStmt", (n) => (n.stmt_type === "ROLESTMT_USER" ? "CREATE USER" : n.stmt_type === "ROLESTMT_GROUP" ? "CREATE GROUP" : "CREATE ROLE")],
    ["AlterRoleStmt", () => "ALTER ROLE"],
    ["AlterRoleSetStmt", () => "ALTER ROLE … SET"],
    ["DropRoleStmt", () => "DROP ROLE"],
    ["GrantRoleStmt", (n) => (n.is_grant ? "GRANT role TO role" : "REVOKE role FROM role")],
    ["ReassignOwnedStmt", () => "REASSIGN OWNED"],
]);

// Statements about an object of some type: refused when the object is a database, tablespace or role.
const OBJECT_TYPE_FIELD = new Map<string, [field: string, verb: string]>([
    ["AlterOwnerStmt", ["objectType", "ALTER … OWNER"]],
    ["RenameStmt", ["renameType", "ALTER … RENAME"]],
    ["GrantStmt", ["objtype", "GRANT/REVOKE … ON"]],
    ["CommentStmt", ["objtype", "COMMENT ON"]],
    ["SecLabelStmt", ["objtype", "SECURITY LABEL ON"]],
]);

const LEXING_SETTINGS = new Set(["standard_conforming_strings", "client_encoding"]);

function refusals(type: string, node: Json, ctx: StatementContext): string[] {
    const always = ALWAYS_REFUSED.get(type);
    if (always) return [always];
    const roleLabel = ROLE_STATEMENTS.get(type);
    if (roleLabel) return ctx.allowRoleStatements ? [] : [`${roleLabel(node)} changes a cluster-wide role (only roles.sql may)`];
    const objectField = OBJECT_TYPE_FIELD.get(type);
    if (objectField) {
        const [field, verb] = objectField;
        const objectType = node[field];
        if (objectType === "OBJECT_DATABASE") return [`${verb} DATABASE ${DATABASE_LEVEL}`];
        if (objectType === "OBJECT_TABLESPACE") return [`${verb} TABLESPACE changes a cluster-wide tablespace`];
        if (objectType === "OBJECT_ROLE" && !ctx.allowRoleStatements) return [`${verb} ROLE changes a cluster-wide role (only roles.sql may)`];
        return [];
    }
    if (type === "CopyStmt") {
        if (node.is_program) return ["COPY … PROGRAM runs a shell command on the database server"];
        if (typeof node.filename === "string") return ["COPY with a file name reads or writes the database server's files"];
        return [];
    }
    if (type === "VariableSetStmt") return settingRefusals(node);
    return [];
}

/** SET of a setting psql lexes the script with. */
function settingRefusals(node: Json): string[] {
    if (node.kind !== "VAR_SET_VALUE") return []; // RESET / DEFAULT: back to the defaults (on, connection encoding)
    const value = constantText((node.args as Json[] | undefined)?.[0]);
    if (node.name === "standard_conforming_strings" && value !== undefined && !isOn(value)) {
        return ["SET standard_conforming_strings = off makes psql read backslashes in strings differently (pg_dump sets it on)"];
    }
    if (node.name === "client_encoding" && value !== undefined && !isLexerSafeEncoding(value)) {
        return [`SET client_encoding = ${value} makes psql read the rest of the script differently (not an ASCII-safe encoding)`];
    }
    return [];
}

function standardConformingStringsAfter(node: Json): boolean | undefined {
    if (node.name !== "standard_conforming_strings") return undefined;
    if (node.kind !== "VAR_SET_VALUE") return true;
    const value = constantText((node.args as Json[] | undefined)?.[0]);
    return value === undefined ? undefined : isOn(value);
}

function isOn(value: string): boolean {
    return ["on", "true", "yes", "1", "t", "y"].includes(value.toLowerCase());
}

/** The text of a constant argument (string, number or boolean), or undefined for anything else. */
function constantText(arg: Json | undefined): string | undefined {
    const c = arg?.A_Const as Json | undefined;
    if (!c) return undefined;
    const sval = (c.sval as Json | undefined)?.sval;
    if (typeof sval === "string") return sval;
    if (c.ival !== undefined) return String((c.ival as Json).ival ?? 0);
    if (c.boolval !== undefined) return (c.boolval as Json).boolval ? "true" : "false";
    return undefined;
}

/** set_config() calls on a setting psql lexes with (or on a name we cannot read), anywhere in the tree. */
function setConfigRefusals(tree: unknown): string[] {
    const found: string[] = [];
    const walk = (node: unknown): void => {
        if (Array.isArray(node)) {
            for (const item of node) walk(item);
            return;
        }
        if (!node || typeof node !== "object") return;
        const call = (node as Json).FuncCall as Json | undefined;
        if (call) {
            const names = (call.funcname as Json[] | undefined) ?? [];
            const last = (names[names.length - 1]?.String as Json | undefined)?.sval;
            if (typeof last === "string" && last.toLowerCase() === "set_config") {
                const first = (call.args as Json[] | undefined)?.[0];
                const setting = first?.A_Const ? constantText(first)?.toLowerCase() : undefined;
                if (setting === undefined) found.push("set_config() with a computed setting name could change how psql reads the script");
                else if (LEXING_SETTINGS.has(setting)) found.push(`set_config('${setting}', …) changes how psql reads the rest of the script`);
            }
        }
        for (const value of Object.values(node)) walk(value);
    };
    walk(tree);
    return found;
}

/** Error text without the value the parser quotes when that value is not a plain word (it may be row data). */
function parserMessage(message: string): string {
    return message.replace(/ at or near "(.*)"$/s, (whole, token: string) => (/^[A-Za-z_][A-Za-z0-9_$]*$|^[^\w\s'"$]$/.test(token) ? whole : ""));
}

/** The line within the statement at a byte offset (libpg-query counts UTF-8 bytes). */
function lineAt(stmt: PsqlStatement, byteOffset: number | undefined): number {
    if (!byteOffset || byteOffset <= 0) return stmt.line;
    const before = Buffer.from(stmt.text, "utf8").subarray(0, byteOffset).toString("utf8");
    let newlines = 0;
    for (let i = before.indexOf("\n"); i >= 0; i = before.indexOf("\n", i + 1)) newlines++;
    return stmt.line + newlines;
}

function sliceBytes(text: string, start: number, length: number | undefined): string {
    const bytes = Buffer.from(text, "utf8");
    return bytes.subarray(start, length ? start + length : undefined).toString("utf8");
}

const COPY_FROM_STDIN_TEXT = /^COPY\b[\s\S]*\bFROM\s+STDIN\b/i;

export async function checkStatement(stmt: PsqlStatement, ctx: StatementContext): Promise<StatementVerdict> {
    if (stmt.truncated) {
        return {
            findings: [{ line: stmt.line, reason: `statement longer than ${MAX_STATEMENT_CHARS / 2 ** 20} Mi characters: too long to check`, excerpt: "" }],
            copyFromStdin: 0,
        };
    }
    if (ctx.standardConformingStrings && (await isLiteralInsert(stmt.text))) return { findings: [], copyFromStdin: 0 };

    let tree: { stmts?: { stmt: Json; stmt_location?: number; stmt_len?: number }[] };
    try {
        tree = await parse(stmt.text);
    } catch (err) {
        const e = err as { message?: string; sqlDetails?: { cursorPosition?: number } };
        return {
            findings: [{
                line: lineAt(stmt, e.sqlDetails?.cursorPosition),
                reason:
                    `cannot be parsed as PostgreSQL 17 SQL: ${parserMessage(e.message ?? String(err))}` +
                    // libpg-query always reads strings with standard_conforming_strings on.
                    (ctx.standardConformingStrings ? "" : " (parsed with standard_conforming_strings on; the script turned it off)"),
                excerpt: statementExcerpt(stmt.text),
            }],
            // Keep following psql: an unreadable COPY … FROM STDIN still has its data lines after it.
            copyFromStdin: COPY_FROM_STDIN_TEXT.test(stmt.text) ? 1 : 0,
        };
    }

    const verdict: StatementVerdict = { findings: [], copyFromStdin: 0 };
    const stmts = tree.stmts ?? [];
    for (const raw of stmts) {
        const [type, node] = Object.entries(raw.stmt)[0] as [string, Json];
        if (type === "CopyStmt" && node.is_from && !node.is_program && node.filename === undefined) verdict.copyFromStdin++;
        if (type === "VariableSetStmt") {
            const on = standardConformingStringsAfter(node);
            if (on !== undefined) verdict.standardConformingStrings = on;
        }
        const reasons = [...refusals(type, node, ctx), ...setConfigRefusals(node)];
        if (reasons.length === 0) continue;
        const offset = raw.stmt_location ?? 0;
        const text = stmts.length > 1 ? sliceBytes(stmt.text, offset, raw.stmt_len) : stmt.text;
        const line = stmts.length > 1 ? lineAt(stmt, offset + (text.length - text.trimStart().length)) : stmt.line;
        for (const reason of reasons) verdict.findings.push({ line, reason, excerpt: statementExcerpt(text.trim()) });
    }
    return verdict;
}
