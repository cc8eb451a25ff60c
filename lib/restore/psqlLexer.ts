// Splits a psql script the way psql itself does (src/fe_utils/psqlscan.l, src/bin/psql/psqlscanslash.l,
// the COPY loop of src/bin/psql/copy.c), so that what we call a statement or a meta-command is exactly
// what psql would send to the server or run itself:
// - psql reads a line at a time and lexes it as the server would: '…' strings (backslash escapes only
//   in E'…', or everywhere when standard_conforming_strings is off), "…" identifiers, $tag$…$tag$,
//   -- comments and nested /* */ comments;
// - a backslash outside all of those starts a meta-command wherever it stands on the line; its
//   arguments end at the end of the line or at the next unquoted backslash (`\\` returns to SQL);
// - `\;` and `\:` put a literal ; or : into the statement; `:name` is replaced by a psql variable;
// - a statement ends at a semicolon outside parentheses (and outside CREATE FUNCTION … BEGIN ATOMIC …
//   END); what is left at the end of the file is sent as well;
// - after a COPY … FROM STDIN statement, the lines after the statement's line are data, up to a line
//   that is exactly `\.`: psql never lexes them.
// The lexer only holds the statement being built; the reader below never holds COPY data.

/** A backslash command psql would run. */
export interface PsqlMetaCommand {
    kind: "meta";
    /** The name after the backslash ("c", "connect", "!", "set" …; "" for a lone backslash). */
    name: string;
    /** The arguments as psql splits them, quotes removed. */
    args: string[];
    /** From the backslash to the end of the command. */
    text: string;
    line: number;
    /** A backquote in the arguments: psql runs the quoted text as a shell command. */
    hasBackquote: boolean;
    /** An unquoted :name, :'name' or :"name" in the arguments: psql substitutes a variable there. */
    interpolates: boolean;
}

/** A query psql would send to the server (one or more statements when `\;` joins them). */
export interface PsqlStatement {
    kind: "statement";
    /** The query text; empty when `truncated`. */
    text: string;
    /** Line of the statement's first token. */
    line: number;
    /** The statement grew past MAX_STATEMENT_CHARS and was not kept. */
    truncated: boolean;
}

/** `:name` (or :'name', :"name") in SQL, naming a variable the script itself \set: psql re-lexes its value. */
export interface PsqlVariableUse {
    kind: "variable";
    name: string;
    line: number;
}

export type PsqlEvent = PsqlMetaCommand | PsqlStatement | PsqlVariableUse;

/** Longest statement or line kept for checking (V8 strings stop at ~512 Mi characters). */
export const MAX_STATEMENT_CHARS = 128 * 1024 * 1024;

const enum Mode {
    Sql,
    /** '…' with standard_conforming_strings on, and B'…', X'…', U&'…' always. */
    Quote,
    /** E'…', and '…' with standard_conforming_strings off: backslash escapes the next character. */
    EscapeQuote,
    DoubleQuote,
    Dollar,
    BlockComment,
}

// Commands whose argument is the whole rest of the line (psql's OT_WHOLE_LINE).
const WHOLE_LINE_COMMANDS = new Set(["!", "copy", "ef", "ev", "sf", "sv", "h", "help"]);
// The words psql remembers to recognise CREATE [OR REPLACE] FUNCTION|PROCEDURE (by first letter).
const FUNCTION_HEAD_WORDS = new Set(["create", "function", "procedure", "or", "replace"]);
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$/y;
const QUOTED_VARIABLE = /:(['"])([A-Za-z_0-9\u0080-\uffff]+)\1/y;
const VARIABLE_TEST = /:\{\?[A-Za-z_0-9\u0080-\uffff]+\}/y;

function isSpace(c: number): boolean {
    return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11;
}
function isDigit(c: number): boolean {
    return c >= 48 && c <= 57;
}
function isIdentStart(c: number): boolean {
    return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}
/** psql's variable_char, also the identifier continuation less `$`. */
function isVariableChar(c: number): boolean {
    return isIdentStart(c) || isDigit(c);
}
function isIdentCont(c: number): boolean {
    return isVariableChar(c) || c === 36;
}

export class PsqlLexer {
    /** psql reads this from the server before each line; the caller updates it after a SET. */
    standardConformingStrings = true;
    /** Lines consumed so far, SQL and COPY data alike. */
    lineNo = 0;
    /** Variables the script set with \set and did not \unset. */
    readonly scriptVariables = new Set<string>();

    private mode = Mode.Sql;
    private commentDepth = 0;
    private dollarTag = "";
    private parenDepth = 0;
    private beginDepth = 0;
    private identifierCount = 0;
    private readonly identifiers = ["", "", "", ""];

    private parts: string[] = [];
    private chars = 0;
    private truncated = false;
    private started = false;
    private startLine = 0;
    private segStart = 0;
    private line = "";
    private events: PsqlEvent[] = [];

    /** Lexes one line (without its newline); returns what psql would run because of it, in order. */
    pushLine(line: string): PsqlEvent[] {
        this.lineNo++;
        this.line = line;
        this.events = [];
        this.segStart = 0;
        const n = line.length;
        let i = 0;
        while (i < n) {
            switch (this.mode) {
                case Mode.Sql:
                    i = this.sqlToken(i);
                    break;
                case Mode.Quote:
                    i = this.endOfQuote(i, "'");
                    break;
                case Mode.DoubleQuote:
                    i = this.endOfQuote(i, '"');
                    break;
                case Mode.EscapeQuote:
                    i = this.endOfEscapeQuote(i);
                    break;
                case Mode.Dollar: {
                    const end = line.indexOf(this.dollarTag, i);
                    if (end < 0) i = n;
                    else {
                        i = end + this.dollarTag.length;
                        this.mode = Mode.Sql;
                    }
                    break;
                }
                case Mode.BlockComment:
                    i = this.endOfComment(i);
                    break;
            }
        }
        this.flush(n);
        if (this.started) this.append("\n");
        return this.events;
    }

    /** Counts a COPY data line that the reader skipped. */
    skipDataLine(): void {
        this.lineNo++;
    }

    /** At end of file psql sends whatever the query buffer holds. */
    end(): PsqlEvent[] {
        this.events = [];
        if (this.started) this.emitStatement();
        return this.events;
    }

    private sqlToken(i: number): number {
        const s = this.line;
        const c = s.charCodeAt(i);
        const next = s.charCodeAt(i + 1);
        if (isSpace(c)) return i + 1;
        if (c === 45 /* - */ && next === 45) return s.length; // -- comment: rest of line
        if (c === 47 /* / */ && next === 42 /* * */) {
            this.mode = Mode.BlockComment;
            this.commentDepth = 1;
            return i + 2;
        }
        if (c === 92 /* \ */) return this.backslash(i);
        this.markStart(i);
        switch (c) {
            case 39 /* ' */:
                this.mode = this.standardConformingStrings ? Mode.Quote : Mode.EscapeQuote;
                return i + 1;
            case 34 /* " */:
                this.mode = Mode.DoubleQuote;
                return i + 1;
            case 36 /* $ */: {
                DOLLAR_TAG.lastIndex = i;
                const m = DOLLAR_TAG.exec(s);
                if (!m) return i + 1;
                this.dollarTag = m[0];
                this.mode = Mode.Dollar;
                return i + m[0].length;
            }
            case 40 /* ( */:
                this.parenDepth++;
                return i + 1;
            case 41 /* ) */:
                if (this.parenDepth > 0) this.parenDepth--;
                return i + 1;
            case 59 /* ; */:
                if (this.parenDepth === 0 && this.beginDepth === 0) {
                    this.flush(i + 1);
                    this.emitStatement();
                    this.segStart = i + 1;
                }
                return i + 1;
            case 58 /* : */:
                return this.colon(i);
        }
        if (isDigit(c) || (c === 46 /* . */ && isDigit(next))) return this.number(i);
        if (isIdentStart(c)) return this.word(i);
        return i + 1;
    }

    private word(i: number): number {
        const s = this.line;
        const lower = s.charCodeAt(i) | 0x20;
        const next = s.charCodeAt(i + 1);
        if (next === 39 /* ' */) {
            if (lower === 101 /* e */) {
                this.mode = Mode.EscapeQuote;
                return i + 2;
            }
            if (lower === 98 /* b */ || lower === 120 /* x */) {
                this.mode = Mode.Quote; // bit and hex strings never take backslash escapes
                return i + 2;
            }
            if (lower === 110 /* n */) return i + 1; // N'…' is lexed as a plain '…' string
        }
        if (lower === 117 /* u */ && next === 38 /* & */) {
            const q = s.charCodeAt(i + 2);
            if (q === 39 || q === 34) {
                this.mode = q === 39 ? Mode.Quote : Mode.DoubleQuote; // U&'…' has no backslash-quote escape
                return i + 3;
            }
        }
        let j = i + 1;
        while (j < s.length && isIdentCont(s.charCodeAt(j))) j++;
        this.trackBeginAtomic(s.slice(i, j).toLowerCase());
        return j;
    }

    // psql's heuristic for `CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC … END`, whose
    // semicolons do not end the statement: the first identifiers of the statement are remembered.
    private trackBeginAtomic(word: string): void {
        if (this.identifierCount === 0) this.identifiers.fill("");
        if (FUNCTION_HEAD_WORDS.has(word) && this.identifierCount < 4) {
            this.identifiers[this.identifierCount] = word[0];
        }
        this.identifierCount++;
        const [a, b, c, d] = this.identifiers;
        const isFunction = a === "c" && (b === "f" || b === "p" || (b === "o" && c === "r" && (d === "f" || d === "p")));
        if (!isFunction || this.parenDepth !== 0) return;
        if (word === "begin") this.beginDepth++;
        else if (word === "case") {
            if (this.beginDepth >= 1) this.beginDepth++;
        } else if (word === "end" && this.beginDepth > 0) this.beginDepth--;
    }

    private number(i: number): number {
        const s = this.line;
        let j = i;
        while (isDigit(s.charCodeAt(j))) j++;
        if (s.charCodeAt(j) === 46 && s.charCodeAt(j + 1) !== 46) {
            j++;
            while (isDigit(s.charCodeAt(j))) j++;
        }
        const e = s.charCodeAt(j) | 0x20;
        if (e === 101) {
            const sign = s.charCodeAt(j + 1);
            const k = sign === 43 || sign === 45 ? j + 2 : j + 1;
            if (isDigit(s.charCodeAt(k))) {
                j = k;
                while (isDigit(s.charCodeAt(j))) j++;
            }
        }
        return j;
    }

    private colon(i: number): number {
        const s = this.line;
        const next = s.charCodeAt(i + 1);
        if (next === 58) return i + 2; // :: cast
        if (isVariableChar(next)) {
            let j = i + 1;
            while (j < s.length && isVariableChar(s.charCodeAt(j))) j++;
            this.useVariable(s.slice(i + 1, j));
            return j;
        }
        QUOTED_VARIABLE.lastIndex = i;
        const quoted = QUOTED_VARIABLE.exec(s);
        if (quoted) {
            this.useVariable(quoted[2]);
            return i + quoted[0].length;
        }
        VARIABLE_TEST.lastIndex = i;
        const test = VARIABLE_TEST.exec(s);
        return test ? i + test[0].length : i + 1;
    }

    private useVariable(name: string): void {
        if (this.scriptVariables.has(name)) this.events.push({ kind: "variable", name, line: this.lineNo });
    }

    private backslash(i: number): number {
        const s = this.line;
        const next = s.charCodeAt(i + 1);
        if (next === 59 || next === 58) {
            // \; and \: put the bare character into the query buffer without ending the statement.
            this.markStart(i);
            this.flush(i);
            this.append(s[i + 1]);
            this.segStart = i + 2;
            if (next === 59) this.identifierCount = 0;
            return i + 2;
        }
        this.flush(i);
        const end = this.metaCommand(i);
        this.segStart = end;
        return end;
    }

    private metaCommand(start: number): number {
        const s = this.line;
        const n = s.length;
        let j = start + 1;
        while (j < n && !isSpace(s.charCodeAt(j)) && s.charCodeAt(j) !== 92) j++;
        const name = s.slice(start + 1, j);
        const cmd: PsqlMetaCommand = {
            kind: "meta", name, args: [], text: "", line: this.lineNo, hasBackquote: false, interpolates: false,
        };
        if (WHOLE_LINE_COMMANDS.has(name)) {
            const rest = s.slice(j).trim();
            if (rest) cmd.args.push(rest);
            j = n;
        } else {
            j = this.arguments(j, cmd);
            if (s.charCodeAt(j) === 92 && s.charCodeAt(j + 1) === 92) j += 2; // `\\` ends the command
        }
        cmd.text = s.slice(start, j).trimEnd();
        if (name === "set" && cmd.args.length > 0) this.scriptVariables.add(cmd.args[0]);
        if (name === "unset" && cmd.args.length > 0) this.scriptVariables.delete(cmd.args[0]);
        this.events.push(cmd);
        return j;
    }

    /** Reads arguments until the end of the line or an unquoted backslash; returns where it stopped. */
    private arguments(j: number, cmd: PsqlMetaCommand): number {
        const s = this.line;
        const n = s.length;
        for (;;) {
            while (j < n && isSpace(s.charCodeAt(j))) j++;
            if (j >= n || s.charCodeAt(j) === 92) return j;
            let arg = "";
            while (j < n) {
                const c = s.charCodeAt(j);
                if (isSpace(c) || c === 92) break;
                if (c === 39 /* ' */) {
                    j++;
                    while (j < n) {
                        const q = s.charCodeAt(j);
                        if (q === 39) {
                            if (s.charCodeAt(j + 1) !== 39) break;
                            arg += "'";
                            j += 2;
                        } else if (q === 92 && j + 1 < n) {
                            arg += unescapeArgument(s[j + 1]);
                            j += 2;
                        } else {
                            arg += s[j++];
                        }
                    }
                    j++; // closing quote (an unterminated one ends at the end of the line)
                } else if (c === 96 /* ` */) {
                    cmd.hasBackquote = true;
                    const close = s.indexOf("`", j + 1);
                    arg += s.slice(j, close < 0 ? n : close + 1);
                    j = close < 0 ? n : close + 1;
                } else if (c === 34 /* " */) {
                    const close = s.indexOf('"', j + 1);
                    arg += s.slice(j, close < 0 ? n : close + 1);
                    j = close < 0 ? n : close + 1;
                } else if (c === 58 /* : */ && this.argumentVariable(j) > j) {
                    cmd.interpolates = true;
                    const end = this.argumentVariable(j);
                    arg += s.slice(j, end);
                    j = end;
                } else {
                    arg += s[j++];
                }
            }
            cmd.args.push(arg);
        }
    }

    /** End of a :name / :'name' / :"name" / :{?name} at j in meta-command arguments, or j if none. */
    private argumentVariable(j: number): number {
        const s = this.line;
        if (isVariableChar(s.charCodeAt(j + 1))) {
            let k = j + 1;
            while (k < s.length && isVariableChar(s.charCodeAt(k))) k++;
            return k;
        }
        QUOTED_VARIABLE.lastIndex = j;
        const quoted = QUOTED_VARIABLE.exec(s);
        if (quoted) return j + quoted[0].length;
        VARIABLE_TEST.lastIndex = j;
        const test = VARIABLE_TEST.exec(s);
        return test ? j + test[0].length : j;
    }

    private endOfQuote(i: number, quote: "'" | '"'): number {
        const s = this.line;
        for (;;) {
            const q = s.indexOf(quote, i);
            if (q < 0) return s.length;
            if (s[q + 1] === quote) {
                i = q + 2; // doubled quote
                continue;
            }
            this.mode = Mode.Sql;
            return q + 1;
        }
    }

    private endOfEscapeQuote(i: number): number {
        const s = this.line;
        const n = s.length;
        while (i < n) {
            const c = s.charCodeAt(i);
            if (c === 92) {
                // A backslash escapes the next character; one at the end of the line escapes nothing
                // (psql lexes each line without its newline).
                i += 2;
            } else if (c === 39) {
                if (s.charCodeAt(i + 1) === 39) i += 2;
                else {
                    this.mode = Mode.Sql;
                    return i + 1;
                }
            } else i++;
        }
        return n;
    }

    private endOfComment(i: number): number {
        const s = this.line;
        for (;;) {
            const open = s.indexOf("/*", i);
            const close = s.indexOf("*/", i);
            if (open < 0 && close < 0) return s.length;
            if (open >= 0 && (close < 0 || open < close)) {
                this.commentDepth++;
                i = open + 2;
                continue;
            }
            i = close + 2;
            if (--this.commentDepth === 0) {
                this.mode = Mode.Sql;
                return i;
            }
        }
    }

    private markStart(i: number): void {
        if (this.started) return;
        this.started = true;
        this.startLine = this.lineNo;
        this.segStart = i;
    }

    private flush(i: number): void {
        if (this.started && i > this.segStart) this.append(this.line.slice(this.segStart, i));
        this.segStart = i;
    }

    private append(text: string): void {
        if (this.truncated) return;
        this.chars += text.length;
        if (this.chars > MAX_STATEMENT_CHARS) {
            this.truncated = true;
            this.parts = [];
            return;
        }
        this.parts.push(text);
    }

    private emitStatement(): void {
        this.events.push({
            kind: "statement",
            text: this.truncated ? "" : this.parts.join(""),
            line: this.startLine,
            truncated: this.truncated,
        });
        this.parts = [];
        this.chars = 0;
        this.truncated = false;
        this.started = false;
        this.identifierCount = 0;
    }
}

// psql's escapes inside a single-quoted meta-command argument (octal and hex escapes are rare in
// scripts and only change the argument's text, never where it ends).
function unescapeArgument(c: string): string {
    switch (c) {
        case "n":
            return "\n";
        case "t":
            return "\t";
        case "b":
            return "\b";
        case "r":
            return "\r";
        case "f":
            return "\f";
        default:
            return c;
    }
}
