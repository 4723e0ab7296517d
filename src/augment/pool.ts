/**
 * Runs async work over a list with at most `concurrency` items in flight, so
 * an export of any size holds only a few images in memory at once. Stops
 * taking new items after the first failure and rethrows it.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<{ peakInFlight: number }> {
  let next = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  let failure: { err: unknown } | undefined;
  async function worker(): Promise<void> {
    while (!failure && next < items.length) {
      const i = next++;
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      try {
        await fn(items[i], i);
      } catch (err) {
        failure ??= { err };
      } finally {
        inFlight--;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.err;
  return { peakInFlight };
}
