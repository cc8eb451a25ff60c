// Which psql meta-commands a backup script may contain. pg_dump writes only \connect (with --create,
// refused: it leaves the target database) and, since 15.14 / 16.10 / 17.6, \restrict and \unrestrict.
// A few harmless output and variable commands are allowed as well; everything else — shell escapes,
// file reads and writes, \connect, conditionals, commands unknown to us — is refused.
import type { PsqlMetaCommand } from "./psqlLexer";

const ALLOWED = new Set(["restrict", "unrestrict", "set", "unset", "echo", "encoding", "pset", "."]);
const ALLOWED_LIST = "\\restrict, \\unrestrict, \\set, \\unset, \\echo, \\encoding, \\pset";

const REFUSED = new Map<string, string>(Object.entries({
    c: "leaves the target database",
    connect: "leaves the target database",
    "!": "runs a shell command",
    o: "sends query output to a file or a shell command",
    out: "sends query output to a file or a shell command",
    w: "writes the query buffer to a file or a shell command",
    write: "writes the query buffer to a file or a shell command",
    i: "runs another file",
    include: "runs another file",
    ir: "runs another file",
    include_relative: "runs another file",
    copy: "reads or writes files on the machine running psql",
    setenv: "changes psql's environment",
    getenv: "reads psql's environment",
    cd: "changes psql's working directory",
    gexec: "runs query results as SQL",
    gset: "sets psql variables from query results",
    if: "makes parts of the script conditional",
    elif: "makes parts of the script conditional",
    else: "makes parts of the script conditional",
    endif: "makes parts of the script conditional",
}));

// Client-only encodings whose multibyte characters can contain the bytes of \ ' " $: psql lexes the
// script in the client encoding, so with one of these it would see quotes and backslashes elsewhere.
// Names as PostgreSQL normalises them (lower case, letters and digits only).
const LEXER_UNSAFE_ENCODINGS = new Set([
    "sjis", "shiftjis", "mskanji", "shiftjis2004", "win932", "windows932",
    "big5", "win950", "windows950",
    "gbk", "win936", "windows936", "cp936",
    "uhc", "win949", "windows949",
    "gb18030", "johab",
]);

/** False for client encodings in which psql would lex the script differently from UTF-8. */
export function isLexerSafeEncoding(name: string): boolean {
    return !LEXER_UNSAFE_ENCODINGS.has(name.toLowerCase().replace(/[^a-z0-9]/g, ""));
}

// psql's own variables (ON_ERROR_STOP, SINGLELINE, AUTOCOMMIT, ECHO_HIDDEN …) are all upper case;
// setting one changes how psql runs or even splits the rest of the script.
function isPsqlSpecialVariable(name: string): boolean {
    return /^[A-Z0-9_]+$/.test(name) && /[A-Z]/.test(name);
}

/** Why psql must not run this meta-command from a backup, or undefined when it is harmless. */
export function metaCommandProblem(cmd: PsqlMetaCommand): string | undefined {
    const name = cmd.name;
    const shown = `\\${name}`;
    if (!ALLOWED.has(name)) {
        if (name === "") return "a lone backslash is not a psql command a backup needs";
        const known = REFUSED.get(name);
        if (known) return `${shown} ${known}`;
        if (name.startsWith("g")) return `${shown} runs the query buffer, possibly into a file or a shell command`;
        if (name.startsWith("lo_")) return `${shown} moves large objects between the server and local files`;
        return `${shown} is not a meta-command a backup needs (allowed: ${ALLOWED_LIST})`;
    }
    if (cmd.hasBackquote) return `${shown} with a backquote: psql runs the quoted text as a shell command`;
    if (cmd.interpolates) return `${shown} substitutes a psql variable into its arguments: the scan cannot see the value`;
    if ((name === "set" || name === "unset") && cmd.args[0] !== undefined && isPsqlSpecialVariable(cmd.args[0])) {
        return `${shown} ${cmd.args[0]} changes how psql runs the script (psql's own upper-case variables are refused)`;
    }
    if (name === "encoding" && cmd.args[0] !== undefined && !isLexerSafeEncoding(cmd.args[0])) {
        return `${shown} ${cmd.args[0]} makes psql read the rest of the script differently (not an ASCII-safe encoding)`;
    }
    return undefined;
}
