/**
 * Bounded concurrency for async work over a list (decoding, hashing, writing
 * images): at most `concurrency` calls in flight, so memory stays bounded by
 * a few items whatever the list's length. On the first failure no new item
 * is started, the calls already in flight are awaited (nothing keeps running
 * behind the caller's back), and that first error is rethrown.
 */
export interface BoundedStats { peakInFlight: number }

/** Maps `fn` over `items`; results keep the input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  stats?: BoundedStats,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0, inFlight = 0;
  let failure: { err: unknown } | undefined;
  async function worker(): Promise<void> {
    while (!failure && next < items.length) {
      const i = next++;
      inFlight++;
      if (stats) stats.peakInFlight = Math.max(stats.peakInFlight, inFlight);
      try {
        out[i] = await fn(items[i], i);
      } catch (err) {
        failure ??= { err };
      } finally {
        inFlight--;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.err;
  return out;
}

/** Runs `fn` over `items` for its effects; returns how many calls were ever in flight at once. */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<BoundedStats> {
  const stats: BoundedStats = { peakInFlight: 0 };
  await mapBounded(items, concurrency, fn, stats);
  return stats;
}
