/**
 * `npm run bench`: DCGAN iteration time and images/s, classifier training
 * and generation throughput, peak RSS, per backend. A benchmark, not a test.
 *
 *   npm run bench -- [--cases dcgan64-b32,dcgan64-b64,dcgan128-b16,classifier,generate,near100k]
 *     [--backends wasm[,cpu]] [--iters 3] [--warmup 1] [--workers 0|1|2|auto] [--profile] [--out file.json]
 *     [--pytorch python3] [--near-images N (near100k's image count, default 100000)]
 *
 * `--pytorch <python>` also times the same DCGAN-64 iteration in PyTorch
 * (bench/pytorch_dcgan.py, same threads as workers) right after each dcgan64
 * case and prints the wasm/PyTorch ratio, so the two are read side by side at
 * the same machine load. PyTorch is never needed by cellgan itself.
 *
 * Every timing is recorded with the machine's load average (os.loadavg) at
 * its start and end: on a shared machine figures are only comparable at
 * similar load.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initBackend, describeBackend, tf, type BackendName } from '../engine/index.js';
import { benchClassifier, benchDcganSequential, benchGenerate, type KernelProfile, type Timed } from './cases.js';
import { benchNear, type NearBenchResult } from './near.js';
import { benchDcganParallel } from './parallel-case.js';
import { cpuId } from './cpu.js';
import { qualityMain } from './quality-cli.js';

const ALL_CASES = ['dcgan64-b32', 'dcgan64-b64', 'dcgan128-b16', 'classifier', 'generate', 'near100k'] as const;

interface Row {
  backend: string; case: string; workers: number; batch: number; size: number; iters: number;
  medianMs: number; minMs: number; maxMs: number; imagesPerSec: number;
  /** CPU ms per iteration (all threads), median. */
  cpuMs: number;
  /** Wall time this would take on an otherwise idle machine: cpuMs / threads doing the work. */
  idleEstimateMs: number;
  load1Start: number; load1End: number; leakedTensors: number; kernels?: KernelProfile[];
  /** Peak RSS of the process so far (MB): monotone, so a case's own peak only when it runs first. */
  peakRssMbSoFar: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Times bench/pytorch_dcgan.py (same model and iteration) in a child process; its wall times only. */
function benchPytorch(python: string, batch: number, threads: number, iters: number, warmup: number): Row {
  const script = fileURLToPath(new URL('../../bench/pytorch_dcgan.py', import.meta.url));
  const load1Start = os.loadavg()[0];
  const res = spawnSync(python, [script, '--batch', String(batch), '--threads', String(threads), '--iters', String(iters), '--warmup', String(warmup)], { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    throw new Error(`--pytorch: ${python} ${script} failed (${res.error?.message ?? `exit ${res.status}`}): ${(res.stderr ?? '').trim().split('\n').slice(-1)[0]}`);
  }
  const j = JSON.parse(res.stdout.trim().split('\n').slice(-1)[0]) as { engine: string; median_ms: number; min_ms: number; images_per_s: number };
  return {
    backend: j.engine, case: `dcgan64-b${batch}`, workers: threads, batch, size: 64, iters,
    medianMs: j.median_ms, minMs: j.min_ms, maxMs: NaN, imagesPerSec: j.images_per_s,
    cpuMs: NaN, idleEstimateMs: j.median_ms, load1Start: +load1Start.toFixed(2), load1End: +os.loadavg()[0].toFixed(2),
    leakedTensors: 0, peakRssMbSoFar: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

function usage(msg: string): never {
  console.error(`bench: ${msg}\nusage: npm run bench -- [--cases ${ALL_CASES.join(',')}] [--backends wasm,cpu] [--iters N] [--warmup N] [--workers 0|1|2|auto] [--profile] [--out file.json] [--pytorch python3] [--near-images N]`);
  process.exit(2);
}

async function main(): Promise<void> {
  // The quality benchmark has options of its own (src/bench/quality-cli.ts).
  const argv = process.argv.slice(2);
  const casesAt = argv.findIndex((a) => a === '--cases' || a.startsWith('--cases='));
  const casesValue = casesAt < 0 ? undefined : argv[casesAt].includes('=') ? argv[casesAt].split('=')[1] : argv[casesAt + 1];
  if (casesValue === 'quality') return qualityMain(argv.filter((_, i) => i !== casesAt && (argv[casesAt].includes('=') || i !== casesAt + 1)));
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: ALL_CASES.join(',') },
      backends: { type: 'string', default: 'wasm' },
      iters: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      workers: { type: 'string', default: 'auto' },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
      pytorch: { type: 'string' },
      'near-images': { type: 'string', default: '100000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) usage('help');
  const cases = values.cases!.split(',').filter(Boolean);
  // Besides the named cases, any dcgan<size>-b<batch> (size 32, 64 or 128) is accepted, e.g. dcgan32-b8 for a smoke run.
  for (const c of cases) {
    const m = /^dcgan(\d+)-b(\d+)$/.exec(c);
    const ok = (ALL_CASES as readonly string[]).includes(c) || (m && [32, 64, 128].includes(Number(m[1])) && Number(m[2]) >= 1);
    if (!ok) usage(`unknown case ${JSON.stringify(c)}; expected ${ALL_CASES.join(', ')} or dcgan<32|64|128>-b<batch>`);
  }
  const backends = values.backends!.split(',').filter(Boolean) as BackendName[];
  const iters = Number(values.iters), warmup = Number(values.warmup);
  if (!Number.isInteger(iters) || iters < 1) usage(`--iters must be an integer ≥ 1, got ${values.iters}`);
  if (!Number.isInteger(warmup) || warmup < 0) usage(`--warmup must be an integer ≥ 0, got ${values.warmup}`);
  const nearImages = Number(values['near-images']);
  if (!Number.isInteger(nearImages) || nearImages < 100) usage(`--near-images must be an integer ≥ 100, got ${values['near-images']}`);
  const workers = values.workers === 'auto' ? Math.min(2, os.availableParallelism()) : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0) usage(`--workers must be auto or an integer ≥ 0, got ${values.workers}`);

  const rows: Row[] = [];
  const infos: string[] = [];
  for (const backendName of backends) {
    const info = await initBackend(backendName);
    infos.push(describeBackend(info));
    console.error(`backend: ${describeBackend(info)}`);
    for (const c of cases) {
      const load1Start = os.loadavg()[0];
      let size = 64, batch = 64, w = 0;
      let r: Timed;
      let near: NearBenchResult | undefined;
      const m = /^dcgan(\d+)-b(\d+)$/.exec(c);
      if (m) {
        size = Number(m[1]); batch = Number(m[2]);
        // Data-parallel workers are a wasm feature (tfjs-node already uses every core).
        w = backendName === 'wasm' && workers > 1 ? workers : 0;
        r = w > 1 ? await benchDcganParallel(size, batch, w, iters, warmup)
          : await benchDcganSequential(size, batch, iters, warmup, values.profile!);
      } else if (c === 'near100k') {
        // Near-duplicate fingerprints + index over --near-images (default 100,000) synthesised images (src/bench/near.ts); one pass, no tfjs.
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const n = benchNear(nearImages);
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(c0);
        batch = n.images; size = 64;
        r = { ms: [ms], cpuMs: [(cpu.user + cpu.system) / 1000], leakedTensors: 0 };
        console.error(`  near100k: ${n.images} images (${n.planted} planted copies): synthesise ${(n.synthMs / 1000).toFixed(1)} s, fingerprint ${(n.fingerprintMs / 1000).toFixed(1)} s, index + group ${(n.groupMs / 1000).toFixed(1)} s; ${n.found} of ${n.planted} planted copies grouped with their original; ${n.groups} groups holding ${n.imagesInGroups} images; threshold ${n.threshold}`);
        near = n;
      } else if (c === 'classifier') {
        w = backendName === 'wasm' && workers > 1 ? workers : 0;
        r = await benchClassifier(size, batch, iters, warmup, w);
      } else {
        r = await benchGenerate(size, batch, iters, warmup);
      }
      const med = median(r.ms);
      const row: Row & { near?: NearBenchResult } = {
        backend: backendName, case: c, workers: w, batch, size, iters,
        medianMs: +med.toFixed(1), minMs: +Math.min(...r.ms).toFixed(1), maxMs: +Math.max(...r.ms).toFixed(1),
        imagesPerSec: +(batch / (med / 1000)).toFixed(2),
        cpuMs: +median(r.cpuMs).toFixed(0), idleEstimateMs: +(median(r.cpuMs) / Math.max(1, w)).toFixed(0),
        load1Start: +load1Start.toFixed(2), load1End: +os.loadavg()[0].toFixed(2),
        leakedTensors: r.leakedTensors, kernels: r.kernels, peakRssMbSoFar: Math.round(process.resourceUsage().maxRSS / 1024),
        ...(near ? { near } : {}),
      };
      rows.push(row);
      console.error(`  ${c}: ${row.medianMs} ms (${row.imagesPerSec} img/s), cpu ${row.cpuMs} ms, load ${row.load1Start}→${row.load1End}`);
      if (r.kernels) for (const k of r.kernels.slice(0, 15)) console.error(`      ${k.name.padEnd(26)} ${String(k.calls).padStart(5)} ${k.ms.toFixed(0).padStart(8)} ms`);
      if (values.pytorch && m && size === 64) {
        const ref = benchPytorch(values.pytorch, batch, Math.max(1, w), iters, warmup);
        rows.push(ref);
        console.error(`  ${c} (pytorch): ${ref.medianMs} ms (${ref.imagesPerSec} img/s); wasm/pytorch = ${(row.medianMs / ref.medianMs).toFixed(2)}×`);
      }
    }
  }
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const header = ['backend', 'case', 'workers', 'batch', 'median ms', 'min ms', 'images/s', 'cpu ms', 'idle-est ms', 'idle-est img/s', 'load1'];
  const f = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
  const table = [header, ...rows.map((r) => [r.backend, r.case, String(r.workers), String(r.batch), f(r.medianMs), f(r.minMs), f(r.imagesPerSec, 1),
    f(r.cpuMs), f(r.idleEstimateMs), f(r.batch / (r.idleEstimateMs / 1000), 1), `${r.load1Start}→${r.load1End}`])];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  console.log(table.map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')).join('\n'));
  console.log(`cpu: ${os.cpus()[0]?.model} (${cpuId() ?? 'no /proc/cpuinfo'}), ${os.cpus().length} cores`);
  console.log(`peak RSS: ${peakRssMb} MB (whole process, workers included; per case so far: ${rows.map((r) => `${r.case} ${r.peakRssMbSoFar}`).join(', ')})`);
  console.log('idle-est = CPU time / threads working: the wall time on an otherwise idle machine (assumes the shards balance).');

  const result = {
    date: new Date().toISOString(), node: process.version, tfjs: tf.version.tfjs, cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model, cpuId: cpuId(), backends: infos, args: process.argv.slice(2), peakRssMb, rows,
  };
  const out = values.out ?? path.join('.bench', `bench-${result.date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${out}`);
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
