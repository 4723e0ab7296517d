/**
 * What every command shares: global options, a logger, the backend, and one
 * error policy (a readable line and a non-zero exit code; the stack only with
 * --verbose).
 */
import type { Argv } from 'yargs';
import { createLogger, type Logger } from '../util/log.js';
import { CellganError } from '../util/errors.js';
import { initBackend, describeBackend, BACKENDS, type BackendInfo, type BackendName } from '../engine/index.js';

export interface GlobalArgs {
  backend?: string;
  verbose?: boolean;
  quiet?: boolean;
}

export interface CommandContext {
  logger: Logger;
  verbose: boolean;
  /** Initialises (once) and returns the tfjs backend, logging which one runs. */
  backend(): Promise<BackendInfo>;
}

export function globalOptions<T>(y: Argv<T>): Argv<T & GlobalArgs> {
  return y
    .option('backend', {
      type: 'string', choices: ['auto', ...BACKENDS], default: undefined, global: true,
      describe: 'tfjs backend (default: CELLGAN_BACKEND, else the first that loads of tensorflow-gpu, tensorflow, wasm, cpu)',
    })
    .option('verbose', { type: 'boolean', alias: 'v', global: true, describe: 'debug logging and stack traces on errors' })
    .option('quiet', { type: 'boolean', alias: 'q', global: true, describe: 'only warnings and errors' }) as Argv<T & GlobalArgs>;
}

export function makeContext(args: GlobalArgs): CommandContext {
  const logger = createLogger({ level: args.verbose ? 'debug' : args.quiet ? 'warn' : 'info' });
  let info: Promise<BackendInfo> | undefined;
  return {
    logger,
    verbose: Boolean(args.verbose),
    backend() {
      info ??= initBackend(args.backend as BackendName | 'auto' | undefined).then((b) => {
        logger.info(`backend: ${describeBackend(b)}`);
        for (const s of b.skipped) logger.debug(`backend ${s.name} skipped: ${s.reason}`);
        return b;
      });
      return info;
    },
  };
}

/** Wraps a command body with the shared error policy. */
export function handler<A extends GlobalArgs>(body: (args: A, ctx: CommandContext) => Promise<number | void>) {
  return async (args: A): Promise<void> => {
    const ctx = makeContext(args);
    try {
      const code = await body(args, ctx);
      process.exitCode = code ?? 0;
    } catch (err) {
      reportError(err, Boolean(args.verbose));
    }
  };
}

export function reportError(err: unknown, verbose: boolean): void {
  if (err instanceof CellganError) {
    process.stderr.write(`cellgan: error: ${err.message}\n`);
    if (verbose && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = err.exitCode;
  } else {
    const e = err as Error;
    process.stderr.write(`cellgan: internal error: ${e?.message ?? String(err)}${verbose ? '' : ' (run with --verbose for details)'}\n`);
    if (verbose && e?.stack) process.stderr.write(e.stack + '\n');
    process.exitCode = 70;
  }
}
