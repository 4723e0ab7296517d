/**
 * Issue 8's export cases: a SIGKILL mid-way leaves no half-written output
 * (and a rerun completes), a killed --force rebuild keeps the old output, and
 * exporting thousands of images streams (bounded images in flight, flat RSS).
 * Sizes are small for the suite's budget; the 10,000-image memory check is
 * tests/export/memory.test.ts (CLI in a child, forced GC, peak RSS compared
 * with a 1,000-image export), and notes/augment.md has the 10,000 × 128 px
 * measurement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { exportDataset, type ExportManifestRow } from '../../src/export/index.js';
import { SAMPLES, runCli, tempDir } from '../helpers/env.js';
import { CLASSES, hashTree, readJsonl, writeSyntheticFolder, writeUnevenSplit } from './helpers.js';

const PER_CLASS = 300; // ≈ 2,100 training images in all, almost all synthetic

describe('export under kills and at scale', () => {
  const tmp = tempDir('cellgan-export-crash-');
  const split = path.join(tmp.dir, 'split.json');
  const syn = path.join(tmp.dir, 'syn');
  const libOut = path.join(tmp.dir, 'lib-out');
  const cliOut = path.join(tmp.dir, 'cli-out');
  const args = (out: string, extra: string[] = [], seed = 3) => ['export', '--data', SAMPLES, '--split', split, '--synthetic', syn, '--per-class', String(PER_CLASS), '--out', out, '--seed', String(seed), ...extra];

  beforeAll(async () => {
    await writeUnevenSplit(split);
    await writeSyntheticFolder(syn, { perClass: PER_CLASS, size: 16 });
  });
  afterAll(() => tmp.cleanup());

  const staging = (out: string) => readdirSync(path.dirname(out)).filter((n) => n.startsWith(`.${path.basename(out)}.tmp-`));
  const imagesIn = (dir: string) => CLASSES.reduce((n, c) => n + (existsSync(path.join(dir, 'train', c)) ? readdirSync(path.join(dir, 'train', c)).length : 0), 0);

  /** Runs the CLI and SIGKILLs it once its staging folder holds `after` images; resolves how far it got. */
  async function killMidway(out: string, extra: string[] = [], seed = 3, after = 30): Promise<{ signal: string | null; imagesAtKill: number; stderr: string }> {
    let imagesAtKill = -1;
    let timer: NodeJS.Timeout | undefined;
    const r = await runCli(args(out, extra, seed), {
      onSpawn: (child: ChildProcess) => {
        timer = setInterval(() => {
          for (const s of staging(out)) {
            const n = imagesIn(path.join(path.dirname(out), s));
            if (n >= after && imagesAtKill < 0) { imagesAtKill = n; child.kill('SIGKILL'); }
          }
        }, 25);
      },
    });
    clearInterval(timer);
    return { signal: r.signal, imagesAtKill, stderr: r.stderr };
  }

  it('streams: a few thousand images with at most `concurrency` in flight and flat memory', async () => {
    let rssAtWriteStart = 0, rssPeak = 0;
    const res = await exportDataset({
      data: SAMPLES, split, synthetic: [syn], perClass: PER_CLASS, out: libOut, seed: 3, concurrency: 4,
      onProgress: (phase, done) => {
        if (phase !== 'write') return;
        const rss = process.memoryUsage().rss;
        if (done === 1) rssAtWriteStart = rss;
        if (done % 100 === 0) rssPeak = Math.max(rssPeak, rss);
      },
    });
    const rows = readJsonl<ExportManifestRow>(path.join(libOut, 'manifest.jsonl'));
    expect(res.files).toBe(rows.length);
    expect(res.counts.train[CLASSES[0]].synthetic).toBe(PER_CLASS - 4);
    expect(imagesIn(libOut)).toBe(PER_CLASS * CLASSES.length);
    expect(res.peakInFlight).toBeGreaterThan(1);
    expect(res.peakInFlight).toBeLessThanOrEqual(4);
    // Generous bound: the point is that memory does not grow with the number of images.
    expect((rssPeak - rssAtWriteStart) / 1e6).toBeLessThan(150);
  });

  it('a SIGKILL mid-export leaves no output in place; a rerun completes and matches the library run', async () => {
    const killed = await killMidway(cliOut);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.imagesAtKill).toBeGreaterThan(0);
    expect(killed.imagesAtKill).toBeLessThan(PER_CLASS * CLASSES.length); // really mid-way
    expect(existsSync(cliOut)).toBe(false);
    expect(staging(cliOut)).toHaveLength(1); // the dead process's staging folder, hidden beside <out>

    const rerun = await runCli(args(cliOut));
    expect(rerun.stderr).not.toMatch(/\n\s+at /);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/exported \d+ images/);
    expect(staging(cliOut)).toEqual([]); // the stale staging folder was cleared
    const rows = readJsonl<ExportManifestRow>(path.join(cliOut, 'manifest.jsonl'));
    const tree = await hashTree(cliOut);
    for (const r of rows) expect(tree.get(r.file), r.file).toBe(r.sha256);
    // Same options and seed as the in-process run: the same files, byte for byte.
    expect(readFileSync(path.join(cliOut, 'manifest.jsonl'), 'utf8')).toBe(readFileSync(path.join(libOut, 'manifest.jsonl'), 'utf8'));
    expect(readFileSync(path.join(cliOut, 'README.md'), 'utf8')).toContain(`cellgan export --data ${SAMPLES}`);
  });

  it('a SIGKILL during a --force rebuild keeps the previous output intact', async () => {
    const before = await hashTree(cliOut);
    const killed = await killMidway(cliOut, ['--force'], 9);
    expect(killed.stderr).not.toMatch(/error/);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.imagesAtKill).toBeGreaterThan(0);
    expect(await hashTree(cliOut)).toEqual(before);
  });

  it('refuses a non-empty --out without --force in one line, exit 1, no stack trace', async () => {
    const r = await runCli(args(cliOut));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cellgan: error: .*cli-out: output folder exists and is not empty; pass --force/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
