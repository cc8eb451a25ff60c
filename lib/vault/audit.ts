// The quarterly retention audit (runbook 004): every object under an environment's prefixes by age
// and retention state, and a proof that immutability holds — the newest locked object version is
// actually sent a delete, which must be refused. A delete that succeeds is the finding this audit
// exists for, so it is reported as FAIL rather than hidden behind a dry run.
import type { BlobStore, StoredObject } from "./blobStore";
import { environmentPrefixes } from "./keys";

const DAY_MS = 86_400_000;

export type RetentionState = "locked" | "expired" | "none";
export const AGE_BUCKETS = ["<1d", "1-7d", "7-30d", "30-90d", "90-365d", ">365d"] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];

export interface AuditedObject {
    key: string;
    bytes: number;
    lastModified: string;
    ageBucket: AgeBucket;
    state: RetentionState;
    retainUntil?: string;
    retentionMode?: string;
    versionId?: string;
}

export interface ImmutabilityProof {
    status: "PASS" | "FAIL";
    key?: string;
    versionId?: string;
    detail: string;
}

export interface Tally {
    objects: number;
    bytes: number;
}

export interface AuditReport {
    env: string;
    location: string;
    generatedAt: string;
    prefixes: string[];
    total: Tally;
    byAge: Record<AgeBucket, Tally>;
    byState: Record<RetentionState, Tally>;
    /** Database dumps without any retention: the vault's default rule is missing or bypassed. */
    unprotected: string[];
    immutability: ImmutabilityProof;
    objects: AuditedObject[];
}

export function ageBucket(lastModified: Date, now: Date): AgeBucket {
    const days = (now.getTime() - lastModified.getTime()) / DAY_MS;
    if (days < 1) return "<1d";
    if (days < 7) return "1-7d";
    if (days < 30) return "7-30d";
    if (days < 90) return "30-90d";
    if (days < 365) return "90-365d";
    return ">365d";
}

export function retentionState(retainUntil: Date | undefined, now: Date): RetentionState {
    if (!retainUntil) return "none";
    return retainUntil.getTime() > now.getTime() ? "locked" : "expired";
}

const zero = (): Tally => ({ objects: 0, bytes: 0 });

async function mapLimited<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return out;
}

/** Tries to delete the newest locked version; PASS only if refused AND the version is still there. */
export async function proveImmutability(store: BlobStore, objects: AuditedObject[]): Promise<ImmutabilityProof> {
    const locked = objects.filter((o) => o.state === "locked" && o.versionId);
    if (locked.length === 0) {
        return { status: "FAIL", detail: "no locked object version found: nothing in the vault is protected by retention" };
    }
    const target = locked.reduce((a, b) => (b.lastModified > a.lastModified ? b : a));
    const { key, versionId } = target;
    let refusal: string | undefined;
    try {
        await store.delete(key, versionId);
    } catch (err) {
        refusal = (err as Error).message;
    }
    const after = await store.head(key).catch(() => undefined);
    if (refusal === undefined) {
        return { status: "FAIL", key, versionId, detail: `DELETE OF LOCKED VERSION SUCCEEDED: ${key} version ${versionId} (locked until ${target.retainUntil}) is gone` };
    }
    if (after?.versionId !== versionId) {
        return { status: "FAIL", key, versionId, detail: `delete was refused (${refusal}) but version ${versionId} is no longer the current version of ${key}` };
    }
    return { status: "PASS", key, versionId, detail: `delete of ${key} version ${versionId} was refused: ${refusal}` };
}

export async function auditRetention(opts: { store: BlobStore; env: string; now?: () => Date; proveImmutability?: boolean }): Promise<AuditReport> {
    const now = (opts.now ?? (() => new Date()))();
    const prefixes = environmentPrefixes(opts.env);
    const listed: StoredObject[] = [];
    for (const p of prefixes) for await (const o of opts.store.list(p)) listed.push(o);
    // list is cheap and carries no retention; head gives the retention of the current version.
    const objects = await mapLimited(listed, 16, async (o): Promise<AuditedObject> => {
        const h = (await opts.store.head(o.key)) ?? o;
        return {
            key: o.key,
            bytes: o.bytes,
            lastModified: o.lastModified.toISOString(),
            ageBucket: ageBucket(o.lastModified, now),
            state: retentionState(h.retainUntil, now),
            retainUntil: h.retainUntil?.toISOString(),
            retentionMode: h.retentionMode,
            versionId: h.versionId,
        };
    });
    const byAge = Object.fromEntries(AGE_BUCKETS.map((b) => [b, zero()])) as Record<AgeBucket, Tally>;
    const byState: Record<RetentionState, Tally> = { locked: zero(), expired: zero(), none: zero() };
    const total = zero();
    for (const o of objects) {
        for (const t of [byAge[o.ageBucket], byState[o.state], total]) {
            t.objects++;
            t.bytes += o.bytes;
        }
    }
    const unprotected = objects.filter((o) => o.state === "none" && o.key.startsWith(`db/${opts.env}/`)).map((o) => o.key);
    const immutability = opts.proveImmutability === false
        ? { status: "PASS" as const, detail: "skipped (--no-delete-proof)" }
        : await proveImmutability(opts.store, objects);
    return { env: opts.env, location: opts.store.location, generatedAt: now.toISOString(), prefixes, total, byAge, byState, unprotected, immutability, objects };
}

export function auditPassed(r: AuditReport): boolean {
    return r.immutability.status === "PASS" && r.unprotected.length === 0;
}

export function formatAuditReport(r: AuditReport): string {
    const t = (x: Tally) => `${String(x.objects).padStart(7)} objects ${String(x.bytes).padStart(14)} bytes`;
    return [
        `Retention audit — ${r.env} at ${r.location} (${r.generatedAt})`,
        `Prefixes: ${r.prefixes.join(", ")}`,
        `Total:   ${t(r.total)}`,
        "By age:",
        ...AGE_BUCKETS.map((b) => `  ${b.padEnd(8)} ${t(r.byAge[b])}`),
        "By retention state:",
        ...(["locked", "expired", "none"] as const).map((s) => `  ${s.padEnd(8)} ${t(r.byState[s])}`),
        ...(r.unprotected.length ? [`UNPROTECTED database backups (${r.unprotected.length}):`, ...r.unprotected.slice(0, 20).map((k) => `  ${k}`)] : []),
        `Immutability proof: ${r.immutability.status} — ${r.immutability.detail}`,
        `Result: ${auditPassed(r) ? "PASS" : "FAIL"}`,
    ].join("\n");
}
