import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { csvField, formatCsv, parseCsv } from '../../src/data/csv.js';
import { parseJsonl, readJsonl } from '../../src/data/jsonl.js';
import { hasImageExtension, IMAGE_EXTENSIONS } from '../../src/data/formats.js';
import { toCsv } from '../../src/export/export.js';
import { predictionsCsv } from '../../src/metrics/classifier/evaluate.js';
import { tempDir } from '../helpers/env.js';

const tmp = tempDir('cellgan-writers-');
afterAll(() => tmp.cleanup());

describe('the one CSV writer (data/csv)', () => {
  it('quotes a field only when it holds a comma, a quote, \\n or \\r, doubling inner quotes', () => {
    expect(csvField('plain name.png')).toBe('plain name.png');
    expect(csvField('')).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('carriage\rreturn')).toBe('"carriage\rreturn"');
    expect(csvField('crlf\r\n')).toBe('"crlf\r\n"');
  });

  it('writes rows that parseCsv reads back field for field', () => {
    const rows = [['file', 'class', 'note'], ['a,1.png', 'lymphocyte', 'he said "no"'], ['b\r.png', 'ig', 'x\r\ny'], ['c.png', '', 'line\nbreak']];
    const text = formatCsv(rows);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n')[0]).toBe('file,class,note');
    expect(parseCsv(text).map((r) => r.fields)).toEqual(rows);
  });

  it('the export manifest and the predictions file quote \\r too', () => {
    const row = { file: 'train/ig/x\r.png', split: 'train', class: 'ig', origin: 'real', source: 'a,b', transform: '', sha256: 'f' };
    expect(parseCsv(toCsv([row as never])).map((r) => r.fields)[1]).toEqual(['train/ig/x\r.png', 'train', 'ig', 'real', 'a,b', '', 'f']);
    const csv = predictionsCsv([{ file: 'x\r.png', trueClass: 'ig', predictedClass: 'ig', probabilities: [1] } as never], ['ig']);
    expect(parseCsv(csv).map((r) => r.fields)).toEqual([['file', 'true', 'predicted', 'p_ig'], ['x\r.png', 'ig', 'ig', '1']]);
  });
});

describe('the one JSONL reader (data/jsonl)', () => {
  it('skips blank lines and a torn line; a missing file is undefined', async () => {
    expect(parseJsonl('{"a":1}\n\n  \n{"a":2}\n{"a":')).toEqual([{ a: 1 }, { a: 2 }]);
    const file = path.join(tmp.dir, 'stats.jsonl');
    await fs.writeFile(file, '{"iteration":1}\n{"iteration":2}\n');
    expect(await readJsonl(file)).toEqual([{ iteration: 1 }, { iteration: 2 }]);
    expect(await readJsonl(path.join(tmp.dir, 'missing.jsonl'))).toBeUndefined();
  });
});

describe('image file names (data/formats)', () => {
  it('takes exactly the extensions of IMAGE_EXTENSIONS, in any case', () => {
    for (const ext of Object.keys(IMAGE_EXTENSIONS)) {
      expect(hasImageExtension(`x${ext}`)).toBe(true);
      expect(hasImageExtension(`X${ext.toUpperCase()}`)).toBe(true);
    }
    for (const name of ['x.txt', 'png', 'x.png.tmp', 'x', '.png/x']) expect(hasImageExtension(name)).toBe(false);
  });
});
