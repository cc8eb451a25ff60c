// The reader must see the same script whatever the chunk boundaries (a gunzip stream cuts anywhere,
// including inside `\.` or a CR LF), and must never hand COPY data to the lexer.
import { describe, expect, it } from "vitest";
import { PsqlLexer, type PsqlEvent } from "../../lib/restore/psqlLexer";
import { readPsqlScript } from "../../lib/restore/psqlScriptReader";

const SCRIPT = [
    "\\restrict abc",
    "SET standard_conforming_strings = on;",
    "select 'a;b', E'c\\'d', \"e;f\", $q$ g; \\c h $q$; \\echo after",
    "COPY t (x) FROM stdin; select 'same line';",
    "\\c in-data",
    "\\.x",
    "\\.\r",
    "/* multi",
    "line \\c comment */ select 1 \\; select 2;",
    "COPY u FROM stdin;",
    "data",
    "\\.",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
    "\\unrestrict abc",
    "select 'unterminated",
].join("\n");

interface Seen {
    events: string[];
    lines: number;
}

async function read(chunks: string[]): Promise<Seen> {
    const events: string[] = [];
    const describeEvent = (e: PsqlEvent) =>
        e.kind === "statement" ? `${e.line} stmt ${JSON.stringify(e.text)}` : e.kind === "meta" ? `${e.line} meta ${e.text}` : `${e.line} var ${e.name}`;
    async function* source() {
        yield* chunks;
    }
    const summary = await readPsqlScript(source(), {
        done: false,
        metaCommand: (c) => void events.push(describeEvent(c)),
        variable: (v) => void events.push(describeEvent(v)),
        overlongLine: () => void events.push("overlong"),
        statement: (s) => {
            events.push(describeEvent(s));
            return (s.text.match(/FROM stdin/g) ?? []).length;
        },
    });
    return { events, lines: summary.lines };
}

function split(text: string, size: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
    return out;
}

describe("psql script reader", () => {
    it("finds statements and meta-commands as psql splits them, skipping COPY data", async () => {
        const whole = await read([SCRIPT]);
        expect(whole.events).toEqual([
            "1 meta \\restrict abc",
            '2 stmt "SET standard_conforming_strings = on;"',
            `3 stmt "select 'a;b', E'c\\\\'d', \\"e;f\\", $q$ g; \\\\c h $q$;"`,
            "3 meta \\echo after",
            '4 stmt "COPY t (x) FROM stdin;"',
            `4 stmt "select 'same line';"`,
            '9 stmt "select 1 ; select 2;"',
            '10 stmt "COPY u FROM stdin;"',
            '13 stmt "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;"',
            "14 meta \\unrestrict abc",
            `15 stmt "select 'unterminated\\n"`,
        ]);
        expect(whole.lines).toBe(15);
    });

    it("gives the same result for every chunk size", async () => {
        const whole = await read([SCRIPT]);
        for (let size = 1; size <= 17; size++) expect(await read(split(SCRIPT, size)), `chunk size ${size}`).toEqual(whole);
    });

    it("never hands COPY data to the lexer, however long a data line is", async () => {
        const longData = "x".repeat(3_000_000);
        const script = `COPY t FROM stdin;\n${longData}\n\\.\nselect 1;\n`;
        const pushed: number[] = [];
        const lexer = new PsqlLexer();
        const pushLine = lexer.pushLine.bind(lexer);
        lexer.pushLine = (line: string) => {
            pushed.push(line.length);
            return pushLine(line);
        };
        async function* source() {
            yield* split(script, 65536);
        }
        const statements: string[] = [];
        const summary = await readPsqlScript(
            source(),
            {
                done: false,
                metaCommand: () => undefined,
                variable: () => undefined,
                overlongLine: () => undefined,
                statement: (s) => {
                    statements.push(s.text);
                    return s.text.startsWith("COPY") ? 1 : 0;
                },
            },
            lexer,
        );
        expect(statements).toEqual(["COPY t FROM stdin;", "select 1;"]);
        expect(Math.max(...pushed)).toBeLessThan(20);
        expect(summary.lines).toBe(4);
    });
});
