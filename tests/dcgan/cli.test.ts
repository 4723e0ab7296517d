import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, SAMPLES } from '../helpers/env.js';
import { train, readRun, checkpointName } from '../../src/dcgan/index.js';
import { initBackend } from '../../src/engine/index.js';
import { tinyOptions, checkpointBytes, assertCompleteCheckpoint, readJsonl } from './helpers.js';

const tmp = tempDir('cellgan-dcgan-cli-');
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());

const TINY = ['--data', SAMPLES, '--class', 'basophil', '--size', '32', '--g-width', '2', '--d-width', '2', '--nz', '8', '--batch', '2', '--seed', '7'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `run` has a checkpoint newer than `after` (or the child exits). */
async function waitForCheckpoint(run: string, after: number, child: ChildProcess): Promise<void> {
  while (child.exitCode === null && child.signalCode === null) {
    const cks = (await readRun(run).catch(() => null))?.checkpoints ?? [];
    if (cks.some((c) => c > after)) return;
    await sleep(40);
  }
}

/** Resolves once `run` has logged a stats line (training is under way) or the child exits. */
async function waitForStats(run: string, child: ChildProcess): Promise<void> {
  while (child.exitCode === null && child.signalCode === null) {
    if ((await fs.readFile(path.join(run, 'stats.jsonl'), 'utf8').catch(() => '')).includes('\n')) return;
    await sleep(40);
  }
}

describe('cellgan train / generate (CLI)', () => {
  it('trains, then generates a manifest-backed folder; errors are one line with exit code 2', async () => {
    const run = path.join(tmp.dir, 'cli');
    const r = await runCli(['train', ...TINY, '--iters', '2', '--out', run, '--log-every', '1']);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/trained to iteration 2/);
    expect(await readJsonl(path.join(run, 'stats.jsonl'))).toHaveLength(2);
    const again = await runCli(['train', ...TINY, '--iters', '2', '--out', run]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/cellgan: error: .*cli: run folder exists and is not empty; pass --force/);

    const g = await runCli(['generate', '--model', run, '--count', '3', '--out', path.join(tmp.dir, 'synth'), '--seed', '1']);
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/wrote 3 images \(basophil: 3\) from checkpoint 2/);
    expect(await readJsonl(path.join(tmp.dir, 'synth', 'manifest.jsonl'))).toHaveLength(3);

    const bad = await runCli(['train', '--data', SAMPLES, '--class', 'ig', '--iters', '2', '--out', path.join(tmp.dir, 'bad'), '--size', '40']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cellgan: error: Expected one of 32, 64, 128 for --size but received 40/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);

  // SIGTERM is what kill, systemd and `docker stop` send; both must end the same way.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} saves a complete checkpoint at the current iteration and exits 130; the run resumes`, async () => {
      const run = path.join(tmp.dir, signal.toLowerCase());
      const r = await runCli(['train', ...TINY, '--iters', '100000', '--out', run, '--checkpoint-every', '1000', '--log-every', '1'], {
        onSpawn: (child) => { void waitForStats(run, child).then(() => child.kill(signal)); },
      });
      expect(r.signal).toBeNull(); // it exited by itself, not killed by the signal
      expect(r.stderr).toMatch(new RegExp(`${signal}: saving a checkpoint`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code).toBe(130);
      const m = /interrupted at iteration (\d+)/.exec(r.stdout);
      expect(m).not.toBeNull();
      const at = Number(m![1]);
      expect(at).toBeGreaterThan(0);
      expect((await readRun(run)).latest).toBe(at);
      await assertCompleteCheckpoint(path.join(run, 'checkpoints', checkpointName(at)));
      expect((await fs.readdir(path.join(run, 'checkpoints'))).filter((n) => n.startsWith('.'))).toEqual([]);
      const resumed = await runCli(['train', '--resume', run, '--iters', String(at + 2)]);
      expect(resumed.code).toBe(0);
      expect((await readRun(run)).latest).toBe(at + 2);
    }, 120_000);
  }

  it('SIGKILL at random moments (checkpoint every iteration, up to 3 kills) always leaves complete checkpoints and resumes to the uninterrupted weights', async () => {
    const N = 10;
    const run = path.join(tmp.dir, 'killed');
    const reference = await train(tinyOptions(path.join(tmp.dir, 'reference'), { iters: N, checkpointEvery: 1, logEvery: 1, gridEvery: 5, keepCheckpoints: 2 }));
    const args = ['--iters', String(N), '--checkpoint-every', '1', '--log-every', '1', '--grid-every', '5', '--keep-checkpoints', '2'];
    let kills = 0;
    for (let round = 0; round < 3; round++) {
      const before = (await readRun(run).catch(() => null))?.latest ?? -1;
      const delay = Math.floor(Math.random() * 600);
      const cmd = before < 0 ? ['train', ...TINY, ...args, '--out', run] : ['train', '--resume', run, '--iters', String(N)];
      const r = await runCli(cmd, {
        onSpawn: (child) => { void waitForCheckpoint(run, before, child).then(() => sleep(delay)).then(() => child.kill('SIGKILL')); },
      });
      if (r.signal === 'SIGKILL') kills++;
      else expect(r.code, r.stderr).toBe(0);
      const info = await readRun(run);
      expect(info.checkpoints.length).toBeGreaterThan(0);
      for (const c of info.checkpoints) await assertCompleteCheckpoint(path.join(run, 'checkpoints', checkpointName(c)));
      if (info.latest === N) break;
    }
    expect(kills).toBeGreaterThan(0);
    if ((await readRun(run)).latest !== N) {
      const last = await runCli(['train', '--resume', run, '--iters', String(N)]);
      expect(last.code, last.stderr).toBe(0);
    }
    const final = path.join(run, 'checkpoints', checkpointName(N));
    const a = await checkpointBytes(reference.checkpoint), b = await checkpointBytes(final);
    for (const k of Object.keys(a)) expect(Buffer.compare(a[k], b[k]), k).toBe(0);
    const hidden = (await fs.readdir(path.join(run, 'checkpoints'))).filter((n) => n.startsWith('.'));
    expect(hidden).toEqual([]);
  }, 300_000);
});
