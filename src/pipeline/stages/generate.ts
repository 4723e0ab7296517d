/**
 * generate: `generate()` `count` images per class from the trained model(s);
 * in per-class mode each run generates into a part, and the parts merge into
 * one synthetic folder with one manifest.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import { offsetSeed } from '../../util/rng.js';
import { generate } from '../../dcgan/index.js';
import { fingerprintFiles } from '../state.js';
import type { StageDefinition } from '../runner.js';
import { splitClasses, type PipelineContext } from './context.js';

export function generateStage(ctx: PipelineContext): StageDefinition {
  const options = { count: ctx.options.budget.count, seed: offsetSeed(ctx.options.seed, 1) };
  const common = { ...options, logger: ctx.logger, signal: ctx.signal, progress: ctx.progress, force: true };
  return {
    name: 'generate', reads: ['train'], options,
    async run(run) {
      if (ctx.options.mode === 'conditional') {
        const g = await generate({ ...common, model: ctx.trainDir, out: run.stageDir });
        return { outputs: { synthetic: 'generate', manifest: 'generate/manifest.jsonl' }, summary: { counts: g.counts, checkpoint: g.checkpoint } };
      }
      const counts: Record<string, number> = {};
      const manifest: string[] = [];
      await fs.mkdir(run.stageDir, { recursive: true });
      for (const cls of await splitClasses(ctx)) {
        const part = path.join(run.stageDir, '.parts', cls);
        await fs.rm(part, { recursive: true, force: true });
        const g = await generate({ ...common, model: path.join(ctx.trainDir, cls), out: part });
        counts[cls] = g.counts[cls] ?? g.total;
        await fs.rm(path.join(run.stageDir, cls), { recursive: true, force: true });
        await fs.rename(path.join(part, cls), path.join(run.stageDir, cls));
        manifest.push(...(await fs.readFile(g.manifest, 'utf8')).split('\n').filter(Boolean));
      }
      await fs.rm(path.join(run.stageDir, '.parts'), { recursive: true, force: true });
      await writeFileAtomic(path.join(run.stageDir, 'manifest.jsonl'), manifest.join('\n') + '\n');
      return { outputs: { synthetic: 'generate', manifest: 'generate/manifest.jsonl' }, summary: { counts } };
    },
    fingerprint: (run) => fingerprintFiles(run.stageDir, ['manifest.jsonl', '*/*.png']),
  };
}
