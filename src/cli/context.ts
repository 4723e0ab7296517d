/**
 * What every command shares: global options, a logger, the backend, and one
 * error policy (a readable line and a non-zero exit code; the stack only with
 * --verbose).
 */
import type { Argv, CommandModule } from 'yargs';
import { createLogger, resolveLogFormat, LOG_FORMATS, type LogFormat, type Logger } from '../util/log.js';
import { CellganError } from '../util/errors.js';
import { initBackend, deferBackend, describeBackend, BACKENDS, type BackendInfo, type BackendName } from '../engine/index.js';

export interface GlobalArgs {
  backend?: string;
  verbose?: boolean;
  quiet?: boolean;
  'log-format'?: string;
}

export interface CommandContext {
  logger: Logger;
  verbose: boolean;
  /** Initialises (once) and returns the tfjs backend, logging which one runs. */
  backend(): Promise<BackendInfo>;
  /**
   * Names the backend (--backend) for the library to load when it first needs
   * tfjs, after it has checked its options; it is logged then.
   */
  deferBackend(): void;
}

/** The options every command takes, listed last in a command's --help under this heading. */
export const GLOBAL_OPTION_KEYS = ['backend', 'verbose', 'quiet', 'log-format', 'help', 'version'] as const;
export const GLOBAL_GROUP = 'Global options:';

/**
 * `c` with its --help listing its own options first (under "Options:"), then
 * the global ones (grouped by globalOptions; yargs lists a command's own
 * groups before those it keeps from its parent). Positionals keep their group.
 */
export function ownOptionsFirst<T, U>(c: CommandModule<T, U>): CommandModule<T, U> {
  const build = c.builder;
  return {
    ...c,
    builder: (y: Argv<T>) => {
      const out = (typeof build === 'function' ? build(y) : build ? y.options(build) : y) as Argv<U>;
      // getGroups / getOptions are public on the yargs instance but not in @types/yargs.
      const inner = out as unknown as { getGroups(): Record<string, string[]>; getOptions(): unknown };
      const grouped = new Set(Object.values(inner.getGroups()).flat());
      const { key, alias } = inner.getOptions() as { key: Record<string, unknown>; alias: Record<string, string[]> };
      const global = new Set<string>(GLOBAL_OPTION_KEYS.flatMap((k) => [k, ...(alias[k] ?? [])]));
      const own = Object.keys(key).filter((k) => !global.has(k) && !grouped.has(k));
      return out.group(own, 'Options:');
    },
  } as CommandModule<T, U>;
}

export function globalOptions<T>(y: Argv<T>): Argv<T & GlobalArgs> {
  return y
    .option('backend', {
      type: 'string', choices: ['auto', ...BACKENDS], default: undefined, global: true,
      describe: 'tfjs backend', defaultDescription: 'CELLGAN_BACKEND, else the first that loads of tensorflow-gpu, tensorflow, wasm, cpu',
    })
    .option('verbose', { type: 'boolean', alias: 'v', global: true, describe: 'debug logging and stack traces on errors' })
    .option('quiet', { type: 'boolean', alias: 'q', global: true, describe: 'only warnings and errors' })
    .option('log-format', {
      type: 'string', choices: LOG_FORMATS as unknown as string[], global: true,
      describe: 'stderr as human lines or pino JSON lines, one object per line', defaultDescription: 'CELLGAN_LOG_FORMAT, else human',
    })
    .group([...GLOBAL_OPTION_KEYS], GLOBAL_GROUP) as Argv<T & GlobalArgs>;
}

export function makeContext(args: GlobalArgs): CommandContext {
  const logger = createLogger({ level: args.verbose ? 'debug' : args.quiet ? 'warn' : 'info', format: resolveLogFormat(args['log-format']) });
  let info: Promise<BackendInfo> | undefined;
  const announce = (b: BackendInfo) => {
    logger.info(`backend: ${b.name} (${b.package}, tfjs ${b.tfjsVersion})`);
    logger.debug(`backend: ${describeBackend(b)}`);
    for (const s of b.skipped) logger.debug(`backend ${s.name} skipped: ${s.reason}`);
  };
  return {
    logger,
    verbose: Boolean(args.verbose),
    backend() {
      info ??= initBackend(args.backend as BackendName | 'auto' | undefined).then((b) => { announce(b); return b; });
      return info;
    },
    deferBackend() {
      deferBackend(args.backend as BackendName | 'auto' | undefined, announce);
    },
  };
}

/** Prints a command's final result: one JSON object on stdout with --json, else the human text. */
export function printResult(json: boolean | undefined, result: unknown, text: () => string): void {
  process.stdout.write(json ? JSON.stringify(result, null, 2) + '\n' : text());
}

/** The --json option of commands that end with a result. */
export const JSON_OPTION = { type: 'boolean', describe: 'print the result as one JSON object on stdout (logs stay on stderr)' } as const;

/** Wraps a command body with the shared error policy. */
export function handler<A extends GlobalArgs>(body: (args: A, ctx: CommandContext) => Promise<number | void>) {
  return async (args: A): Promise<void> => {
    try {
      const ctx = makeContext(args);
      const code = await body(args, ctx);
      process.exitCode = code ?? 0;
    } catch (err) {
      reportError(err, Boolean(args.verbose));
    }
  };
}

/**
 * The stderr format named on the command line (`--log-format X` or
 * `--log-format=X`) or by CELLGAN_LOG_FORMAT; human when neither names a
 * valid one (yargs then refuses the bad value).
 */
export function argvLogFormat(argv: string[], env: NodeJS.ProcessEnv = process.env): LogFormat {
  let named: string | undefined;
  argv.forEach((a, i) => {
    if (a === '--log-format') named = argv[i + 1];
    else if (a.startsWith('--log-format=')) named = a.slice('--log-format='.length);
  });
  try { return resolveLogFormat(named, env); } catch { return 'human'; }
}

/**
 * Writes one error line on stderr: `cellgan: error: …` for people, or with
 * JSON logs a pino-shaped object (level 50, time, msg).
 */
export function writeErrorLine(message: string, format: LogFormat, extra: Record<string, unknown> = {}): void {
  if (format === 'json') process.stderr.write(JSON.stringify({ level: 50, time: new Date().toISOString(), msg: message, ...extra }) + '\n');
  else process.stderr.write(`cellgan: error: ${message}\n`);
}

export function reportError(err: unknown, verbose: boolean, format: LogFormat = argvLogFormat(process.argv.slice(2))): void {
  if (format === 'json') {
    const e = err as Error;
    const internal = !(err instanceof CellganError);
    writeErrorLine(e?.message ?? String(err), 'json', {
      ...(err instanceof CellganError && err.file ? { file: err.file } : {}),
      ...(internal ? { internal: true } : {}), ...(verbose && e?.stack ? { stack: e.stack } : {}),
    });
    process.exitCode = err instanceof CellganError ? err.exitCode : 70;
    return;
  }
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
