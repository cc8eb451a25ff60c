// Roles are cluster-wide. `roles.sql` (and the Supabase platform roles a restore creates) change every
// database of the target's server, so they may be applied only where that cannot touch the source:
//   - the drill's own throw-away cluster (proven by its system identifier, recorded when it was created);
//   - another server whose identity differs from every known source (SOURCE_DB_URL and the manifest),
//     with the source's system identifier known: host names and ports alone cannot prove two servers
//     differ (a pooler, a DNS alias or an IP can reach the same cluster).
// On the source's own server the roles exist already and are never rewritten (a custom role's settings
// would go back to their values at dump time). Anywhere else the answer is "refuse, and say how".
import { describe } from "../postgres/connection";
import { sameServer, type DatabaseIdentity } from "../postgres/sourceGuard";
import { RefusedError } from "../errors";

export type RolesDecision =
    | { apply: true; reason: string }
    | { apply: false; reason: string; refuse: boolean };

/** A server the drill created itself: its own cluster (by system identifier) or a scratch Supabase project. */
export interface DrillServer {
    systemIdentifier?: string;
    supabaseProject?: boolean;
}

export function decideRoles(target: DatabaseIdentity, sources: DatabaseIdentity[], drillServer?: DrillServer): RolesDecision {
    const onSourceServer = sources.find((s) => sameServer(target, s));
    if (onSourceServer) {
        return {
            apply: false,
            refuse: false,
            reason: `the target server ${describe(target)} is the source's server: its roles exist already and are never rewritten`,
        };
    }
    if (drillServer?.systemIdentifier && target.systemIdentifier === drillServer.systemIdentifier) {
        return { apply: true, reason: "the target is the drill's own throw-away cluster" };
    }
    if (drillServer?.supabaseProject) {
        return { apply: true, reason: "the target is the drill's own scratch Supabase project" };
    }
    if (!target.systemIdentifier) {
        return {
            apply: false,
            refuse: true,
            reason: `the target server's identity (system identifier) cannot be read, so it cannot be told apart from the source's`,
        };
    }
    const known = sources.filter((s) => s.systemIdentifier);
    if (sources.length === 0 || known.length < sources.length) {
        return {
            apply: false,
            refuse: true,
            reason:
                sources.length === 0
                    ? "the source server's identity is unknown (no SOURCE_DB_URL and no source recorded in the backup's manifest)"
                    : "the source server's identity (system identifier) could not be read, so the target cannot be told apart from it",
        };
    }
    return { apply: true, reason: `the target server differs from the source's (system identifier ${target.systemIdentifier})` };
}

/** The error for a refused decision: what happened and how to proceed. */
export function rolesRefusal(what: string, decision: RolesDecision & { apply: false }): Error {
    return new RefusedError(
        `refusing to apply ${what}: roles are cluster-wide and ${decision.reason}. ` +
            `Run the drill on its own throw-away cluster (leave TARGET_DB_URL unset), or set SOURCE_DB_URL to the ` +
            `reachable source so the servers' identities can be compared.`,
    );
}
