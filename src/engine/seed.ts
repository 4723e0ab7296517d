/**
 * tfjs treats a seed of 0 as no seed at all (its random ops take `seed ||
 * Math.random()`), so a derived seed that happens to be 0 silently makes a
 * run irreproducible: seed 0 (the default) gave the DCGAN's first layer a
 * different initialisation on every run. Every seed handed to tfjs goes
 * through here.
 */
export function tfjsSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`tfjsSeed: expected a non-negative integer, got ${seed}`);
  return seed === 0 ? 2147483647 : seed;
}
