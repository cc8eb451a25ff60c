// Which migrations of the directory are outstanding on a restored backup, by the Supabase CLI's rule
// (supabase/cli apps/cli-go/pkg/migration/apply.go FindPendingMigrations): every version in the
// backup's history must have its file (else the directory is not this project's, or is older than the
// backup); a file older than the backup's newest version that the backup never applied is out of
// order and refused (the CLI refuses it without --include-all); the rest, in order, are pending.
// --to cuts the pending list at a version that must be one of its files.
import { compareVersions, type MigrationFile } from "./migrationsDir";

export interface AppliedMigration {
    version: string;
    name: string;
}

export interface MigrationPlan {
    /** The backup's newest applied version, or undefined for an empty history. */
    lastApplied?: AppliedMigration;
    pending: MigrationFile[];
    /** Pending files after --to, left for later. */
    notApplied: MigrationFile[];
}

export class MigrationPlanRefused extends Error {}

function list(versions: string[], max = 8): string {
    return versions.length > max ? `${versions.slice(0, max).join(", ")} and ${versions.length - max} more` : versions.join(", ");
}

export function planMigrations(applied: AppliedMigration[], local: MigrationFile[], to?: string): MigrationPlan {
    const history = [...applied].sort((a, b) => compareVersions(a.version, b.version));
    const localVersions = new Set(local.map((m) => m.version));
    const appliedVersions = new Set(history.map((m) => m.version));
    const lastApplied = history[history.length - 1];

    const missingLocal = history.filter((m) => !localVersions.has(m.version)).map((m) => m.version);
    if (missingLocal.length > 0) {
        throw new MigrationPlanRefused(
            `the backup's migration history has version(s) with no file in the migrations directory: ${list(missingLocal)}. ` +
                `Use the directory of the commit that produced the backup or a later one`,
        );
    }
    const outOfOrder = local.filter((m) => !appliedVersions.has(m.version) && lastApplied && compareVersions(m.version, lastApplied.version) < 0);
    if (outOfOrder.length > 0) {
        throw new MigrationPlanRefused(
            `migration file(s) older than the backup's last applied version ${lastApplied!.version} were never applied to it: ` +
                `${list(outOfOrder.map((m) => m.version))}. The CLI refuses out-of-order migrations too; rename them after ${lastApplied!.version} ` +
                `or apply them by hand after review`,
        );
    }
    let pending = local.filter((m) => !appliedVersions.has(m.version));
    let notApplied: MigrationFile[] = [];
    if (to !== undefined) {
        if (lastApplied && compareVersions(to, lastApplied.version) < 0) {
            throw new MigrationPlanRefused(
                `--to ${to} is older than the backup's last applied migration ${lastApplied.version}: restore an older backup to stop at ${to}`,
            );
        }
        if (!localVersions.has(to)) throw new MigrationPlanRefused(`--to ${to} is not a version in the migrations directory`);
        notApplied = pending.filter((m) => compareVersions(m.version, to) > 0);
        pending = pending.filter((m) => compareVersions(m.version, to) <= 0);
    }
    return { lastApplied, pending, notApplied };
}
