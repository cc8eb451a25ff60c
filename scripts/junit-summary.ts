// `npm run --silent junit-summary -- PATH...`: the drills' JUnit results (drill_<id>.junit.xml, found
// under each directory PATH, or given as files) as Markdown on stdout. The weekly drill workflow appends
// it to $GITHUB_STEP_SUMMARY, so a drill's verdict, per-step counts and failures show on the run's page
// without any third-party action or extra permission. The JUnit file is already free of secrets and
// row values (lib/drill/junit.ts); this only reformats it, escaping everything for Markdown.
// Exit 0 when every file found was summarized; 1 when none was found or one is not well-formed; 2 usage.
import * as fs from "node:fs";
import * as path from "node:path";
import { runCli } from "../lib/cli/run";
import { UsageError } from "../lib/errors";

const USAGE = `Usage: npm run --silent junit-summary -- PATH [PATH...]

PATH is a drill_<id>.junit.xml file or a directory searched (recursively) for them, e.g. $BACKUP_DIR.
Prints Markdown; --silent keeps npm's own banner out of it.`;

const JUNIT_FILE = /^drill_.+\.junit\.xml$/;

interface XmlElement {
    name: string;
    attrs: Record<string, string>;
    children: XmlElement[];
    text: string;
}

class XmlError extends Error {}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decode(text: string, at: number): string {
    return text.replace(/&([^;&\s]*);?/g, (whole, ref: string) => {
        if (!whole.endsWith(";")) throw new XmlError(`unterminated character reference near offset ${at}`);
        if (ref in ENTITIES) return ENTITIES[ref];
        const code = /^#x([0-9a-fA-F]+)$/.exec(ref)?.[1] ?? /^#([0-9]+)$/.exec(ref)?.[1];
        if (code === undefined) throw new XmlError(`unknown entity &${ref}; near offset ${at}`);
        return String.fromCodePoint(parseInt(code, ref.startsWith("#x") ? 16 : 10));
    });
}

/**
 * A strict reader for the XML our JUnit writer produces (elements, attributes, text, character
 * references, comments, the declaration): anything malformed is an error naming the offset.
 */
function parseXml(xml: string): XmlElement {
    const stack: XmlElement[] = [];
    let root: XmlElement | undefined;
    let i = 0;
    const skipPast = (end: string) => {
        const j = xml.indexOf(end, i);
        if (j < 0) throw new XmlError(`missing "${end}" after offset ${i}`);
        i = j + end.length;
    };
    while (i < xml.length) {
        if (xml.startsWith("<?", i) || xml.startsWith("<!--", i)) {
            skipPast(xml.startsWith("<?", i) ? "?>" : "-->");
        } else if (xml.startsWith("</", i)) {
            const m = /<\/([A-Za-z_][\w.:-]*)\s*>/y;
            m.lastIndex = i;
            const close = m.exec(xml);
            const open = stack.pop();
            if (!close || !open || open.name !== close[1]) throw new XmlError(`unexpected closing tag at offset ${i}`);
            i = m.lastIndex;
        } else if (xml[i] === "<") {
            const tag = /<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
            tag.lastIndex = i;
            const m = tag.exec(xml);
            if (!m) throw new XmlError(`malformed tag at offset ${i}`);
            const el: XmlElement = { name: m[1], attrs: {}, children: [], text: "" };
            for (const a of m[2].matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/g)) {
                if (a[1] in el.attrs) throw new XmlError(`attribute ${a[1]} repeated at offset ${i}`);
                el.attrs[a[1]] = decode(a[2] ?? a[3], i);
            }
            if (stack.length > 0) stack[stack.length - 1].children.push(el);
            else if (root) throw new XmlError(`second root element at offset ${i}`);
            else root = el;
            if (m[3] !== "/") stack.push(el);
            i = tag.lastIndex;
        } else {
            const next = xml.indexOf("<", i);
            const raw = xml.slice(i, next < 0 ? undefined : next);
            if (stack.length > 0) stack[stack.length - 1].text += decode(raw, i);
            else if (raw.trim() !== "") throw new XmlError(`text outside the root element at offset ${i}`);
            i = next < 0 ? xml.length : next;
        }
    }
    if (stack.length > 0) throw new XmlError(`<${stack[stack.length - 1].name}> is not closed`);
    if (!root) throw new XmlError("no root element");
    return root;
}

/** Inline Markdown: one line, Markdown punctuation escaped, HTML characters as entities. */
function md(text: string): string {
    return text
        .replace(/\s+/g, " ")
        .trim()
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        // Emphasis, code, links, tables and strikethrough; the rest only matters at a line's start.
        .replace(/[\\`*_[\]|~]/g, "\\$&");
}

/** A fenced block its own content cannot close: the fence is longer than any backtick run inside. */
function codeBlock(text: string, indent: string): string[] {
    const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
    const fence = "`".repeat(Math.max(3, longest + 1));
    return [`${indent}${fence}text`, ...text.split("\n").map((l) => indent + l), `${indent}${fence}`];
}

const count = (el: XmlElement, attr: string) => Number(el.attrs[attr] ?? 0);
const childrenNamed = (el: XmlElement, name: string) => el.children.filter((c) => c.name === name);

function summarize(file: string, root: XmlElement): string[] {
    if (root.name !== "testsuites") throw new XmlError(`the root element is <${root.name}>, not <testsuites>`);
    const suites = childrenNamed(root, "testsuite");
    const props = new Map<string, string>();
    for (const s of suites) for (const p of childrenNamed(s, "properties").flatMap((x) => childrenNamed(x, "property"))) props.set(p.attrs.name, p.attrs.value);
    const title = props.has("drill_id")
        ? `Restore drill ${props.get("drill_id")} (${props.get("environment")}): ${props.get("status")}`
        : root.attrs.name ?? path.basename(file);
    const [tests, failures, skipped] = [count(root, "tests"), count(root, "failures") + count(root, "errors"), count(root, "skipped")];
    const lines = [
        `### ${md(title)}`,
        "",
        `${tests} checks: ${tests - failures - skipped} passed, ${failures} failed, ${skipped} skipped; ${md(root.attrs.time ?? "?")} s (${md(path.basename(file))})`,
        "",
        "| Step | Passed | Failed | Skipped | Time (s) |",
        "|---|---:|---:|---:|---:|",
        ...suites.map((s) => {
            const [t, f, k] = [count(s, "tests"), count(s, "failures") + count(s, "errors"), count(s, "skipped")];
            return `| ${md(s.attrs.name ?? "?")} | ${t - f - k} | ${f} | ${k} | ${md(s.attrs.time ?? "?")} |`;
        }),
    ];
    const cases = suites.flatMap((s) => childrenNamed(s, "testcase").map((c) => ({ step: s.attrs.name ?? "?", c })));
    const failed = cases.flatMap(({ step, c }) => [...childrenNamed(c, "failure"), ...childrenNamed(c, "error")].map((f) => ({ step, c, f })));
    if (failed.length > 0) {
        lines.push("", "**Failures**", "");
        for (const { step, c, f } of failed) {
            lines.push(`- ${md(step)}: **${md(c.attrs.name ?? "?")}**: ${md(f.attrs.message ?? "")}`);
            const detail = f.text.trim();
            if (detail && detail !== (f.attrs.message ?? "").trim()) lines.push(...codeBlock(detail, "  "));
        }
    }
    const skips = cases.flatMap(({ step, c }) => childrenNamed(c, "skipped").map((k) => ({ step, c, k })));
    if (skips.length > 0) {
        lines.push("", `<details><summary>Skipped (${skips.length})</summary>`, "");
        for (const { step, c, k } of skips) lines.push(`- ${md(step)}: ${md(c.attrs.name ?? "?")}: ${md(k.attrs.message ?? "")}`);
        lines.push("", "</details>");
    }
    return [...lines, ""];
}

function junitFiles(target: string): string[] {
    const stat = fs.statSync(target, { throwIfNoEntry: false });
    if (!stat) return [];
    if (stat.isFile()) return [target];
    return fs
        .readdirSync(target, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? junitFiles(path.join(target, e.name)) : JUNIT_FILE.test(e.name) ? [path.join(target, e.name)] : []))
        .sort();
}

function main(args: string[]): number {
    if (args.includes("-h") || args.includes("--help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const flag = args.find((a) => a.startsWith("-"));
    if (flag) throw new UsageError(`unknown option ${flag}: expected one or more paths`);
    if (args.length === 0) throw new UsageError("expected one or more paths");
    const files = args.flatMap(junitFiles);
    if (files.length === 0) {
        process.stdout.write(`### Restore drill\n\nNo drill JUnit result (drill_<id>.junit.xml) was found: the drill did not get as far as its report.\n`);
        process.stderr.write(`junit-summary: no drill_<id>.junit.xml under ${args.join(", ")}\n`);
        return 1;
    }
    let ok = true;
    for (const file of files) {
        try {
            process.stdout.write(summarize(file, parseXml(fs.readFileSync(file, "utf8"))).join("\n") + "\n");
        } catch (err) {
            if (!(err instanceof XmlError)) throw err;
            process.stderr.write(`junit-summary: ${file}: not a readable JUnit file: ${err.message}\n`);
            ok = false;
        }
    }
    return ok ? 0 : 1;
}

runCli("junit-summary", () => main(process.argv.slice(2)), { usage: USAGE });
