/**
 * Progress of long work, in one of two forms:
 *
 * - on a terminal, a bar redrawn in place on stderr (position, rate,
 *   elapsed time, ETA);
 * - without one (nohup, Slurm, docker logs, CI), a **status line** every
 *   `CELLGAN_STATUS_INTERVAL` seconds (default {@link STATUS_INTERVAL_S}),
 *   at every {@link Progress.mark} (e.g. a checkpoint) and at the end.
 *
 * A status line is written through the logger when one is given, with the
 * numbers as a `progress` object ({@link StatusSnapshot}) beside the
 * message, so `--log-format json` carries them as fields; otherwise it is
 * written to the stream. Its text ({@link formatStatus}) is stable:
 *
 *     train 120/2000 6.0% | 0.52 it/s | 8.3 img/s | elapsed 3:50 | ETA 1:00:12 | D 1.23 G 0.877 | checkpoint
 */
import type { Logger } from 'pino';
import { logFormatOf } from './log.js';

/** Seconds between status lines without a terminal (override: CELLGAN_STATUS_INTERVAL). */
export const STATUS_INTERVAL_S = 30;

export type ProgressMode = 'bar' | 'lines' | 'off';

export interface ProgressOptions {
  label: string;
  /** Final position (e.g. the run's total iterations). */
  total: number;
  /** Starting position (e.g. the iteration a resumed run starts from); rates count from here. */
  start?: number;
  unit?: string;
  /** Images per unit, for an images/s figure (e.g. the batch size when the unit is an iteration; 1 when the unit is an image). */
  imagesPerUnit?: number;
  /**
   * `bar`, `lines` or `off`. Default: a bar when the stream is a terminal and
   * CI is not set, status lines otherwise. `enabled: true` means `bar`,
   * `enabled: false` means `lines` (no bar, still status lines). A logger
   * with JSON output on stderr always gets lines.
   */
  mode?: ProgressMode;
  enabled?: boolean;
  /** Where status lines go (info level); default: written to the stream. */
  logger?: Logger;
  /** Seconds between status lines (default: CELLGAN_STATUS_INTERVAL, else 30). */
  intervalS?: number;
  stream?: NodeJS.WriteStream;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** The numbers of one status line; what `progress` holds in a JSON log line. */
export interface StatusSnapshot {
  label: string;
  done: number;
  total: number;
  unit: string;
  /** Units per second since the start. */
  rate: number;
  /** Images per second since the start, when the unit has a known image count. */
  images_per_sec?: number;
  elapsed_s: number;
  /** Seconds to go at the current rate; null when unknown. */
  eta_s: number | null;
  /** Latest named figures (losses), rounded to 3 significant digits. */
  values: Record<string, number>;
  /** Why the line was written: interval, a mark's reason (e.g. checkpoint), or finish. */
  event: string;
}

/** The interval in seconds from CELLGAN_STATUS_INTERVAL, else the default. */
export function statusIntervalS(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.CELLGAN_STATUS_INTERVAL;
  if (raw === undefined || raw === '') return STATUS_INTERVAL_S;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : STATUS_INTERVAL_S;
}

/**
 * Rounds a duration in seconds to milliseconds: the one precision every recorded wall or CPU
 * time is kept at (bench curves, model lineage), so two checkpoints a few milliseconds apart stay
 * ordered and a child's record of its parent's cost equals the parent's own record.
 */
export function roundSeconds(s: number): number {
  return Number.isFinite(s) ? Math.round(s * 1000) / 1000 : s;
}

/** Rounds to 3 significant digits (losses in status lines). */
export function round3(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(3));
}

function rateText(r: number): string {
  return r.toFixed(r < 10 ? 2 : r < 100 ? 1 : 0);
}

/** The text of a status line (see the module comment). */
export function formatStatus(s: StatusSnapshot): string {
  const pct = s.total > 0 ? ` ${((100 * s.done) / s.total).toFixed(1)}%` : '';
  const parts = [`${s.label} ${s.done}/${s.total}${pct}`, `${rateText(s.rate)} ${s.unit}/s`];
  if (s.images_per_sec !== undefined && s.unit !== 'img') parts.push(`${rateText(s.images_per_sec)} img/s`);
  parts.push(`elapsed ${formatSeconds(s.elapsed_s)}`, `ETA ${formatSeconds(s.eta_s ?? NaN)}`);
  const values = Object.entries(s.values).map(([k, v]) => `${k} ${v}`).join(' ');
  if (values) parts.push(values);
  if (s.event !== 'interval') parts.push(s.event);
  return parts.join(' | ');
}

export class Progress {
  private done: number;
  private readonly startPos: number;
  private readonly start: number;
  private lastDraw = 0;
  private lastLine: number;
  private mode: ProgressMode;
  private readonly stream: NodeJS.WriteStream;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private extra = '';
  private values: Record<string, number> = {};
  private finished = false;
  private lastLineDone: number | undefined;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.now = opts.now ?? Date.now;
    this.start = this.now();
    this.lastLine = this.start;
    this.startPos = opts.start ?? 0;
    this.done = this.startPos;
    this.intervalMs = (opts.intervalS ?? statusIntervalS()) * 1000;
    this.mode = opts.mode
      ?? (opts.enabled === true ? 'bar' : opts.enabled === false ? 'lines'
        : Boolean(this.stream.isTTY) && !process.env.CI ? 'bar' : 'lines');
    // JSON logs on stderr: a bar would break the one-object-per-line stream.
    if (this.mode === 'bar' && opts.logger && logFormatOf(opts.logger) === 'json') this.mode = 'lines';
  }

  /** Sets the absolute position (e.g. the iteration) and optionally a status text for the bar. */
  update(done: number, extra?: string): void {
    this.done = done;
    if (extra !== undefined) this.extra = extra;
    this.draw(false);
  }

  tick(n = 1, extra?: string): void { this.update(this.done + n, extra); }

  /** Sets named figures (e.g. `{ D: 1.23, G: 0.88 }`) shown, rounded, on status lines and the bar. */
  setValues(values: Record<string, number>): void {
    this.values = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round3(v)]));
  }

  /** Writes a status line now (without a terminal), e.g. at a checkpoint; the end then adds none for the same position. */
  mark(reason: string): void {
    if (this.mode === 'lines') this.writeLine(reason);
  }

  /** Units per second since the bar started. */
  rate(): number {
    const s = (this.now() - this.start) / 1000;
    return s > 0 ? (this.done - this.startPos) / s : 0;
  }

  /** The numbers a status line would show now. */
  snapshot(event = 'interval'): StatusSnapshot {
    const rate = this.rate();
    const { total, label, unit = 'it', imagesPerUnit } = this.opts;
    const s: StatusSnapshot = {
      label, done: this.done, total, unit, rate: round3(rate),
      elapsed_s: Math.round((this.now() - this.start) / 100) / 10,
      eta_s: rate > 0 ? Math.round(Math.max(0, total - this.done) / rate) : null,
      values: { ...this.values }, event,
    };
    if (imagesPerUnit !== undefined) s.images_per_sec = round3(rate * imagesPerUnit);
    return s;
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mode === 'bar') {
      this.draw(true);
      this.stream.write('\n');
    } else if (this.mode === 'lines' && this.done > this.startPos && this.done !== this.lastLineDone) {
      this.writeLine('finish');
    }
  }

  private writeLine(event: string): void {
    this.lastLine = this.now();
    this.lastLineDone = this.done;
    const snap = this.snapshot(event);
    const line = formatStatus(snap);
    if (this.opts.logger) this.opts.logger.info({ progress: snap }, line);
    else this.stream.write(line + '\n');
  }

  private draw(force: boolean): void {
    if (this.mode === 'lines') {
      if (!force && this.now() - this.lastLine >= this.intervalMs) this.writeLine('interval');
      return;
    }
    if (this.mode !== 'bar') return;
    const now = this.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const { total, label, unit = 'it' } = this.opts;
    const frac = total > 0 ? Math.min(1, this.done / total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const rate = this.rate();
    const eta = rate > 0 ? (total - this.done) / rate : NaN;
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const values = Object.entries(this.values).map(([k, v]) => `${k} ${v}`).join(' ');
    const tail = [this.extra, values].filter(Boolean).join(' ');
    const line = `${label} ${bar} ${this.done}/${total} ${rateText(rate)} ${unit}/s ${formatSeconds((now - this.start) / 1000)} ETA ${formatSeconds(eta)}${tail ? ' ' + tail : ''}`;
    this.stream.write(`\r${clip(line, this.stream.columns)}\x1b[K`);
  }
}

/** Cuts a bar line to a terminal's width, leaving the last column free; no cut when the width is unknown or 0. */
export function clip(line: string, columns: number | undefined): string {
  return columns !== undefined && columns > 1 ? line.slice(0, columns - 1) : line;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const sec = Math.round(s);
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), r = sec % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}
