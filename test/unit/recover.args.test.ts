// recover's command line, --keys CSV, --where validation and the diff text, without a database.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseRecoverArgs, UsageError } from "../../lib/recover/cliArgs";
import { computeDiff, formatDiff, summarizeDiff } from "../../lib/recover/diff";
import { parseColumnList, parseTableName } from "../../lib/recover/identifiers";
import { parseCsv, readKeysFile } from "../../lib/recover/keysFile";
import { validatePredicate } from "../../lib/recover/predicate";
import { shapeDifferences } from "../../lib/recover/tableShape";
import { describeFilter, printableKey, selectEntries } from "../../lib/recover/storageSelect";
import { sampleEntries } from "../../lib/recover/storageSignedUrl";
import { cacheControlOptions } from "../../lib/storage/client";
import type { ManifestEntry, StorageManifest } from "../../lib/storage/manifest";
import { formatSecretsReport, parseSecretValues, planSecretCopy } from "../../lib/recover/rebuildSecrets";
import { secretDigest } from "../../lib/supabase/secrets";
import { helpFor } from "../../lib/recover/help";
import { classify, planLine } from "../../lib/recover/storageUndoPlan";
import type { BeforeImageEntry } from "../../lib/recover/storageBeforeImage";

describe("recover command line", () => {
    it("parses rows with defaults", () => {
        expect(parseRecoverArgs(["rows", "--backup", "b.dump", "--table", "app.items", "--key", "a,b", "--keys", "k.csv"])).toEqual({
            command: "rows",
            backup: "b.dump",
            table: { schema: "app", name: "items" },
            key: ["a", "b"],
            keysFile: "k.csv",
            where: undefined,
            columns: undefined,
            apply: false,
            artifactsDir: "recover-artifacts",
            diffOut: undefined,
            lockTimeoutMs: 10_000,
        });
    });

    it("refuses usage errors with UsageError (exit 2)", () => {
        const bad = [
            ["rows", "--backup", "b", "--table", "t", "--key", "id"], // neither --keys nor --where
            ["rows", "--backup", "b", "--table", "t", "--key", "id", "--keys", "k", "--where", "true"],
            ["rows", "--backup", "b", "--table", "a.b.c", "--key", "id", "--where", "true"],
            ["rows", "--backup", "b", "--table", "t", "--key", "id,id", "--where", "true"],
            ["rows", "--backup", "b", "--table", "t", "--key", "id", "--where", "true", "--lock-timeout", "0"],
            ["undo"],
            ["freeze", "--roles", ""],
            ["freeze", "--db-url=postgresql://u:p@h/d"],
            ["undo", "postgresql://u:pw@host/db"],
            ["explode"],
        ];
        for (const argv of bad) expect(() => parseRecoverArgs(argv), argv.join(" ")).toThrow(UsageError);
    });

    it("--help anywhere asks for help on the command", () => {
        expect(parseRecoverArgs([])).toEqual({ command: "help", topic: undefined });
        expect(parseRecoverArgs(["undo", "--help"])).toEqual({ command: "help", topic: "undo" });
    });

    it("freeze defaults to Supabase's API roles", () => {
        expect(parseRecoverArgs(["freeze"])).toMatchObject({ roles: ["anon", "authenticated", "service_role", "authenticator"], apply: false });
    });

    it("quoted identifiers keep dots and commas", () => {
        expect(parseTableName('"my.schema"."T"')).toEqual({ schema: "my.schema", name: "T" });
        expect(parseTableName("items")).toEqual({ schema: "public", name: "items" });
        expect(parseColumnList('a,"b,c"', "--key")).toEqual(["a", "b,c"]);
    });
});

describe("--keys CSV", () => {
    it("reads quoted fields, CRLF and a BOM", () => {
        expect(parseCsv('id,name\r\n1,"a, ""b"""\r\n2,"multi\nline"\n', "f")).toEqual([["id", "name"], ["1", 'a, "b"'], ["2", "multi\nline"]]);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keys-")), "k.csv");
        fs.writeFileSync(file, "\ufeffuser_id\n42\n43\n");
        expect(readKeysFile(file)).toEqual({ columns: ["user_id"], rows: [["42"], ["43"]] });
    });

    it("names the record, never the value, on a malformed line", () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "keys-")), "k.csv");
        fs.writeFileSync(file, "id\nsecret-value-1,extra\n");
        expect(() => readKeysFile(file)).toThrow(/record 2: 2 field\(s\), the header has 1/);
        try {
            readKeysFile(file);
        } catch (err) {
            expect((err as Error).message).not.toContain("secret-value-1");
        }
        fs.writeFileSync(file, "id\n");
        expect(() => readKeysFile(file)).toThrow(/has a header but no keys/);
    });
});

describe("--where validation (libpg-query)", () => {
    it("accepts one predicate", async () => {
        await expect(validatePredicate("created_at > '2024-05-01' and (owner_id = 'x' or done)")).resolves.toBeUndefined();
        await expect(validatePredicate("id in (select id from other where x) -- trailing comment")).resolves.toBeUndefined();
    });

    it("refuses a second statement, a set operation, a limit or a changed FROM", async () => {
        await expect(validatePredicate("true); delete from t; select (1")).rejects.toThrow(/one expression; it makes 3 statements/);
        await expect(validatePredicate("true) union select * from pg_authid where (true")).rejects.toThrow(/predicate only/);
        await expect(validatePredicate("true) order by (1")).rejects.toThrow(/predicate only; it adds sortClause/);
        await expect(validatePredicate("true) limit (1")).rejects.toThrow(/predicate only/);
        await expect(validatePredicate("")).rejects.toThrow(/--where is empty/);
        await expect(validatePredicate("id = ")).rejects.toThrow(/not a valid SQL predicate/);
    });
});

describe("diff", () => {
    const table = { schema: "public", name: "t" };
    const backup = [
        { id: "1", a: "x", b: null },
        { id: "2", a: "y", b: "same" },
        { id: "3", a: "z", b: "new" },
    ];
    const live = [
        { id: "2", a: "y", b: "same" },
        { id: "3", a: "z", b: "old" },
    ];

    it("finds inserts, per-column updates and identical rows", () => {
        const d = computeDiff(table, ["id"], ["a", "b"], backup, live);
        expect(d.changes.map((c) => [c.kind, c.key, c.changed])).toEqual([
            ["insert", ["1"], []],
            ["update", ["3"], ["b"]],
        ]);
        expect(d.identical).toBe(1);
        expect(formatDiff(d)).toBe(
            [
                "# public.t on (id): 1 to insert, 1 to update, 1 identical (changed columns: b 1)",
                '+ insert (id)=("1")',
                '    a: "x"',
                "    b: NULL",
                '~ update (id)=("3")',
                '    b: "old" → "new"',
                "",
            ].join("\n"),
        );
        expect(summarizeDiff(d)).not.toMatch(/old|new"/);
    });

    it("--columns limits what an update compares", () => {
        expect(computeDiff(table, ["id"], ["a"], backup, live).identical).toBe(2);
    });
});

describe("column comparison", () => {
    it("names columns missing on either side and type changes", () => {
        const col = (name: string, type: string) => ({ name, type, generated: false, identity: "" as const });
        const t = { schema: "public", name: "t" };
        expect(
            shapeDifferences({ table: t, columns: [col("id", "integer"), col("a", "text"), col("gone", "text")] }, { table: t, columns: [col("id", "bigint"), col("a", "text"), col("added", "text")] }),
        ).toEqual(["only in the backup: gone", "only in live: added", "id: integer in the backup, bigint in live"]);
    });
});

describe("recover storage command line", () => {
    it("parses storage with defaults: newest snapshot, every object, dry run", () => {
        expect(parseRecoverArgs(["storage", "--bucket", "media", "--into", "live"])).toEqual({
            command: "storage",
            bucket: "media",
            snapshot: { kind: "newest" },
            filter: {},
            into: "live",
            onlyMissing: false,
            signedUrlSample: 5,
            apply: false,
            artifactsDir: "recover-artifacts",
        });
    });

    it("parses the snapshot choice, the date range and the prefix", () => {
        expect(parseRecoverArgs(["storage", "--bucket", "m", "--into", "review", "--from", "2026-03-02", "--since", "2026-03-01", "--until", "2026-03-02T12:30:00+02:00", "--prefix", "users/", "--only-missing", "--apply", "--signed-url-sample", "0"])).toMatchObject({
            snapshot: { kind: "day", day: new Date("2026-03-02T00:00:00Z") },
            filter: { since: new Date("2026-03-01T00:00:00Z"), until: new Date("2026-03-02T10:30:00Z"), prefix: "users/" },
            into: "review",
            onlyMissing: true,
            apply: true,
            signedUrlSample: 0,
        });
        expect(parseRecoverArgs(["storage", "--bucket", "m", "--into", "live", "--from", "newest"])).toMatchObject({ snapshot: { kind: "newest" } });
        expect(parseRecoverArgs(["storage", "--bucket", "m", "--into", "live", "--monthly", "2026-02"])).toMatchObject({ snapshot: { kind: "monthly", month: new Date("2026-02-01T00:00:00Z") } });
        expect(parseRecoverArgs(["storage", "--help"])).toEqual({ command: "help", topic: "storage" });
    });

    it("refuses bad storage usage with UsageError", () => {
        const bad = [
            ["storage", "--into", "live"], // no bucket
            ["storage", "--bucket", "m"], // no --into
            ["storage", "--bucket", "m", "--into", "prod"],
            ["storage", "--bucket", "a/b", "--into", "live"],
            ["storage", "--bucket", "m", "--into", "live", "--from", "2026-03-02", "--monthly", "2026-03"],
            ["storage", "--bucket", "m", "--into", "live", "--monthly", "2026-13"],
            ["storage", "--bucket", "m", "--into", "live", "--since", "2026-03-01T10:00"], // no zone
            ["storage", "--bucket", "m", "--into", "live", "--since", "March 1"],
            ["storage", "--bucket", "m", "--into", "live", "--since", "2026-03-02", "--until", "2026-03-01"],
            ["storage", "--bucket", "m", "--into", "live", "--prefix", "/abs"],
            ["storage", "--bucket", "m", "--into", "live", "--signed-url-sample", "-1"],
            ["storage", "--bucket", "m", "--into", "live", "extra"],
        ];
        for (const argv of bad) expect(() => parseRecoverArgs(argv), argv.join(" ")).toThrow(UsageError);
    });

    it("refuses a key on the command line, as a flag or as a value, without repeating it", () => {
        const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl";
        for (const argv of [
            ["storage", "--bucket", "m", "--into", "live", "--service-role-key", "x"],
            ["storage", "--bucket", "m", "--into", "live", `--service-key=${jwt}`],
            ["storage", "--bucket", "m", "--into", "live", "--prefix", jwt],
            ["storage", "--bucket", "m", "--into", "live", "--prefix", "sb_secret_abc123"],
            ["storage", "--bucket", "m", "--into", "live", "--storage-url", "https://x.supabase.co/storage/v1"],
        ]) {
            let message = "";
            try {
                parseRecoverArgs(argv);
            } catch (err) {
                expect(err).toBeInstanceOf(UsageError);
                message = (err as Error).message;
            }
            expect(message, argv.join(" ")).toMatch(/SUPABASE_SERVICE_ROLE_KEY in the environment only/);
            expect(message).not.toContain(jwt);
            expect(message).not.toContain("sb_secret_abc123");
        }
        // rows' --key (key columns) is not a secret flag.
        expect(parseRecoverArgs(["rows", "--backup", "b", "--table", "t", "--key", "id", "--where", "true"])).toMatchObject({ key: ["id"] });
    });
});

describe("recover storage-undo command line", () => {
    it("parses the before-image directory with defaults: dry run, nothing forced, added objects kept", () => {
        expect(parseRecoverArgs(["storage-undo", "recover-artifacts/before-storage-media-x.d"])).toEqual({
            command: "storage-undo",
            beforeImage: "recover-artifacts/before-storage-media-x.d",
            forceChanged: false,
            removeAdded: false,
            apply: false,
            artifactsDir: "recover-artifacts",
        });
        expect(parseRecoverArgs(["storage-undo", "d", "--apply", "--force-changed", "--remove-added", "--artifacts", "a"])).toMatchObject({
            beforeImage: "d",
            forceChanged: true,
            removeAdded: true,
            apply: true,
            artifactsDir: "a",
        });
        expect(parseRecoverArgs(["storage-undo", "--help"])).toEqual({ command: "help", topic: "storage-undo" });
    });

    it("refuses bad usage, and a key on its command line without repeating it", () => {
        for (const argv of [
            ["storage-undo"], // no directory
            ["storage-undo", "a", "b"],
            ["storage-undo", ""],
            ["storage-undo", "d", "--force"],
            ["storage-undo", "d", "--bucket", "media"], // the bucket comes from the before-image
            ["storage-undo", "d", "--apply=yes"],
        ]) {
            expect(() => parseRecoverArgs(argv), argv.join(" ")).toThrow(UsageError);
        }
        const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl";
        for (const argv of [["storage-undo", "d", `--service-key=${jwt}`], ["storage-undo", jwt], ["storage-undo", "d", "--storage-url", "https://x.supabase.co/storage/v1"]]) {
            let message = "";
            try {
                parseRecoverArgs(argv);
            } catch (err) {
                expect(err).toBeInstanceOf(UsageError);
                message = (err as Error).message;
            }
            expect(message, argv.join(" ")).toMatch(/SUPABASE_SERVICE_ROLE_KEY in the environment only/);
            expect(message).not.toContain(jwt);
        }
    });

    it("is listed and documented: every flag it accepts is in its help", () => {
        expect(helpFor()).toMatch(/^ {2}storage-undo /m);
        expect(() => parseRecoverArgs(["nope"])).toThrow(/storage-undo/);
        const help = helpFor("storage-undo");
        for (const flag of ["--force-changed", "--remove-added", "--apply", "--artifacts", "STORAGE_URL", "SUPABASE_SERVICE_ROLE_KEY"]) expect(help).toContain(flag);
        for (const mark of ["~ restore", "= already", "! changed since", "+ added", "- remove", "! damaged"]) expect(help).toContain(mark);
    });
});

describe("storage-undo classification", () => {
    const state = (body: string, contentType = "image/png", cacheControl?: string) => ({
        sha256: body.padEnd(64, "0"),
        bytes: body.length,
        contentType,
        ...(cacheControl !== undefined ? { cacheControl } : {}),
    });
    const kept = (body: string, contentType = "image/png", cacheControl = "max-age=3600"): BeforeImageEntry => ({
        key: "k",
        file: `objects/${body.padEnd(64, "0")}`,
        ...state(body, contentType, cacheControl),
        lastModified: "2026-03-02T14:00:00.000Z",
    });
    const live = (body: string, contentType = "image/png", cacheControl = "max-age=3600") => ({ ...state(body, contentType, cacheControl), lastModified: "2026-03-02T16:00:00.000Z" });
    const none = { forceChanged: false, removeAdded: false };
    /** kind/action ("-": left as it is). */
    const verdict = (item: ReturnType<typeof classify>) => `${item.kind}/${item.action ?? "-"}`;

    it("live as before is already; as the write left it is put back; anything else is changed since", () => {
        expect(verdict(classify("k", kept("aa"), state("bb"), live("aa"), none))).toBe("already/-");
        expect(verdict(classify("k", kept("aa"), state("bb"), live("bb"), none))).toBe("restore/upload");
        expect(verdict(classify("k", kept("aa"), state("bb"), live("cc"), none))).toBe("changed/-");
        expect(verdict(classify("k", kept("aa"), state("bb"), live("cc"), { ...none, forceChanged: true }))).toBe("changed/upload");
        // Deleted since the restore: changed; --force-changed puts it back.
        expect(verdict(classify("k", kept("aa"), state("bb"), null, none))).toBe("changed/-");
        // A write that removed the object (an undo's --remove-added): absent live is its state.
        expect(verdict(classify("k", kept("aa"), null, null, none))).toBe("restore/upload");
    });

    it("content type and a recorded cache control are part of the state; an unrecorded cache control is not compared", () => {
        // The restore fixed only the content type: same bytes, still told apart.
        expect(classify("k", kept("aa", "application/octet-stream"), state("aa", "text/plain"), live("aa", "text/plain"), none).kind).toBe("restore");
        expect(classify("k", kept("aa", "application/octet-stream"), state("aa", "text/plain"), live("aa", "text/html"), none).kind).toBe("changed");
        expect(classify("k", kept("aa"), state("bb", "image/png", "no-cache"), live("bb", "image/png", "max-age=60"), none).kind).toBe("changed");
        expect(classify("k", kept("aa"), state("bb"), live("bb", "image/png", "max-age=60"), none).kind).toBe("restore");
    });

    it("objects the write added are removed only with --remove-added and only while live holds its write", () => {
        expect(verdict(classify("k", null, state("bb"), live("bb"), none))).toBe("added/-");
        expect(verdict(classify("k", null, state("bb"), live("bb"), { ...none, removeAdded: true }))).toBe("added/remove");
        expect(verdict(classify("k", null, state("bb"), live("cc"), { forceChanged: true, removeAdded: true }))).toBe("changed/-");
        expect(verdict(classify("k", null, state("bb"), null, { forceChanged: true, removeAdded: true }))).toBe("already/-");
    });

    it("an index without what the write wrote cannot put anything back unforced", () => {
        const item = classify("k", kept("aa"), undefined, live("bb"), none);
        expect(verdict(item)).toBe("changed/-");
        expect(planLine(item, { writer: "restore", recordsWrites: false })).toBe(
            "! changed since  k  (live 2 bytes, image/png, max-age=3600, written 2026-03-02T16:00:00.000Z; the before-image does not record what the restore wrote; left as it is: --force-changed overwrites it)",
        );
        expect(planLine({ ...item, key: "a\nb" }, { writer: "restore", recordsWrites: true })).toMatch(/^! changed since {2}"a\\nb" {2}/);
    });
});

describe("recover storage selection", () => {
    const entry = (key: string, lastModified: string): ManifestEntry => ({ key, lastModified, bytes: 1, contentType: "text/plain", metadata: {}, sha256: "0".repeat(64), vaultKey: `v/${key}` });
    const manifest: StorageManifest = {
        version: 1,
        env: "prod",
        bucket: "m",
        takenAt: "2026-03-02T01:00:00Z",
        public: false,
        objects: [
            entry("a/1", "2026-02-28T23:59:59Z"),
            entry("a/2", "2026-03-01T00:00:00Z"),
            entry("a/3", "2026-03-01T23:59:59Z"),
            entry("a/4", "2026-03-02T00:00:00Z"),
            entry("a/untimed", ""),
            entry("b/1", "2026-03-01T10:00:00Z"),
        ],
    };

    it("--since is inclusive, --until exclusive; objects without a time are kept and counted", () => {
        const s = selectEntries(manifest, { since: new Date("2026-03-01"), until: new Date("2026-03-02"), prefix: "a/" });
        expect(s.entries.map((e) => e.key)).toEqual(["a/2", "a/3", "a/untimed"]);
        expect(s).toMatchObject({ untimed: 1, outsideRange: 2, outsidePrefix: 1 });
        expect(selectEntries(manifest, {}).entries).toHaveLength(6);
        expect(selectEntries(manifest, {}).untimed).toBe(0);
        expect(describeFilter({ prefix: "a/", until: new Date("2026-03-02") })).toBe('key prefix "a/", last modified before 2026-03-02T00:00:00.000Z');
        expect(describeFilter({})).toBe("every object");
    });

    it("prints odd keys quoted, samples evenly, and keeps cache control exactly", () => {
        expect(printableKey("a/b c.png")).toBe("a/b c.png");
        expect(printableKey("evil\nname")).toBe('"evil\\nname"');
        expect(sampleEntries([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3)).toEqual([1, 6, 10]);
        expect(sampleEntries([1, 2], 5)).toEqual([1, 2]);
        expect(sampleEntries([1, 2, 3], 0)).toEqual([]);
        expect(cacheControlOptions({ cacheControl: "max-age=600" })).toEqual({ cacheControl: "600" });
        expect(cacheControlOptions({ cacheControl: "no-cache" })).toEqual({ headers: { "cache-control": "no-cache" } });
        expect(cacheControlOptions({})).toEqual({});
    });
});

describe("recover rebuild command line and secrets plan", () => {
    it("parses rebuild, and refuses missing or bad options and a token on the command line", () => {
        expect(parseRecoverArgs(["rebuild", "--backup", "vault", "--migrations", "m", "--storage-env", "prod", "--region", "eu-central-1", "--buckets", "a, b", "--old-project", "abcdefghijklmnopqrst"])).toEqual({
            command: "rebuild",
            backup: "vault",
            vault: {},
            migrations: "m",
            baseline: undefined,
            storageEnv: "prod",
            buckets: ["a", "b"],
            projectName: undefined,
            region: "eu-central-1",
            organization: undefined,
            oldProject: "abcdefghijklmnopqrst",
            secretValues: undefined,
            apply: false,
            artifactsDir: "recover-artifacts",
        });
        const base = ["rebuild", "--backup", "b.dump", "--migrations", "m"];
        expect(() => parseRecoverArgs(base)).toThrow(/--storage-env/);
        expect(() => parseRecoverArgs(["rebuild", "--migrations", "m", "--storage-env", "p"])).toThrow(/--backup/);
        expect(() => parseRecoverArgs([...base, "--storage-env", "p", "--old-project", "PROD"])).toThrow(/project ref/);
        expect(() => parseRecoverArgs([...base, "--storage-env", "p", "--project-name", "/bad"])).toThrow(/--project-name/);
        const token = "sbp_0123456789abcdef0123456789abcdef01234567";
        for (const args of [[...base, "--access-token", token], [...base, `--org=${token}`]]) {
            let error: Error | undefined;
            try {
                parseRecoverArgs(args);
            } catch (e) {
                error = e as Error;
            }
            expect(error).toBeInstanceOf(UsageError);
            expect(error!.message).toMatch(/SUPABASE_ACCESS_TOKEN/);
            expect(error!.message).not.toContain(token);
        }
    });

    it("sets a secret only when its value matches the old project's sha256, and lists the rest by name", () => {
        const old = new Map([["A", secretDigest("a")], ["B", secretDigest("b")], ["C", secretDigest("c")]]);
        const { report, set } = planSecretCopy({ keyNames: ["anon", "service_role"], old, values: { A: "a", B: "not b", D: "d" }, current: new Map() });
        expect(set).toEqual([{ name: "A", value: "a" }]);
        expect(report.copied).toEqual([{ name: "A", verified: true }]);
        expect(report.toSet.map((t) => t.name)).toEqual(["B", "C", "D"]);
        const text = formatSecretsReport(report);
        expect(text).not.toMatch(/not b|"a"/);
        expect(text).toMatch(/\[x\] API key 'anon'/);
        // Unreachable old project: values are set unverified, and the report says the names are unknown.
        const blind = planSecretCopy({ keyNames: [], old: "HTTP 404", values: { A: "a" }, current: new Map([["A", secretDigest("a")]]) });
        expect(blind.set).toEqual([]);
        expect(blind.report.unchanged).toEqual(["A"]);
        expect(formatSecretsReport(blind.report)).toMatch(/could not be listed \(HTTP 404\)[\s\S]*A set on the new project \(not checked/);
    });

    it("reads KEY=VALUE files and names the line of a bad one without its content", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secret-values-"));
        const file = path.join(dir, "s.env");
        fs.writeFileSync(file, "# c\nexport A='x y'\nB=\"q\"\nC=plain=1\n");
        expect(parseSecretValues(file)).toEqual({ A: "x y", B: "q", C: "plain=1" });
        fs.writeFileSync(file, "A=1\nthis is secret\n");
        expect(() => parseSecretValues(file)).toThrow(/line 2: expected NAME=value$/);
        fs.writeFileSync(file, "SUPABASE_URL=x\n");
        expect(() => parseSecretValues(file)).toThrow(/SUPABASE_/);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
