// Bounded concurrency for per-object work: enough requests in flight to hide latency, few enough that
// memory (one stream buffer per worker) stays flat however many objects a bucket holds.
export async function forEachLimited<T>(items: AsyncIterable<T> | Iterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
    const iterator = (Symbol.asyncIterator in items
        ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
        : (items as Iterable<T>)[Symbol.iterator]()) as AsyncIterator<T> | Iterator<T>;
    let failed: unknown;
    let hasFailed = false;
    const worker = async (): Promise<void> => {
        while (!hasFailed) {
            const next = await iterator.next();
            if (next.done) return;
            try {
                await fn(next.value);
            } catch (err) {
                if (!hasFailed) {
                    hasFailed = true;
                    failed = err;
                }
            }
        }
    };
    await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
    if (hasFailed) throw failed;
}
