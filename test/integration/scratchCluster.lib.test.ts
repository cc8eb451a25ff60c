// The drill's own throw-away cluster: outlives the process that created it, is removed only with its
// owner token, and removal never deletes a directory that is not one of ours.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { withClient } from "../../lib/postgres/connection";
import { stopDetachedCluster } from "../../lib/postgres/localCluster";
import { destroyScratchCluster, scratchClusterState, type ScratchCluster } from "../../lib/postgres/scratchCluster";

const REPO = path.resolve(__dirname, "../..");

describe("scratch cluster", () => {
    it("keeps running after the process that created it exits, and is removed with its token only", async () => {
        // Created in a child process, as the engine's provider process does.
        const out = execFileSync(
            process.execPath,
            [path.join(REPO, "node_modules/tsx/dist/cli.mjs"), "-e", `require(${JSON.stringify(path.join(REPO, "lib/postgres/scratchCluster.ts"))}).createScratchCluster().then((c) => console.log(JSON.stringify(c)))`],
            { encoding: "utf8" },
        );
        const cluster = JSON.parse(out.trim().split("\n").pop()!) as ScratchCluster;
        try {
            expect(scratchClusterState(cluster)).toBe("running");
            const sysid = await withClient(cluster.adminUrl, "scratch", async (c) => (await c.query("select system_identifier::text as id from pg_control_system()")).rows[0].id);
            expect(sysid).toBe(cluster.systemIdentifier);
            expect(() => destroyScratchCluster({ ...cluster, ownerToken: "not-the-token" })).toThrow(/not created by this supabase-dr resource/);
            expect(scratchClusterState(cluster)).toBe("running");
            expect(destroyScratchCluster(cluster)).toBe("removed");
            expect(scratchClusterState(cluster)).toBe("missing");
            expect(destroyScratchCluster(cluster)).toBe("already-gone");
        } finally {
            if (fs.existsSync(cluster.rootDir)) stopDetachedCluster(cluster.rootDir, cluster.runAs);
        }
    });

    it("refuses to remove a directory that is not a throw-away cluster of ours", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "not-ours-"));
        fs.writeFileSync(path.join(dir, "precious"), "data");
        try {
            expect(() => stopDetachedCluster(dir)).toThrow(/not a supabase-dr throw-away cluster directory/);
            expect(fs.existsSync(path.join(dir, "precious"))).toBe(true);
            fs.writeFileSync(path.join(dir, "supabase-dr-owner"), "tok\n");
            expect(() => destroyScratchCluster({ rootDir: dir, ownerToken: "tok" })).toThrow(/not a supabase-dr throw-away cluster directory/);
            expect(fs.existsSync(path.join(dir, "precious"))).toBe(true);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
