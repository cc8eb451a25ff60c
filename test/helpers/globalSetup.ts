// Builds (or finds in the cache) the real Pulumi engine once, before any test file runs, so the
// first integration test does not pay for it inside its timeout.
import { ensureEngine } from "../../lib/pulumi/engine";

export default function setup(): void {
    if (process.env.SUPABASE_DR_SKIP_ENGINE === "1") return;
    process.env.SUPABASE_DR_PULUMI_BIN = ensureEngine();
}
