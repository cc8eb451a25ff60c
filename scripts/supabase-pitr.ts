// `npm run supabase-pitr -- <health|mark|drill> …`: hosted Supabase PITR health, marks and
// drills (lib/supabase/pitrCli.ts holds the logic and the usage text).
import { runPitrCli } from "../lib/supabase/pitrCli";

runPitrCli(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
}).then(
    (code) => process.exit(code),
    (err: unknown) => {
        // runPitrCli reports its own errors redacted; reaching here means a bug, without secrets to print.
        process.stderr.write(`supabase-pitr: internal error: ${(err as Error)?.name ?? "Error"}\n`);
        process.exit(1);
    },
);
