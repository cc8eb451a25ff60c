// How many rows each demo table gets at a given scale, and the inverse used by the benchmark
// ("give me about 1 GB"). Every count is linear in scale, so database size is too.

export interface DemoRowCounts {
    users: number;
    tasks: number;
    documents: number;
    notifications: number;
    courses: number;
    subsections: number;
    progress: number;
}

/** Subsections per course; fixed so course structure looks the same at every scale. */
export const SUBSECTIONS_PER_COURSE = 10;

// Measured with PostgreSQL 15 (pg_database_size after seeding, 8 kB pages): 73.6 MB at scale 1,
// 201 MB at 3, 970 MB at 15 — a straight line to within 0.3%. Documents are about 45% of it.
// test/integration/demo.seed.test.ts checks the scale-1 point stays within 15%.
const EMPTY_DATABASE_BYTES = 9_540_000;
const BYTES_PER_SCALE = 64_016_000;

export function assertValidScale(scale: number): void {
    if (!Number.isFinite(scale) || scale <= 0) {
        throw new Error(`demo seed scale must be a positive number (got ${scale})`);
    }
    if (scale > 1000) {
        throw new Error(`demo seed scale ${scale} is too large (max 1000, about ${Math.round((1000 * BYTES_PER_SCALE) / 2 ** 30)} GB)`);
    }
}

function scaled(base: number, scale: number): number {
    return Math.max(1, Math.round(base * scale));
}

export function demoRowCounts(scale: number): DemoRowCounts {
    assertValidScale(scale);
    const users = scaled(2_000, scale);
    const courses = scaled(50, scale);
    const subsections = courses * SUBSECTIONS_PER_COURSE;
    return {
        users,
        tasks: scaled(40_000, scale),
        documents: scaled(20_000, scale),
        notifications: scaled(30_000, scale),
        courses,
        subsections,
        // (user, subsection) is unique: never ask for more pairs than exist.
        progress: Math.min(scaled(20_000, scale), users * subsections),
    };
}

/** The scale whose seeded database is roughly targetBytes (pg_database_size), at least 0.01. */
export function scaleForBytes(targetBytes: number): number {
    if (!Number.isFinite(targetBytes) || targetBytes <= 0) {
        throw new Error(`target size must be a positive number of bytes (got ${targetBytes})`);
    }
    const scale = (targetBytes - EMPTY_DATABASE_BYTES) / BYTES_PER_SCALE;
    return Math.max(0.01, Math.round(scale * 100) / 100);
}
