/**
 * Runs the cellgan CLI in this process and records its memory, for the
 * "RSS stays bounded" tests of issue 8. Start it as
 *
 *   node --expose-gc --import tsx tests/helpers/memory-probe.ts <report.json> <every ms> <cellgan args…>
 *
 * Every <every ms> it forces a full garbage collection and records RSS, the
 * V8 heap in use and the bytes of ArrayBuffers/Buffers. Forcing the
 * collection is the point: without it V8 lets garbage pile up for a while
 * before it collects (how far depends on how long the process has run), so
 * peak RSS says little about what is *kept*; after a full collection only
 * what the program still holds remains, in the JS heap, in Buffers, or in
 * native memory (libvips, the wasm heap), which RSS shows. On exit the
 * samples and the kernel's peak RSS (VmHWM) are written to <report.json>.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface MemorySample { ms: number; rss: number; heapUsed: number; arrayBuffers: number }
export interface MemoryReport { samples: MemorySample[]; hwm: number; exitCode: number }

const [report, every, ...args] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('memory-probe needs node --expose-gc');

const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) * 1024;
const start = Date.now();
const samples: MemorySample[] = [];
const timer = setInterval(() => {
  gc();
  const m = process.memoryUsage();
  samples.push({ ms: Date.now() - start, rss: kib('VmRSS'), heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers });
}, Number(every));
timer.unref();
process.on('exit', (code) => {
  const out: MemoryReport = { samples, hwm: kib('VmHWM'), exitCode: code };
  writeFileSync(report, JSON.stringify(out));
});

const { main } = await import('../../src/cli/main.js');
await main(args);
