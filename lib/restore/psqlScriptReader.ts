// Feeds a script, arriving in text chunks, to the psql lexer a line at a time, and skips COPY data the
// way psql reads it: after a COPY … FROM STDIN statement, psql takes the lines that follow the
// statement's line as data until a line that is exactly `\.` (or `\.` + CR), without lexing them.
// Data lines are never assembled into strings: a multi-GB data.sql costs one newline search per line.
import { MAX_STATEMENT_CHARS, PsqlLexer, type PsqlMetaCommand, type PsqlStatement, type PsqlVariableUse } from "./psqlLexer";

export interface PsqlScriptHandler {
    /** Returns how many COPY … FROM STDIN data blocks psql reads after the statement's line. */
    statement(stmt: PsqlStatement, lexer: PsqlLexer): number | Promise<number>;
    metaCommand(cmd: PsqlMetaCommand): void;
    variable(use: PsqlVariableUse): void;
    /** A line outside COPY data longer than MAX_STATEMENT_CHARS: reading stops there. */
    overlongLine(line: number): void;
    /** True once the handler has seen enough: reading stops. */
    readonly done: boolean;
}

export interface PsqlScriptSummary {
    lines: number;
    /** Reading stopped before the end (handler done, or an overlong line). */
    stoppedEarly: boolean;
}

/** A data line that ends a COPY block: exactly `\.`, or `\.` followed by CR. */
function isCopyEnd(line: string): boolean {
    return line === "\\." || line === "\\.\r";
}

export async function readPsqlScript(
    source: AsyncIterable<string>,
    handler: PsqlScriptHandler,
    lexer = new PsqlLexer(),
): Promise<PsqlScriptSummary> {
    // The start of a line whose newline has not arrived yet, in pieces (joined once, when it ends).
    let pending: string[] = [];
    let pendingLength = 0;
    let copyBlocks = 0; // COPY data blocks still to skip
    let inLongDataLine = false; // inside a data line too long to be `\.`: its text is not kept

    const stop = (): PsqlScriptSummary => ({ lines: lexer.lineNo, stoppedEarly: true });

    /** Lexes one SQL line and reports what it holds; false when the handler is done. */
    const sqlLine = async (line: string): Promise<boolean> => {
        for (const ev of lexer.pushLine(line)) {
            if (ev.kind === "meta") handler.metaCommand(ev);
            else if (ev.kind === "variable") handler.variable(ev);
            else {
                const r = handler.statement(ev, lexer);
                copyBlocks += typeof r === "number" ? r : await r;
            }
            if (handler.done) return false;
        }
        return true;
    };

    /** A line of COPY data ended; `endsBlock` when it was the end marker. */
    const dataLine = (endsBlock: boolean): void => {
        lexer.skipDataLine();
        if (endsBlock) copyBlocks--;
        inLongDataLine = false;
    };

    for await (const chunk of source) {
        let pos = 0;
        if (pendingLength > 0 || inLongDataLine) {
            const nl = chunk.indexOf("\n");
            if (nl < 0) {
                if (inLongDataLine) continue;
                pending.push(chunk);
                pendingLength += chunk.length;
                if (copyBlocks > 0 && pendingLength > 3) {
                    pending = [];
                    pendingLength = 0;
                    inLongDataLine = true;
                } else if (pendingLength > MAX_STATEMENT_CHARS) {
                    handler.overlongLine(lexer.lineNo + 1);
                    return stop();
                }
                continue;
            }
            if (copyBlocks > 0) {
                const short = !inLongDataLine && pendingLength + nl <= 3;
                dataLine(short && isCopyEnd(pending.join("") + chunk.slice(0, nl)));
            } else if (!(await sqlLine(pending.join("") + chunk.slice(0, nl)))) return stop();
            pending = [];
            pendingLength = 0;
            pos = nl + 1;
        }
        while (pos < chunk.length) {
            const nl = chunk.indexOf("\n", pos);
            if (nl < 0) {
                const rest = chunk.length - pos;
                // A partial data line is kept only while it could still be `\.` + CR.
                if (copyBlocks > 0 && rest > 3) inLongDataLine = true;
                else {
                    pending.push(chunk.slice(pos));
                    pendingLength = rest;
                }
                break;
            }
            if (copyBlocks > 0) {
                const len = nl - pos;
                dataLine(
                    (len === 2 || (len === 3 && chunk.charCodeAt(pos + 2) === CR)) &&
                        chunk.charCodeAt(pos) === BACKSLASH &&
                        chunk.charCodeAt(pos + 1) === DOT,
                );
            } else if (!(await sqlLine(chunk.slice(pos, nl)))) return stop();
            pos = nl + 1;
        }
    }
    // End of file: psql takes a last line without a newline as a line, and then sends whatever the
    // query buffer holds. Unfinished COPY data just ends, as it does for psql.
    if (pendingLength > 0 || inLongDataLine) {
        if (copyBlocks > 0) dataLine(false);
        else if (!(await sqlLine(pending.join("")))) return stop();
    }
    for (const ev of lexer.end()) {
        if (ev.kind === "statement") await handler.statement(ev, lexer);
        if (handler.done) return stop();
    }
    return { lines: lexer.lineNo, stoppedEarly: false };
}

const BACKSLASH = 92;
const DOT = 46;
const CR = 13;
