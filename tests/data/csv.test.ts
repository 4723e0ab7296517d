import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectDelimiter, parseCsv } from '../../src/data/csv.js';
import { loadDataset } from '../../src/data/dataset.js';
import { PBC_RAW, tempDir } from '../helpers/env.js';

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

describe('labels CSV separators', () => {
  it('detects `,`, `;` and tab from the header, even when a data row holds the other separators', () => {
    expect(detectDelimiter('file,class\na;b.png,x\n')).toBe(',');
    expect(detectDelimiter('\ufefffile;class;patient\r\n"a,b.png";x;1\r\n')).toBe(';');
    expect(detectDelimiter('file\tclass\na,b;c.png\tx\n')).toBe('\t');
    expect(detectDelimiter('"fi;le",class\n')).toBe(','); // a separator inside a quoted name does not count
    expect(parseCsv('file;class;note\n"a;b.png";x;"1,5"\nc.png;y;2\n').map((r) => r.fields)).toEqual([
      ['file', 'class', 'note'], ['a;b.png', 'x', '1,5'], ['c.png', 'y', '2'],
    ]);
    expect(parseCsv('file\tclass\na, b.png\tx\n').map((r) => r.fields)).toEqual([['file', 'class'], ['a, b.png', 'x']]);
  });

  it('loadDataset reads the same labels saved with `;` and with tabs as with `,`', async () => {
    const tmp = tempDir('cellgan-csv-sep-');
    try {
      const src = (await fs.readFile(path.join(PBC_RAW, 'labels.csv'), 'utf8')).split(/\r?\n/).filter(Boolean);
      const rows = src.map((l) => parseCsv(l + '\n')[0].fields);
      const quote = (f: string, d: string) => (f.includes(d) || f.includes('"') ? `"${f.replace(/"/g, '""')}"` : f);
      const reference = await loadDataset(path.join(PBC_RAW, 'labels.csv'));
      for (const [name, d] of [['semicolon', ';'], ['tab', '\t']] as const) {
        const csv = path.join(PBC_RAW, 'labels.csv');
        // Written beside a copy of the data so relative paths resolve the same way; the input folder is not touched.
        const dir = path.join(tmp.dir, name);
        await fs.mkdir(dir);
        for (const cls of reference.classes) await fs.cp(path.join(PBC_RAW, cls), path.join(dir, cls), { recursive: true });
        const file = path.join(dir, 'labels.csv');
        await fs.writeFile(file, rows.map((r) => r.map((f) => quote(f, d)).join(d)).join('\r\n') + '\r\n');
        const ds = await loadDataset(file);
        expect(ds.columns, `${name} (${csv})`).toEqual(reference.columns);
        expect(ds.items.map((i) => [i.file, i.label, i.meta])).toEqual(reference.items.map((i) => [i.file, i.label, i.meta]));
      }
    } finally { tmp.cleanup(); }
  });
});
