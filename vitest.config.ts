import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        // Pulumi serializes dynamic-provider closures with V8's inspector: worker threads break it,
        // child processes (forks) do not.
        pool: "forks",
        // Two test files at a time: most of their time is spent waiting on PostgreSQL, the engine and
        // child processes, so two cores keep two busy (the default, cores - 1, runs them one by one).
        maxWorkers: 2,
        include: ["test/**/*.test.ts"],
        // Integration tests build PostgreSQL clusters and run the Pulumi engine: give them time.
        testTimeout: 180_000,
        hookTimeout: 180_000,
        globalSetup: ["test/helpers/globalSetup.ts"],
        reporters: ["verbose"],
    },
});
