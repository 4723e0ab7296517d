/**
 * What a researcher reads without a terminal: one-line errors, --json
 * results on stdout, --log-format json on stderr, status lines.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, SAMPLES } from '../helpers/env.js';

const tmp = tempDir('cellgan-cli-output-');
afterAll(() => tmp.cleanup());
const at = (name: string) => path.join(tmp.dir, name);

/** Every non-empty stderr line as a JSON object (throws on a line that is not one). */
function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr.split('\n').filter(Boolean).map((l) => {
    try { return JSON.parse(l) as Record<string, unknown>; } catch { throw new Error(`not a JSON line: ${l}`); }
  });
}

const TINY = ['--data', SAMPLES, '--class', 'basophil', '--size', '32', '--g-width', '2', '--d-width', '2', '--nz', '8', '--batch', '2',
  '--log-every', '2', '--grid-every', '2', '--checkpoint-every', '2', '--seed', '7'];

describe('CLI messages', () => {
  it('a missing positional is one error line naming it', async () => {
    const r = await runCli(['inspect']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cellgan: error: cellgan inspect needs <data>; see cellgan inspect --help\n');
  });

  it('a mistyped option gets "did you mean"; a mistyped command too', async () => {
    const r = await runCli(['inspect', SAMPLES, '--min-cout', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('cellgan: error: unknown option --min-cout (did you mean --min-count?); see cellgan inspect --help\n');
    const c = await runCli(['inspec', SAMPLES]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/^cellgan: error: unknown command inspec \(did you mean inspect\?\)/);
  });

  it('NaN is shown as NaN; train without --out says to pass --out or --resume, before any backend line', async () => {
    const r = await runCli(['inspect', SAMPLES, '--min-count', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--min-count but received NaN\n$/);
    const t = await runCli(['train', '--data', SAMPLES, '--class', 'basophil', '--iters', '3']);
    expect(t.code).toBe(2);
    expect(t.stderr).toBe('cellgan: error: pass --out <run folder> to start a run, or --resume <run folder> to continue one\n');
    const bad = await runCli(['train', ...TINY, '--iters', '0', '--out', at('bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('cellgan: error: Expected an integer of at least 1 for --iters but received 0\n');
  });
});

describe('machine-readable output', () => {
  const run = at('run');

  it('train --json --log-format json: a result object on stdout, only JSON lines on stderr, status lines at checkpoints', async () => {
    const r = await runCli(['train', ...TINY, '--iters', '4', '--out', run, '--json', '--log-format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ runDir: path.resolve(run), iteration: 4, interrupted: false, classes: ['basophil'] });
    expect(result.stats.iteration).toBe(4);
    const lines = jsonLines(r.stderr);
    expect(lines.find((l) => String(l.msg).startsWith('backend: wasm'))).toBeDefined();
    const status = lines.filter((l) => l.progress).map((l) => l.progress as Record<string, unknown>);
    expect(status.map((p) => [p.label, p.done, p.total, p.event])).toEqual([['train', 2, 4, 'checkpoint'], ['train', 4, 4, 'checkpoint']]);
    for (const l of lines) expect(typeof l.level).toBe('number');
  });

  it('CELLGAN_LOG_FORMAT=json does the same; a bad value is refused', async () => {
    const g = await runCli(['generate', '--model', run, '--count', '3', '--out', at('gen'), '--json'], { env: { CELLGAN_LOG_FORMAT: 'json', CELLGAN_STATUS_INTERVAL: '0' } });
    expect(g.code, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout)).toMatchObject({ total: 3, counts: { basophil: 3 }, checkpoint: 4, out: at('gen') });
    const lines = jsonLines(g.stderr);
    expect(lines.some((l) => (l.progress as { label?: string } | undefined)?.label === 'generate')).toBe(true);
    const bad = await runCli(['inspect', SAMPLES], { env: { CELLGAN_LOG_FORMAT: 'xml' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^cellgan: error: expected one of "human", "json" for CELLGAN_LOG_FORMAT but received "xml"\n$/);
  });

  it('generate says its summary once, pluralised', async () => {
    const g = await runCli(['generate', '--model', run, '--count', '1', '--out', at('gen1')]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toBe(`wrote 1 image (basophil: 1) from checkpoint 4 to ${at('gen1')}\n`);
    expect(g.stderr).not.toMatch(/generated/);
  });

  it('export --json and pipeline --json print their result objects', async () => {
    const split = at('split.json');
    expect((await runCli(['split', SAMPLES, '--out', split, '--seed', '0'])).code).toBe(0);
    const e = await runCli(['export', '--data', SAMPLES, '--split', split, '--synthetic', at('gen'), '--per-class', '22', '--augment', 'flip',
      '--out', at('export'), '--json', '--license', 'CC BY 4.0']);
    expect(e.code, e.stderr).toBe(0);
    const ex = JSON.parse(e.stdout);
    expect(ex).toMatchObject({ out: at('export'), perClass: 22 });
    expect(ex.counts.train.basophil).toEqual({ real: 21, synthetic: 1, augmented: 0 });
    const p = await runCli(['pipeline', '--data', SAMPLES, '--out', at('pipe'), '--until', 'split', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const pj = JSON.parse(p.stdout);
    expect(pj.out).toBe(path.resolve(at('pipe')));
    expect(pj.outcomes.split).toBeDefined();
    await fs.access(path.join(at('pipe'), 'pipeline.json'));
  });
});
