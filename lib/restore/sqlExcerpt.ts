// A one-line excerpt of a statement for an error message. Literal values are masked (strings, dollar-quoted
// bodies, numbers): a refused `ALTER ROLE … PASSWORD '…'` must not print the password hash, and an
// unparsable INSERT must not print row values. Keywords and names stay, so the statement can be found.

export const EXCERPT_CHARS = 120;
const SCAN_CHARS = 4096; // enough of a long statement to fill an excerpt

const TOKEN =
    /\s+|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|[EeBbXxNn]?'(?:[^']|'')*(?:'|$)|[Uu]&'(?:[^']|'')*(?:'|$)|"(?:[^"]|"")*(?:"|$)|(\$(?:[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$)[\s\S]*?(?:\1|$)|[A-Za-z_\u0080-\uffff][A-Za-z_0-9$\u0080-\uffff]*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[\s\S]/gy;

export function statementExcerpt(text: string, max = EXCERPT_CHARS): string {
    const head = text.slice(0, SCAN_CHARS);
    let out = "";
    let space = false;
    TOKEN.lastIndex = 0;
    for (let m = TOKEN.exec(head); m && out.length <= max; m = TOKEN.exec(head)) {
        const tok = m[0];
        const c = tok[0];
        if (/\s/.test(c) || tok.startsWith("--") || tok.startsWith("/*")) {
            space = out.length > 0;
            continue;
        }
        let shown = tok;
        if (tok.endsWith("'") || /^[EeBbXxNn]?'|^[Uu]&'/.test(tok)) shown = "'…'";
        else if (c === "$" && m[1]) shown = `${m[1]}…${m[1]}`;
        else if (/^[\d.]/.test(c) && /\d/.test(tok)) shown = "…";
        out += (space ? " " : "") + shown;
        space = false;
    }
    return out.length > max ? out.slice(0, max - 1) + "…" : out;
}
