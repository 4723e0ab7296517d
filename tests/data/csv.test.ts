import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, CRLF and a BOM', () => {
    const rows = parseCsv('\ufefffile,class\r\n"a, b.png","say ""hi"""\r\n"multi\nline.png",x\r\n\r\nplain.png,y');
    expect(rows.map((r) => r.fields)).toEqual([
      ['file', 'class'],
      ['a, b.png', 'say "hi"'],
      ['multi\nline.png', 'x'],
      ['plain.png', 'y'],
    ]);
    // Line numbers point at where each row starts (the blank line is skipped, not counted as a row).
    expect(rows.map((r) => r.line)).toEqual([1, 2, 3, 6]);
  });

  it('keeps empty fields and trailing empty fields', () => {
    expect(parseCsv('a,,c,\n').map((r) => r.fields)).toEqual([['a', '', 'c', '']]);
  });

  it('rejects an unclosed quote and a stray quote, naming the line', () => {
    expect(() => parseCsv('file,class\n"open.png,x\n')).toThrow(/never closed/);
    expect(() => parseCsv('file,class\nab"c.png,x\n')).toThrow(/quote inside an unquoted field/);
    try { parseCsv('a,b\nc,d\n"e,f'); } catch (err) { expect((err as { line: number }).line).toBe(3); }
  });
});
