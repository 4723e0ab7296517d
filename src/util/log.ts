/**
 * Logging through pino: JSON lines to a run's log file (machine-readable),
 * and short human lines on stderr.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino, multistream, type Logger, type Level } from 'pino';

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

export interface LoggerOptions {
  level?: Level;
  /** Also write JSON lines here (e.g. `<run>/log.jsonl`). */
  file?: string;
  /** Human lines to stderr (default true). */
  console?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? ((process.env.CELLGAN_LOG_LEVEL as Level | undefined) ?? 'info');
  const streams: { level: Level; stream: NodeJS.WritableStream }[] = [];
  if (opts.console ?? true) streams.push({ level, stream: humanStream(process.stderr) });
  if (opts.file) {
    mkdirSync(path.dirname(opts.file), { recursive: true });
    streams.push({ level: 'debug', stream: createWriteStream(opts.file, { flags: 'a' }) });
  }
  const minLevel = opts.file && LEVEL_VALUES.debug < (LEVEL_VALUES[level] ?? 30) ? 'debug' : level;
  return pino({ level: minLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, multistream(streams));
}

/** A logger that drops everything (library default when the caller passes none). */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * A logger that writes JSON lines to `file` and, unless `parent` is silent,
 * the same human lines to stderr at the parent's level.
 */
export function withLogFile(parent: Logger, file: string): Logger {
  const silent = parent.level === 'silent';
  return createLogger({ file, console: !silent, level: silent ? 'info' : (parent.level as Level) });
}
