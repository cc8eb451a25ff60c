import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        // Pulumi serializes dynamic-provider closures with V8's inspector: worker threads break it,
        // child processes (forks) do not.
        pool: "forks",
        include: ["test/**/*.test.ts"],
        // Integration tests build PostgreSQL clusters and run the Pulumi engine: give them time.
        testTimeout: 180_000,
        hookTimeout: 180_000,
        globalSetup: ["test/helpers/globalSetup.ts"],
        reporters: ["verbose"],
    },
});
