/**
 * `cellgan jobs slurm|k8s`: the per-class pipeline as work for a cluster's
 * own scheduler. Each shard is one Slurm array task / one pod of a
 * Kubernetes Indexed Job running `cellgan pipeline …` with the shard taken
 * from the scheduler's variables; a final job runs the same command without
 * a shard, which merges (see pipeline.ts, shard.ts and README "Running on a
 * cluster"). Pure text generation: nothing here talks to a cluster.
 */
import path from 'node:path';
import { CellganError, OptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { boolean, checkOption, integer, nestedIn, number, oneOf, resolveOptions, type OptionTable } from '../util/options.js';
import { VERSION } from '../version.js';
import { loadDataset } from '../data/dataset.js';
import { BUDGETS, CLUSTER_ESTIMATES } from './budgets.js';
import { BUDGET_OVERRIDE_OPTIONS, INIT_OPTION, PIPELINE_INPUT_OPTIONS, PIPELINE_WORKERS_OPTION, type PipelineMode, type PipelineOptions } from './options.js';

/**
 * The pipeline options a job passes on (the CLI's `cellgan pipeline` options; JOB_PIPELINE_OPTIONS):
 * PipelineOptions' own fields, with the budget overrides a command line gives as flags.
 * `init` is refused: fine-tuning is conditional, and jobs shard per-class runs.
 */
export type JobPipelineOptions = Pick<PipelineOptions, 'data' | 'out' | 'labels' | 'classes' | 'budget' | 'size' | 'seed' | 'workers' | 'init'> & {
  iters?: number;
  count?: number;
  /** Override the budget's training recipe. */
  recipe?: string;
};

/** Defaults, ranges and help: JOBS_OPTIONS, SLURM_OPTIONS, K8S_OPTIONS. */
export interface JobsOptions {
  pipeline: JobPipelineOptions;
  /** Only per-class: jobs shard the per-class GANs. */
  mode?: Extract<PipelineMode, 'per-class'>;
  /** Number of shards (default: one per class, counted from --classes or the data folder). */
  shards?: number;
  /** Ask for one GPU per task (and run on the tensorflow-gpu backend). */
  gpu?: boolean;
  /** Override the time request: minutes, or [D-]HH:MM:SS. */
  time?: string;
  /** Override the time request of the merge job. */
  mergeTime?: string;
  /** Override the memory request, GiB. */
  memory?: number;
  /** Override the CPU request. */
  cpus?: number;
  /** Job name prefix (default cellgan). */
  name?: string;
  /** How a job starts cellgan (default `cellgan`, e.g. `npx cellgan`). */
  command?: string;
  /** Slurm partition and account. */
  partition?: string;
  account?: string;
  /** Kubernetes: container image with cellgan installed (required for k8s). */
  image?: string;
  /** Kubernetes: PersistentVolumeClaim holding --data and --out (ReadWriteMany: every pod mounts it). */
  pvc?: string;
  /** Kubernetes: where the claim is mounted (default /data); --data and --out must be under it. */
  mount?: string;
  /** Kubernetes namespace (default: kubectl's current one). */
  namespace?: string;
}

export interface JobPlan {
  shards: number;
  classes: number;
  /** Classes of the busiest shard. */
  classesPerShard: number;
  cpus: number;
  memoryGiB: number;
  minutes: number;
  mergeMinutes: number;
  /** How `minutes` was reached, for the script's header. */
  basis: string;
  pipelineArgs: string[];
  command: string[];
  name: string;
}

/** Minutes from `90`, `1:30:00`, `2-00:00:00`. */
export function parseMinutes(name: string, value: string): number {
  const s = String(value).trim();
  if (/^\d+$/.test(s) && Number(s) > 0) return Number(s);
  const m = /^(?:(\d+)-)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(s);
  if (m) {
    const min = Number(m[1] ?? 0) * 1440 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 60;
    if (min > 0) return Math.ceil(min);
  }
  throw new OptionError(`${name}: expected minutes or [D-]HH:MM:SS, received ${JSON.stringify(value)}`);
}

/** Slurm's D-HH:MM:SS. */
export function slurmTime(minutes: number): string {
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  const hms = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00`;
  return d ? `${d}-${hms}` : hms;
}

/** One word for sh: unquoted when safe, else in single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A Kubernetes object name (DNS-1123 label); job names are prefixes of them. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A time request: minutes or [D-]HH:MM:SS, checked to minutes. */
const timeRequest = { type: 'string', check: (value: unknown, name: string) => parseMinutes(name, value as string) } as const;

/**
 * The pipeline options a job passes on: `cellgan pipeline`'s own (what each
 * task computes), with --init listed but refused.
 */
export const JOB_PIPELINE_OPTIONS = {
  ...PIPELINE_INPUT_OPTIONS,
  ...BUDGET_OVERRIDE_OPTIONS,
  init: {
    ...INIT_OPTION,
    check: (value: unknown, name: string): never => { throw v.invalid(name, 'no --init: fine-tuning trains one conditional model, and jobs shard per-class runs', value); },
  },
  workers: PIPELINE_WORKERS_OPTION,
} satisfies OptionTable;

/** `cellgan jobs slurm|k8s`'s options: the pipeline's (as JobsOptions.pipeline), then the jobs'. */
export const JOBS_OPTIONS = {
  ...nestedIn(JOB_PIPELINE_OPTIONS, 'pipeline'),
  mode: { ...oneOf(['per-class'] as const satisfies readonly PipelineMode[]), default: 'per-class', help: 'jobs shard the per-class GANs (one GAN per class), so only per-class' },
  shards: {
    ...integer(1, 10_000), defaultHelp: 'one per class, counted from --classes or the data folder',
    help: 'number of array tasks / pods; class k in name order goes to shard k mod N',
  },
  gpu: { ...boolean, help: 'one GPU per task (Slurm --gres=gpu:1, Kubernetes nvidia.com/gpu: 1) and the tensorflow-gpu backend' },
  time: { ...timeRequest, defaultHelp: 'from the budget, see README "Running on a cluster"', help: 'time per task, minutes or [D-]HH:MM:SS' },
  mergeTime: { ...timeRequest, defaultHelp: 'a task\'s time plus the budget\'s scoring time', help: 'time of the merge job' },
  memory: { ...number(0.1, 100_000), defaultHelp: 'from the budget', help: 'memory per task in GiB' },
  cpus: { ...integer(1, 1024), defaultHelp: '--workers, at least 1', help: 'CPUs per task' },
  name: {
    type: 'string', default: 'cellgan', help: 'job name prefix: <name>-train and <name>-merge',
    check: (value: unknown, name: string): string => {
      if (typeof value !== 'string' || !NAME.test(value) || value.length > 40) throw v.invalid(name, 'lower-case letters, digits and "-", at most 40 characters', value);
      return value;
    },
  },
  command: {
    type: 'string', default: 'cellgan', help: 'how a job starts cellgan (e.g. "npx cellgan")',
    check: (value: unknown, name: string): string[] => {
      const words = String(value).trim().split(/\s+/).filter(Boolean);
      if (!words.length) throw v.invalid(name, 'how a job starts cellgan, e.g. "cellgan" or "npx cellgan"', value);
      return words;
    },
  },
} satisfies OptionTable;

/** `cellgan jobs slurm`'s own options (passed to sbatch as given). */
export const SLURM_OPTIONS = {
  partition: { type: 'string', help: 'Slurm partition (#SBATCH --partition)' },
  account: { type: 'string', help: 'Slurm account (#SBATCH --account)' },
} satisfies OptionTable;

/** `cellgan jobs k8s`'s own options. */
export const K8S_OPTIONS = {
  // Demanded by the command line; kubernetesManifest says what a missing one should be.
  image: { type: 'string', demand: true, help: 'container image with cellgan installed' },
  pvc: {
    type: 'string', required: true, help: 'ReadWriteMany PersistentVolumeClaim that holds --data and --out',
    check: (value: unknown, name: string): string => {
      if (typeof value !== 'string' || !NAME.test(value)) throw v.invalid(name, 'the name of a ReadWriteMany PersistentVolumeClaim holding --data and --out', value);
      return value;
    },
  },
  mount: {
    type: 'string', default: '/data', help: 'where the claim is mounted in the pods; --data and --out must be under it',
    check: (value: unknown, name: string): string => {
      if (typeof value !== 'string' || !path.posix.isAbsolute(value)) throw v.invalid(name, 'an absolute path inside the container', value);
      return value;
    },
  },
  namespace: { type: 'string', defaultHelp: 'kubectl\'s current one', help: 'Kubernetes namespace' },
} satisfies OptionTable;

/** Resolves what every job needs: shard count, requests, the pipeline command. */
export async function planJobs(opts: JobsOptions, target: 'slurm' | 'k8s'): Promise<JobPlan> {
  const p = resolveOptions(JOB_PIPELINE_OPTIONS, opts.pipeline);
  const o = resolveOptions(JOBS_OPTIONS, opts);
  const { budget, seed, workers, iters, count, recipe } = p;
  const name = o.name;
  // A budget's values apply where an option isn't given.
  const size = p.size ?? BUDGETS[budget].size;

  // Paths: absolute, so every task sees the same folder whatever its working directory.
  let data = p.data, out = p.out, labels = p.labels;
  if (target === 'slurm') {
    data = path.resolve(data); out = path.resolve(out); labels = labels && path.resolve(labels);
  } else {
    const mount = resolveOptions({ mount: K8S_OPTIONS.mount }, opts).mount;
    for (const [flag, value] of [['--data', data], ['--out', out], ['--labels', labels]] as const) {
      if (value === undefined) continue;
      const rel = path.posix.relative(mount, value);
      if (!path.posix.isAbsolute(value) || rel.startsWith('..') || path.posix.isAbsolute(rel)) {
        throw new OptionError(`${flag}: expected an absolute path under --mount ${mount} (the volume every pod shares), received ${JSON.stringify(value)}`);
      }
    }
  }

  // Shards: one per class unless given.
  let classCount: number | undefined = p.classes?.length;
  if (classCount === undefined) {
    try {
      classCount = (await loadDataset(data, labels ? { labels } : {})).classes.length;
    } catch (err) {
      if (o.shards === undefined) throw new CellganError(`cannot count the classes here (${(err as Error).message}); pass --shards N or --classes`, { file: p.data });
    }
  }
  const shards = o.shards ?? checkOption(JOBS_OPTIONS, 'shards', classCount);
  const classes = classCount ?? shards;
  const classesPerShard = Math.max(1, Math.ceil(classes / shards));

  // Requests from the budget (README "Running on a cluster").
  const est = CLUSTER_ESTIMATES[budget];
  const itersUsed = iters ?? BUDGETS[budget].iters;
  const scale = ((size / BUDGETS[budget].size) ** 2) * (itersUsed / BUDGETS[budget].iters);
  const perClass = est.minutesPerClass * scale;
  const estimated = Math.ceil(classesPerShard * perClass * 1.5 + 10);
  const minutes = o.time ?? estimated;
  const mergeMinutes = o.mergeTime ?? Math.ceil(minutes + est.mergeMinutes * (size / BUDGETS[budget].size) ** 2);
  const cpus = o.cpus ?? Math.max(1, workers);
  const memoryGiB = o.memory ?? Math.ceil(est.memoryGiB * (size / BUDGETS[budget].size) ** 2 * (1 + workers) * 2) / 2;
  const basis = opts.time !== undefined ? `--time ${opts.time}` :
    `${classesPerShard} class(es) per shard × ${perClass.toFixed(1)} min per class (budget ${budget}${size !== BUDGETS[budget].size ? ` scaled to ${size} px` : ''}${iters !== undefined ? `, ${itersUsed} iterations` : ''}, one CPU core) × 1.5 + 10 min`;

  const pipelineArgs = [
    'pipeline', '--data', data, '--out', out, ...(labels ? ['--labels', labels] : []),
    ...(p.classes ? ['--classes', p.classes.join(',')] : []),
    '--mode', o.mode, '--budget', budget, '--size', String(size), '--seed', String(seed),
    ...(iters !== undefined ? ['--iters', String(iters)] : []), ...(count !== undefined ? ['--count', String(count)] : []),
    ...(recipe !== undefined ? ['--recipe', recipe] : []),
    '--workers', String(workers), ...(o.gpu ? ['--backend', 'tensorflow-gpu'] : []),
  ];
  return { shards, classes, classesPerShard, cpus, memoryGiB, minutes, mergeMinutes, basis, pipelineArgs, command: o.command, name };
}

function memSlurm(gib: number): string { return `${Math.ceil(gib * 1024)}M`; }

/** The sbatch script (see the module comment); submit it with `sbatch <file>`. */
export async function slurmScript(opts: JobsOptions): Promise<string> {
  const plan = await planJobs(opts, 'slurm');
  const cmd = [...plan.command, ...plan.pipelineArgs].map(shellQuote).join(' ');
  const common = [
    `--cpus-per-task=${plan.cpus}`, `--mem=${memSlurm(plan.memoryGiB)}`,
    ...(opts.gpu ? ['--gres=gpu:1'] : []),
    ...(opts.partition ? [`--partition=${opts.partition}`] : []),
    ...(opts.account ? [`--account=${opts.account}`] : []),
  ];
  // The merge job inherits task 0's environment: drop the array variables so it runs as the plain (merging) pipeline.
  const mergeCmd = `unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_MAX; exec ${cmd}`;
  const mergeSubmit = [
    'sbatch', '--parsable', `--job-name=${plan.name}-merge`, '--dependency=afterany:${SLURM_ARRAY_JOB_ID}',
    ...common, `--time=${slurmTime(plan.mergeMinutes)}`, `--output=${plan.name}-merge-%j.log`,
  ];
  return [
    '#!/bin/bash',
    `# cellgan ${VERSION}: per-class GAN training as a Slurm job array, then a merge job.`,
    '# Submit with: sbatch <this file>',
    `# Array task i (0..${plan.shards - 1}) trains the classes k (names sorted, 0-based) with k mod ${plan.shards} = i into --out`,
    '# on the shared filesystem (cellgan reads SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT). Task 0 also submits',
    '# the merge job: the same command without a shard, after every task has ended (afterany: it also resumes',
    '# what a failed or killed task left), which generates, scores, exports and writes report.html.',
    `# Time request: ${plan.basis}. Memory and CPUs: see README "Running on a cluster".`,
    `#SBATCH --job-name=${plan.name}-train`,
    `#SBATCH --array=0-${plan.shards - 1}`,
    ...common.map((o) => `#SBATCH ${o}`),
    `#SBATCH --time=${slurmTime(plan.minutes)}`,
    `#SBATCH --output=${plan.name}-train-%A_%a.log`,
    'set -euo pipefail',
    'export CI=1',
    'if [ "${SLURM_ARRAY_TASK_ID}" = "0" ]; then',
    `  ${mergeSubmit.map((w) => (w.includes('${') ? `"${w}"` : shellQuote(w))).join(' ')} \\`,
    `    --wrap=${shellQuote(mergeCmd)}`,
    'fi',
    `exec ${cmd}`,
    '',
  ].join('\n');
}

/** YAML for the plain data of a manifest: strings JSON-quoted (valid YAML double-quoted scalars). */
function yaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (!value.length) return ' []';
    return value.map((item) => {
      const body = yaml(item, indent + '  ');
      return `\n${indent}-${body.startsWith('\n') ? body.replace(/^\n\s*/, ' ') : body}`;
    }).join('');
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (!entries.length) return ' {}';
    return entries.map(([k, x]) => `\n${indent}${/^[A-Za-z0-9_.\/-]+$/.test(k) ? k : JSON.stringify(k)}:${yaml(x, indent + '  ')}`).join('');
  }
  return ` ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
}

/** The Indexed Job and the merge Job, as one YAML stream (see README for the kubectl commands). */
export async function kubernetesManifest(opts: JobsOptions): Promise<string> {
  const plan = await planJobs(opts, 'k8s');
  if (!opts.image) throw new OptionError('--image: expected a container image with cellgan installed (e.g. registry.example.org/lab/cellgan:0.1.0), received nothing');
  const { pvc, mount } = resolveOptions(K8S_OPTIONS, opts);
  const resources = {
    requests: { cpu: String(plan.cpus), memory: `${Math.ceil(plan.memoryGiB * 1024)}Mi` },
    limits: { memory: `${Math.ceil(plan.memoryGiB * 1024)}Mi`, ...(opts.gpu ? { 'nvidia.com/gpu': 1 } : {}) },
  };
  const job = (part: 'train' | 'merge', args: string[], minutes: number, indexed: boolean) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `${plan.name}-${part}`,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      labels: { 'app.kubernetes.io/name': 'cellgan', 'cellgan/part': part },
    },
    spec: {
      ...(indexed ? { completionMode: 'Indexed', completions: plan.shards, parallelism: plan.shards } : { completions: 1 }),
      backoffLimit: indexed ? plan.shards : 2,
      activeDeadlineSeconds: minutes * 60,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'cellgan', 'cellgan/part': part } },
        spec: {
          restartPolicy: 'Never',
          containers: [{
            name: 'cellgan',
            image: opts.image,
            command: [...plan.command, ...args],
            env: [{ name: 'CI', value: '1' }],
            resources,
            volumeMounts: [{ name: 'work', mountPath: mount }],
          }],
          volumes: [{ name: 'work', persistentVolumeClaim: { claimName: pvc } }],
        },
      },
    },
  });
  const header = [
    `# cellgan ${VERSION}: per-class GAN training as a Kubernetes Indexed Job, then a merge Job.`,
    `# Pod i (JOB_COMPLETION_INDEX, 0..${plan.shards - 1}) trains the classes k (names sorted, 0-based) with k mod ${plan.shards} = i`,
    `# into --out on the claim ${pvc}; the merge Job runs the same command without --shards once they are done.`,
    '# Kubernetes has no job dependencies, so apply the parts in turn:',
    `#   kubectl apply -f <this file> -l cellgan/part=train`,
    `#   kubectl wait --for=condition=complete --timeout=${plan.minutes}m job/${plan.name}-train`,
    `#   kubectl apply -f <this file> -l cellgan/part=merge`,
    '# (If a pod failed for good, apply the merge anyway: it resumes what the failed pod left.)',
    `# Deadline: ${plan.basis}.`,
  ].join('\n');
  const docs = [
    job('train', [...plan.pipelineArgs, '--shards', String(plan.shards)], plan.minutes, true),
    job('merge', plan.pipelineArgs, plan.mergeMinutes, false),
  ];
  return `${header}\n${docs.map((d) => `---${yaml(d)}`).join('\n')}\n`;
}
