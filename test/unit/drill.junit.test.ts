// drill_<id>.junit.xml from drill reports built the real way (step results on disk → buildDrillReport):
// well-formed and self-consistent JUnit per an independent XML parser, one suite per step, one case
// per check, steps that did not run skipped with the reason, escaping that survives quotes, newlines
// and <&>, and no secret nor row value in the file. Also the Markdown the weekly workflow publishes.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, describe, expect, it } from "vitest";
import { writeStepResult, writeStorageStep } from "../../lib/drill/artifacts";
import { DRILL_STEPS, formatJUnit, smokeReason, withoutRowValues } from "../../lib/drill/junit";
import { buildDrillReport, writeDrillReport, type DrillMeta, type DrillReport } from "../../lib/drill/report";
import type { MaskingResult } from "../../lib/mask";
import type { SmokeResult } from "../../lib/smoke/run";
import type { CheckResult } from "../../lib/validate/types";

const ROOT = path.resolve(__dirname, "../..");
const ID = "20261122100000";
const START = "2026-11-22T10:00:00.000Z";
const NOW = new Date("2026-11-22T10:11:00Z");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

// Values that stand for production rows: none may reach the JUnit file.
const ROW_VALUES = ["alice@example.com", "bob@example.com", "carol@example.com", "dave-row-7f3a", "erin@example.com"];

interface Fixture {
    restore?: boolean;
    allowedErrors?: string[];
    checks?: CheckResult[];
    validationStatus?: "pass" | "fail";
    masking?: MaskingResult;
    smoke?: SmokeResult;
    storage?: string[];
    config?: { masking?: boolean; smoke?: boolean; storageBuckets?: string[] };
    error?: string;
    env?: string;
}

const PASSING_CHECKS: CheckResult[] = [
    { check: "row_count", object: "public.users", status: "pass", source: 3, target: 3 },
    { check: "checksum", object: "public.users", status: "pass", source: "ab12", target: "ab12" },
    { check: "index", object: "all", status: "skip", detail: "not recorded in this backup's fingerprint (format 2)" },
];

const MASKING_PASS: MaskingResult = {
    status: "pass",
    columns: [{ table: "public.users", column: "email", strategy: "email", rowsMasked: 3, survivors: 0, status: "pass" }],
    survivorScan: { status: "pass", searched: 3, tooShort: 0, minChars: 4, tablesScanned: 2, columnsScanned: 5, survivors: [], notSearched: [] },
    unmaskedPii: [],
    allowedUnmasked: ["public.users.nickname"],
    durationMs: 1500,
};

const SMOKE_PASS: SmokeResult = {
    status: "pass",
    passed: 2,
    total: 2,
    checks: [
        { name: "GET /health", method: "GET", url: "http://api.test/health", status: 200, latencyMs: 120, outcome: "PASS" },
        { name: "GET /rest/v1/users", method: "GET", url: "http://api.test/rest/v1/users", status: 200, latencyMs: 80, outcome: "PASS" },
    ],
};

function drill(f: Fixture = {}): DrillMeta {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-junit-"));
    dirs.push(dir);
    writeStepResult(dir, ID, "backup", {
        mode: "dump", manifestPath: "m", startedAt: START, finishedAt: START, durationMs: 1000,
        manifest: { manifestVersion: 1, id: `backup_${ID}`, format: "custom", root: "x", files: [], takenAt: "2026-11-22T09:00:00.000Z", takenAtSource: "snapshot", tools: {} },
    });
    if (f.restore !== false) {
        writeStepResult(dir, ID, "restore", {
            format: "custom", startedAt: START, finishedAt: START, durationMs: 2000, checksumMs: 1, target: "h:1/d",
            errors: [], allowedErrors: f.allowedErrors ?? [], logPath: "/x/restore.log", extensionsSkipped: [], notes: [],
        });
        const checks = f.checks ?? PASSING_CHECKS;
        writeStepResult(dir, ID, "validation", {
            status: f.validationStatus ?? (checks.some((c) => c.status === "fail") ? "fail" : "pass"),
            comparedWith: "backup-fingerprint", startedAt: START, finishedAt: "2026-11-22T10:10:00.000Z", durationMs: 500,
            results: checks, dataCompared: true,
        });
        if (f.masking) writeStepResult(dir, ID, "masking", f.masking);
        if (f.smoke) writeStepResult(dir, ID, "smoke", f.smoke);
    }
    for (const bucket of f.storage ?? []) {
        writeStorageStep(dir, ID, { sourceBucket: bucket, restoredBucket: `restored-${bucket}-20261122`, manifestKey: "k", objects: 3, bytes: 10, verifiedAt: START });
    }
    const config = f.config ?? {};
    return {
        id: ID, env: f.env ?? "staging", stack: `drill-staging-${ID}`, artifactsDir: dir, startedAt: START,
        targets: { rtoSeconds: 3600, rpoSeconds: 7200 }, nextDrillDays: 90, error: f.error,
        maskingConfigured: config.masking ?? !!f.masking, smokeConfigured: config.smoke ?? !!f.smoke, storageBuckets: config.storageBuckets ?? f.storage,
    };
}

const report = (f: Fixture = {}): DrillReport => buildDrillReport(drill(f), NOW);

interface Case { name: string; classname: string; time: string; failure?: { message: string; type: string; text: string }; skipped?: { message: string }; "system-out"?: string }
interface Suite { name: string; tests: string; failures: string; errors: string; skipped: string; time: string; properties?: { property: { name: string; value: string }[] }; testcase: Case[] }
interface Parsed { testsuites: { name: string; tests: string; failures: string; errors: string; skipped: string; time: string; testsuite: Suite[] } }

/** Parses with fast-xml-parser (not our own reader) after checking the file is well-formed XML. */
function parse(xml: string): Parsed {
    expect(XMLValidator.validate(xml)).toBe(true);
    const parser = new XMLParser({
        ignoreAttributes: false,
        attributeNamePrefix: "",
        textNodeName: "text",
        parseAttributeValue: false,
        parseTagValue: false,
        trimValues: false,
        alwaysCreateTextNode: false,
        isArray: (name) => ["testsuite", "testcase", "property"].includes(name),
        // Character references ("&#10;" in attributes) must come back as the characters.
        processEntities: true,
        htmlEntities: true,
    });
    return parser.parse(xml) as Parsed;
}

/** JUnit's invariants: counts match the cases, at most one verdict element per case, times are seconds. */
function checkConsistent(doc: Parsed): void {
    const root = doc.testsuites;
    expect(root.testsuite.map((s) => s.name)).toEqual([...DRILL_STEPS]);
    let tests = 0, failures = 0, skipped = 0;
    for (const s of root.testsuite) {
        const cases = s.testcase ?? [];
        expect(cases.length, s.name).toBeGreaterThan(0);
        expect(Number(s.tests), s.name).toBe(cases.length);
        expect(Number(s.failures), s.name).toBe(cases.filter((c) => c.failure).length);
        expect(Number(s.skipped), s.name).toBe(cases.filter((c) => c.skipped !== undefined).length);
        expect(s.errors).toBe("0");
        expect(Number(s.time)).toBeGreaterThanOrEqual(0);
        for (const c of cases) {
            expect(c.failure && c.skipped !== undefined, c.name).toBeFalsy();
            expect(Number.isFinite(Number(c.time)), c.name).toBe(true);
            expect(c.classname).toMatch(/^drill\./);
        }
        tests += cases.length;
        failures += Number(s.failures);
        skipped += Number(s.skipped);
    }
    expect([Number(root.tests), Number(root.failures), Number(root.skipped), root.errors]).toEqual([tests, failures, skipped, "0"]);
}

const suite = (doc: Parsed, step: string) => doc.testsuites.testsuite.find((s) => s.name === step)!;
const caseNamed = (doc: Parsed, step: string, name: string) => suite(doc, step).testcase.find((c) => c.name === name);

describe("drill JUnit file", () => {
    it("a passing drill: one suite per step, one case per check, skip statuses skipped, zero failures", () => {
        const doc = parse(formatJUnit(report({ masking: MASKING_PASS, smoke: SMOKE_PASS, storage: ["avatars"] })));
        checkConsistent(doc);
        expect(doc.testsuites.failures).toBe("0");
        expect(doc.testsuites.name).toBe(`supabase-dr drill ${ID} (staging)`);
        expect(doc.testsuites.time).toBe("660");
        expect(suite(doc, "validation").testcase.map((c) => c.name)).toEqual([
            "row_count public.users", "checksum public.users", "index all", "table data compared with the source (backup-fingerprint)",
        ]);
        expect(caseNamed(doc, "validation", "index all")?.skipped?.message).toBe("not recorded in this backup's fingerprint (format 2)");
        expect(suite(doc, "validation").time).toBe("0.5");
        expect(suite(doc, "masking").testcase.map((c) => [c.name, c.skipped?.message ?? "run"])).toEqual([
            ["public.users.email (email)", "run"],
            ["survivor scan", "run"],
            ["public.users.nickname", "left unmasked on purpose (allowUnmasked)"],
        ]);
        expect(suite(doc, "smoke").testcase.map((c) => [c.name, c.time])).toEqual([["GET /health", "0.12"], ["GET /rest/v1/users", "0.08"]]);
        expect(suite(doc, "storage").testcase[0]["system-out"]).toBe("restored to restored-avatars-20261122: 3 object(s), 10 byte(s) verified at 2026-11-22T10:00:00.000Z");
        const props = Object.fromEntries((suite(doc, "report").properties?.property ?? []).map((p) => [p.name, p.value]));
        expect(props).toMatchObject({ drill_id: ID, environment: "staging", status: "PASS" });
        expect(caseNamed(doc, "report", "drill verdict")?.failure).toBeUndefined();
    });

    it("a drill with validation failures: each failure with its message and detail, no row value, verdict failed", () => {
        const checks: CheckResult[] = [
            { check: "row_count", object: "public.orders", status: "fail", source: 5, target: 4 },
            // The expected value is the operator's; the actual one is read from the restored rows.
            { check: "assertion", object: "newest signup", status: "fail", source: 3, target: "alice@example.com", detail: "expected 3" },
            { check: "updated_at", object: "public.orders", status: "fail", source: "2026-11-22 09:00:00", target: "2026-11-21 08:00:00" },
            { check: "assertion", object: "lookup", status: "fail", detail: 'query failed: invalid input syntax for type uuid: "dave-row-7f3a"' },
        ];
        const r = report({
            checks,
            allowedErrors: ['pg_restore: error: could not execute query: ERROR:  duplicate key value violates unique constraint "users_email_key" DETAIL:  Key (email)=(carol@example.com) already exists.'],
            error: 'validation failed: 4 of 4 checks differ\n  FAIL assertion newest signup: source="erin@example.com" target="alice@example.com"\n  FAIL assertion x: source="bob@example.com" target=null',
        });
        expect(r.status).toBe("FAIL");
        const xml = formatJUnit(r);
        for (const v of ROW_VALUES) expect(xml, v).not.toContain(v);
        const doc = parse(xml);
        checkConsistent(doc);
        const count = caseNamed(doc, "validation", "row_count public.orders")!.failure!;
        expect(count.message).toBe("row_count public.orders: source and target differ");
        expect(count.type).toBe("drill.validation.row_count");
        expect(count.text).toBe("source and target differ\nsource: 5\ntarget: 4");
        const assertion = caseNamed(doc, "validation", "assertion newest signup")!.failure!;
        expect(assertion.text).toContain("values not shown (see the validation report)");
        expect(caseNamed(doc, "validation", "assertion lookup")!.failure!.message).toBe('assertion lookup: query failed: invalid input syntax for type uuid: "…"');
        expect(suite(doc, "restore").testcase[0]["system-out"]).toContain('violates unique constraint "users_email_key" DETAIL: (not shown: may quote row values)');
        const verdict = caseNamed(doc, "report", "drill verdict")!.failure!;
        expect(verdict.message).toBe(`drill ${ID} FAILED with ${r.issues.length} issue(s)`);
        expect(verdict.text).toContain("- Validation row_count failed for public.orders");
        expect(Number(doc.testsuites.failures)).toBe(5); // 4 checks + the verdict
    });

    it("a step that did not run: the first missing step fails with the drill's error, the later ones are skipped with the reason", () => {
        const r = report({
            restore: false,
            config: { masking: true, smoke: true, storageBuckets: ["avatars"] },
            error: 'restore failed: pg_restore: error: COPY failed for table "users": ERROR:  invalid input syntax for type uuid: "dave-row-7f3a"\nCONTEXT:  COPY users, line 2, column id: "dave-row-7f3a"',
        });
        const xml = formatJUnit(r);
        expect(xml).not.toContain("dave-row-7f3a");
        const doc = parse(xml);
        checkConsistent(doc);
        expect(suite(doc, "backup").failures).toBe("0");
        const restore = caseNamed(doc, "restore", "restore")!.failure!;
        expect(restore.message).toBe("the restore step did not complete");
        expect(restore.text).toBe(
            'restore failed: pg_restore: error: COPY failed for table "users": ERROR:  invalid input syntax for type uuid: "…"\nCONTEXT: (not shown: may quote row values)',
        );
        for (const step of ["validation", "masking", "smoke"]) {
            expect(caseNamed(doc, step, step)?.skipped?.message, step).toBe("did not run: the restore step did not complete");
        }
        expect(caseNamed(doc, "storage", "avatars")!.failure!.message).toBe("bucket avatars was not restored and verified");
        expect(caseNamed(doc, "report", "RTO within target (3600s)")!.skipped!.message).toBe("RTO not measured: the validation did not pass");
        expect(caseNamed(doc, "report", "RPO within target (7200s)")!.failure).toBeUndefined();
    });

    it("steps that are not configured are skipped, not failed; configured smoke that ran nothing fails with why", () => {
        const doc = parse(formatJUnit(report({ smoke: { status: "skipped", passed: 0, total: 2, checks: [] } })));
        checkConsistent(doc);
        expect(caseNamed(doc, "masking", "masking")?.skipped?.message).toBe("masking is not configured for this drill");
        expect(caseNamed(doc, "storage", "storage")?.skipped?.message).toBe("no storage bucket is configured for this drill");
        expect(caseNamed(doc, "smoke", "smoke")?.failure?.message).toBe("smoke tests could not run: none of the 2 check(s) could run: the restored environment's API URL is not set");
    });

    it("escapes quotes, apostrophes, newlines and <&> so that every name comes back exactly", () => {
        const weird = 'public."we<ird>&""na\'me"';
        const assertionName = 'rows "ok"\n<b>&amp; </testcase>';
        const smokeName = "GET </system-out><x a='1'>&";
        const r = report({
            env: 'st"ag<e>&\n',
            checks: [
                { check: "row_count", object: weird, status: "fail", source: 2, target: 1 },
                { check: "assertion", object: assertionName, status: "skip", detail: "a <reason> & \"more\"" },
            ],
            smoke: { status: "fail", passed: 0, total: 1, checks: [{ name: smokeName, method: "GET", url: "http://api.test/x?a=1&b=<2>", status: 500, latencyMs: 5, outcome: "FAIL", reason: "server error 500 (5xx always fails); body: <html>erin@example.com</html>" }] },
        });
        const xml = formatJUnit(r);
        expect(xml).not.toContain("<ird>");
        expect(xml).not.toContain("</system-out><x");
        expect(xml).not.toContain("erin@example.com");
        const doc = parse(xml);
        checkConsistent(doc);
        expect(doc.testsuites.name).toBe(`supabase-dr drill ${ID} (st"ag<e>&\n)`);
        expect(caseNamed(doc, "validation", `row_count ${weird}`)?.failure?.message).toBe(`row_count ${weird}: source and target differ`);
        expect(caseNamed(doc, "validation", `assertion ${assertionName}`)?.skipped?.message).toBe('a <reason> & "more"');
        const smoke = caseNamed(doc, "smoke", smokeName)!.failure!;
        expect(smoke.message).toBe("GET http://api.test/x?a=1&b=<2>: server error 500 (5xx always fails); response excerpt not shown (see the smoke report)");
    });

    it("replaces characters XML cannot carry instead of writing an unreadable file", () => {
        const doc = parse(formatJUnit(report({ checks: [{ check: "table", object: "public.t\u0000x\u0007", status: "fail", detail: "bad \uD800 byte" }] })));
        checkConsistent(doc);
        expect(caseNamed(doc, "validation", "table public.t\uFFFDx\uFFFD")?.failure?.message).toBe("table public.t\uFFFDx\uFFFD: bad \uFFFD byte");
    });

    it("is written beside the report, redacted like it, even for secrets that XML would escape", () => {
        const secret = 'pa&ss"w<o>rd-91';
        const meta = drill({ smoke: { ...SMOKE_PASS, checks: [{ ...SMOKE_PASS.checks[0], name: `GET /health?key=${secret}` }] } });
        const { junitPath, report: written } = writeDrillReport({ ...meta, error: `boom postgresql://u:pw-xyz@h/db ${secret}` }, [secret], NOW);
        expect(junitPath).toBe(path.join(meta.artifactsDir, `drill_${ID}.junit.xml`));
        const xml = fs.readFileSync(junitPath, "utf8");
        for (const form of [secret, "pa&amp;ss&quot;w&lt;o&gt;rd-91", "pw-xyz"]) expect(xml, form).not.toContain(form);
        expect(parse(xml).testsuites.failures).not.toBe("0");
        expect(written.failure).toBe("boom postgresql://u:****@h/db ****");
        expect(xml).toContain("GET /health?key=****");
    });
});

describe("row values stay out of the free text", () => {
    it("withoutRowValues keeps what and where, drops the values PostgreSQL quotes", () => {
        expect(withoutRowValues('ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL:  Key (email)=(a@b.c) already exists.'))
            .toBe('ERROR:  duplicate key value violates unique constraint "users_email_key"\nDETAIL: (not shown: may quote row values)');
        expect(withoutRowValues("insert or update violates foreign key constraint \"fk\" Key (user_id)=(42) is not present in table \"users\"."))
            .toBe('insert or update violates foreign key constraint "fk" Key (user_id)=(…)');
        expect(withoutRowValues('null value in column "email" of relation "users" violates not-null constraint Failing row contains (1, null, secret-name).'))
            .toBe('null value in column "email" of relation "users" violates not-null constraint Failing row contains (…)');
        expect(withoutRowValues('psql:dump.sql:12: ERROR:  value "99999999999" is out of range for type integer\nLINE 1: INSERT INTO t VALUES (\'x@y.z\', 99999999999);'))
            .toBe('psql:dump.sql:12: ERROR:  value "…" is out of range for type integer\nLINE 1: (not shown: may quote row values)');
        expect(withoutRowValues("where name = 'O''Brien' and the drill's run")).toBe("where name = '…' and the drill's run");
        expect(withoutRowValues('FAIL assertion a: source="x@y.z" target=7 (expected 3)')).toBe("FAIL assertion a: source=… target=… (expected 3)");
        expect(withoutRowValues('relation "public.t" does not exist')).toBe('relation "public.t" does not exist');
    });

    it("smokeReason keeps only known value-free parts of a smoke failure", () => {
        expect(smokeReason("expected status 200 or 204, got 404; body: {\"email\":\"a@b.c\"; \"x\": 1} (failed 3 attempts)"))
            .toBe("expected status 200 or 204, got 404; response excerpt not shown (see the smoke report) (failed 3 attempts)");
        expect(smokeReason('JSON "data.email": expected "x", got "alice@example.com"; body: {"data":{}}; took 900 ms, budget 500 ms'))
            .toBe('JSON "data.email": not the expected value; took 900 ms, budget 500 ms; response excerpt not shown (see the smoke report)');
        expect(smokeReason('CSV header lacks column(s) "id" (header: name,email)')).toBe('CSV header lacks column(s) "id"');
        expect(smokeReason("timed out after 5000 ms")).toBe("timed out after 5000 ms");
        expect(smokeReason("(empty body)")).toBe("(empty body)");
    });
});

describe("npm run junit-summary (what the weekly workflow publishes)", () => {
    const run = (...args: string[]) =>
        spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "scripts/junit-summary.ts"), ...args], { encoding: "utf8", cwd: ROOT });

    it("summarizes a failed drill: verdict, per-step counts, failures with details, skips; Markdown-escaped", () => {
        const meta = drill({
            checks: [
                { check: "row_count", object: "public.orders", status: "fail", source: 5, target: 4 },
                { check: "row_count", object: "public.|pipe<script>`x`", status: "fail", source: 1, target: 0 },
            ],
            config: { smoke: true },
            smoke: { status: "skipped", passed: 0, total: 1, checks: [] },
        });
        writeDrillReport(meta, [], NOW);
        const r = run(meta.artifactsDir);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        const lines = r.stdout.split("\n");
        expect(lines[0]).toBe(`### Restore drill ${ID} (staging): FAIL`);
        expect(r.stdout).toContain("| validation | 1 | 2 | 0 | 0.5 |"); // the failed checks, and the basis check
        expect(r.stdout).toContain("\n11 checks: 4 passed, 4 failed, 3 skipped; 660 s (drill\\_20261122100000.junit.xml)\n");
        expect(r.stdout).toContain("| backup | 1 | 0 | 0 | 1 |");
        expect(r.stdout).toContain("- validation: **row\\_count public.orders**: row\\_count public.orders: source and target differ");
        expect(r.stdout).toContain("- validation: **row\\_count public.\\|pipe&lt;script&gt;\\`x\\`**:");
        // Raw text only inside fenced blocks, which Markdown shows as it is.
        expect(r.stdout.replace(/^ {2}```text\n[\s\S]*?^ {2}```$/gm, "")).not.toMatch(/<script>|`x`/);
        expect(r.stdout).toContain("  ```text\n  - Validation row_count failed for public.orders\n  - Validation row_count failed for public.|pipe<script>`x`\n  - Smoke tests were configured but could not run: no API of the restored environment to send them to (1 check(s) not run).\n  ```");
        expect(r.stdout).toContain("  ```text\n  source and target differ\n  source: 5\n  target: 4\n  ```");
        expect(r.stdout).toMatch(/- smoke: \*\*smoke\*\*: smoke tests could not run: none of the 1 check\(s\) could run/);
    });

    it("fails, saying so in the summary, when there is no JUnit file; rejects a malformed one", () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "sdr-junit-empty-"));
        dirs.push(empty);
        const none = run(empty);
        expect(none.status).toBe(1);
        expect(none.stdout).toContain("No drill JUnit result (drill_<id>.junit.xml) was found");
        fs.writeFileSync(path.join(empty, `drill_${ID}.junit.xml`), '<testsuites tests="1"><testsuite name="x"></testsuites>');
        const bad = run(empty);
        expect(bad.status).toBe(1);
        expect(bad.stderr).toMatch(/not a readable JUnit file: unexpected closing tag at offset \d+/);
        expect(run().status).toBe(2);
    });
});
