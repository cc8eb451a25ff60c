// A small schema with data for backup/restore tests (the full Supabase-shaped seed lives in lib/demo).
import { withClient } from "../../lib/postgres/connection";

export async function createSampleData(url: string, rows = 1000): Promise<void> {
    await withClient(url, "sample", async (c) => {
        await c.query(`
            create table public.customers (id bigserial primary key, email text not null, note text, updated_at timestamptz not null default now());
            create table public.orders (id bigserial primary key, customer_id bigint references public.customers(id), total numeric(10,2), created_at timestamptz default now());
            insert into public.customers (email, note, updated_at)
                select 'user' || i || '@example.com', repeat(md5(i::text), 4), timestamptz '2026-01-01' + i * interval '1 minute'
                from generate_series(1, ${rows}) i;
            insert into public.orders (customer_id, total) select 1 + (i % ${rows}), (i % 997) / 7.0 from generate_series(1, ${rows * 2}) i;
        `);
    });
}

export async function tableCount(url: string): Promise<number> {
    return withClient(url, "target", async (c) => {
        const r = await c.query<{ n: string }>("select count(*)::text as n from pg_tables where schemaname = 'public'");
        return Number(r.rows[0].n);
    });
}

export async function rowCount(url: string, table: string): Promise<number> {
    return withClient(url, "db", async (c) => Number((await c.query<{ n: string }>(`select count(*)::text as n from ${table}`)).rows[0].n));
}
