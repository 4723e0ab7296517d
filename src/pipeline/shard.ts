/**
 * Shards of a per-class pipeline: which process trains which classes.
 *
 * Assignment (stable, documented in the README): the training classes sorted
 * by name (code-unit order, as the split lists them), class k (0-based)
 * belongs to shard k mod N. Shard indexes are 0-based, like Slurm array task
 * ids from `--array=0-<N-1>` and Kubernetes completion indexes.
 */
import { OptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import type { OptionSpec } from '../util/options.js';

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
  /** Where it came from, for the log ("--shard 1/4", "SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_COUNT=4"). */
  source: string;
}

const INT = /^\d+$/;

function parseInt10(name: string, value: string, expected: string): number {
  if (!INT.test(value.trim())) throw new OptionError(`${name}: expected ${expected}, received ${JSON.stringify(value)}`);
  return Number(value.trim());
}

function checked(index: number, count: number, source: string): Shard {
  if (count < 1) throw new OptionError(`${source}: expected at least 1 shard, received ${count}`);
  if (index >= count) throw new OptionError(`${source}: expected a shard index from 0 to ${count - 1}, received ${index}`);
  return { index, count, source };
}

/** Parses `--shard I/N` (0 ≤ I < N). */
export function parseShard(value: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(String(value));
  if (!m) throw new OptionError(`--shard: expected I/N with 0 ≤ I < N (e.g. 0/4), received ${JSON.stringify(value)}`);
  return checked(Number(m[1]), Number(m[2]), `--shard ${value}`);
}

/** `cellgan pipeline --shard`: "I/N", or a resolved Shard (library callers; see resolveShard). */
export const SHARD_OPTION = {
  type: 'string',
  help: 'I/N (0 ≤ I < N): train only this shard\'s per-class GANs (class k in name order goes to shard k mod N) into the same --out, then stop; a plain run on the folder afterwards merges. Default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX with --shards (needs --mode per-class)',
  check: (value: unknown, name: string): Shard => {
    const shard = typeof value === 'string' ? parseShard(value) : value as Shard;
    if (!(Number.isInteger(shard?.index) && Number.isInteger(shard?.count) && shard.index >= 0 && shard.index < shard.count)) {
      throw v.invalid(name, 'I/N with 0 ≤ I < N', value);
    }
    return shard;
  },
} as const satisfies OptionSpec<Shard>;

/** `cellgan pipeline --shards`: only for resolveShard (which checks it), with JOB_COMPLETION_INDEX. */
export const SHARD_COUNT_OPTION = {
  type: 'number',
  help: 'the number of shards when the index comes from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job\'s completions)',
} as const satisfies OptionSpec<number>;

/**
 * The shard of this process: `--shard I/N` if given; else a Slurm job array
 * task (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`);
 * else a Kubernetes Indexed Job pod (`JOB_COMPLETION_INDEX` of `--shards N`);
 * else none (undefined: one process does everything).
 */
export function resolveShard(opts: { shard?: string; shards?: number }, env: Record<string, string | undefined>): Shard | undefined {
  if (opts.shard !== undefined) {
    if (opts.shards !== undefined) throw new OptionError('--shard I/N and --shards N do not go together (--shards is for Kubernetes Indexed Jobs, with JOB_COMPLETION_INDEX)');
    return parseShard(opts.shard);
  }
  if (opts.shards !== undefined && !(Number.isInteger(opts.shards) && opts.shards >= 1)) {
    throw new OptionError(`--shards: expected a whole number ≥ 1, received ${JSON.stringify(opts.shards)}`);
  }
  const slurmId = env.SLURM_ARRAY_TASK_ID;
  if (slurmId !== undefined && slurmId !== '') {
    const id = parseInt10('SLURM_ARRAY_TASK_ID', slurmId, 'a task id');
    const countText = env.SLURM_ARRAY_TASK_COUNT;
    if (countText === undefined || countText === '') throw new OptionError('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard I/N');
    const count = parseInt10('SLURM_ARRAY_TASK_COUNT', countText, 'a task count');
    const min = env.SLURM_ARRAY_TASK_MIN ? parseInt10('SLURM_ARRAY_TASK_MIN', env.SLURM_ARRAY_TASK_MIN, 'a task id') : 0;
    if (opts.shards !== undefined && opts.shards !== count) throw new OptionError(`--shards: expected the Slurm array's task count ${count} (SLURM_ARRAY_TASK_COUNT), received ${opts.shards}`);
    const source = `SLURM_ARRAY_TASK_ID=${id}${min ? `, SLURM_ARRAY_TASK_MIN=${min}` : ''}, SLURM_ARRAY_TASK_COUNT=${count}`;
    if (id < min) throw new OptionError(`${source}: expected SLURM_ARRAY_TASK_ID ≥ SLURM_ARRAY_TASK_MIN`);
    return checked(id - min, count, source);
  }
  const k8s = env.JOB_COMPLETION_INDEX;
  if (k8s !== undefined && k8s !== '') {
    const index = parseInt10('JOB_COMPLETION_INDEX', k8s, 'a completion index');
    if (opts.shards === undefined) throw new OptionError('JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but --shards is not; pass the Job\'s completions as --shards N');
    return checked(index, opts.shards, `JOB_COMPLETION_INDEX=${index} of --shards ${opts.shards}`);
  }
  if (opts.shards !== undefined) throw new OptionError('--shards N needs JOB_COMPLETION_INDEX (set in a Kubernetes Indexed Job); elsewhere use --shard I/N');
  return undefined;
}

/** The classes shard `index` of `count` trains (see the module comment). */
export function shardClasses(classes: readonly string[], shard: Pick<Shard, 'index' | 'count'>): string[] {
  const sorted = [...classes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.filter((_, k) => k % shard.count === shard.index);
}

/** Who holds a pipeline lock, as lock files and waiting processes show it. */
export function lockOwner(shard: Shard | undefined): string {
  return shard ? `cellgan pipeline shard ${shard.index}/${shard.count}` : 'cellgan pipeline';
}
