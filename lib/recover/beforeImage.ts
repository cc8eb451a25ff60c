// The before-image artifact of an apply: JSON lines, fsynced before live is written to, so whatever
// happens next the operator holds the rows as they were. `recover undo <artifact>` reads it back.
//   line 1        header: table, key, columns and their types, live endpoint, backup checksums
//   "before"      one per touched key: the live row before the apply (null: it did not exist)
//   "after"       one per touched key, written before COMMIT: the row as the apply left it
//   "committed"   written after COMMIT
// The file holds row data: it is created 0600 and never printed.
import * as fs from "node:fs";
import * as path from "node:path";
import type { TableName } from "./identifiers";
import type { RowText } from "./rowText";

export const ARTIFACT_KIND = "supabase-dr recover before-image";

export interface ArtifactHeader {
    kind: typeof ARTIFACT_KIND;
    version: 1;
    /** "rows" for an apply; "undo" when an undo kept the image of what it replaced. */
    made: "rows" | "undo";
    table: TableName;
    key: string[];
    /** Every writable column (all but generated ones), in table order. */
    columns: string[];
    /** Column → schema-qualified type, to cast text back. */
    types: Record<string, string>;
    /** Identity columns ("a" GENERATED ALWAYS, "d" BY DEFAULT): writing them needs OVERRIDING SYSTEM VALUE. */
    identity: Record<string, "a" | "d">;
    live: string;
    createdAt: string;
    backupSha256?: Record<string, string>;
}

export type ArtifactLine =
    | { op: "before"; key: (string | null)[]; row: RowText | null }
    | { op: "after"; key: (string | null)[]; row: RowText | null }
    | { op: "committed"; at: string };

export interface Artifact {
    header: ArtifactHeader;
    before: Map<string, { key: (string | null)[]; row: RowText | null }>;
    after: Map<string, RowText | null>;
    committed: boolean;
}

export class ArtifactWriter {
    private fd: number;
    private constructor(readonly file: string) {
        this.fd = fs.openSync(file, "wx", 0o600);
    }

    static create(file: string, header: ArtifactHeader): ArtifactWriter {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const w = new ArtifactWriter(file);
        w.append([header]);
        // The new directory entry must survive a crash too, not only the file's content.
        const dir = fs.openSync(path.dirname(file), "r");
        try {
            fs.fsyncSync(dir);
        } finally {
            fs.closeSync(dir);
        }
        return w;
    }

    /** Appends records and fsyncs: returns only once they are on disk. */
    append(records: (ArtifactHeader | ArtifactLine)[]): void {
        if (records.length === 0) return;
        fs.writeSync(this.fd, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
        fs.fsyncSync(this.fd);
    }

    close(): void {
        fs.closeSync(this.fd);
    }
}

export function readArtifact(file: string): Artifact {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw new Error(`cannot read the before-image artifact ${file}: ${(err as Error).message}`);
    }
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    const parse = (l: string, n: number): unknown => {
        try {
            return JSON.parse(l);
        } catch {
            throw new Error(`${file}, line ${n}: not JSON (the artifact is damaged or was cut short)`);
        }
    };
    const header = (lines.length > 0 ? parse(lines[0], 1) : undefined) as Partial<ArtifactHeader> | undefined;
    if (!header || header.kind !== ARTIFACT_KIND || header.version !== 1 || !header.table || !Array.isArray(header.key) || !Array.isArray(header.columns) || !header.types || !header.identity) {
        throw new Error(`${file} is not a supabase-dr recover before-image artifact (its first line is not one's header)`);
    }
    const artifact: Artifact = { header: header as ArtifactHeader, before: new Map(), after: new Map(), committed: false };
    lines.slice(1).forEach((l, i) => {
        const rec = parse(l, i + 2) as ArtifactLine;
        if (rec.op === "before") artifact.before.set(JSON.stringify(rec.key), { key: rec.key, row: rec.row });
        else if (rec.op === "after") artifact.after.set(JSON.stringify(rec.key), rec.row);
        else if (rec.op === "committed") artifact.committed = true;
        else throw new Error(`${file}, line ${i + 2}: unknown record`);
    });
    return artifact;
}
