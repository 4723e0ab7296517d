/**
 * Logging through pino: JSON lines to a run's log file (machine-readable),
 * and on stderr short human lines or, with `--log-format json` /
 * CELLGAN_LOG_FORMAT=json, the pino JSON lines themselves (one object per
 * line, for log collectors).
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino, multistream, type Logger, type Level } from 'pino';
import { CellganError } from './errors.js';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
// `progress` (a status line's numbers) is for JSON readers; its message already says it.
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v', 'progress']);

/** Formats a pino JSON line as `warn: message key=value …` for people. */
function humanStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          const level = LEVEL_NAMES[rec.level as number] ?? 'info';
          const extras = Object.entries(rec).filter(([k]) => !SKIP.has(k))
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
          out.write(`${level === 'info' ? '' : level + ': '}${rec.msg ?? ''}${extras ? ' ' + extras : ''}\n`);
        } catch {
          out.write(line + '\n');
        }
      }
      done();
    },
  });
}

export const LOG_FORMATS = ['human', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The stderr format: `format` if given, else CELLGAN_LOG_FORMAT, else human; anything else is refused. */
export function resolveLogFormat(format?: string, env: NodeJS.ProcessEnv = process.env): LogFormat {
  const f = format ?? (env.CELLGAN_LOG_FORMAT || 'human');
  if (!(LOG_FORMATS as readonly string[]).includes(f)) {
    const src = format !== undefined ? '--log-format' : 'CELLGAN_LOG_FORMAT';
    throw new CellganError(`expected one of ${LOG_FORMATS.map((x) => JSON.stringify(x)).join(', ')} for ${src} but received ${JSON.stringify(f)}`, { exitCode: 2 });
  }
  return f as LogFormat;
}

const FORMATS = new WeakMap<Logger, LogFormat>();

/** The stderr format a logger was made with (human for loggers made elsewhere). */
export function logFormatOf(logger: Logger): LogFormat {
  return FORMATS.get(logger) ?? 'human';
}

export interface LoggerOptions {
  level?: Level;
  /** Also write JSON lines here (e.g. `<run>/log.jsonl`). */
  file?: string;
  /** Lines to stderr (default true). */
  console?: boolean;
  /** Their format (default: CELLGAN_LOG_FORMAT, else human). */
  format?: LogFormat;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? ((process.env.CELLGAN_LOG_LEVEL as Level | undefined) ?? 'info');
  const format = opts.format ?? resolveLogFormat();
  const streams: { level: Level; stream: NodeJS.WritableStream }[] = [];
  if (opts.console ?? true) streams.push({ level, stream: format === 'json' ? process.stderr : humanStream(process.stderr) });
  if (opts.file) {
    mkdirSync(path.dirname(opts.file), { recursive: true });
    streams.push({ level: 'debug', stream: createWriteStream(opts.file, { flags: 'a' }) });
  }
  const minLevel = opts.file && LEVEL_VALUES.debug < (LEVEL_VALUES[level] ?? 30) ? 'debug' : level;
  const logger = pino({ level: minLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, multistream(streams));
  FORMATS.set(logger, format);
  return logger;
}

/** A logger that drops everything (library default when the caller passes none). */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * A logger that writes JSON lines to `file` and, unless `parent` is silent,
 * the same human lines to stderr at the parent's level.
 */
export function withLogFile(parent: Logger, file: string): Logger {
  const silent = parent.level === 'silent';
  return createLogger({ file, console: !silent, level: silent ? 'info' : (parent.level as Level), format: logFormatOf(parent) });
}
