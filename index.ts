// Entry point of the supabase-dr Pulumi program (`pulumi up`).
//
// Stacks named drill-* are restore drills: created, run and destroyed by the drill command
// (see README). Their first resource is a scratch database on the configured target server.
// The prod and staging stacks hold the backup infrastructure (vaults, access, automation).
import * as pulumi from "@pulumi/pulumi";
import { ScratchDatabase } from "./dynamic/scratchDatabase";

const config = new pulumi.Config();

function drill(): Record<string, pulumi.Output<unknown>> {
    const target = new ScratchDatabase("scratch-target", {
        adminUrl: config.requireSecret("targetAdminUrl"),
        namePrefix: config.get("scratchPrefix") ?? "drill",
    });
    return { scratchDatabase: target.databaseName, targetUrl: target.connectionString };
}

function infrastructure(): Record<string, unknown> {
    return { environment: config.require("environment") };
}

export = pulumi.getStack().startsWith("drill-") ? drill() : infrastructure();
