import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Progress, clip, formatStatus, statusIntervalS, round3, type StatusSnapshot } from '../../src/util/progress.js';

/** A fake stderr: collects writes; `isTTY` and `columns` as given. */
function fakeStream(isTTY: boolean, columns?: number): { stream: NodeJS.WriteStream; text: () => string } {
  let buf = '';
  const w = new Writable({ write(chunk, _e, done) { buf += String(chunk); done(); } }) as unknown as NodeJS.WriteStream;
  Object.assign(w, { isTTY, columns });
  return { stream: w, text: () => buf };
}

function clock(): { now: () => number; advance: (s: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (s) => { t += s * 1000; } };
}

describe('Progress without a terminal: status lines', () => {
  it('writes one line per interval and at each mark, with position, rates, elapsed, ETA and rounded losses', () => {
    const { stream, text } = fakeStream(false);
    const c = clock();
    const p = new Progress({ label: 'train', total: 1000, start: 100, unit: 'it', imagesPerUnit: 16, stream, now: c.now, intervalS: 30 });
    for (let it = 101; it <= 160; it++) {
      c.advance(1);
      p.setValues({ D: 1.234567, G: 0.0123456 });
      p.update(it);
    }
    // 60 s at 1 it/s: lines at 30 s and 60 s, nothing in between.
    const lines = text().trim().split('\n');
    expect(lines).toEqual([
      'train 130/1000 13.0% | 1.00 it/s | 16.0 img/s | elapsed 0:30 | ETA 14:30 | D 1.23 G 0.0123',
      'train 160/1000 16.0% | 1.00 it/s | 16.0 img/s | elapsed 1:00 | ETA 14:00 | D 1.23 G 0.0123',
    ]);
    c.advance(5);
    p.update(165);
    p.mark('checkpoint');
    expect(text().trim().split('\n').at(-1)).toMatch(/^train 165\/1000 16\.5% \| .* \| checkpoint$/);
    p.finish();
    // The mark already told the final position: no duplicate line.
    expect(text().trim().split('\n')).toHaveLength(3);
  });

  it('ends with a finish line when the last position was not told yet; nothing when no work was done', () => {
    const a = fakeStream(false);
    const c = clock();
    const p = new Progress({ label: 'generate', total: 10, unit: 'img', imagesPerUnit: 1, stream: a.stream, now: c.now });
    c.advance(2); p.tick(10); p.finish();
    expect(a.text()).toBe('generate 10/10 100.0% | 5.00 img/s | elapsed 0:02 | ETA 0:00 | finish\n');
    const b = fakeStream(false);
    const q = new Progress({ label: 'train', total: 10, start: 10, stream: b.stream, now: c.now });
    q.finish();
    expect(b.text()).toBe('');
  });

  it('goes through the logger when given: the message is the line, the numbers are a `progress` object', () => {
    const records: Record<string, unknown>[] = [];
    const sink = new Writable({ write(chunk, _e, done) { records.push(JSON.parse(String(chunk))); done(); } });
    const logger = pino({ base: undefined }, sink);
    const { stream, text } = fakeStream(false);
    const c = clock();
    const p = new Progress({ label: 'train', total: 4, unit: 'it', imagesPerUnit: 2, stream, logger, now: c.now });
    c.advance(2); p.setValues({ D: 0.5 }); p.update(2); p.mark('checkpoint');
    expect(text()).toBe('');
    expect(records).toHaveLength(1);
    const snap = records[0].progress as StatusSnapshot;
    expect(snap).toMatchObject({ label: 'train', done: 2, total: 4, unit: 'it', rate: 1, images_per_sec: 2, elapsed_s: 2, eta_s: 2, values: { D: 0.5 }, event: 'checkpoint' });
    expect(records[0].msg).toBe(formatStatus(snap));
  });

  it('reads the interval from CELLGAN_STATUS_INTERVAL, else 30 s', () => {
    expect(statusIntervalS({})).toBe(30);
    expect(statusIntervalS({ CELLGAN_STATUS_INTERVAL: '5' })).toBe(5);
    expect(statusIntervalS({ CELLGAN_STATUS_INTERVAL: 'abc' })).toBe(30);
    expect(round3(123456)).toBe(123000);
    expect(round3(NaN)).toBeNaN();
  });
});

describe('Progress on a terminal: the bar', () => {
  it('shows elapsed time and is cut only to a known, non-zero width', () => {
    const { stream, text } = fakeStream(true, 0);
    const c = clock();
    const prev = process.env.CI;
    delete process.env.CI;
    try {
      const p = new Progress({ label: 'train', total: 100, unit: 'it', stream, now: c.now });
      c.advance(65); p.setValues({ D: 1.5 }); p.update(50);
      p.finish();
    } finally { if (prev !== undefined) process.env.CI = prev; }
    // Width 0 (script -qc): the whole line, including its last character.
    expect(text()).toContain('50/100 0.77 it/s 1:05 ETA 1:05 D 1.5\x1b[K');
    expect(clip('abcdef', 4)).toBe('abc');
    expect(clip('abcdef', 0)).toBe('abcdef');
    expect(clip('abcdef', undefined)).toBe('abcdef');
  });
});
