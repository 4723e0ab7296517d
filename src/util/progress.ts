/**
 * A progress bar for long work: drawn on stderr when it is a terminal,
 * silent otherwise (logs and stats files carry the numbers there).
 */
export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  /** Force on/off; default: on when stderr is a TTY and CI is not set. */
  enabled?: boolean;
  stream?: NodeJS.WriteStream;
}

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  private readonly enabled: boolean;
  private readonly stream: NodeJS.WriteStream;
  private extra = '';

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.enabled = opts.enabled ?? (Boolean(this.stream.isTTY) && !process.env.CI);
  }

  /** Sets the absolute position (e.g. the iteration) and an optional status text. */
  update(done: number, extra?: string): void {
    this.done = done;
    if (extra !== undefined) this.extra = extra;
    this.draw(false);
  }

  tick(n = 1, extra?: string): void { this.update(this.done + n, extra); }

  /** Items per second since the bar started. */
  rate(): number {
    const s = (Date.now() - this.start) / 1000;
    return s > 0 ? this.done / s : 0;
  }

  finish(): void {
    this.draw(true);
    if (this.enabled) this.stream.write('\n');
  }

  private draw(force: boolean): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const { total, label, unit = 'it' } = this.opts;
    const frac = total > 0 ? Math.min(1, this.done / total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const rate = this.rate();
    const eta = rate > 0 ? (total - this.done) / rate : NaN;
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const line = `${label} ${bar} ${this.done}/${total} ${rate.toFixed(rate < 10 ? 2 : 0)} ${unit}/s ETA ${formatSeconds(eta)}${this.extra ? ' ' + this.extra : ''}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const sec = Math.round(s);
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), r = sec % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}
