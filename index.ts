// Entry point of the supabase-dr Pulumi program (`pulumi up`).
//
// Stacks named drill-* are restore drills: created, run and destroyed by the drill command (README:
// "Restore drills"), which writes their config. The prod and staging stacks hold the backup
// infrastructure.
import * as pulumi from "@pulumi/pulumi";
import { drillProgram } from "./lib/drill/program";

const config = new pulumi.Config();

function infrastructure(): Record<string, unknown> {
    return { environment: config.require("environment") };
}

export = pulumi.getStack().startsWith("drill-") ? drillProgram() : infrastructure();
