// Entry point of the plugin pulumi-resource-supabase-dr. scripts/build-provider.mjs bundles this file
// and everything it imports into one JavaScript file ahead of time (no TypeScript at run time), and
// scripts/ensure-provider.sh installs the bundle as the plugin resource-supabase-dr-v<version>.
import { main } from "@pulumi/pulumi/provider";
import { version } from "../package.json";
import { dropEngineSecretsFromEnvironment } from "../lib/toolEnvironment";
import { supabaseDrProvider } from "./server";

// The engine starts plugins with the program's decrypted config in PULUMI_CONFIG and its passphrase; the
// provider gets its configuration through Configure, and nothing it starts may inherit either.
dropEngineSecretsFromEnvironment();

main(supabaseDrProvider(version), process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`pulumi-resource-supabase-dr: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
});
