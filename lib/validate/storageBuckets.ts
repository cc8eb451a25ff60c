// Supabase Storage bucket settings (storage.buckets): whether a bucket is public, its size limit and
// allowed MIME types. The objects live outside the database; the settings are rows the restore carries.
// Supabase adds columns over time, so every column is recorded and only those both sides have are
// compared; the owner and timestamps are data, not settings, and are left out.
import { readRefusal } from "./readability";
import { attempt, type Queryable } from "./session";
import { byText } from "./catalog";
import type { StorageBucketsFingerprint } from "./types";

const NOT_SETTINGS = new Set(["id", "owner", "owner_id", "created_at", "updated_at"]);

/** null when the storage schema is not fingerprinted or has no buckets table. */
export async function storageBuckets(client: Queryable, schemas: string[]): Promise<StorageBucketsFingerprint | null> {
    if (!schemas.includes("storage")) return null;
    // From the catalog, not to_regclass(): that raises an ERROR without USAGE on the schema.
    const table = await client.query<{ columns: string[] }>(
        `select array(select a.attname::text from pg_catalog.pg_attribute a
                      where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                      order by a.attnum) as columns
         from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'storage' and c.relname = 'buckets'`,
    );
    if (table.rows.length === 0) return null;
    const columns = table.rows[0].columns.filter((c) => !NOT_SETTINGS.has(c));
    if (!table.rows[0].columns.includes("id")) return { columns, buckets: [], error: "storage.buckets has no id column" };
    const refusal = await readRefusal(client, { schema: "storage", name: "buckets" });
    if (refusal) return { columns, buckets: [], error: refusal };
    const read = await attempt(client, async () => {
        const r = await client.query<{ id: string; settings: Record<string, unknown> }>(
            "select b.id::text as id, pg_catalog.to_jsonb(b) as settings from storage.buckets b",
        );
        return r.rows;
    });
    if (!read.ok) return { columns, buckets: [], error: read.error };
    const buckets = read.value
        .map((b) => ({ id: b.id, settings: Object.fromEntries(columns.map((c) => [c, b.settings[c] ?? null])) }))
        .sort((a, b) => byText(a.id, b.id));
    return { columns, buckets };
}
