/**
 * Up-front validation of public options, in the manner of sharp: each check
 * says which option, what was expected and what was received.
 */
import { OptionError } from './errors.js';
import { SEED_MAX } from './rng.js';

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  // JSON would say null for NaN and ±Infinity (e.g. yargs' number of "abc").
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try { return JSON.stringify(value) ?? String(value); } catch { return String(value); }
}

export function invalid(name: string, expected: string, received: unknown): OptionError {
  return new OptionError(`Expected ${expected} for ${name} but received ${show(received)}`);
}

export function integer(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    const range = min > -Infinity && max < Infinity ? ` between ${min} and ${max}`
      : min > -Infinity ? ` of at least ${min}` : max < Infinity ? ` of at most ${max}` : '';
    throw invalid(name, `an integer${range}`, value);
  }
  return n;
}

export function number(name: string, value: unknown, min = -Infinity, max = Infinity, opts: { exclusiveMin?: boolean; exclusiveMax?: boolean } = {}): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  const belowMin = typeof n === 'number' && (opts.exclusiveMin ? n <= min : n < min);
  const aboveMax = typeof n === 'number' && (opts.exclusiveMax ? n >= max : n > max);
  if (typeof n !== 'number' || !Number.isFinite(n) || belowMin || aboveMax) {
    throw invalid(name, `a number ${opts.exclusiveMin ? '>' : '>='} ${min} and ${opts.exclusiveMax ? '<' : '<='} ${max}`, value);
  }
  return n;
}

export function oneOf<T extends string | number>(name: string, value: unknown, allowed: readonly T[]): T {
  const match = allowed.find((a) => a === value || String(a) === String(value));
  if (match === undefined) throw invalid(name, `one of ${allowed.map((a) => show(a)).join(', ')}`, value);
  return match;
}

export function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(name, 'a non-empty string', value);
  return value;
}

export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(name, 'true or false', value);
  return value;
}

/** A comma-separated list (or an array) whose items all come from `allowed`. */
export function listOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T[] {
  const items = Array.isArray(value) ? value.flatMap((v) => String(v).split(',')) : String(value ?? '').split(',');
  const trimmed = items.map((s) => s.trim()).filter(Boolean);
  for (const item of trimmed) if (!allowed.includes(item as T)) throw invalid(name, `a comma-separated list of ${allowed.join(', ')}`, value);
  return trimmed as T[];
}

/** A seed: an integer from 0 to SEED_MAX (every command takes the same range). */
export function seed(value: unknown, name = '--seed'): number {
  return integer(name, value, 0, SEED_MAX);
}

/** The most worker threads any command starts. */
export const WORKERS_MAX = 64;

/** A worker-thread count: 0 (the calling thread) to WORKERS_MAX. */
export function workers(value: unknown, name = '--workers'): number {
  return integer(name, value, 0, WORKERS_MAX);
}
