/**
 * What CPU a figure was measured on. A VM's model name alone ("AMD EPYC")
 * does not tell one generation from the next, and figures differ 2–3×
 * between them, so family/model/stepping and the SIMD flags come too.
 */
import os from 'node:os';
import { readFileSync } from 'node:fs';

/** CPU family/model/stepping and SIMD flags from /proc/cpuinfo (Linux); undefined elsewhere. */
export function cpuId(): string | undefined {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8').split('\n\n')[0];
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    const flags = new Set((field('flags') ?? '').split(/\s+/));
    const simd = ['avx2', 'fma', 'avx512f'].filter((f) => flags.has(f)).join(' ');
    return `${field('vendor_id')} family ${field('cpu family')} model ${field('model')} stepping ${field('stepping')}; ${simd}`;
  } catch {
    return undefined;
  }
}

/** "<model name> (<cpuId>)", the form every benchmark records. */
export function cpuDescription(): string {
  return `${os.cpus()[0]?.model ?? 'unknown CPU'} (${cpuId() ?? 'no /proc/cpuinfo'})`;
}
