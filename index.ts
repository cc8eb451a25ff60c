// Entry point of the supabase-dr Pulumi program (`pulumi up`).
//
// Stacks named drill-* are restore drills: created, run and destroyed by the drill command (README:
// "Restore drills"), which writes their config. Every other stack (prod, staging) holds the backup
// infrastructure (README: "Backup infrastructure").
import * as pulumi from "@pulumi/pulumi";
import { drillProgram } from "./programs/drill";
import { infrastructureProgram } from "./programs/infra";

export = pulumi.getStack().startsWith("drill-") ? drillProgram() : infrastructureProgram();
