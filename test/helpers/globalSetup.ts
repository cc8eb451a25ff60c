// Builds (or finds in the cache) every tool the tests need, once, before any test file runs: a fresh
// machine pays for the builds here, where no hook or test timeout is running, instead of inside the
// first test that needs each tool (a cold S3 server build once blew a 180 s beforeAll).
//   - the Pulumi engine (scripts/ensure-pulumi.sh)         → SUPABASE_DR_PULUMI_BIN
//   - the supabase-dr provider plugin (scripts/ensure-provider.sh) → SUPABASE_DR_PLUGINS_DIR
//   - the S3 test server (scripts/ensure-s3-server.sh)     → SUPABASE_DR_S3_SERVER_BIN
//   - actionlint (scripts/ensure-actionlint.sh)            → ACTIONLINT_BIN
// The variables reach the test workers, which are forked after this runs. A variable already set by
// the caller wins (the helpers check that it points at the binary). SUPABASE_DR_SKIP_ENGINE=1
// (`npm run test:unit`) builds nothing; the few unit tests that need a tool then build it themselves.
// The builds run one after another: they are CPU- and memory-bound Go builds that would only fight
// over the same cores, and their progress lines stay readable.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureEngine, ensureProviderPlugin, REPO_ROOT } from "../../lib/pulumi/engine";
import { ensureS3ServerBinDir, S3_SERVER_BIN_ENV } from "./s3Server";

function ensureActionlint(): string {
    const fromEnv = process.env.ACTIONLINT_BIN;
    if (fromEnv) return fromEnv;
    const out = execFileSync("bash", [path.join(REPO_ROOT, "scripts", "ensure-actionlint.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
    });
    const bin = path.join(out.trim().split("\n").pop() ?? "", "actionlint");
    if (!fs.existsSync(bin)) throw new Error(`scripts/ensure-actionlint.sh did not produce ${bin}`);
    return bin;
}

export default function setup(): void {
    if (process.env.SUPABASE_DR_SKIP_ENGINE === "1") return;
    process.env.SUPABASE_DR_PULUMI_BIN = ensureEngine();
    process.env.SUPABASE_DR_PLUGINS_DIR = ensureProviderPlugin();
    process.env[S3_SERVER_BIN_ENV] = ensureS3ServerBinDir();
    process.env.ACTIONLINT_BIN = ensureActionlint();
}
