// A PITR drill's target as settings and flags give it (drill.pitr.target), and how it is named in
// reports and errors. Kept apart from pitrRestore.ts so that the report and the command can use it
// without loading pgBackRest's runner.
export type DrillPitrTarget =
    | { type: "time"; time: string }
    | { type: "lsn"; lsn: string }
    | { type: "name"; name: string; createdAt?: string }
    | { type: "mark"; mark: string };

export function describeDrillPitrTarget(t: DrillPitrTarget): string {
    switch (t.type) {
        case "time":
            return `time ${new Date(t.time).toISOString()}`;
        case "lsn":
            return `LSN ${t.lsn.toUpperCase()}`;
        case "name":
            return `restore point ${JSON.stringify(t.name)}`;
        case "mark":
            return t.mark === "latest" ? "the latest consistent-point mark" : `consistent-point mark ${t.mark}`;
    }
}

/** The drill command's --pitr* flags as a target; throws naming the flag when they conflict or are malformed. */
export function pitrTargetFromFlags(flags: { pitr?: string; pitrLsn?: string; pitrName?: string; pitrMark?: string }, now = new Date()): DrillPitrTarget | undefined {
    const given = ([["--pitr", flags.pitr], ["--pitr-lsn", flags.pitrLsn], ["--pitr-name", flags.pitrName], ["--pitr-mark", flags.pitrMark]] as const).filter(([, v]) => v !== undefined);
    if (given.length === 0) return undefined;
    if (given.length > 1) throw new Error(`${given.map(([f]) => f).join(" and ")}: give one recovery target`);
    const [flag, value] = given[0];
    if (!value) throw new Error(`${flag} needs a value`);
    switch (flag) {
        case "--pitr": {
            // Zone required: a bare 10:15 would silently be this machine's local time.
            if (!/(Z|[+-]\d\d(:?\d\d)?)$/i.test(value) || Number.isNaN(Date.parse(value))) {
                throw new Error(`--pitr ${JSON.stringify(value)}: expected an ISO 8601 time with a zone, e.g. 2026-11-30T10:15:00Z`);
            }
            if (Date.parse(value) > now.getTime()) throw new Error(`--pitr ${value} is in the future: a recovery target must have happened`);
            return { type: "time", time: new Date(value).toISOString() };
        }
        case "--pitr-lsn":
            if (!/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i.test(value)) throw new Error(`--pitr-lsn ${JSON.stringify(value)}: expected an LSN such as 0/3000028`);
            return { type: "lsn", lsn: value.toUpperCase() };
        case "--pitr-name":
            if (value.length > 63) throw new Error("--pitr-name: a restore point name has at most 63 characters");
            return { type: "name", name: value };
        case "--pitr-mark":
            return { type: "mark", mark: value };
    }
}
