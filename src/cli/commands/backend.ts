import type { CommandModule } from 'yargs';
import { handler, JSON_OPTION, type GlobalArgs } from '../context.js';

interface Args extends GlobalArgs { json?: boolean }

export const backendCommand: CommandModule<GlobalArgs, Args> = {
  command: 'backend',
  describe: 'Show which tfjs backend cellgan would use here, and why the faster ones were skipped',
  builder: (y) => y.option('json', JSON_OPTION),
  handler: handler<Args>(async (args, ctx) => {
    const info = await ctx.backend();
    if (args.json) {
      process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    } else {
      process.stdout.write(`backend: ${info.name} (${info.package}, tfjs ${info.tfjsVersion})\n`);
      if (info.customKernels.length) process.stdout.write(`custom kernels: ${info.customKernels.join(', ')}\n`);
      for (const s of info.skipped) process.stdout.write(`skipped ${s.name}: ${s.reason}\n`);
    }
  }),
};
