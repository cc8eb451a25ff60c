// A content hash per demo table, computed inside PostgreSQL: md5 over the md5 of every row's text
// form in key order. Equal fingerprints mean equal contents, whatever the physical row order.
import { withClient } from "../postgres/connection";
import { DEMO_TABLES } from "./tables";

// Text forms of dates and numbers depend on session settings; pin them so that two servers with
// different defaults still agree.
const STABLE_OUTPUT_SQL = `
set timezone = 'UTC';
set datestyle = 'ISO, YMD';
set intervalstyle = 'postgres';
set extra_float_digits = 1;
set bytea_output = 'hex';
`;

export function tableFingerprintSql(table: string, key: string): string {
    return `select md5(coalesce(string_agg(md5(t::text), '' order by t.${key}), '')) as fingerprint from ${table} t`;
}

/** schema.table -> md5 fingerprint, for every table the demo seeds. */
export async function demoContentFingerprint(url: string): Promise<Record<string, string>> {
    return withClient(url, "demo database", async (client) => {
        await client.query(STABLE_OUTPUT_SQL);
        const result: Record<string, string> = {};
        for (const { name, key } of DEMO_TABLES) {
            const r = await client.query<{ fingerprint: string }>(tableFingerprintSql(name, key));
            result[name] = r.rows[0].fingerprint;
        }
        return result;
    });
}
