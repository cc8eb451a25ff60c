// RLS behaviour: what a given role with given JWT claims can actually see.
//
// Comparing policy text proves the policies were restored; it does not prove they behave the same
// (auth.uid() may be restored differently, a grant may be missing). So for each probe we become that
// role the way PostgREST does (SET LOCAL ROLE plus request.jwt.* settings) and fingerprint every
// RLS-enabled table as seen through its policies. A superuser bypasses RLS, so this only means
// something for ordinary roles; everything happens under a savepoint that is rolled back.
import { quoteIdent } from "../postgres/connection";
import { readRefusal, setRoleRefusal } from "./readability";
import { attempt, type Queryable } from "./session";
import { qualifiedName, scanTable, type TableRef } from "./tableScan";
import type { RlsProbe, RlsProbeResult, RlsVisibility } from "./types";

// Claim keys that are valid in a custom setting name (request.jwt.claim.<key>).
const CLAIM_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A plain-JSON copy of the claims, so the fingerprint stays JSON data whatever was passed in. */
function plainClaims(claims: Record<string, unknown> | undefined): Record<string, unknown> | null {
    return claims === undefined ? null : (JSON.parse(JSON.stringify(claims)) as Record<string, unknown>);
}

/** Sets the request.jwt.* settings PostgREST would set, transaction-local. */
async function setClaims(client: Queryable, claims: Record<string, unknown> | null): Promise<void> {
    const settings: [string, string][] = [["request.jwt.claims", claims ? JSON.stringify(claims) : ""]];
    // Older auth.uid()/auth.role() read request.jwt.claim.sub/.role: clear them when absent so a
    // value left in the session cannot leak into the probe.
    const legacy: Record<string, unknown> = { sub: "", role: "", ...(claims ?? {}) };
    for (const [key, value] of Object.entries(legacy)) {
        if (!CLAIM_KEY.test(key)) continue;
        settings.push([`request.jwt.claim.${key}`, typeof value === "string" ? value : JSON.stringify(value)]);
    }
    for (const [name, value] of settings) {
        await client.query("select pg_catalog.set_config($1, $2, true)", [name, value]);
    }
}

async function probeTables(client: Queryable, tables: TableRef[]): Promise<RlsVisibility[]> {
    const out: RlsVisibility[] = [];
    for (const table of tables) {
        const name = qualifiedName(table.schema, table.name);
        // A read the role may not make is this probe's result, predicted rather than run (no ERROR in the
        // source's log); anything else that fails is contained by the table's own savepoint.
        const refusal = await readRefusal(client, table);
        if (refusal) {
            out.push({ table: name, rowCount: null, checksum: null, error: refusal });
            continue;
        }
        const scan = await attempt(client, () => scanTable(client, table, false));
        out.push(
            scan.ok
                ? { table: name, rowCount: scan.value.rowCount, checksum: scan.value.checksum }
                : { table: name, rowCount: null, checksum: null, error: scan.error },
        );
    }
    return out;
}

export async function runRlsProbe(
    client: Queryable,
    probe: RlsProbe,
    tables: TableRef[],
    searchPath: string,
): Promise<RlsProbeResult> {
    const claims = plainClaims(probe.claims);
    const role = await client.query<{ bypasses: boolean }>(
        "select rolsuper or rolbypassrls as bypasses from pg_catalog.pg_roles where rolname = $1",
        [probe.role],
    );
    if (role.rows.length === 0) return { role: probe.role, claims, status: "role-missing", tables: [] };
    const bypass = role.rows[0].bypasses ? { bypassesRls: true } : {};
    const cannotSetRole = await setRoleRefusal(client, probe.role);
    if (cannotSetRole) return { role: probe.role, claims, status: "error", ...bypass, error: cannotSetRole, tables: [] };

    const before = await client.query<{ who: string }>("select current_user::text as who");
    const result = await attempt(
        client,
        async () => {
            await client.query(`set local role ${quoteIdent(probe.role)}`);
            await setClaims(client, claims);
            // Policies must apply (the fingerprint pass turned row_security off), and functions they
            // call may use unqualified names, so give back the session's own search_path.
            await client.query(
                "select pg_catalog.set_config('row_security', 'on', true), pg_catalog.set_config('search_path', $1, true)",
                [searchPath],
            );
            return probeTables(client, tables);
        },
        { rollback: true },
    );
    const after = await client.query<{ who: string }>("select current_user::text as who");
    if (after.rows[0].who !== before.rows[0].who) {
        // Rolling back the savepoint restores the role; if it did not, stop before reading as the wrong user.
        await client.query("reset role").catch(() => undefined);
        throw new Error(`RLS probe as ${probe.role} left the session as ${after.rows[0].who}; aborting validation`);
    }
    if (!result.ok) return { role: probe.role, claims, status: "error", ...bypass, error: result.error, tables: [] };
    return { role: probe.role, claims, status: "ok", ...bypass, tables: result.value };
}
