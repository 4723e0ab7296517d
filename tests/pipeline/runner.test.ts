import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runStages, type StageDefinition } from '../../src/pipeline/runner.js';
import { readState, hashValue, stableStringify, type PipelineState } from '../../src/pipeline/state.js';
import { silentLogger } from '../../src/util/log.js';
import { InterruptedError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/env.js';

const tmp = tempDir('cellgan-runner-');
afterAll(() => tmp.cleanup());

function freshState(): PipelineState {
  return { format: 'cellgan-pipeline/1', tool: { name: 'cellgan', version: 'test' }, options: {}, stages: {}, updatedAt: '' };
}

/**
 * Two toy stages: `inspect` writes `value` to a file, `split` writes that file's
 * content doubled. Each run is counted, so skips are observable.
 */
function toyStages(runs: string[], o: { value: string; splitOption?: number; failSplit?: 'error' | 'interrupt' }): StageDefinition[] {
  return [
    {
      name: 'inspect', reads: [], options: { value: o.value },
      async run(ctx) {
        runs.push(`inspect${ctx.resume ? ':resume' : ''}`);
        await fs.mkdir(ctx.stageDir, { recursive: true });
        await fs.writeFile(path.join(ctx.stageDir, 'out.txt'), o.value.toUpperCase());
        return { outputs: { out: 'inspect/out.txt' } };
      },
      fingerprint: async (ctx) => hashValue(await fs.readFile(path.join(ctx.stageDir, 'out.txt'), 'utf8')),
    },
    {
      name: 'split', reads: ['inspect'], options: { n: o.splitOption ?? 1 }, resumable: true,
      async run(ctx) {
        runs.push(`split${ctx.resume ? ':resume' : ''}`);
        await fs.mkdir(ctx.stageDir, { recursive: true });
        await fs.writeFile(path.join(ctx.stageDir, 'partial.txt'), 'x');
        if (o.failSplit === 'error') throw new Error('boom');
        if (o.failSplit === 'interrupt') throw new InterruptedError('stopped');
        const v = await fs.readFile(path.join(ctx.dir, 'inspect/out.txt'), 'utf8');
        await fs.writeFile(path.join(ctx.stageDir, 'out.txt'), v + v);
        return { outputs: { out: 'split/out.txt' } };
      },
      fingerprint: async (ctx) => hashValue(await fs.readFile(path.join(ctx.stageDir, 'out.txt'), 'utf8')),
    },
  ];
}

describe('stage runner', () => {
  it('stable JSON ignores key order', () => {
    expect(stableStringify({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(stableStringify({ a: [{ c: 3, d: 2 }], b: 1 }));
    expect(hashValue({ a: 1 })).not.toBe(hashValue({ a: 2 }));
  });

  it('runs, then skips what is complete; redoes a stage whose options changed; keeps downstream when upstream output is identical', async () => {
    const dir = path.join(tmp.dir, 'a');
    await fs.mkdir(dir);
    const state = freshState();
    const runs: string[] = [];
    let r = await runStages(dir, state, toyStages(runs, { value: 'ab' }), silentLogger);
    expect(r.outcomes).toEqual({ inspect: 'ran', split: 'ran' });
    expect(await fs.readFile(path.join(dir, 'split/out.txt'), 'utf8')).toBe('ABAB');
    const saved = await readState(dir);
    expect(saved?.stages.split?.status).toBe('done');

    runs.length = 0;
    r = await runStages(dir, saved!, toyStages(runs, { value: 'ab' }), silentLogger);
    expect(runs).toEqual([]);
    expect(r.outcomes).toEqual({ inspect: 'skipped', split: 'skipped' });

    // a changed split option redoes split only
    r = await runStages(dir, (await readState(dir))!, toyStages(runs, { value: 'ab', splitOption: 2 }), silentLogger);
    expect(r.outcomes).toEqual({ inspect: 'skipped', split: 'ran' });

    // inspect's options change but its output does not ('AB' either way): split stays valid
    runs.length = 0;
    r = await runStages(dir, (await readState(dir))!, toyStages(runs, { value: 'AB', splitOption: 2 }), silentLogger);
    expect(r.outcomes).toEqual({ inspect: 'ran', split: 'skipped' });

    // inspect's output changes: split runs again on the new input
    r = await runStages(dir, (await readState(dir))!, toyStages(runs, { value: 'cd', splitOption: 2 }), silentLogger);
    expect(r.outcomes).toEqual({ inspect: 'ran', split: 'ran' });
    expect(await fs.readFile(path.join(dir, 'split/out.txt'), 'utf8')).toBe('CDCD');
  });

  it('redoes a complete stage whose outputs were deleted', async () => {
    const dir = path.join(tmp.dir, 'b');
    await fs.mkdir(dir);
    const runs: string[] = [];
    await runStages(dir, freshState(), toyStages(runs, { value: 'x' }), silentLogger);
    await fs.rm(path.join(dir, 'split'), { recursive: true });
    const r = await runStages(dir, (await readState(dir))!, toyStages(runs, { value: 'x' }), silentLogger);
    expect(r.outcomes).toEqual({ inspect: 'skipped', split: 'ran' });
  });

  it('records a failure; an interrupted resumable stage is resumed with its folder kept, a failed one restarts clean', async () => {
    const dir = path.join(tmp.dir, 'c');
    await fs.mkdir(dir);
    const runs: string[] = [];
    await expect(runStages(dir, freshState(), toyStages(runs, { value: 'x', failSplit: 'error' }), silentLogger)).rejects.toThrow('boom');
    let saved = await readState(dir);
    expect(saved?.stages.inspect?.status).toBe('done');
    expect(saved?.stages.split).toMatchObject({ status: 'failed', error: 'boom' });

    // failed → fresh start (the partial file is cleared first, then rewritten)
    runs.length = 0;
    await expect(runStages(dir, saved!, toyStages(runs, { value: 'x', failSplit: 'interrupt' }), silentLogger)).rejects.toThrow('stopped');
    expect(runs).toEqual(['split']);
    saved = await readState(dir);
    expect(saved?.stages.split?.status).toBe('interrupted');
    expect(saved?.stages.split?.attempts).toBe(1);

    // interrupted + resumable + same options → resume, folder kept
    runs.length = 0;
    const r = await runStages(dir, saved!, toyStages(runs, { value: 'x' }), silentLogger);
    expect(runs).toEqual(['split:resume']);
    expect(r.outcomes.split).toBe('resumed');
    expect(await fs.readFile(path.join(dir, 'split/partial.txt'), 'utf8')).toBe('x');
    expect((await readState(dir))?.stages.split).toMatchObject({ status: 'done', attempts: 2 });
  });
});
