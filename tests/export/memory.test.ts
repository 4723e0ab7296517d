/**
 * Issue 8, memory: `cellgan export` of 10,000 images keeps RSS bounded.
 *
 * The CLI runs in a child under tests/helpers/memory-probe.ts (a full garbage
 * collection every 250 ms, so peak RSS shows what the process keeps rather
 * than how much garbage V8 let pile up). A 10,052-file export (1,430 per class:
 * almost all synthetic 64-px noise PNGs of ≈12 KB, so 120 MB of image data
 * goes through) is compared with a 1,052-file one from the same folders.
 * What may grow with the count is per-image bookkeeping (file lists, the
 * manifest rows, sorted before writing); image bytes must not. Measured
 * (notes/augment.md, 2026-11-22): +20 MB peak RSS for 10× the images; with
 * every file's bytes kept in an array: +139 MB. Bound: 60 MB. ≈30 s.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES, tempDir } from '../helpers/env.js';
import { runCliUnderMemoryProbe } from '../helpers/probe-cli.js';
import type { MemoryReport } from '../helpers/memory-probe.js';
import { CLASSES, writeSyntheticFolder, writeUnevenSplit } from './helpers.js';

const MB = 2 ** 20;
const BIG = 1430; // per class: 10,010 training images + 42 val/test
const SMALL = 143;

describe('export: memory', () => {
  const tmp = tempDir('cellgan-export-memory-');
  const split = path.join(tmp.dir, 'split.json');
  const syn = path.join(tmp.dir, 'syn');

  beforeAll(async () => {
    await writeUnevenSplit(split);
    await writeSyntheticFolder(syn, { perClass: BIG, size: 64 });
  });
  afterAll(() => tmp.cleanup());

  async function exportUnderProbe(perClass: number): Promise<MemoryReport & { stderr: string; out: string }> {
    const out = path.join(tmp.dir, `out-${perClass}`);
    const r = await runCliUnderMemoryProbe(path.join(tmp.dir, `memory-${perClass}.json`), 250, [
      'export', '--data', SAMPLES, '--split', split, '--synthetic', syn, '--per-class', String(perClass), '--out', out, '--seed', '3', '--quiet',
    ]);
    return { ...r, out };
  }

  it('10,052 files: peak RSS within 60 MB of a 1,052-file export (image bytes are streamed, not kept)', async () => {
    const small = await exportUnderProbe(SMALL);
    expect(small.exitCode, small.stderr).toBe(0);
    const big = await exportUnderProbe(BIG);
    expect(big.exitCode, big.stderr).toBe(0);
    const rows = (await fs.readFile(path.join(big.out, 'manifest.jsonl'), 'utf8')).split('\n').filter(Boolean);
    expect(rows).toHaveLength(BIG * CLASSES.length + 6 * CLASSES.length);
    for (const c of CLASSES) expect((await fs.readdir(path.join(big.out, 'train', c))).length).toBe(BIG);
    const summary = `peak RSS ${(small.hwm / MB).toFixed(1)} MB (${SMALL}/class) vs ${(big.hwm / MB).toFixed(1)} MB (${BIG}/class); ` +
      `RSS after GC: ${big.samples.map((x) => (x.rss / MB).toFixed(0)).join(' ')}`;
    expect((big.hwm - small.hwm) / MB, summary).toBeLessThan(60);
  }, 300_000);
});
