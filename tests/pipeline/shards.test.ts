import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { readState } from '../../src/pipeline/state.js';
import { readRun } from '../../src/dcgan/index.js';
import { initBackend } from '../../src/engine/index.js';
import { SAMPLES, runCli, tempDir } from '../helpers/env.js';

const tmp = tempDir('cellgan-shards-');
afterAll(() => tmp.cleanup());

// Three classes over two shards: shard 0 gets basophil and lymphocyte, shard 1 eosinophil (class k → shard k mod 2).
const CLASSES = ['basophil', 'eosinophil', 'lymphocyte'];
const ITERS = 40;
const ARGS = ['pipeline', '--data', SAMPLES, '--budget', 'test', '--mode', 'per-class', '--classes', CLASSES.join(','), '--seed', '5', '--iters', String(ITERS)];

/**
 * Every file of a run's checkpoints (generator, EMA generator, discriminator, optimizers, RNG and
 * batch-order state), by relative path; state.json without its wall and CPU times, which differ.
 */
async function checkpointFiles(runDir: string): Promise<Map<string, Buffer>> {
  const root = path.join(runDir, 'checkpoints');
  const files = new Map<string, Buffer>();
  for (const f of (await fs.readdir(root, { recursive: true })).map(String).sort()) {
    const p = path.join(root, f);
    if (!(await fs.stat(p)).isFile()) continue;
    let bytes = await fs.readFile(p);
    if (path.basename(f) === 'state.json') {
      const { wallTimeS, cpuTimeS, ...rest } = JSON.parse(String(bytes));
      expect(typeof wallTimeS, f).toBe('number');
      expect(typeof cpuTimeS, f).toBe('number');
      bytes = Buffer.from(JSON.stringify(rest));
    }
    files.set(f, bytes);
  }
  return files;
}

async function lastIteration(statsFile: string): Promise<number> {
  const text = await fs.readFile(statsFile, 'utf8').catch(() => '');
  const its = [...text.matchAll(/"iteration":(\d+)/g)].map((m) => Number(m[1]));
  return its.length ? Math.max(...its) : -1;
}

describe('sharded per-class training (Slurm array variables, two concurrent processes)', () => {
  const sharded = path.join(tmp.dir, 'sharded');
  const single = path.join(tmp.dir, 'single');

  it('two shards run concurrently, one is killed -9 mid-run; the plain run keeps the finished runs, resumes the killed one, and the weights equal a single-process run byte for byte', async () => {
    const slurm = (id: number) => ({ SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_COUNT: '2' });
    let shard1: ChildProcess | undefined;
    let killedAt = -1;
    const a = runCli([...ARGS, '--out', sharded], { env: slurm(0) });
    const b = runCli([...ARGS, '--out', sharded], { env: slurm(1), onSpawn: (c) => { shard1 = c; } });
    // Kill shard 1 (eosinophil) without warning once its run is a few iterations in and has a checkpoint past 0.
    const stats = path.join(sharded, 'train/eosinophil/stats.jsonl');
    const poll = setInterval(() => {
      void lastIteration(stats).then((it) => {
        if (it >= 6 && killedAt < 0) { killedAt = it; shard1?.kill('SIGKILL'); }
      });
    }, 25);
    const [ra, rb] = await Promise.all([a, b]);
    clearInterval(poll);

    expect(ra.stderr).not.toMatch(/cellgan: (internal )?error/);
    expect(ra.code).toBe(0);
    expect(ra.stderr).toContain('pipeline: shard 0/2 (from SLURM_ARRAY_TASK_ID=0, SLURM_ARRAY_TASK_COUNT=2)');
    expect(ra.stderr).toContain('shard 0/2 trains basophil, lymphocyte (2 of 3 classes');
    expect(ra.stdout).toMatch(/^Shard 0\/2: basophil trained, lymphocyte trained/);
    expect(rb.stderr).toContain('trains eosinophil (1 of 3 classes');
    // Without a terminal (a cluster's log file) no progress-bar control characters.
    for (const r of [ra, rb]) expect(r.stderr).not.toMatch(/[\r\x1b]/);
    // The kill came before shard 1 finished (else this test would not test a crashed shard).
    expect(rb.signal, `shard 1 exited with ${rb.code} before it could be killed`).toBe('SIGKILL');
    expect(killedAt).toBeLessThan(ITERS);

    // What the shards left: stages up to split done, train recorded as a running attempt, nothing after it;
    // the killed shard's lock still names its dead process.
    const mid = await readState(sharded);
    expect(['select', 'inspect', 'split'].map((s) => mid?.stages[s as 'split']?.status)).toEqual(['done', 'done', 'done']);
    expect(mid?.stages.train?.status).toBe('running');
    expect(mid?.stages.generate).toBeUndefined();
    expect(await fs.readdir(sharded)).not.toContain('report.html');
    expect(JSON.parse(await fs.readFile(path.join(sharded, 'train/.eosinophil.lock'), 'utf8'))).toMatchObject({ pid: shard1!.pid });
    await expect(fs.access(path.join(sharded, 'train/.basophil.lock'))).rejects.toThrow();
    const eosBefore = (await readRun(path.join(sharded, 'train/eosinophil'))).latest!;
    expect(eosBefore).toBeLessThan(ITERS);
    const keptBefore = await checkpointFiles(path.join(sharded, 'train/basophil'));

    // The plain run (no Slurm variables): merges and finishes the pipeline.
    const merge = await runCli([...ARGS, '--out', sharded]);
    expect(merge.stderr).not.toMatch(/cellgan: (internal )?error/);
    expect(merge.code).toBe(0);
    expect(merge.stderr).not.toMatch(/pipeline: shard \d/);
    expect(merge.stderr).toContain(`pipeline: train: basophil already has its ${ITERS} iterations, kept`);
    expect(merge.stderr).toContain(`pipeline: train: lymphocyte already has its ${ITERS} iterations, kept`);
    expect(merge.stderr).toMatch(/eosinophil: taking over the stale lock of cellgan pipeline shard 1\/2 \(process \d+ no longer runs/);
    expect(merge.stderr).toContain(`resuming train/eosinophil from iteration ${eosBefore}`);
    expect(merge.stdout).toContain(`Report: ${path.join(sharded, 'report.html')}`);
    const final = await readState(sharded);
    for (const s of ['train', 'generate', 'score', 'export']) expect(final?.stages[s as 'train']?.status, s).toBe('done');
    expect((await fs.readdir(path.join(sharded, 'train'))).filter((n) => n.endsWith('.lock'))).toEqual([]);
    // a kept run was not touched
    expect(await checkpointFiles(path.join(sharded, 'train/basophil'))).toEqual(keptBefore);
    expect((await readRun(path.join(sharded, 'train/basophil'))).options.resumes).toEqual([]);
    expect((await readRun(path.join(sharded, 'train/eosinophil'))).options.resumes).toHaveLength(1);

    // One process, same options (library API; training is all that is compared).
    await initBackend('wasm');
    await runPipeline({ data: SAMPLES, out: single, budget: 'test', mode: 'per-class', classes: CLASSES, seed: 5, overrides: { iters: ITERS }, until: 'train', report: false });
    for (const cls of CLASSES) {
      const one = await checkpointFiles(path.join(single, 'train', cls));
      const split = await checkpointFiles(path.join(sharded, 'train', cls));
      expect([...split.keys()], cls).toEqual([...one.keys()]);
      expect([...one.keys()].some((k) => /generator_ema\/.*\.bin$/.test(k)), cls).toBe(true);
      for (const [f, bytes] of one) expect(split.get(f)!.equals(bytes), `${cls}: ${f}`).toBe(true);
    }
  });

  it('a shard refuses the conditional mode, and JOB_COMPLETION_INDEX without --shards, with one error line', async () => {
    const out = path.join(tmp.dir, 'refused');
    const base = ['pipeline', '--data', SAMPLES, '--budget', 'test', '--classes', 'basophil,eosinophil', '--out', out];
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--shard', '0/2', '--mode', 'conditional'], {}, /^cellgan: error: --shard splits the per-class GANs over processes: expected --mode per-class, received --mode conditional/m],
      [['--mode', 'per-class'], { JOB_COMPLETION_INDEX: '1' }, /^cellgan: error: JOB_COMPLETION_INDEX is set \(a Kubernetes Indexed Job\) but --shards is not/m],
    ];
    for (const [args, env, msg] of cases) {
      const r = await runCli([...base, ...args], { env });
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.match(/cellgan: error/g), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    await expect(fs.access(path.join(out, 'pipeline.json'))).rejects.toThrow();
  });
});
