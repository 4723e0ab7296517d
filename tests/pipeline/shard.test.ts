import { describe, expect, it } from 'vitest';
import { parseShard, resolveShard, shardClasses } from '../../src/pipeline/shard.js';

describe('shard assignment and where the shard comes from', () => {
  it('class k in name order goes to shard k mod N; every class to exactly one shard', () => {
    const classes = ['neutrophil', 'basophil', 'ig', 'eosinophil', 'monocyte', 'lymphocyte', 'erythroblast'];
    expect(shardClasses(classes, { index: 0, count: 3 })).toEqual(['basophil', 'ig', 'neutrophil']);
    expect(shardClasses(classes, { index: 1, count: 3 })).toEqual(['eosinophil', 'lymphocyte']);
    expect(shardClasses(classes, { index: 2, count: 3 })).toEqual(['erythroblast', 'monocyte']);
    for (const n of [1, 2, 7, 9]) {
      const all = Array.from({ length: n }, (_, i) => shardClasses(classes, { index: i, count: n })).flat();
      expect(all.sort()).toEqual([...classes].sort());
    }
    expect(shardClasses(classes, { index: 8, count: 9 })).toEqual([]);
  });

  it('--shard I/N, else Slurm array variables, else JOB_COMPLETION_INDEX with --shards, else none', () => {
    expect(resolveShard({ shard: '1/4' }, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({ index: 1, count: 4, source: '--shard 1/4' });
    expect(resolveShard({}, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({ index: 3, count: 4, source: 'SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_COUNT=4' });
    // an array numbered from 1 (--array=1-4)
    expect(resolveShard({}, { SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({ index: 3, count: 4 });
    expect(resolveShard({ shards: 5 }, { JOB_COMPLETION_INDEX: '2' })).toEqual({ index: 2, count: 5, source: 'JOB_COMPLETION_INDEX=2 of --shards 5' });
    expect(resolveShard({}, {})).toBeUndefined();
    expect(resolveShard({}, { SLURM_ARRAY_TASK_ID: '' })).toBeUndefined();
  });

  it('refuses what cannot be a shard, saying what was expected', () => {
    expect(() => parseShard('2/2')).toThrow('--shard 2/2: expected a shard index from 0 to 1, received 2');
    expect(() => parseShard('1-4')).toThrow('--shard: expected I/N with 0 ≤ I < N (e.g. 0/4), received "1-4"');
    expect(() => parseShard('0/0')).toThrow('expected at least 1 shard, received 0');
    expect(() => resolveShard({ shards: 3 }, {})).toThrow('--shards N needs JOB_COMPLETION_INDEX');
    expect(() => resolveShard({}, { JOB_COMPLETION_INDEX: '1' })).toThrow('but --shards is not');
    expect(() => resolveShard({ shards: 2 }, { JOB_COMPLETION_INDEX: '2' })).toThrow('expected a shard index from 0 to 1, received 2');
    expect(() => resolveShard({}, { SLURM_ARRAY_TASK_ID: '1' })).toThrow('SLURM_ARRAY_TASK_COUNT is not');
    expect(() => resolveShard({}, { SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '2' })).toThrow('SLURM_ARRAY_TASK_ID: expected a task id, received "x"');
    expect(() => resolveShard({ shards: 2 }, { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '3' })).toThrow('--shards: expected the Slurm array\'s task count 3 (SLURM_ARRAY_TASK_COUNT), received 2');
    expect(() => resolveShard({ shard: '0/2', shards: 2 }, {})).toThrow('do not go together');
    expect(() => resolveShard({ shards: 1.5 }, {})).toThrow('--shards: expected a whole number ≥ 1, received 1.5');
  });
});
