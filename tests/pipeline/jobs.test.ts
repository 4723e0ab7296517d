import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kubernetesManifest, planJobs, slurmScript, slurmTime, parseMinutes } from '../../src/pipeline/jobs.js';
import { CLUSTER_ESTIMATES } from '../../src/pipeline/budgets.js';
import { resolveShard } from '../../src/pipeline/shard.js';
import { SAMPLES, runCli, tempDir } from '../helpers/env.js';

const run = promisify(execFile);
const tmp = tempDir('cellgan-jobs-');
afterAll(() => tmp.cleanup());

const PIPELINE = { data: SAMPLES, out: '/shared/runs/pbc', budget: 'quick' as const, seed: 2 };
// What a shard and the merge must both run (the pipeline options, resolved and explicit).
const EXPECTED_ARGS = ['pipeline', '--data', SAMPLES, '--out', '/shared/runs/pbc', '--mode', 'per-class', '--budget', 'quick', '--size', '64', '--seed', '2', '--workers', '0'];

/** Fake `sbatch` and `cellgan` on PATH: each records its arguments and the array variables it saw; sbatch then runs --wrap like the merge job would. */
async function fakeBin(dir: string): Promise<string> {
  const bin = path.join(dir, 'bin');
  await fs.mkdir(bin, { recursive: true });
  await fs.writeFile(path.join(bin, 'sbatch'), `#!/bin/bash
printf '%s\\n' "$@" > "$LOG/sbatch.args"
for a in "$@"; do case "$a" in --wrap=*) wrap="\${a#--wrap=}";; esac; done
bash -c "$wrap"
echo 999
`, { mode: 0o755 });
  await fs.writeFile(path.join(bin, 'cellgan'), `#!/bin/bash
n=$(ls "$LOG" | grep -c '^cellgan' || true)
{ echo "task=\${SLURM_ARRAY_TASK_ID-unset} count=\${SLURM_ARRAY_TASK_COUNT-unset} ci=\${CI-unset}"; printf '%s\\n' "$@"; } > "$LOG/cellgan.$n"
`, { mode: 0o755 });
  return bin;
}

async function runScript(script: string, env: Record<string, string>): Promise<{ sbatch?: string[]; calls: { env: string; args: string[] }[] }> {
  const dir = await fs.mkdtemp(path.join(tmp.dir, 'sh-'));
  const bin = await fakeBin(dir);
  const log = path.join(dir, 'log');
  await fs.mkdir(log);
  await fs.writeFile(path.join(dir, 'job.sh'), script);
  await run('bash', [path.join(dir, 'job.sh')], { env: { PATH: `${bin}:${process.env.PATH}`, LOG: log, ...env } });
  const files = (await fs.readdir(log)).sort();
  const sbatch = files.includes('sbatch.args') ? (await fs.readFile(path.join(log, 'sbatch.args'), 'utf8')).trimEnd().split('\n') : undefined;
  const calls = [];
  for (const f of files.filter((n) => n.startsWith('cellgan.'))) {
    const [first, ...args] = (await fs.readFile(path.join(log, f), 'utf8')).trimEnd().split('\n');
    calls.push({ env: first, args });
  }
  return { sbatch, calls };
}

describe('cellgan jobs slurm', () => {
  it('an array of one task per class with the budget\'s requests; task 0 submits the merge after the array, without the array variables', async () => {
    const script = await slurmScript({ pipeline: PIPELINE });
    const plan = await planJobs({ pipeline: PIPELINE }, 'slurm');
    expect(plan.shards).toBe(7); // pbc-mini's classes
    const sbatch = script.split('\n').filter((l) => l.startsWith('#SBATCH ')).map((l) => l.slice(8));
    expect(sbatch).toEqual([
      '--job-name=cellgan-train', '--array=0-6', '--cpus-per-task=1', `--mem=${CLUSTER_ESTIMATES.quick.memoryGiB * 1024}M`,
      `--time=${slurmTime(Math.ceil(CLUSTER_ESTIMATES.quick.minutesPerClass * 1.5 + 10))}`, '--output=cellgan-train-%A_%a.log',
    ]);
    await run('bash', ['-n', '-c', script]);

    // Task 0: submits the merge (which, run by the fake sbatch, sees no array variables), then its shard.
    const t0 = await runScript(script, { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '7', SLURM_ARRAY_JOB_ID: '4242' });
    expect(t0.sbatch).toEqual(expect.arrayContaining(['--dependency=afterany:4242', '--job-name=cellgan-merge', '--cpus-per-task=1']));
    expect(t0.sbatch!.some((a) => a.startsWith('--array'))).toBe(false);
    expect(t0.sbatch!.find((a) => a.startsWith('--time='))).toBe(`--time=${slurmTime(plan.mergeMinutes)}`);
    expect(t0.calls).toEqual([
      { env: 'task=unset count=unset ci=1', args: EXPECTED_ARGS }, // the merge job
      { env: 'task=0 count=7 ci=1', args: EXPECTED_ARGS }, // the shard
    ]);
    // Another task: only its shard.
    const t3 = await runScript(script, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '7', SLURM_ARRAY_JOB_ID: '4242' });
    expect(t3.sbatch).toBeUndefined();
    expect(t3.calls).toEqual([{ env: 'task=3 count=7 ci=1', args: EXPECTED_ARGS }]);
    // and what a task's variables make of it
    expect(resolveShard({}, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '7' })).toMatchObject({ index: 3, count: 7 });
  });

  it('fewer shards, a GPU, a partition and quoting of odd paths; time from the busiest shard', async () => {
    const odd = { ...PIPELINE, out: "/shared/runs/it's here", classes: ['basophil', 'eosinophil', 'ig', 'lymphocyte', 'monocyte'] };
    const script = await slurmScript({ pipeline: odd, shards: 2, gpu: true, partition: 'gpu', command: 'npx cellgan' });
    const sbatch = script.split('\n').filter((l) => l.startsWith('#SBATCH ')).map((l) => l.slice(8));
    expect(sbatch).toContain('--array=0-1');
    expect(sbatch).toContain('--gres=gpu:1');
    expect(sbatch).toContain('--partition=gpu');
    expect(sbatch).toContain(`--time=${slurmTime(Math.ceil(3 * CLUSTER_ESTIMATES.quick.minutesPerClass * 1.5 + 10))}`); // 5 classes over 2 shards: 3 in the busiest
    const t1 = await runScript(script.replace(/^exec npx /m, 'exec '), { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' });
    expect(t1.calls[0].args).toEqual(['pipeline', '--data', SAMPLES, '--out', "/shared/runs/it's here", '--classes', 'basophil,eosinophil,ig,lymphocyte,monocyte',
      '--mode', 'per-class', '--budget', 'quick', '--size', '64', '--seed', '2', '--workers', '0', '--backend', 'tensorflow-gpu']);
    const t0 = await runScript(script.replace(/exec npx /g, 'exec '), { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_JOB_ID: '7' });
    expect(t0.sbatch).toEqual(expect.arrayContaining(['--gres=gpu:1', '--partition=gpu']));
    expect(t0.calls[0].args).toEqual(t1.calls[0].args);
  });

  it('the CLI prints the script; a bad --time is one error line', async () => {
    const r = await runCli(['jobs', 'slurm', '--data', SAMPLES, '--out', '/shared/runs/pbc', '--seed', '2', '--time', '2:00:00']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe((await slurmScript({ pipeline: PIPELINE, time: '2:00:00' })));
    expect(r.stdout).toContain('#SBATCH --time=02:00:00');
    const bad = await runCli(['jobs', 'slurm', '--data', SAMPLES, '--out', '/x', '--time', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('cellgan: error: --time: expected minutes or [D-]HH:MM:SS, received "soon"');
    expect(parseMinutes('--time', '1-02:30:00')).toBe(1590);
  });
});

describe('cellgan jobs k8s', () => {
  const k8s = { pipeline: { ...PIPELINE, data: '/data/pbc', out: '/data/runs/pbc', classes: ['basophil', 'eosinophil', 'ig'] }, image: 'reg.example.org/cellgan:0.1.0', pvc: 'lab-data' };

  it('an Indexed Job (one pod per shard, --shards N) and a merge Job without it, as YAML', async () => {
    const text = await kubernetesManifest({ ...k8s, gpu: true });
    const docs = parseAllDocuments(text);
    expect(docs.map((d) => d.errors)).toEqual([[], []]);
    const [train, merge] = docs.map((d) => d.toJS());
    const shardArgs = ['pipeline', '--data', '/data/pbc', '--out', '/data/runs/pbc', '--classes', 'basophil,eosinophil,ig', '--mode', 'per-class',
      '--budget', 'quick', '--size', '64', '--seed', '2', '--workers', '0', '--backend', 'tensorflow-gpu'];
    expect(train).toMatchObject({
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'cellgan-train', labels: { 'cellgan/part': 'train' } },
      spec: { completionMode: 'Indexed', completions: 3, parallelism: 3, template: { spec: { restartPolicy: 'Never' } } },
    });
    const c = train.spec.template.spec.containers[0];
    expect(c.image).toBe('reg.example.org/cellgan:0.1.0');
    expect(c.command).toEqual(['cellgan', ...shardArgs, '--shards', '3']);
    expect(c.resources).toEqual({ requests: { cpu: '1', memory: `${CLUSTER_ESTIMATES.quick.memoryGiB * 1024}Mi` }, limits: { memory: `${CLUSTER_ESTIMATES.quick.memoryGiB * 1024}Mi`, 'nvidia.com/gpu': 1 } });
    expect(c.volumeMounts).toEqual([{ name: 'work', mountPath: '/data' }]);
    expect(train.spec.template.spec.volumes).toEqual([{ name: 'work', persistentVolumeClaim: { claimName: 'lab-data' } }]);
    expect(train.spec.activeDeadlineSeconds).toBe((await planJobs({ ...k8s }, 'k8s')).minutes * 60);

    expect(merge).toMatchObject({ kind: 'Job', metadata: { name: 'cellgan-merge', labels: { 'cellgan/part': 'merge' } }, spec: { completions: 1 } });
    expect(merge.spec.completionMode).toBeUndefined();
    expect(merge.spec.template.spec.containers[0].command).toEqual(['cellgan', ...shardArgs]);
    // The header says how to run the parts in order.
    expect(text).toContain('kubectl apply -f <this file> -l cellgan/part=train');
    expect(text).toContain('kubectl wait --for=condition=complete');
    // a pod's index and --shards make its shard
    expect(resolveShard({ shards: 3 }, { JOB_COMPLETION_INDEX: '2' })).toMatchObject({ index: 2, count: 3 });
  });

  it('refuses paths outside the mounted claim, a missing image and a bad name, saying what was expected', async () => {
    await expect(kubernetesManifest({ ...k8s, pipeline: { ...k8s.pipeline, out: '/scratch/run' } })).rejects.toThrow('--out: expected an absolute path under --mount /data (the volume every pod shares), received "/scratch/run"');
    await expect(kubernetesManifest({ ...k8s, image: undefined })).rejects.toThrow(/^--image: expected a container image/);
    await expect(kubernetesManifest({ ...k8s, name: 'Cell_GAN' })).rejects.toThrow(/--name/);
    const r = await runCli(['jobs', 'k8s', '--data', '/data/pbc', '--out', '/data/runs/x', '--classes', 'a,b', '--image', 'img', '--pvc', 'lab-data', '--shards', '2']);
    expect(r.code).toBe(0);
    const [train] = parseAllDocuments(r.stdout).map((d) => d.toJS());
    expect(train.spec).toMatchObject({ completionMode: 'Indexed', completions: 2 });
  });
});
