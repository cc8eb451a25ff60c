// Locates the PostgreSQL server and client binaries (initdb, pg_ctl, pg_dump, pg_restore, psql).
// Looks on PATH first, then in `pg_config --bindir`, then in Debian's /usr/lib/postgresql/<major>/bin,
// newest major first, so a machine with only the Debian packages installed still works.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { toolEnvironment } from "../toolEnvironment";
import { ToolMissingError } from "../errors";

export type PgTool = "initdb" | "pg_ctl" | "postgres" | "pg_dump" | "pg_dumpall" | "pg_restore" | "psql";

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

function pathDirs(): string[] {
    return (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
}

// pg_config's answer per pg_config found: Debian's is a shell script with a pipeline, and every tool
// lookup asked it again (three processes per pg_dump, psql or pg_ctl started).
const pgConfigAnswers = new Map<string, string | undefined>();

function pgConfigBinDir(): string | undefined {
    for (const dir of pathDirs()) {
        const pgConfig = path.join(dir, "pg_config");
        if (isExecutable(pgConfig)) {
            if (!pgConfigAnswers.has(pgConfig)) {
                let answer: string | undefined;
                try {
                    answer = execFileSync(pgConfig, ["--bindir"], { encoding: "utf8", env: toolEnvironment() }).trim();
                } catch {
                    answer = undefined;
                }
                pgConfigAnswers.set(pgConfig, answer);
            }
            return pgConfigAnswers.get(pgConfig);
        }
    }
    return undefined;
}

function debianBinDirs(): string[] {
    const root = "/usr/lib/postgresql";
    if (!fs.existsSync(root)) return [];
    return fs
        .readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => path.join(root, v, "bin"));
}

/** Directories searched, in order. Exported for the error message and for tests. */
export function candidateDirs(): string[] {
    const dirs = [...pathDirs()];
    const fromConfig = pgConfigBinDir();
    if (fromConfig) dirs.push(fromConfig);
    dirs.push(...debianBinDirs());
    return [...new Set(dirs)];
}

/** Full path of a PostgreSQL tool, or a clear error naming where we looked and how to install it. */
export function findPgTool(tool: PgTool, dirs: string[] = candidateDirs()): string {
    // The server tools live together: prefer the directory that also has `postgres`, so initdb and
    // pg_ctl of one version are used together even when PATH holds symlinks to only some of them.
    if (tool === "initdb" || tool === "pg_ctl" || tool === "postgres") {
        for (const dir of dirs) {
            const real = realDir(dir, tool);
            if (real && isExecutable(path.join(real, "postgres")) && isExecutable(path.join(real, tool))) {
                return path.join(real, tool);
            }
        }
    }
    for (const dir of dirs) {
        const candidate = path.join(dir, tool);
        if (isExecutable(candidate)) return candidate;
    }
    throw new ToolMissingError(
        tool,
        `PostgreSQL tool '${tool}' was not found (looked in: ${dirs.join(", ") || "<empty PATH>"}). ` +
            `Install the PostgreSQL server and client packages (Debian: apt-get install postgresql postgresql-client) ` +
            `or put their bin directory on PATH.`,
    );
}

function realDir(dir: string, tool: string): string | undefined {
    const candidate = path.join(dir, tool);
    if (!isExecutable(candidate)) return undefined;
    return path.dirname(fs.realpathSync(candidate));
}

/** A tool's own version line, e.g. "pg_dump (PostgreSQL) 15.18". */
export function toolVersionText(toolPath: string): string {
    return execFileSync(toolPath, ["--version"], { encoding: "utf8", env: toolEnvironment() }).trim();
}

/** Major version of a client tool, e.g. 15 for "pg_dump (PostgreSQL) 15.18". */
export function toolMajorVersion(toolPath: string): number {
    const out = execFileSync(toolPath, ["--version"], { encoding: "utf8", env: toolEnvironment() });
    const m = /(\d+)(?:\.(\d+))?/.exec(out);
    if (!m) throw new Error(`could not read the version of ${toolPath} from: ${out.trim()}`);
    return Number(m[1]);
}
